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
