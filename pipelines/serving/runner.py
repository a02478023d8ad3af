"""Calling a fitted Pipeline on a request's rows, quickly and exactly.

- The preprocessing steps run once per request even when both ``predict`` and
  ``predict_proba`` are wanted (a Pipeline would transform twice).
- For all-numeric signatures the rows go in as one float64 NumPy array instead
  of a DataFrame: scikit-learn's pandas handling costs milliseconds per call,
  the maths microseconds. The columns were already put in training order by
  name (``serving.coerce``), so a serving copy of the first step is made
  without ``feature_names_in_`` (a shallow copy: the fitted arrays are shared),
  which is what lets it accept the array without a warning.
- Values were checked finite (or NaN where the model takes it) by the coercion
  step, so scikit-learn's own finiteness scan is skipped (``assume_finite``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

# Classifiers whose ``predict`` is by definition the class of highest
# ``predict_proba`` (monotone link / the same vote), so one call gives both.
PREDICT_IS_ARGMAX_PROBA = frozenset({
    "LogisticRegression", "RandomForestClassifier", "ExtraTreesClassifier",
    "DecisionTreeClassifier", "ExtraTreeClassifier", "GaussianNB",
})


@dataclass(frozen=True, slots=True)
class Runnable:
    model: Any
    transformers: tuple  # fitted steps before the final estimator (DataFrame path)
    final: Any
    fast_transformers: tuple | None  # the same, first step without feature names (array path)
    fast_final: Any
    feature_names: tuple[str, ...] | None
    has_proba: bool
    predict_from_proba: bool


def _without_names(estimator):
    if not hasattr(estimator, "feature_names_in_"):
        return estimator
    clone = copy.copy(estimator)
    del clone.feature_names_in_
    return clone


def runnable_from(model) -> Runnable:
    steps = [est for _, est in model.steps] if hasattr(model, "steps") else [model]
    steps = [s for s in steps if s is not None and s != "passthrough"]
    *transformers, final = steps
    names = getattr(model, "feature_names_in_", None)
    fast_steps = [_without_names(steps[0]), *steps[1:]] if names is not None else steps
    *fast_transformers, fast_final = fast_steps
    return Runnable(
        model=model,
        transformers=tuple(transformers),
        final=final,
        fast_transformers=tuple(fast_transformers),
        fast_final=fast_final,
        feature_names=tuple(str(n) for n in names) if names is not None else None,
        has_proba=hasattr(final, "predict_proba"),
        predict_from_proba=type(final).__name__ in PREDICT_IS_ARGMAX_PROBA and hasattr(final, "classes_"),
    )


def run(runnable: Runnable, frame, columns: list[str], *, all_float: bool, want_proba: bool):
    """(predictions ndarray, probabilities ndarray or None)."""
    # Imported here: a web process that serves pages but no predictions never loads
    # scikit-learn (and SciPy); once loaded, this is a dictionary lookup.
    from sklearn import config_context

    with config_context(assume_finite=True):
        return _run(runnable, frame, columns, all_float=all_float, want_proba=want_proba)


def _run(runnable: Runnable, frame, columns: list[str], *, all_float: bool, want_proba: bool):
    if all_float and (runnable.feature_names is None or list(runnable.feature_names) == columns):
        x = frame.to_numpy(dtype=np.float64, copy=False)
        transformers, final = runnable.fast_transformers, runnable.fast_final
    else:
        x = frame
        transformers, final = runnable.transformers, runnable.final
    for step in transformers:
        x = step.transform(x)
    if want_proba and runnable.has_proba:
        proba = final.predict_proba(x)
        if runnable.predict_from_proba:
            return final.classes_.take(proba.argmax(axis=1)), proba
        return final.predict(x), proba
    return final.predict(x), None
