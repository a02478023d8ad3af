"""Per-row feature contributions for ``predict?explain=true``.

Contributions are on the features the final estimator sees (after the model's
own preprocessing), named by ``get_feature_names_out`` of the preprocessing, and
for a classifier they are toward the class the row was predicted as.

- Tree models (decision trees, random forests, extra trees, gradient boosting,
  histogram gradient boosting): exact TreeSHAP (``shap.TreeExplainer``,
  path-dependent, so no background data is needed). A row's contributions plus
  the expected value equal its model output (probability of the class for
  scikit-learn forests, the raw margin for gradient boosting).
- Linear models (``coef_``): ``coef × (x − mean)``, the exact SHAP values of a
  linear model with independent features, in its margin units (log-odds for a
  logistic regression). ``mean`` is the mean of the transformed training rows
  (a sample of at most ``BACKGROUND_ROWS``), read once per model version.
- Anything else: 422 naming ``explain`` (no per-request model-agnostic
  explainer: it would not fit the latency budget). That includes a model made
  fairer by ``rai.mitigate`` (``FairClassifier``): its answer mixes several
  fitted chains with fairlearn's weights (one mixture per class of a multiclass
  label) and takes the surest class, so no single tree or coefficient vector
  describes it; the 422 says so and points at the pipeline's model-agnostic
  ``explain.permutation_importance`` step.

An ``Explainer`` is built once per model version and process (it may read the
training table), then cached; ``explainer_get`` may do I/O, so the ASGI path
builds it in a thread before predicting (``explainers_warm``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ApplicationError

TOP_FEATURES = 10
BACKGROUND_ROWS = 1000
CACHE_SIZE = 16
TREE_MODELS = frozenset({
    "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
})


@dataclass(frozen=True, slots=True)
class Explainer:
    method: str  # "tree_shap" | "linear"
    names: tuple[str, ...]
    tree: Any = None  # shap.TreeExplainer
    coef: np.ndarray | None = None  # (n_outputs, n_features)
    mean: np.ndarray | None = None  # (n_features,)


_explainers: OrderedDict[tuple[int, str], Explainer] = OrderedDict()
_lock = threading.Lock()


def _names(runnable, n: int) -> tuple[str, ...]:
    model = runnable.model
    try:
        names = model[:-1].get_feature_names_out() if hasattr(model, "steps") and len(model.steps) > 1 else None
    except Exception:  # noqa: BLE001 - a step without feature names: fall back below
        names = None
    if names is None and runnable.feature_names is not None and not runnable.transformers:
        names = runnable.feature_names
    if names is None or len(names) != n:
        return tuple(f"x{i}" for i in range(n))
    return tuple(str(name) for name in names)


def _transform(runnable, frame):
    x = frame
    for step in runnable.transformers:
        x = step.transform(x)
    return x.toarray() if hasattr(x, "toarray") else np.asarray(x, dtype=np.float64)


def _training_mean(runnable, model_version_id: int, columns: list[str]) -> np.ndarray:
    from ..execution.artifacts import TABLE
    from ..models import ModelVersion
    from ..services.artifacts import artifact_store

    sha = ModelVersion.objects.filter(pk=model_version_id).values_list("training_data_sha256", flat=True).first()
    if not sha:
        raise ApplicationError("this model's training data is not recorded, so it cannot be explained",
                               status=422, field="explain")
    table = artifact_store().load(sha, TABLE)
    sample = table[columns].sample(n=min(len(table), BACKGROUND_ROWS), random_state=0)
    return _transform(runnable, sample).mean(axis=0)


def _build(served, runnable) -> Explainer:
    final = runnable.final
    kind = type(final).__name__
    if kind in TREE_MODELS:
        import shap

        tree = shap.TreeExplainer(final)  # path-dependent: exact, no background data
        n = getattr(final, "n_features_in_", None) or len(served.signature.columns)
        return Explainer("tree_shap", _names(runnable, n), tree=tree)
    coef = getattr(final, "coef_", None)
    if coef is not None:
        coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
        mean = _training_mean(runnable, served.model_version_id, served.signature.columns)
        return Explainer("linear", _names(runnable, coef.shape[1]), coef=coef, mean=mean)
    if kind == "FairClassifier":
        raise ApplicationError(
            "explanations are available for tree and linear models; this model is mitigated for "
            "fairness (rai.mitigate): it mixes several fitted models with fairlearn's weights, so "
            "neither TreeSHAP nor linear contributions describe it. Explain it in the pipeline "
            "with explain.permutation_importance instead",
            status=422, field="explain",
        )
    raise ApplicationError(
        f"explanations are available for tree and linear models; this model ends in {kind}",
        status=422, field="explain",
    )


def explainer_get(served, runnable) -> Explainer:
    key = (served.model_version_id, served.artifact_sha256)
    explainer = _explainers.get(key)
    if explainer is not None:
        return explainer
    with _lock:
        explainer = _explainers.get(key)
        if explainer is None:
            explainer = _explainers[key] = _build(served, runnable)
            while len(_explainers) > CACHE_SIZE:
                _explainers.popitem(last=False)
    return explainer


def explainer_cached(served) -> Explainer | None:
    return _explainers.get((served.model_version_id, served.artifact_sha256))


def explainers_clear() -> None:
    with _lock:
        _explainers.clear()


def _class_index(served, runnable, predictions: np.ndarray, n_outputs: int) -> np.ndarray:
    """Per row, which output's contributions to report: the predicted class's (0 for regression)."""
    classes = getattr(runnable.final, "classes_", None)
    if classes is None or n_outputs == 1:
        return np.zeros(len(predictions), dtype=int)
    return np.searchsorted(classes, predictions)


def explain(served, runnable, frame, raw_predictions: np.ndarray, *, top: int = TOP_FEATURES) -> list[list[dict]]:
    """``[[{"feature", "contribution"}, …top by |contribution|] per row]``."""
    explainer = explainer_get(served, runnable)
    x = _transform(runnable, frame)
    if explainer.method == "tree_shap":
        values = np.asarray(explainer.tree.shap_values(x, check_additivity=False))
        if values.ndim == 3:  # (rows, features, outputs)
            idx = _class_index(served, runnable, raw_predictions, values.shape[2])
            values = values[np.arange(len(x)), :, idx]
    else:
        coef = explainer.coef
        contributions = (x - explainer.mean)[:, None, :] * coef[None, :, :]  # (rows, outputs, features)
        if coef.shape[0] == 1:
            values = contributions[:, 0, :]
            classes = getattr(runnable.final, "classes_", None)
            if classes is not None and len(classes) == 2:
                # A binary model's coef_ points toward classes_[1]: toward the predicted class, flip for classes_[0].
                sign = np.where(raw_predictions == classes[1], 1.0, -1.0)
                values = values * sign[:, None]
        else:
            idx = _class_index(served, runnable, raw_predictions, coef.shape[0])
            values = contributions[np.arange(len(x)), idx, :]
    order = np.argsort(-np.abs(values), axis=1)[:, :top]
    names = explainer.names
    return [
        [{"feature": names[j], "contribution": float(row[j])} for j in row_order]
        for row, row_order in zip(values, order, strict=True)
    ]
