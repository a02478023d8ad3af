"""One monitoring window's report, in the API's shape, from plain frames.

The caller (``services.monitoring``) reads the reference and the window's rows;
this module only computes. A signal below its minimum sample size has no
verdict (``"status": "insufficient_data"``), never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import drift as drift_
from . import quality as quality_
from .performance import performance as performance_

ERROR_RATE_WARNING = 0.05


@dataclass(slots=True)
class Reference:
    """What a window is compared with (the training data, a dataset or a production window), prepared once."""

    features: pd.DataFrame  # a sample of the training table's feature columns
    kinds: dict[str, str]  # column → "numeric" | "categorical", in signature order
    profiles: dict[str, quality_.ColumnProfile]  # from the whole training table
    task: str
    predictions: Any = None  # the model's predictions on ``features`` (array) or None
    validation: dict[str, Any] | None = None  # {"metric", "value"} from registration
    prepared: dict[str, drift_.Column] = field(default_factory=dict)
    prepared_predictions: drift_.Column | None = None

    def __post_init__(self) -> None:
        for name, kind in self.kinds.items():
            if name in self.features.columns:
                self.prepared[name] = drift_.prepare(self.features[name].to_numpy(), kind)
        if self.predictions is not None:
            self.prepared_predictions = drift_.prepare(np.asarray(self.predictions), self.prediction_kind)

    @property
    def prediction_kind(self) -> str:
        return drift_.NUMERIC if self.task == "regression" else drift_.CATEGORICAL


def _insufficient(n: int, min_rows: int) -> dict[str, Any]:
    return {"status": "insufficient_data", "n": n, "min_rows": min_rows,
            "dataset_drift": None, "share": None, "features": []}


def window_report(
    reference: Reference,
    current: pd.DataFrame,
    *,
    start: str,
    end: str,
    n: int,
    present: set[str] | None = None,
    predictions: Any = None,
    labels: tuple[Any, Any] | None = None,
    latency_ms: dict[str, float | None] | None = None,
    error_rate: float | None = None,
    min_rows: int = 100,
    min_labels: int = 50,
) -> dict[str, Any]:
    """The report of [start, end).

    - ``current``: the window's (sampled) input rows; ``n``: rows predicted before sampling.
    - ``present``: the columns the requests sent; ``predictions``: the model's outputs
      for ``current``'s rows; ``labels``: (ground truth, prediction) of the labelled rows.
    - ``status``: "alert" (dataset or prediction drift, or performance whose whole
      interval is below the validation metric), "warning" (a drifted feature, a quality
      issue, errors ≥ 5 %), "ok", or "insufficient_data" when no signal has enough data.
    """
    rows = len(current)
    if reference.features.empty:  # no training data to compare with: no verdict on drift or quality
        drift = {**_insufficient(rows, min_rows), "detail": "no reference: its data is not available"}
        quality = {"ok": True, "issues": [], "columns": [], "missing_columns": [], "extra_columns": [],
                   "status": "insufficient_data"}
    elif rows >= min_rows:
        drift = drift_.dataset_drift(reference.features, current, reference.kinds, prepared_reference=reference.prepared)
        drift["status"] = "alert" if drift["dataset_drift"] else "warning" if drift["n_drifted"] else "ok"
        drift["n"] = rows
        quality = quality_.data_quality(current, reference.profiles, present=present)
    else:
        drift = _insufficient(rows, min_rows)
        quality = {**quality_.data_quality(current, reference.profiles, present=present), "status": "insufficient_data"} \
            if rows else {"ok": True, "issues": [], "columns": [], "missing_columns": [], "extra_columns": [],
                          "status": "insufficient_data"}
    prediction_drift = _prediction_drift(reference, predictions, min_rows)
    true, pred = labels if labels is not None else ([], [])
    performance = performance_(reference.task, list(true), list(pred), min_labels=min_labels)
    performance["validation"] = reference.validation
    performance["status"] = _performance_status(performance, reference.validation)
    report = {
        "start": start, "end": end, "n": n, "n_sampled": rows,
        "drift": drift, "prediction_drift": prediction_drift, "quality": quality,
        "performance": performance,
        "latency_ms": latency_ms or {"p50": None, "p95": None, "p99": None},
        "error_rate": error_rate,
    }
    report["status"] = window_status(report)
    return report


def _prediction_drift(reference: Reference, predictions: Any, min_rows: int) -> dict[str, Any]:
    if predictions is None or reference.prepared_predictions is None:
        return {**_insufficient(0, min_rows), "status": "insufficient_data"}
    current = drift_.prepare(np.asarray(predictions), reference.prediction_kind)
    if current.size < min_rows:
        return _insufficient(current.size, min_rows)
    column = drift_.column_drift("prediction", reference.prepared_predictions, current)
    return {**column, "n": current.size, "status": "alert" if column["drifted"] else "ok"}


def _performance_status(performance: dict[str, Any], validation: dict[str, Any] | None) -> str:
    if performance["value"] is None:
        return "insufficient_data"
    if validation and validation.get("metric") == performance["metric"] and validation.get("value") is not None:
        if performance["ci"] and performance["ci"][1] < validation["value"]:
            return "alert"
    return "ok"


def window_status(report: dict[str, Any]) -> str:
    """The worst of the window's signals; "insufficient_data" only when none has a verdict."""
    signals = [report["drift"]["status"], report["prediction_drift"]["status"], report["performance"]["status"]]
    judged = [s for s in signals if s != "insufficient_data"]
    if not judged:
        return "insufficient_data"
    if "alert" in judged:
        return "alert"
    quality = report["quality"]
    errors = report.get("error_rate") or 0.0
    if "warning" in judged or (quality.get("status") != "insufficient_data" and not quality["ok"]) \
            or errors >= ERROR_RATE_WARNING:
        return "warning"
    return "ok"
