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
same answer twice, so ``predict`` thresholds the probability of the positive
class (``predict_proba``, fairlearn's ``_pmf_predict``) at 0.5 instead. The
sensitive column therefore stays an input column of the trained Pipeline (the
endpoint asks for it); do not list it in ``model.train``'s ``exclude``.
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


class FairClassifier(ClassifierMixin, BaseEstimator):
    """``steps`` (unfitted ``(name, estimator)`` pairs) fitted under a fairness constraint."""

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

    def _split(self, x: Any) -> tuple[pd.DataFrame, pd.Series]:
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
        return x.drop(columns=[self.sensitive_column]), x[self.sensitive_column]

    def fit(self, x: pd.DataFrame, y: Any) -> FairClassifier:
        from fairlearn.postprocessing import ThresholdOptimizer
        from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient

        from .training import make_pipeline

        if not self.steps:
            raise BlockError("connect the estimator to make fairer")
        features, sensitive = self._split(x)
        y = pd.Series(np.asarray(y))
        self.classes_ = np.array(sorted(pd.unique(y)))
        if len(self.classes_) != 2:
            raise BlockError(
                f"rai.mitigate needs a binary label; this one has {len(self.classes_)} classes"
            )
        binary = (y == self.classes_[1]).astype(int).to_numpy()
        inner = make_pipeline(self.steps)
        groups = sensitive.astype(str).to_numpy()
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
        else:
            moment = (
                DemographicParity() if self.constraint == "demographic_parity" else EqualizedOdds()
            )
            last = inner.steps[-1][0]
            fitted = ExponentiatedGradient(
                inner, moment, sample_weight_name=f"{last}__sample_weight"
            )
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
        self.mitigator_ = fitted
        self.feature_names_in_ = np.asarray([str(c) for c in x.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        features, sensitive = self._split(x)
        if self.method == "threshold":
            pmf = self.mitigator_._pmf_predict(
                features, sensitive_features=sensitive.astype(str).to_numpy()
            )
        else:
            pmf = self.mitigator_._pmf_predict(features)
        return np.asarray(pmf, dtype=float)

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self.classes_[(self.predict_proba(x)[:, 1] > 0.5).astype(int)]
