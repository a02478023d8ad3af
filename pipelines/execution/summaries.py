"""What the UI shows of a step's outputs: small, JSON-safe summaries, each with its kind.

Every entry of ``summary["outputs"][port]`` carries ``"type"`` (the port type)
and ``"kind"``: how the output is shown (metrics, table, object, tuning report,
chart …). The kind is declared where the output is stored, from the block's
port declaration, so the run page, the model page and the editor render by
kind and never guess from the shape of the values. A new kind of report needs
a port that declares it and one renderer per client (``views/outputs.py``,
``frontend/src/components/outputs/``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

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
    plan = _prep_plan(model)
    if plan:
        summary["plan"] = plan
    return summary


def _prep_plan(model: Any) -> list[str]:
    """What the prep steps decided per column or group (``plan_`` of prep.* steps)."""
    unused = getattr(model, "unused_columns_", None) or []
    lines = [f"not used (not asked for at the endpoint): {', '.join(map(str, unused))}"] if unused else []
    for name, est in model.steps:
        for entry in getattr(est, "plan_", None) or []:
            text = f"{entry.get('column')}: {entry.get('plan')}" if isinstance(entry, dict) else str(entry)
            lines.append(f"{name} · {text}")
    return lines[:200]


# The kind each port type implies when its port declares none.
KIND_OF_PORT_TYPE = {
    "table": "table",
    "estimator": "object",
    "model": "object",
    "metrics": "metrics",
    "report": "report",
    "chart": "chart",
}
# What an unknown port type is shown as: its JSON.
FALLBACK_KIND = "json"


def output_kind(port_type: str, declared: str = "") -> str:
    """How an output is shown: the kind its port declares, else the one its port type implies.

    The one place a kind is derived; old summaries stored before kinds existed
    go through here too (``stored_kind``), with their port type.
    """
    return declared or KIND_OF_PORT_TYPE.get(port_type, FALLBACK_KIND)


def stored_kind(entry: Mapping[str, Any]) -> str:
    """The kind of a stored ``summary["outputs"][port]`` entry, old or new."""
    kind = entry.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    return output_kind(str(entry.get("type", "")))


class StepOutput(NamedTuple):
    """One output of a step as the pages show it: port, kind, port type and its summary values."""

    port: str
    kind: str
    type: str
    values: dict[str, Any]


def step_outputs(summary: Any) -> list[StepOutput]:
    """A step's outputs in port order, each with its kind; ``values`` without "type"/"kind".

    Metrics come from ``summary["metrics"]`` (the copy the compare page and the
    registry read too); summaries with metrics but no outputs entry for them
    (written before outputs were summarized) still show their metrics.
    """
    if not isinstance(summary, Mapping):
        return []
    outputs = summary.get("outputs") if isinstance(summary.get("outputs"), Mapping) else {}
    metrics = summary.get("metrics") if isinstance(summary.get("metrics"), Mapping) else None
    shown: list[StepOutput] = []
    for port, entry in outputs.items():
        if not isinstance(entry, Mapping):
            continue
        kind = stored_kind(entry)
        values = {k: v for k, v in entry.items() if k not in ("type", "kind")}
        if kind == "metrics" and metrics is not None:
            values, metrics = dict(metrics), None
        shown.append(StepOutput(str(port), kind, str(entry.get("type", "")), values))
    if metrics is not None:
        shown.insert(0, StepOutput("metrics", "metrics", "metrics", dict(metrics)))
    return shown


def output_summary(port_type: str, value: Any, *, kind: str) -> dict[str, Any]:
    """The ``summary["outputs"][port]`` entry of a value: its summary plus "type" and "kind"."""
    return {**summarize(port_type, value), "type": port_type, "kind": kind}


def summarize(port_type: str, value: Any) -> dict[str, Any]:
    if port_type == "table":
        return table_summary(value)
    if port_type == "estimator":
        return estimator_summary(value)
    if port_type == "model":
        return model_summary(value)
    return json_safe(value)
