"""Training, evaluating and predicting with a Pipeline of estimator steps.

Mistakes people make in a low-code editor (text columns without an encoder,
missing values without an imputer, a classifier on a continuous target) become
``BlockError``s that say what to add; anything else propagates with its
traceback, which the executor records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import type_of_target

from .base import BlockError
from .charts import with_charts
from .metrics import Scored, classification_metrics, regression_metrics

Steps = Sequence[tuple[str, Any]]


def _columns(table: pd.DataFrame) -> str:
    return ", ".join(repr(str(c)) for c in table.columns)


def split_target(table: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    if target not in table.columns:
        raise BlockError(
            f"there is no target column {target!r}; columns are: {_columns(table)}",
            param="target",
        )
    return table.drop(columns=[target]), table[target]


def _text_columns(features: pd.DataFrame) -> list[str]:
    return [
        str(c)
        for c in features.columns
        if not (
            pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c])
        )
    ]


def _names(columns: list[str]) -> str:
    quoted = ", ".join(repr(c) for c in columns[:5]) + (" …" if len(columns) > 5 else "")
    return f"column {quoted}" if len(columns) == 1 else f"columns {quoted}"


def _has_step(steps: Steps, *fragments: str) -> bool:
    return any(any(f in type(est).__name__ for f in fragments) for _, est in steps)


def _diagnose(
    exc: Exception, features: pd.DataFrame, target: pd.Series, target_name: str, steps: Steps
) -> str | None:
    """A sentence saying what to change, or ``None`` if the failure is not a known mistake."""
    first = type(steps[0][1]).__name__
    final = steps[-1][1]
    missing = {str(c): int(n) for c, n in features.isna().sum().items() if n}
    text = _text_columns(features)
    says_nan = "nan" in str(exc).lower()
    if missing and says_nan and not _has_step(steps, "Imputer"):
        column, count = next(iter(missing.items()))
        more = f" (and {len(missing) - 1} more column(s))" if len(missing) > 1 else ""
        return (
            f"column {column!r} has {count} missing value(s){more}; "
            f"add a SimpleImputer before {first}"
        )
    if text and not _has_step(steps, "Encoder", "Vectorizer", "Hasher"):
        verb = "holds" if len(text) == 1 else "hold"
        return (
            f"{_names(text)} {verb} text; add prep.auto (or prep.columns with a "
            f"OneHotEncoder) before {first}"
        )
    if missing and not _has_step(steps, "Imputer"):
        column, count = next(iter(missing.items()))
        return f"column {column!r} has {count} missing value(s); add a SimpleImputer before {first}"
    if is_regressor(final) and not pd.api.types.is_numeric_dtype(target):
        return (
            f"{type(final).__name__} is a regressor but target column {target_name!r} "
            "holds text; use a classifier, or pick a numeric target column"
        )
    return None


def _looks_continuous(y: pd.Series) -> bool:
    """Fractional numbers, or so many distinct numbers that they cannot be classes.

    The second case catches integral floats such as the diabetes target, which
    scikit-learn would happily treat as hundreds of classes.
    """
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return False
    if type_of_target(y).startswith("continuous"):
        return True
    distinct = y.nunique()
    return distinct > 20 and distinct > len(y) // 2


def make_pipeline(steps: Steps) -> Pipeline:
    """An unfitted Pipeline of fresh copies of ``steps``, step names made unique."""
    taken: set[str] = set()
    named = []
    for name, estimator in steps:
        unique, n = name, 1
        while unique in taken:
            n += 1
            unique = f"{name}_{n}"
        taken.add(unique)
        named.append((unique, clone(estimator)))
    return Pipeline(named)


def check_training_data(steps: Steps, table: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target, or a BlockError saying what is wrong with them."""
    if not steps:
        raise BlockError("connect an estimator: there are no steps to train")
    features, y = split_target(table, target)
    if features.shape[1] == 0:
        raise BlockError(f"the table has no feature columns besides the target {target!r}")
    if len(table) == 0:
        raise BlockError("the table has no rows to train on")
    missing_y = int(y.isna().sum())
    if missing_y:
        raise BlockError(
            f"target column {target!r} has {missing_y} missing value(s); "
            "drop those rows before training",
            param="target",
        )
    final = steps[-1][1]
    if is_classifier(final) and _looks_continuous(y):
        raise BlockError(
            f"{type(final).__name__} is a classifier but target column {target!r} holds "
            f"continuous numbers ({y.nunique()} distinct values in {len(y)} rows); "
            "use a regressor, or pick a column of class labels",
            param="target",
        )
    return features, y


def fit_with_hints(pipeline: Pipeline, steps: Steps, features: pd.DataFrame, y: pd.Series, target: str) -> Pipeline:
    """Fit, turning known mistakes (text without encoder, NaN without imputer) into BlockErrors."""
    try:
        pipeline.fit(features, y)
    except (ValueError, TypeError) as exc:
        hint = _diagnose(exc, features, y, target, steps)
        if hint is None:
            raise
        raise BlockError(hint) from exc
    return pipeline


def select_features(
    table: pd.DataFrame, target: str, features: Sequence[str] = (), exclude: Sequence[str] = ()
) -> pd.DataFrame:
    """The table cut to the feature columns: ``features`` (all but the target when
    empty) minus ``exclude``; the target column stays so it can be split off."""
    for param, names in (("features", features), ("exclude", exclude)):
        absent = [c for c in names if c not in table.columns]
        if absent:
            raise BlockError(
                f"{param}: there is no {_names(absent)}; columns are: {_columns(table)}", param=param
            )
    if target in features:
        raise BlockError(f"features: the target {target!r} cannot also be a feature", param="features")
    chosen = list(features) or [c for c in table.columns if c != target]
    kept = [c for c in chosen if c not in set(exclude) and c != target]
    if target in table.columns:
        kept.append(target)
    return table[kept]


def train(
    steps: Steps,
    table: pd.DataFrame,
    target: str,
    *,
    features: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Pipeline:
    """One fitted Pipeline of fresh copies of ``steps`` (the inputs stay unfitted).

    The Pipeline records ``target_`` (the label column) and ``feature_columns_``
    (the columns it reads, also ``feature_names_in_``), so evaluation, prediction
    and serving need not be told again.
    """
    table = select_features(table, target, features, exclude)
    x, y = check_training_data(steps, table, target)
    pipeline = make_pipeline(steps)
    # Asked of the copy that is fitted next, which may keep what it found (prep.auto's plan).
    used = getattr(pipeline.steps[0][1], "used_columns", None)
    unused: list[str] = []
    if used is not None:  # a prep step that drops columns: the model does not ask for them
        keep = used(x)
        unused = [str(c) for c in x.columns if c not in set(keep)]
        x = x[keep]
    model = fit_with_hints(pipeline, steps, x, y, target)
    model.unused_columns_ = unused
    model.target_ = target
    model.feature_columns_ = [str(c) for c in x.columns]
    return model


def model_target(model: Pipeline, target: str | None = None) -> str:
    """The label column: ``target`` when given, else what the model was trained on."""
    return target or getattr(model, "target_", None) or "target"


def model_features(model: Pipeline, table: pd.DataFrame) -> pd.DataFrame:
    """The columns the model was trained on, in training order (others ignored)."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return table
    absent = [str(c) for c in names if c not in table.columns]
    if absent:
        raise BlockError(
            f"the table lacks {_names(absent)} that the model was trained on; "
            f"columns are: {_columns(table)}"
        )
    return table[list(names)]


def evaluate(model: Pipeline, table: pd.DataFrame, target: str | None = None) -> dict[str, Any]:
    """Task-appropriate metrics, plain JSON; the target defaults to the model's."""
    _, y = split_target(table, model_target(model, target))
    if len(table) == 0:
        raise BlockError("the table has no rows to evaluate on")
    features = model_features(model, table)
    final = model[-1]
    # The model's answers on the table, computed once for the metrics and the charts.
    scored = Scored(model, features)
    if is_classifier(final):
        return with_charts(classification_metrics(model, features, y, scored=scored), model, features, y, scored=scored)
    if is_regressor(final):
        return with_charts(regression_metrics(model, features, y, scored=scored), model, features, y, scored=scored)
    raise BlockError(
        f"{type(final).__name__} is neither a classifier nor a regressor; "
        "model.evaluate needs one of those"
    )


def predict(model: Pipeline, table: pd.DataFrame) -> pd.DataFrame:
    """The table with a ``prediction`` column, and ``proba_<class>`` columns when available."""
    if not hasattr(model, "predict"):
        raise BlockError(f"{type(model[-1]).__name__} cannot predict on new rows")
    features = model_features(model, table)
    out = table.copy()
    out["prediction"] = model.predict(features)
    if is_classifier(model[-1]) and hasattr(model, "predict_proba"):
        proba = model.predict_proba(features)
        for i, label in enumerate(model.classes_):
            out[f"proba_{label}"] = proba[:, i]
    return out
