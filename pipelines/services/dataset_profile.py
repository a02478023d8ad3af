"""A dataset's profile: per column statistics, computed once at upload and stored as JSON."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..execution.summaries import json_safe

TOP_VALUES = 5
HISTOGRAM_BINS = 20
# Long text values are cut in the profile (it is stored on the row and shown in a page).
VALUE_CHARS = 80


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "text"


def _short(value: Any) -> Any:
    if isinstance(value, float | np.floating) and np.isinf(value):
        return "inf" if value > 0 else "-inf"  # json_safe would make it null, which is missing
    value = json_safe(value)
    if isinstance(value, str) and len(value) > VALUE_CHARS:
        return value[: VALUE_CHARS - 1] + "…"
    return value


def column_profile(series: pd.Series) -> dict[str, Any]:
    """One column: ``name``, ``dtype``, ``kind`` (numeric | text | datetime | boolean),
    ``missing`` (count) and ``missing_pct`` (0-100), ``distinct`` (non-missing values),
    ``min``/``max``/``mean`` (numbers and datetimes; ``mean`` numbers only, else None),
    ``top`` (up to 5 ``{"value", "count"}``, most frequent first, ties by value order
    of first appearance) and ``histogram`` (numbers: ``{"edges": 21 floats, "counts":
    20 ints}`` over the finite values; None otherwise or when there are none).
    """
    kind = _kind(series)
    n = len(series)
    missing = int(series.isna().sum())
    present = series.dropna()
    profile: dict[str, Any] = {
        "name": str(series.name),
        "dtype": str(series.dtype),
        "kind": kind,
        "missing": missing,
        "missing_pct": round(100 * missing / n, 2) if n else 0.0,
        "distinct": int(present.nunique()),
        "min": None,
        "max": None,
        "mean": None,
        "top": [],
        "histogram": None,
    }
    counts = present.value_counts(sort=True).head(TOP_VALUES)
    profile["top"] = [{"value": _short(v), "count": int(c)} for v, c in counts.items()]
    if kind == "numeric" and len(present):
        values = present.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        if len(finite):
            profile["min"], profile["max"] = json_safe(finite.min()), json_safe(finite.max())
            profile["mean"] = json_safe(finite.mean())
            hist, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
            profile["histogram"] = {"edges": json_safe(edges.tolist()), "counts": hist.tolist()}
    elif kind == "datetime" and len(present):
        profile["min"], profile["max"] = json_safe(present.min()), json_safe(present.max())
    return profile


def table_profile(df: pd.DataFrame) -> dict[str, Any]:
    """``{"rows": n, "columns": [column_profile, …]}`` in column order.

    One vectorised pass per column (value counts, a NumPy histogram); no loop over rows.
    """
    return {"rows": int(len(df)), "columns": [column_profile(df[name]) for name in df.columns]}


def parquet_column_profile(parquet, column: str) -> dict[str, Any]:
    """``column_profile`` of one column of a Parquet file (a ``pyarrow.parquet.ParquetFile``),
    reading only that column, with the same answer (tests compare them).

    Text and number columns are profiled in Arrow and NumPy, other types go
    through ``column_profile``: as pandas a text column is a Python object per
    row, and pandas' value_counts of a million distinct floats takes ~100 MB.
    Memory is what a web process uploading a large file can spare: the column
    once as Arrow, once as NumPy, then sorted copies freed as soon as used
    (~4 copies of the column at the peak, not ~10).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = parquet.schema_arrow.field(column).type
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    number = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    n = parquet.metadata.num_rows
    if not text and not number:
        return column_profile(parquet.read(columns=[column]).column(0).to_pandas().rename(column))
    if text:
        values = parquet.read(columns=[column]).column(0)
        # value_counts counts nulls too, as one entry; it is left out below.
        counts = pc.value_counts(values)
        del values
        counted = counts.field("values")
        keep = pc.is_valid(counted)
        frequencies = pc.filter(counts.field("counts"), keep).to_numpy()
        present_values = pc.filter(counted, keep)
        missing = n - int(frequencies.sum())
        # Most frequent first; a stable sort keeps ties in order of first appearance, as pandas does.
        order = (-frequencies).argsort(kind="stable")[:TOP_VALUES]
        top = list(zip(present_values.take(pa.array(order)).to_pylist(), frequencies[order].tolist(), strict=True))
        distinct, stats, nulls = len(frequencies), None, missing
    else:
        present, nulls = _present_numbers(parquet, column, kind)
        missing = n - len(present)
        stats = _number_stats(present)
        distinct, top = _sorted_counts(present)
        del present
    # Name, dtype and kind as pandas gives them for the whole column: a null of
    # its type tells (an integer column with blanks is float64 in pandas).
    typed = pa.nulls(1 if nulls else 0, kind)
    profile = column_profile(typed.to_pandas().rename(column))
    profile.update(missing=missing, missing_pct=round(100 * missing / n, 2) if n else 0.0)
    if distinct:
        profile["distinct"] = distinct
        profile["top"] = [{"value": _short(v), "count": int(c)} for v, c in top]
    if stats:
        profile.update(stats)
    return profile


def _present_numbers(parquet, column: str, kind) -> tuple[np.ndarray, int]:
    """The non-null, non-NaN numbers of a Parquet column in order, as one NumPy
    array, and its count of nulls. Read row group by row group into one array:
    the column is never held twice (a whole Arrow column turned into NumPy
    takes ~7 times its size on the way)."""
    import pyarrow as pa

    floating = pa.types.is_floating(kind)
    out = np.empty(parquet.metadata.num_rows, dtype=kind.to_pandas_dtype())
    filled = nulls = 0
    for group in range(parquet.metadata.num_row_groups):
        for chunk in parquet.read_row_group(group, columns=[column], use_threads=False).column(0).chunks:
            nulls += chunk.null_count
            if floating:
                values = chunk.to_numpy(zero_copy_only=False)  # nulls become NaN
                values = values[~np.isnan(values)]
            else:
                values = chunk.drop_null().to_numpy()
            out[filled : filled + len(values)] = values
            filled += len(values)
    return out[:filled], nulls


def _number_stats(present: np.ndarray) -> dict[str, Any] | None:
    """min, max, mean and the histogram of the finite values (None when there are none)."""
    finite_mask = np.isfinite(present)
    finite = present if finite_mask.all() else present[finite_mask]
    del finite_mask
    if not len(finite):
        return None
    finite = finite.astype("float64", copy=False)
    hist, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
    return {
        "min": json_safe(finite.min()), "max": json_safe(finite.max()), "mean": json_safe(finite.mean()),
        "histogram": {"edges": json_safe(edges.tolist()), "counts": hist.tolist()},
    }


def _sorted_counts(present: np.ndarray) -> tuple[int, list[tuple[Any, int]]]:
    """(distinct values, the TOP_VALUES most frequent as (value, count), ties by first appearance).

    What ``np.unique(return_index=True, return_counts=True)`` + a lexsort
    answer, for less: one sorted copy gives the distinct values and their
    counts (sorting, not hashing: a hash table of a million distinct floats
    takes ~90 MB); first appearances are looked up only for the few values
    that can be shown, the values tied at the cut scanned in order of the
    column (only a prefix of it, unless the ties are spread through it).
    """
    if not len(present):
        return 0, []
    ordered = np.sort(present)
    starts = np.empty(len(ordered), dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    starts = np.flatnonzero(starts)
    uniques = ordered[starts]
    del ordered
    counts = np.diff(starts, append=len(present))
    del starts
    k = min(TOP_VALUES, len(uniques))
    cut = np.partition(counts, len(counts) - k)[len(counts) - k]
    above = np.flatnonzero(counts > cut)
    chosen = list(uniques[above]) + _first_of_count(present, uniques, counts, cut, k - len(above))
    first = {v: int(np.argmax(present == v)) for v in chosen}
    by_value = dict(zip(uniques[above].tolist(), counts[above].tolist(), strict=True))
    top = sorted(chosen, key=lambda v: (-by_value.get(v, int(cut)), first[v]))
    # Shown as first written (0.0 and -0.0 are one value; the one seen first is shown).
    return len(uniques), [(present[first[v]].item(), by_value.get(v, int(cut))) for v in top]


def _first_of_count(present: np.ndarray, uniques: np.ndarray, counts: np.ndarray, cut: int, need: int) -> list:
    """The first ``need`` distinct values of ``present``, in order of appearance, that occur ``cut`` times."""
    if need <= 0:
        return []
    tied = uniques[counts == cut]
    if len(tied) <= need:
        return list(tied)
    found: list = []
    window = need * int(cut) * 4
    while True:
        head = present[:window]
        hit = head[np.isin(head, tied)] if len(tied) < len(uniques) else head
        found = list(pd.unique(hit))[:need]
        if len(found) >= need or window >= len(present):
            return found
        window *= 4
