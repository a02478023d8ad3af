"""Column drift, chosen and decided the way Evidently's DataDriftPreset does by default.

The method depends on the column's kind and the reference size (Evidently's
``_get_default_stattest``), ``n`` being the number of distinct non-blank values
in reference and current together:

============================  =========================  ======================
reference                     numeric                    categorical
============================  =========================  ======================
≤ 1000 rows                   n > 5: Kolmogorov–Smirnov  n > 2: chi-squared
                              n 3–5: chi-squared         n ≤ 2: z-test
                              n ≤ 2: z-test
> 1000 rows                   n > 5: Wasserstein, normed  Jensen–Shannon
                              n ≤ 5: Jensen–Shannon
============================  =========================  ======================

p-value tests drift at p < 0.05 (KS: p ≤ 0.05), distances at ≥ 0.1; the dataset
drifts when at least half the columns do. Blanks and infinities are dropped
first. PSI is computed beside the decision (bands 0.1 and 0.25) and decides nothing.

Everything is vectorised: a column costs one sort of the current values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

NUMERIC, CATEGORICAL = "numeric", "categorical"
SMALL_REFERENCE = 1000  # rows; at most this many: statistical tests, else distances
P_VALUE = 0.05
DISTANCE = 0.1
DRIFT_SHARE = 0.5
PSI_BANDS = (0.1, 0.25)  # below: stable; between: moderate; above: significant
HISTOGRAM_BINS = 20
TOP_CATEGORIES = 10


@dataclass(slots=True)
class Column:
    """One column's non-blank values, prepared once: numeric values sorted, categories counted."""

    kind: str
    size: int
    values: np.ndarray | None = None  # numeric: sorted float64
    counts: pd.Series | None = None  # categorical, or numeric with few distinct values: value → count

    @property
    def distinct(self) -> int:
        if self.counts is not None:
            return len(self.counts)
        return int(np.count_nonzero(np.diff(self.values))) + 1 if self.size else 0


def prepare(values: Any, kind: str) -> Column:
    """Drop blanks (and infinities); sort numbers, count categories."""
    if kind == NUMERIC:
        array = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        array = np.sort(array[np.isfinite(array)])
        return Column(kind, len(array), values=array)
    series = pd.Series(values)
    series = series[series.notna()]
    return Column(kind, len(series), counts=series.value_counts(sort=False))


def _counts(column: Column) -> pd.Series:
    """Value counts of a numeric column (only asked when it has few distinct values)."""
    if column.counts is None:
        uniques, counts = np.unique(column.values, return_counts=True)
        column.counts = pd.Series(counts, index=uniques)
    return column.counts


def _aligned(reference: Column, current: Column) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Every value seen in either, with its count in each (zero where absent)."""
    both = pd.concat([_counts(reference), _counts(current)], axis=1, sort=False).fillna(0)
    return both.index, both.iloc[:, 0].to_numpy(dtype="float64"), both.iloc[:, 1].to_numpy(dtype="float64")


def _distinct_together(reference: Column, current: Column) -> int:
    if reference.kind == NUMERIC:
        if reference.distinct > 5 or current.distinct > 5:
            return 6  # enough to choose; the exact count does not matter
        return len(np.union1d(reference.values, current.values))
    return len(reference.counts.index.union(current.counts.index))


def choose_method(reference: Column, current: Column) -> str:
    n = _distinct_together(reference, current)
    if reference.size <= SMALL_REFERENCE:
        if reference.kind == NUMERIC and n > 5:
            return "ks"
        return "chisquare" if n > 2 else "z"
    if reference.kind == NUMERIC and n > 5:
        return "wasserstein"
    return "jensenshannon"


def wasserstein_normed(reference: np.ndarray, current: np.ndarray) -> float:
    """First Wasserstein distance of two *sorted* samples, divided by the reference's std.

    The integral of |F_ref − F_cur| over the merged sample points; merging two sorted
    runs is one stable (timsort) pass.
    """
    both = np.concatenate([reference, current])
    merged_order = np.argsort(both, kind="stable")
    merged = both[merged_order]
    from_reference = np.cumsum(merged_order < len(reference))[:-1]
    seen = np.arange(1, len(merged))
    cdf_gap = np.abs(from_reference / len(reference) - (seen - from_reference) / len(current))
    distance_ = float(np.dot(cdf_gap, np.diff(merged)))
    return distance_ / max(float(np.std(reference)), 0.001)


def _test(method: str, reference: Column, current: Column) -> tuple[float, bool]:
    # SciPy (~40 MB) is imported when a window is computed, not when a web process
    # imports the monitoring services to serve pages (tests/unit/test_web_imports.py).
    from scipy import stats
    from scipy.spatial import distance

    if method == "ks":
        p = float(stats.ks_2samp(reference.values, current.values)[1])
        return p, p <= P_VALUE
    if method == "wasserstein":
        score = wasserstein_normed(reference.values, current.values)
        return score, score >= DISTANCE
    keys, ref, cur = _aligned(reference, current)
    if method == "jensenshannon":
        score = float(distance.jensenshannon(ref / reference.size, cur / current.size))
        return score, score >= DISTANCE
    if method == "chisquare":
        with np.errstate(divide="ignore", invalid="ignore"):  # a value new in current: p = 0
            p = float(stats.chisquare(cur, ref * (current.size / reference.size))[1])
        return p, p < P_VALUE
    # z-test on the share of values that are not the first (sorted) value
    if len(ref) == 1:
        return 1.0, False
    first = _first_in_order(keys)
    p1, p2 = 1 - ref[first] / reference.size, 1 - cur[first] / current.size
    pooled = (p1 * reference.size + p2 * current.size) / (reference.size + current.size)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / reference.size + 1 / current.size))
    p = float(2 * (1 - stats.norm.cdf(abs(z))))
    return p, p < P_VALUE


def _first_in_order(keys: pd.Index) -> int:
    """Position of the smallest key (by text when the keys are of mixed types)."""
    try:
        return int(np.argmin(keys.argsort().argsort()))
    except TypeError:
        return int(np.argmin(keys.astype(str).argsort().argsort()))


def _binned(reference: Column, current: Column) -> tuple[np.ndarray, np.ndarray]:
    """Shares per bin like Evidently's ``get_binned_data``: Sturges bins over both samples
    for numeric columns with more than 20 distinct reference values, else one bin per value;
    empty bins get a tiny share so logarithms stay finite."""
    if reference.kind == NUMERIC and reference.distinct > 20:
        lo = min(reference.values[0], current.values[0])
        hi = max(reference.values[-1], current.values[-1])
        size = reference.size + current.size
        width = (hi - lo) / (np.log2(size) + 1.0)
        bins = max(int(np.ceil((hi - lo) / width)), 1) if width > 0 else 1
        edges = np.linspace(lo, hi, bins + 1)
        ref = _histogram_sorted(reference.values, edges) / reference.size
        cur = _histogram_sorted(current.values, edges) / current.size
    else:
        _, ref, cur = _aligned(reference, current)
        ref, cur = ref / reference.size, cur / current.size
    for shares in (ref, cur):
        smallest = shares[shares > 0].min()
        shares[shares == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return ref, cur


def _histogram_sorted(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """np.histogram's counts (last bin closed) for sorted values, by binary search."""
    cuts = np.searchsorted(values, edges, side="left")
    cuts[-1] = np.searchsorted(values, edges[-1], side="right")
    return np.diff(cuts).astype("float64")


def psi(reference: Column, current: Column) -> float:
    ref, cur = _binned(reference, current)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def psi_band(value: float | None) -> str | None:
    if value is None:
        return None
    return "stable" if value < PSI_BANDS[0] else "moderate" if value < PSI_BANDS[1] else "significant"


def distribution(reference: Column, current: Column) -> dict[str, Any]:
    """Shares of reference and current per bin (numeric: 20 equal bins over both samples'
    range) or per category (the 10 most frequent in the reference, then "other"), for charts."""
    if reference.kind == NUMERIC and reference.distinct > 5:
        lo = min(reference.values[0], current.values[0])
        hi = max(reference.values[-1], current.values[-1])
        edges = np.linspace(lo, hi if hi > lo else lo + 1, HISTOGRAM_BINS + 1)
        return {
            "edges": [round(float(e), 6) for e in edges],
            "reference": _rounded(_histogram_sorted(reference.values, edges) / reference.size),
            "current": _rounded(_histogram_sorted(current.values, edges) / current.size),
        }
    ref_counts, cur_counts = _counts(reference), _counts(current)
    top = ref_counts.sort_values(ascending=False).index[:TOP_CATEGORIES]
    ref_top = ref_counts.reindex(top, fill_value=0).to_numpy(dtype="float64")
    cur_top = cur_counts.reindex(top, fill_value=0).to_numpy(dtype="float64")
    categories = [str(c) for c in top]
    ref_share, cur_share = list(ref_top / reference.size), list(cur_top / current.size)
    if len(ref_counts) > len(top) or not cur_counts.index.isin(top).all():
        categories.append("other")
        ref_share.append(1 - sum(ref_share))
        cur_share.append(1 - sum(cur_share))
    return {"categories": categories, "reference": _rounded(np.array(ref_share)),
            "current": _rounded(np.array(cur_share))}


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in np.clip(values, 0, None)]


def column_drift(name: str, reference: Column, current: Column, *, with_distribution: bool = True) -> dict[str, Any]:
    """``{"name", "kind", "method", "score", "threshold", "drifted", "psi", "psi_band"}``
    (and ``distribution``). A column blank in either sample has no verdict:
    method "none", score None, not drifted."""
    if reference.size == 0 or current.size == 0:
        return {"name": name, "kind": reference.kind, "method": "none", "score": None, "threshold": None,
                "drifted": False, "psi": None, "psi_band": None}
    method = choose_method(reference, current)
    score, drifted = _test(method, reference, current)
    value = psi(reference, current)
    out = {
        "name": name, "kind": reference.kind, "method": method,
        "score": _finite(score),
        "threshold": P_VALUE if method in ("ks", "chisquare", "z") else DISTANCE,
        "drifted": bool(drifted), "psi": _finite(value), "psi_band": psi_band(_finite(value)),
    }
    if with_distribution:
        out["distribution"] = distribution(reference, current)
    return out


def _finite(value: float) -> float | None:
    return round(float(value), 6) if np.isfinite(value) else None


def dataset_drift(
    reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, str], *,
    prepared_reference: dict[str, Column] | None = None, with_distribution: bool = True,
) -> dict[str, Any]:
    """``{"dataset_drift", "share", "n_drifted", "features": [column_drift …]}`` for the
    columns in ``kinds`` present in both frames. ``share`` is over the columns that had
    values on both sides. ``prepared_reference`` reuses columns prepared earlier."""
    features = []
    for name, kind in kinds.items():
        if name not in current.columns or name not in reference.columns:
            continue
        ref = (prepared_reference or {}).get(name) or prepare(reference[name].to_numpy(), kind)
        features.append(column_drift(name, ref, prepare(current[name].to_numpy(), kind),
                                     with_distribution=with_distribution))
    judged = [f for f in features if f["method"] != "none"]
    drifted = sum(f["drifted"] for f in judged)
    share = drifted / len(judged) if judged else 0.0
    return {"dataset_drift": bool(judged) and share >= DRIFT_SHARE, "share": round(share, 6),
            "n_drifted": drifted, "features": features}
