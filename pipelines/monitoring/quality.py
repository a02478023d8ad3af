"""Data quality of a window's inputs, compared with the training data.

The profile is taken from the whole training table (not the reference sample),
so a rare category of the training data is not reported as unseen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

NUMERIC, CATEGORICAL = "numeric", "categorical"
# A column is flagged when its share of a problem exceeds the training's by this much.
NULL_RATE_TOLERANCE = 0.05
# New data falls a little outside the training range by chance (a fresh sample's
# extremes); only a larger share is a problem.
OUT_OF_RANGE_TOLERANCE = 0.01
MAX_LISTED_CATEGORIES = 10


@dataclass(slots=True)
class ColumnProfile:
    name: str
    kind: str
    null_rate: float
    minimum: float | None = None
    maximum: float | None = None
    categories: set[str] = field(default_factory=set)


def column_kind(dtype: Any) -> str:
    """Numeric for ints and floats (not booleans), categorical for everything else."""
    text = str(dtype)
    return NUMERIC if text.startswith(("int", "uint", "float", "Int", "UInt", "Float")) else CATEGORICAL


def profile(table: pd.DataFrame, kinds: dict[str, str]) -> dict[str, ColumnProfile]:
    """Null rate, range (numeric) and category set (categorical) of each column in ``kinds``."""
    out = {}
    for name, kind in kinds.items():
        if name not in table.columns:
            continue
        column = table[name]
        null_rate = float(column.isna().mean()) if len(column) else 0.0
        if kind == NUMERIC:
            values = pd.to_numeric(column, errors="coerce")
            finite = values[np.isfinite(values)] if len(values) else values
            out[name] = ColumnProfile(
                name, kind, null_rate,
                float(finite.min()) if len(finite) else None, float(finite.max()) if len(finite) else None,
            )
        else:
            out[name] = ColumnProfile(name, kind, null_rate, categories=set(column.dropna().astype(str).unique()))
    return out


def profile_to_json(profiles: dict[str, ColumnProfile]) -> dict[str, Any]:
    return {
        name: {"kind": p.kind, "null_rate": p.null_rate, "min": p.minimum, "max": p.maximum,
               "categories": sorted(p.categories)}
        for name, p in profiles.items()
    }


def data_quality(current: pd.DataFrame, profiles: dict[str, ColumnProfile], *, present: set[str] | None = None) -> dict[str, Any]:
    """Per column: null rate (and the training's), unseen categories, values outside the
    training range, values of the wrong type; plus missing and extra columns.

    ``present``: the columns the requests actually sent (a column the serving layer
    filled with blanks is still missing); defaults to ``current``'s columns.
    ``issues`` lists one human sentence per problem; ``ok`` is True when there is none.
    """
    sent = set(current.columns) if present is None else set(present)
    missing = sorted(name for name in profiles if name not in sent)
    extra = sorted(str(c) for c in sent if c not in profiles)
    columns, issues = [], []
    n = len(current)
    for name, p in profiles.items():
        if name not in current.columns or name in missing:
            continue
        column = current[name]
        nulls = column.isna().to_numpy()
        row: dict[str, Any] = {
            "name": name, "kind": p.kind, "null_rate": float(nulls.mean()) if n else 0.0,
            "reference_null_rate": p.null_rate, "unseen_share": 0.0, "unseen": [],
            "out_of_range_share": 0.0, "type_error_share": 0.0,
        }
        if n and p.kind == NUMERIC:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            wrong = np.isnan(values) & ~nulls
            row["type_error_share"] = float(wrong.mean())
            if p.minimum is not None:
                outside = (values < p.minimum) | (values > p.maximum)
                row["out_of_range_share"] = float(outside.mean())
        elif n:
            values = column[~nulls].astype(str)
            counts = values.value_counts()
            unseen = counts[~counts.index.isin(list(p.categories))]
            row["unseen_share"] = float(unseen.sum() / n)
            row["unseen"] = [str(v) for v in unseen.index[:MAX_LISTED_CATEGORIES]]
        if row["null_rate"] > p.null_rate + NULL_RATE_TOLERANCE:
            issues.append(f"{name}: {row['null_rate']:.0%} blank (training: {p.null_rate:.0%})")
        if row["unseen"]:
            issues.append(f"{name}: categories never seen in training ({', '.join(row['unseen'][:3])})")
        if row["type_error_share"] > 0:
            issues.append(f"{name}: {row['type_error_share']:.1%} values are not numbers")
        if row["out_of_range_share"] > OUT_OF_RANGE_TOLERANCE:
            issues.append(f"{name}: {row['out_of_range_share']:.1%} values outside the training range")
        columns.append(row)
    issues += [f"{name}: column missing from requests" for name in missing]
    issues += [f"{name}: column not in the model's signature" for name in extra]
    # One number for the `quality` alert signal: the worst rate of any issue (blanks counted
    # beyond the training's own rate); a column missing from the requests counts as 1.
    rates = [
        max(row["null_rate"] - row["reference_null_rate"], row["unseen_share"],
            row["out_of_range_share"], row["type_error_share"])
        for row in columns
    ]
    score = 1.0 if missing else max([0.0, *rates])
    return {"ok": not issues, "score": round(score, 6), "issues": issues, "columns": columns,
            "missing_columns": missing, "extra_columns": extra}
