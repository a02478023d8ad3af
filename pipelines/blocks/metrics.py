"""Metrics as plain JSON: Python floats, ints and strings, never numpy types.

A metric that is undefined for the data (ROC AUC with one class present, R² on
one row) is left out rather than reported as NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm


def _plain(value: Any) -> Any:
    """A JSON-able scalar; non-finite floats become ``None``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _finite(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if v is not None}


def _scores(model: Any, features: pd.DataFrame) -> np.ndarray | None:
    if hasattr(model, "predict_proba"):
        return model.predict_proba(features)
    if hasattr(model, "decision_function"):
        return model.decision_function(features)
    return None


def _roc_auc(model: Any, features: pd.DataFrame, y: pd.Series, classes: list[Any]) -> Any:
    """Binary: from predict_proba or decision_function. Multiclass: one-vs-rest macro."""
    present = set(pd.unique(y))
    if len(present) < 2 or not present <= set(classes):
        return None
    try:
        if len(classes) == 2:
            scores = _scores(model, features)
            if scores is None:
                return None
            positive = scores[:, 1] if scores.ndim == 2 else scores
            return _plain(skm.roc_auc_score(y == classes[1], positive))
        if not hasattr(model, "predict_proba"):
            return None  # decision values are not probabilities; OvR AUC needs those
        return _plain(
            skm.roc_auc_score(
                y,
                model.predict_proba(features),
                multi_class="ovr",
                average="macro",
                labels=classes,
            )
        )
    except ValueError:
        return None


def classification_metrics(model: Any, features: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    predicted = model.predict(features)
    classes = [_plain(c) for c in model.classes_]
    extra = sorted({_plain(v) for v in pd.unique(y)} - set(classes), key=str)
    labels = classes + extra
    binary = len(classes) == 2 and not extra
    average: dict[str, Any] = (
        {"average": "binary", "pos_label": model.classes_[1]} if binary else {"average": "macro"}
    )
    accuracy = _plain(skm.accuracy_score(y, predicted))
    out = {
        "task": "classification",
        "n_samples": len(y),
        "accuracy": accuracy,
        "f1": _plain(skm.f1_score(y, predicted, zero_division=0, **average)),
        "precision": _plain(skm.precision_score(y, predicted, zero_division=0, **average)),
        "recall": _plain(skm.recall_score(y, predicted, zero_division=0, **average)),
        "roc_auc": _roc_auc(model, features, y, classes),
        "confusion_matrix": {
            "labels": labels,
            "matrix": skm.confusion_matrix(y, predicted, labels=labels).tolist(),
        },
        "headline": {"name": "accuracy", "value": accuracy},
    }
    return _finite(out)


def regression_metrics(model: Any, features: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    predicted = model.predict(features)
    r2 = _plain(skm.r2_score(y, predicted)) if len(y) > 1 else None
    out = {
        "task": "regression",
        "n_samples": len(y),
        "r2": r2,
        "mae": _plain(skm.mean_absolute_error(y, predicted)),
        "rmse": _plain(skm.root_mean_squared_error(y, predicted)),
        "headline": {"name": "r2", "value": r2},
    }
    return _finite(out)
