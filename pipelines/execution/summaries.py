"""What the UI shows of a step's outputs: small, JSON-safe summaries."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

PREVIEW_ROWS = 20


def json_safe(value: Any) -> Any:
    """Turn numpy scalars, NaN and infinities into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def table_summary(df: pd.DataFrame) -> dict[str, Any]:
    head = df.head(PREVIEW_ROWS)
    rows = head.astype(object).where(head.notna(), None).values.tolist()
    return {
        "rows": int(len(df)),
        "columns": [{"name": str(c), "dtype": str(t)} for c, t in df.dtypes.items()],
        "preview": json_safe(rows),
    }


def estimator_summary(steps: list) -> dict[str, Any]:
    return {"steps": [{"name": name, "class": type(est).__name__} for name, est in steps]}


def model_summary(model: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "steps": [{"name": name, "class": type(est).__name__} for name, est in model.steps]
    }
    classes = getattr(model, "classes_", None)
    if classes is not None:
        summary["classes"] = json_safe(list(classes))
    features = getattr(model, "feature_names_in_", None)
    if features is not None:
        summary["features"] = [str(f) for f in features]
    return summary


def summarize(port_type: str, value: Any) -> dict[str, Any]:
    if port_type == "table":
        return table_summary(value)
    if port_type == "estimator":
        return estimator_summary(value)
    if port_type == "model":
        return model_summary(value)
    return json_safe(value)
