"""A classifier made fairer by fairlearn: the estimator behind ``rai.mitigate``.

``FairClassifier`` wraps the whole chain of estimator steps it is given (the
preprocessing and the classifier) and is itself one step, so ``model.train``
fits it like any other. At fit time it reads the sensitive column from the
training table and hands it to fairlearn as the groups — the inner chain never
sees it as a feature:

- ``method="reductions"``: ``ExponentiatedGradient`` refits the chain under a
  demographic parity or equalized odds constraint;
- ``method="threshold"``: ``ThresholdOptimizer`` fits the chain once and picks a
  threshold per group (so prediction needs the sensitive column too).

Both of fairlearn's predictors are randomised; a deployed model must give the
same answer twice, so ``predict`` takes the most probable class of
``predict_proba`` (fairlearn's ``_pmf_predict``) instead: for a binary label,
the positive class when its probability is above 0.5.

fairlearn's mitigators decide binary questions only. A label with more classes
is mitigated one class against the rest (``method="reductions"`` under
demographic parity): one ExponentiatedGradient per class ("is it class k?"),
so each class's selection rate is evened out between groups. ``predict`` takes
the class whose mitigator says "yes" most surely; several at once, or none, are
told apart by the mixture's mean probability (its predictors weighted as
fairlearn weighs them), so a row no class claims still gets its likeliest class
rather than the first one. ``predict_proba`` is
the per-class probabilities normalised to sum to 1 (those mean probabilities
for a row no class claims), so ``predict`` is always a most probable class.
Per-group thresholds (``method="threshold"``) and per-class TPR/FPR
(``equalized_odds``) do not survive taking the argmax of several binary
decisions, so those refuse a multiclass label with a message saying what to use.

The sensitive column stays an input column of the trained Pipeline (the
endpoint asks for it; the threshold method reads it); do not list it in
``model.train``'s ``exclude``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from .base import BlockError

METHODS = ("reductions", "threshold")
CONSTRAINTS = ("demographic_parity", "equalized_odds")
# A group's selection rate from fewer rows is noise, and a constraint on noise only costs accuracy.
MIN_GROUP_ROWS = 10


class FairClassifier(ClassifierMixin, BaseEstimator):
    """``steps`` (unfitted ``(name, estimator)`` pairs) fitted under a fairness constraint.

    Fitted: ``classes_``; ``mitigator_`` (binary label) or ``mitigators_`` (one
    per class of a multiclass label, in ``classes_`` order).
    """

    def __init__(
        self,
        steps: list | None = None,
        sensitive_column: str = "group",
        method: str = "reductions",
        constraint: str = "demographic_parity",
        seed: int = 0,
    ):
        self.steps = steps
        self.sensitive_column = sensitive_column
        self.method = method
        self.constraint = constraint
        self.seed = seed

    def _split(self, x: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """The features the inner chain reads, and the groups as text."""
        if not isinstance(x, pd.DataFrame):
            raise BlockError(
                "rai.mitigate must be the first step: it reads the sensitive column by name"
            )
        if self.sensitive_column not in x.columns:
            shown = ", ".join(repr(str(c)) for c in x.columns[:20])
            raise BlockError(
                f"there is no sensitive column {self.sensitive_column!r} among the training columns "
                f"({shown}); keep it in the table and out of model.train's exclude",
                param="sensitive_column",
            )
        groups = x[self.sensitive_column].astype(str).to_numpy()
        return x.drop(columns=[self.sensitive_column]), groups

    def _check_label_and_groups(self, groups: np.ndarray) -> None:
        if len(self.classes_) < 2:
            shown = repr(str(self.classes_[0])) if len(self.classes_) else "none"
            raise BlockError(
                f"rai.mitigate needs at least two classes in the label; the training rows all have {shown}"
            )
        names, counts = np.unique(groups, return_counts=True)
        if len(names) < 2:
            raise BlockError(
                f"sensitive column {self.sensitive_column!r} has a single value ({names[0]!r}) in the "
                "training rows: there are no groups to treat alike",
                param="sensitive_column",
            )
        small = [(n, int(c)) for n, c in zip(names, counts, strict=True) if c < MIN_GROUP_ROWS]
        if small:
            listed = ", ".join(f"{n!r} ({c} row(s))" for n, c in small)
            raise BlockError(
                f"group(s) {listed} of {self.sensitive_column!r} are too small to constrain: each group "
                f"needs at least {MIN_GROUP_ROWS} training rows; merge them into another group or "
                "drop those rows",
                param="sensitive_column",
            )

    def _check_multiclass(self) -> None:
        n = len(self.classes_)
        if self.method == "threshold":
            raise BlockError(
                f"the threshold method sets one threshold per group for a yes/no decision; this "
                f"label has {n} classes: use method 'reductions', which mitigates each class "
                "against the rest",
                param="method",
            )
        if self.constraint != "demographic_parity":
            # Each class's TPR/FPR is evened out alone, but the argmax over classes moves rows
            # between classes and the gaps come back (measured: wider than the plain model's).
            raise BlockError(
                f"{self.constraint.replace('_', ' ')} is not kept when each of {n} classes is "
                "mitigated against the rest; use constraint 'demographic_parity' for a multiclass "
                "label, or a binary label",
                param="constraint",
            )

    def _fit_binary(self, features: pd.DataFrame, binary: np.ndarray, groups: np.ndarray) -> Any:
        """One fairlearn mitigator of a fresh copy of the chain, for a 0/1 label."""
        from fairlearn.postprocessing import ThresholdOptimizer
        from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient

        from .training import make_pipeline

        inner = make_pipeline(self.steps)
        if self.method == "threshold":
            if not hasattr(inner, "predict_proba"):
                raise BlockError(
                    f"the threshold method needs class probabilities and {type(inner[-1]).__name__} "
                    "has no predict_proba; use method 'reductions' or another classifier",
                    param="method",
                )
            fitted = ThresholdOptimizer(
                estimator=inner,
                constraints=self.constraint,
                predict_method="predict_proba",
                prefit=False,
            )
            fitted.fit(features, binary, sensitive_features=groups)
            return fitted
        moment = DemographicParity() if self.constraint == "demographic_parity" else EqualizedOdds()
        last = inner.steps[-1][0]
        fitted = ExponentiatedGradient(inner, moment, sample_weight_name=f"{last}__sample_weight")
        try:
            with warnings.catch_warnings():
                # fairlearn's own bookkeeping, not the user's data: keep the step log readable.
                warnings.filterwarnings("ignore", module=r"fairlearn\.")
                fitted.fit(features, binary, sensitive_features=groups)
        except TypeError as exc:
            raise BlockError(
                f"{type(inner[-1]).__name__} cannot weight its training rows, which the "
                "reductions method needs; use method 'threshold' or another classifier"
            ) from exc
        return fitted

    def fit(self, x: pd.DataFrame, y: Any) -> FairClassifier:
        if not self.steps:
            raise BlockError("connect the estimator to make fairer")
        features, groups = self._split(x)
        y = pd.Series(np.asarray(y))
        self.classes_ = np.array(sorted(pd.unique(y)))
        self._check_label_and_groups(groups)
        if len(self.classes_) == 2:
            binary = (y == self.classes_[1]).astype(int).to_numpy()
            self.mitigator_ = self._fit_binary(features, binary, groups)
        else:
            self._check_multiclass()
            self.mitigators_ = [
                self._fit_binary(features, (y == label).astype(int).to_numpy(), groups)
                for label in self.classes_
            ]
        self.feature_names_in_ = np.asarray([str(c) for c in x.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _pmf(self, mitigator: Any, features: pd.DataFrame, groups: np.ndarray) -> np.ndarray:
        """(rows, 2): the probabilities of 0 and 1 of one binary mitigator."""
        if self.method == "threshold":
            pmf = mitigator._pmf_predict(features, sensitive_features=groups)
        else:
            pmf = mitigator._pmf_predict(features)
        return np.asarray(pmf, dtype=float)

    def _class_scores(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(rows, classes) twice: each class's mitigated probability, and the tie-breaker —
        the mean probability of that class's predictors, weighted as fairlearn weighs them.
        (Multiclass is reductions only: ExponentiatedGradients, which do not read the groups.)"""
        claims, means = [], []
        for mitigator in self.mitigators_:
            claims.append(np.asarray(mitigator._pmf_predict(features), dtype=float)[:, 1])
            means.append(_mixture_score(mitigator, features))
        return np.column_stack(claims), np.column_stack(means)

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        features, groups = self._split(x)
        if not hasattr(self, "mitigators_"):
            return self._pmf(self.mitigator_, features, groups)
        claims, means = self._class_scores(features)
        unclaimed = claims.sum(axis=1) == 0
        scores = np.where(unclaimed[:, None], np.clip(means, 0, None), claims)
        total = scores.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, scores / total, 1 / len(self.classes_))

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "mitigators_"):
            # argmax takes the first of equal values: a tie (0.5) is the first class.
            return self.classes_[np.argmax(self.predict_proba(x), axis=1)]
        features, _ = self._split(x)
        claims, means = self._class_scores(features)
        surest = claims == claims.max(axis=1, keepdims=True)
        return self.classes_[np.argmax(np.where(surest, means, -np.inf), axis=1)]


def _mixture_score(mitigator: Any, features: pd.DataFrame) -> np.ndarray:
    """An ExponentiatedGradient's predictors' scores averaged with fairlearn's weights."""
    pairs = zip(mitigator.weights_, mitigator.predictors_, strict=True)
    return sum(weight * _positive_score(chain, features) for weight, chain in pairs if weight > 0)


def _positive_score(predictor: Any, features: pd.DataFrame) -> np.ndarray:
    """How surely a fitted binary chain says 1: its probability, else its decision value."""
    if hasattr(predictor, "predict_proba"):
        return predictor.predict_proba(features)[:, 1]
    if hasattr(predictor, "decision_function"):
        return np.asarray(predictor.decision_function(features), dtype=float)
    return np.asarray(predictor.predict(features), dtype=float)
