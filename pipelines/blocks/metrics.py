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


# scikit-learn classifiers whose ``predict`` is the class of the highest
# ``predict_proba`` (both computed from the same trees), except on rows where
# two classes share the highest probability: there their own ``predict`` is asked.
PREDICTS_TOP_PROBABILITY = frozenset({
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
})


def _predicts_top_probability(estimator: Any) -> bool:
    kind = type(estimator)
    return f"{kind.__module__}.{kind.__qualname__}" in PREDICTS_TOP_PROBABILITY


def _rows(x: Any, positions: np.ndarray) -> Any:
    return x.iloc[positions] if isinstance(x, pd.DataFrame) else x[positions]


class Scored:
    """A fitted model's answers on one table, each computed once.

    A Pipeline runs its preprocessing again for every ``predict``,
    ``predict_proba`` and ``decision_function``; here the steps before the
    final estimator transform the table once, and the final estimator answers
    on that (what Pipeline does, so the answers are the same). Evaluating a
    model on a large test table then costs one preprocessing pass, not three.
    """

    def __init__(self, model: Any, features: pd.DataFrame):
        self.model, self.features = model, features
        steps = getattr(model, "steps", None)
        self.final = steps[-1][1] if steps else model
        self._before = [step for _, step in steps[:-1] if step is not None and step != "passthrough"] if steps else []
        self._transformed: Any = None
        self._answers: dict[str, Any] = {}
        self.has_proba = hasattr(model, "predict_proba")
        self.has_decision = hasattr(model, "decision_function")

    def _x(self) -> Any:
        if self._transformed is None:
            x = self.features
            for step in self._before:
                x = step.transform(x)
            self._transformed = x
        return self._transformed

    def _answer(self, method: str) -> Any:
        if method not in self._answers:
            self._answers[method] = getattr(self.final, method)(self._x())
        return self._answers[method]

    def predict(self) -> np.ndarray:
        """The final estimator's ``predict``; for the classifiers in
        PREDICTS_TOP_PROBABILITY read off ``predict_proba`` (which evaluation
        needs anyway): one pass over a large table's trees instead of two."""
        if "predict" not in self._answers and self.has_proba and _predicts_top_probability(self.final):
            proba = self.predict_proba()
            if not (isinstance(proba, np.ndarray) and proba.ndim == 2):  # multi-output: a list of arrays
                return self._answer("predict")
            top = proba.max(axis=1, keepdims=True)
            predicted = np.asarray(self.final.classes_)[np.argmax(proba, axis=1)]
            tied = np.flatnonzero((proba == top).sum(axis=1) > 1)
            if len(tied):
                predicted[tied] = self.final.predict(_rows(self._x(), tied))
            self._answers["predict"] = predicted
        return self._answer("predict")

    def predict_proba(self) -> np.ndarray:
        return self._answer("predict_proba")

    def decision_function(self) -> np.ndarray:
        return self._answer("decision_function")


def _scores(scored: Scored) -> np.ndarray | None:
    if scored.has_proba:
        return scored.predict_proba()
    if scored.has_decision:
        return scored.decision_function()
    return None


def _roc_auc(scored: Scored, y: pd.Series, classes: list[Any]) -> Any:
    """Binary: from predict_proba or decision_function. Multiclass: one-vs-rest macro."""
    present = set(pd.unique(y))
    if len(present) < 2 or not present <= set(classes):
        return None
    try:
        if len(classes) == 2:
            scores = _scores(scored)
            if scores is None:
                return None
            positive = scores[:, 1] if scores.ndim == 2 else scores
            return _plain(skm.roc_auc_score(y == classes[1], positive))
        if not scored.has_proba:
            return None  # decision values are not probabilities; OvR AUC needs those
        return _plain(
            skm.roc_auc_score(
                y,
                scored.predict_proba(),
                multi_class="ovr",
                average="macro",
                labels=classes,
            )
        )
    except ValueError:
        return None


def classification_metrics(
    model: Any, features: pd.DataFrame, y: pd.Series, *, scored: Scored | None = None
) -> dict[str, Any]:
    """``scored``: the model's answers on ``features`` when the caller has them (``Scored``)."""
    scored = scored or Scored(model, features)
    predicted = scored.predict()
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
        "roc_auc": _roc_auc(scored, y, classes),
        "confusion_matrix": {
            "labels": labels,
            "matrix": skm.confusion_matrix(y, predicted, labels=labels).tolist(),
        },
        "headline": {"name": "accuracy", "value": accuracy},
    }
    return _finite(out)


def regression_metrics(
    model: Any, features: pd.DataFrame, y: pd.Series, *, scored: Scored | None = None
) -> dict[str, Any]:
    predicted = (scored or Scored(model, features)).predict()
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
