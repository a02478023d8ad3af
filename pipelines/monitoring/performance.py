"""Model performance from ground truth, with a bootstrap confidence interval.

The metric is the task's headline metric (the one registration shows):
accuracy for classification, R² for regression; MAE and RMSE come beside R².
Below ``min_labels`` labelled rows there is no value, only the count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

BOOTSTRAP_SAMPLES = 200
CONFIDENCE = 0.95


def _aligned_labels(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions as comparable arrays: numbers when both are all numbers
    (so a label 1 equals a prediction 1.0), else text."""
    true, pred = pd.Series(y_true, dtype=object), pd.Series(y_pred, dtype=object)
    true_n, pred_n = pd.to_numeric(true, errors="coerce"), pd.to_numeric(pred, errors="coerce")
    if true_n.notna().all() and pred_n.notna().all():
        return true_n.to_numpy(dtype="float64"), pred_n.to_numpy(dtype="float64")
    return true.astype(str).to_numpy(), pred.astype(str).to_numpy()


def _interval(samples: np.ndarray) -> list[float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return [round(float(low), 6), round(float(high), 6)]


def performance(task: str, y_true: Any, y_pred: Any, *, min_labels: int = 50, seed: int = 0) -> dict[str, Any]:
    """``{"metric", "value", "n_labels", "ci": [low, high]}`` (regression adds ``mae``, ``rmse``).

    ``value`` and ``ci`` are None below ``min_labels`` labelled rows or for a task
    without a metric. The interval is a percentile bootstrap of ``BOOTSTRAP_SAMPLES``
    resamples, drawn at once as an index matrix.
    """
    metric = "accuracy" if task == "classification" else "r2" if task == "regression" else None
    n = len(y_true)
    out: dict[str, Any] = {"metric": metric, "value": None, "n_labels": n, "ci": None, "min_labels": min_labels}
    if metric is None or n < max(min_labels, 2):
        return out
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(BOOTSTRAP_SAMPLES, n))
    if metric == "accuracy":
        true, pred = _aligned_labels(y_true, y_pred)
        correct = (true == pred).astype("float64")
        out["value"] = round(float(correct.mean()), 6)
        out["ci"] = _interval(correct[draws].mean(axis=1))
        return out
    true = pd.to_numeric(pd.Series(y_true, dtype=object), errors="coerce").to_numpy(dtype="float64")
    pred = pd.to_numeric(pd.Series(y_pred, dtype=object), errors="coerce").to_numpy(dtype="float64")
    keep = np.isfinite(true) & np.isfinite(pred)
    true, pred = true[keep], pred[keep]
    out["n_labels"] = n = len(true)
    if n < max(min_labels, 2):
        return out
    draws = draws[:, :n] % n
    error = true - pred
    value = float(_r2(true[None, :], error[None, :])[0])
    out["value"] = value if np.isfinite(value) else None
    out["ci"] = _interval(_r2(true[draws], error[draws]))
    out["mae"] = round(float(np.abs(error).mean()), 6)
    out["rmse"] = round(float(np.sqrt((error**2).mean())), 6)
    return out


def _r2(true: np.ndarray, error: np.ndarray) -> np.ndarray:
    """R² per row of (resamples × n) matrices; NaN where the labels do not vary."""
    total = ((true - true.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1 - (error**2).sum(axis=1) / total
    r2 = np.where(total > 0, r2, np.nan)
    return np.round(r2, 6)
