"""Explanations of a trained model (the work behind ``explain.*``).

Every report carries ``importances``: ``[{"feature", "importance", "std"}]``,
largest first, plus Vega-Lite ``charts``. Work is bounded: each explanation
runs on a seeded sample of the table's rows (``max_rows``), and the
model-agnostic SHAP explainer uses a small background sample.

- permutation importance: the score drop when one input column is shuffled
  (scikit-learn), on the table's own columns;
- SHAP: tree models (the final step is a scikit-learn tree or tree ensemble)
  get exact TreeSHAP (the ``shap`` package) on the transformed features, named
  as the steps before the tree name them; other models get sampled Shapley
  values on the input columns (``sampled_shapley``), against a background of at
  most ``MAX_BACKGROUND`` rows, for at most ``MAX_AGNOSTIC_ROWS`` rows. Such a
  classifier is explained through the probability of its second class, so it
  needs ``predict_proba``;
- partial dependence with ICE curves (scikit-learn's ``partial_dependence``,
  ``kind="both"``) for a few columns.

Plain Python, no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier, is_regressor

from .base import BlockError
from .charts import _field, _tooltip, base_spec, feature_names, records, sample_rows
from .training import model_features, model_target, split_target

MAX_BACKGROUND = 100
# The model-agnostic explainer predicts (background × evaluations) rows per explained row.
MAX_AGNOSTIC_ROWS = 100
PERMUTATIONS = 10
MAX_SHAP_FEATURES = 20
MAX_PD_FEATURES = 6
MAX_ICE_LINES = 50
SHAP_POINTS = 2000


def _final(model: Any) -> Any:
    return model[-1] if hasattr(model, "steps") else model


def _rows(model: Any, table: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    if len(table) == 0:
        raise BlockError("the table has no rows to explain")
    features = model_features(model, table)
    return sample_rows(features.reset_index(drop=True), max_rows, seed)


def _needs_proba(model: Any, block: str) -> None:
    if is_classifier(_final(model)) and not hasattr(model, "predict_proba"):
        raise BlockError(
            f"{block} explains a classifier through its class probabilities, and "
            f"{type(_final(model)).__name__} has no predict_proba (an SVC needs probability=True); "
            "use explain.permutation_importance, or a classifier with probabilities"
        )


def _positive_output(model: Any) -> tuple[Any, str]:
    """A function rows → one number per row, and what that number is."""
    final = _final(model)
    if is_classifier(final):
        positive = model.classes_[-1]
        return (lambda x: model.predict_proba(x)[:, -1]), f"probability of class {positive}"
    if is_regressor(final) or hasattr(model, "predict"):
        return model.predict, "prediction"
    raise BlockError(f"{type(final).__name__} cannot predict")


def importances_list(
    names: Sequence[str], importance: np.ndarray, std: np.ndarray
) -> list[dict[str, Any]]:
    order = np.argsort(-np.asarray(importance), kind="stable")
    return [
        {
            "feature": str(names[i]),
            "importance": round(float(importance[i]), 8),
            "std": round(float(std[i]), 8),
        }
        for i in order
    ]


def importance_chart(
    importances: list[dict[str, Any]], title: str, axis: str, *, top: int = 20
) -> dict[str, Any]:
    """Bars of importance per feature (largest first) with ± std as a rule."""
    frame = pd.DataFrame(importances[:top])
    frame["low"] = frame["importance"] - frame["std"]
    frame["high"] = frame["importance"] + frame["std"]
    y = {"field": "feature", "type": "nominal", "sort": None, "title": None}
    return base_spec(
        title,
        f"top {len(frame)} of {len(importances)} features; the line spans ± one standard deviation",
        records(frame),
        layer=[
            {
                "mark": {"type": "bar", "tooltip": True, "color": "#2563eb"},
                "encoding": {
                    "y": y,
                    "x": {"field": "importance", "type": "quantitative", "title": axis},
                    "tooltip": _tooltip(
                        ("feature", "nominal"),
                        ("importance", "quantitative"),
                        ("std", "quantitative"),
                    ),
                },
            },
            {
                "mark": {"type": "rule", "color": "#111827"},
                "encoding": {
                    "y": y,
                    "x": {"field": "low", "type": "quantitative"},
                    "x2": {"field": "high"},
                },
            },
        ],
    )


# --- permutation importance -----------------------------------------------------------------


def permutation_report(
    model: Any,
    table: pd.DataFrame,
    *,
    target: str | None = None,
    repeats: int = 5,
    max_rows: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    from sklearn.inspection import permutation_importance

    label = model_target(model, target)
    _, y = split_target(table, label)
    rows = _rows(model, table, max_rows, seed)
    truth = y.reset_index(drop=True).iloc[rows.index]
    if truth.isna().any():
        raise BlockError(
            f"target column {label!r} has missing values; drop those rows first", param="target"
        )
    result = permutation_importance(model, rows, truth, n_repeats=repeats, random_state=seed)
    importances = importances_list(
        [str(c) for c in rows.columns], result.importances_mean, result.importances_std
    )
    scoring = "accuracy" if is_classifier(_final(model)) else "R²"
    return {
        "method": "permutation",
        "scoring": scoring,
        "rows": int(len(rows)),
        "repeats": repeats,
        "importances": importances,
        "charts": [
            importance_chart(
                importances, "Permutation importance", f"drop in {scoring} when shuffled"
            )
        ],
    }


# --- SHAP -----------------------------------------------------------------------------------

TREE_CLASSES = (
    "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
)  # fmt: skip


def is_tree_model(model: Any) -> bool:
    return type(_final(model)).__name__ in TREE_CLASSES


def _transform(model: Any, rows: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """The rows as the final step sees them, and their names."""
    x = model[:-1].transform(rows) if hasattr(model, "steps") and len(model.steps) > 1 else rows
    if hasattr(x, "toarray"):
        x = x.toarray()
    x = np.asarray(x, dtype=float)
    return x, feature_names(model, x.shape[1])


def shap_values(
    model: Any, rows: pd.DataFrame, *, background: int = MAX_BACKGROUND, seed: int = 0
) -> dict[str, Any]:
    """SHAP values of ``rows``: ``values`` (rows × features), ``base`` (expected value),
    ``names``, ``data`` (the explained feature values), ``output`` (what is explained),
    ``exact`` (TreeSHAP) and ``prediction`` (the explained output of each row).

    For a tree model each row's values sum to ``prediction − base`` exactly
    (TreeSHAP's local accuracy); for a classifier the output is the probability
    of the second class, for a regressor the prediction.
    """
    import shap

    final = _final(model)
    if is_tree_model(model):
        x, names = _transform(model, rows)
        explainer = shap.TreeExplainer(final)
        raw = explainer.shap_values(x, check_additivity=False)
        expected = np.atleast_1d(explainer.expected_value)
        if isinstance(raw, list):  # older shap: one array per class
            raw = np.stack(raw, axis=-1)
        raw = np.asarray(raw)
        if raw.ndim == 3:  # rows × features × outputs: keep the positive class
            values, base = raw[..., -1], float(expected[-1])
        else:
            values, base = raw, float(expected[0])
        # What TreeSHAP explains, asked of the whole model on the raw rows.
        if is_classifier(final):
            # Forests explain probabilities; gradient boosting explains log-odds.
            margin = "GradientBoosting" in type(final).__name__
            prediction = (
                model.decision_function(rows) if margin else model.predict_proba(rows)[:, -1]
            )
            output = (
                "log-odds of class " + str(model.classes_[-1])
                if margin
                else f"probability of class {model.classes_[-1]}"
            )
        else:
            prediction, output = model.predict(rows), "prediction"
        return {
            "values": values, "base": base, "names": names, "data": x, "output": output,
            "exact": True, "prediction": np.asarray(prediction, dtype=float).ravel(),
        }  # fmt: skip
    _needs_proba(model, "explain.shap")
    predict, output = _positive_output(model)
    rows = rows.head(MAX_AGNOSTIC_ROWS)
    masker = rows.sample(n=min(background, MAX_BACKGROUND, len(rows)), random_state=seed)
    values, base = sampled_shapley(
        lambda x: predict(pd.DataFrame(x, columns=rows.columns)),
        rows.to_numpy(dtype=float),
        masker.to_numpy(dtype=float),
        permutations=PERMUTATIONS,
        seed=seed,
    )
    return {
        "values": values, "base": base, "names": [str(c) for c in rows.columns],
        "data": rows.to_numpy(dtype=float), "output": output, "exact": False,
        "prediction": np.asarray(predict(rows), dtype=float).ravel(),
    }  # fmt: skip


def sampled_shapley(
    predict: Any, x: np.ndarray, background: np.ndarray, *, permutations: int = 10, seed: int = 0
) -> tuple[np.ndarray, float]:
    """Interventional Shapley values by permutation sampling (Štrumbelj & Kononenko), vectorised.

    For each sampled feature order (shared by all rows, each used forwards and
    backwards), features are switched from background values to the row's own
    one at a time, and each switch's change of the mean prediction over the
    background is credited to that feature. Every order telescopes from the
    background mean to the row's prediction, so a row's values always sum to
    ``f(x) − E[f(background)]`` exactly. ``predict`` is called once per order
    on rows × (features + 1) × background rows.

    (shap's own model-agnostic explainers compile numba code for about 20 s on
    their first call in each process, which a step would pay on every fresh worker.)
    """
    rng = np.random.default_rng(seed)
    n_rows, n_features = x.shape
    n_back = len(background)
    values = np.zeros((n_rows, n_features))
    orders = []
    for _ in range(max(1, permutations // 2)):
        order = rng.permutation(n_features)
        orders += [order, order[::-1]]
    steps = np.arange(n_features + 1)
    for order in orders:
        # mask[k, j]: after k switches, feature j holds the row's value
        position = np.empty(n_features, dtype=int)
        position[order] = np.arange(n_features)
        mask = position[None, :] < steps[:, None]
        mixed = np.where(
            mask[None, :, None, :], x[:, None, None, :], background[None, None, :, :]
        )  # rows × (features + 1) × background × features
        out = np.asarray(predict(mixed.reshape(-1, n_features)), dtype=float)
        mean = out.reshape(n_rows, n_features + 1, n_back).mean(axis=2)
        values[:, order] += np.diff(mean, axis=1)
    values /= len(orders)
    base = float(np.asarray(predict(background), dtype=float).mean())
    return values, base


def shap_report(
    model: Any,
    table: pd.DataFrame,
    *,
    max_rows: int = 500,
    background: int = MAX_BACKGROUND,
    seed: int = 0,
) -> dict[str, Any]:
    rows = _rows(model, table, max_rows, seed)
    if not is_tree_model(model):
        # Sampled Shapley values mix rows column by column: the input columns must be numbers.
        text = [str(c) for c in rows.columns if not pd.api.types.is_numeric_dtype(rows[c])]
        if text:
            raise BlockError(
                f"explain.shap mixes rows column by column for {type(_final(model)).__name__}, and "
                f"column {text[0]!r} is not numeric; use explain.permutation_importance, or a tree model"
            )
        rows = rows.astype(float)
    found = shap_values(model, rows, background=background, seed=seed)
    values = found["values"]
    magnitude = np.abs(values)
    importances = importances_list(found["names"], magnitude.mean(axis=0), magnitude.std(axis=0))
    return {
        "method": "tree_shap" if found["exact"] else "sampled_shapley",
        "output": found["output"],
        "expected_value": found["base"],
        "rows": int(len(found["values"])),
        "background_rows": None
        if found["exact"]
        else int(min(background, MAX_BACKGROUND, len(rows))),
        "importances": importances,
        "charts": [
            importance_chart(
                importances, "SHAP importance", f"mean |SHAP value| ({found['output']})"
            ),
            _beeswarm(found, [i["feature"] for i in importances[:12]], seed),
        ],
    }


def _beeswarm(found: dict[str, Any], shown: list[str], seed: int) -> dict[str, Any]:
    """Each explained row as a point per feature: its SHAP value, coloured by the feature's value."""
    names = found["names"]
    index = [names.index(n) for n in shown]
    values, data = found["values"][:, index], found["data"][:, index]
    span = data.max(axis=0) - data.min(axis=0)
    scaled = np.where(span > 0, (data - data.min(axis=0)) / np.where(span > 0, span, 1), 0.5)
    frame = pd.DataFrame(
        {
            "feature": np.repeat(
                np.array(shown, dtype=object)[None, :], len(values), axis=0
            ).ravel(),
            "shap": values.ravel(),
            "value": data.ravel(),
            "relative value": scaled.ravel(),
        }
    )
    frame = sample_rows(frame, SHAP_POINTS, seed).round(6)
    return base_spec(
        "SHAP values by feature",
        f"one point per explained row and feature ({len(frame)} points); orange: a high value of the feature, blue: a low one",
        records(frame),
        mark={"type": "tick", "opacity": 0.6, "tooltip": True},
        encoding={
            "y": {"field": "feature", "type": "nominal", "sort": shown, "title": None},
            "x": {
                "field": "shap",
                "type": "quantitative",
                "title": f"SHAP value ({found['output']})",
            },
            "color": {
                "field": _field("relative value"),
                "type": "quantitative",
                "scale": {"scheme": "blueorange"},
                "title": "feature value",
            },
            "tooltip": _tooltip(
                ("feature", "nominal"), ("shap", "quantitative"), ("value", "quantitative")
            ),
        },
    )


# --- partial dependence ---------------------------------------------------------------------


def partial_dependence_report(
    model: Any,
    table: pd.DataFrame,
    *,
    features: Sequence[str] = (),
    grid_resolution: int = 20,
    ice_lines: int = MAX_ICE_LINES,
    max_rows: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Average and ICE curves per column; ``importances`` is the spread (std) of each average
    curve, with ``std`` the spread of that number over the ICE lines (how much rows disagree)."""
    from sklearn.inspection import partial_dependence

    _needs_proba(model, "explain.partial_dependence")
    rows = _rows(model, table, max_rows, seed)
    absent = [c for c in features if c not in rows.columns]
    if absent:
        raise BlockError(
            f"the model does not read column {absent[0]!r}; its input columns are: "
            + ", ".join(repr(str(c)) for c in rows.columns),
            param="features",
        )
    numeric = [
        c for c in rows.columns if pd.api.types.is_numeric_dtype(rows[c]) and rows[c].nunique() > 1
    ]
    chosen = list(features) or numeric[:MAX_PD_FEATURES]
    # scikit-learn refuses integer columns (its grid would round); the model reads floats as well.
    rows = rows.astype({c: float for c in chosen if pd.api.types.is_integer_dtype(rows[c])})
    if not chosen:
        raise BlockError(
            "no numeric column varies in these rows; choose the columns to plot", param="features"
        )
    if len(chosen) > MAX_PD_FEATURES:
        raise BlockError(f"choose at most {MAX_PD_FEATURES} columns", param="features")
    _, output = _positive_output(model)
    curves, names, spread, ice_spread, charts = {}, [], [], [], []
    rng = np.random.default_rng(seed)
    for column in chosen:
        result = partial_dependence(
            model, rows, [column], kind="both", grid_resolution=grid_resolution,
            response_method="predict_proba" if is_classifier(_final(model)) else "auto",
        )  # fmt: skip
        grid = np.asarray(result["grid_values"][0], dtype=float)
        average = np.asarray(result["average"])[-1]
        individual = np.asarray(result["individual"])[-1]
        shown = individual[
            rng.choice(len(individual), size=min(ice_lines, len(individual)), replace=False)
        ]
        curves[column] = {"grid": grid.round(8).tolist(), "average": average.round(8).tolist()}
        names.append(column)
        spread.append(float(np.std(average)))
        ice_spread.append(float(np.std(np.std(individual, axis=1))))
        charts.append(_pd_chart(column, grid, average, shown, output))
    return {
        "method": "partial_dependence",
        "output": output,
        "rows": int(len(rows)),
        "features": chosen,
        "curves": curves,
        "importances": importances_list(names, np.array(spread), np.array(ice_spread)),
        "charts": charts,
    }


def _pd_chart(
    column: str, grid: np.ndarray, average: np.ndarray, ice: np.ndarray, output: str
) -> dict[str, Any]:
    lines = pd.DataFrame(
        {
            "x": np.tile(grid, len(ice)),
            "y": ice.ravel(),
            "line": np.repeat(np.arange(len(ice)), len(grid)),
        }
    )
    mean = pd.DataFrame({"x": grid, "y": average, "line": -1})
    x = {"field": "x", "type": "quantitative", "title": column, "scale": {"zero": False}}
    y = {"field": "y", "type": "quantitative", "title": output}
    return base_spec(
        f"Partial dependence on {column}",
        f"thin lines: {len(ice)} rows (ICE); thick line: their average",
        records(lines.round(6)),
        layer=[
            {
                "mark": {"type": "line", "color": "#9ca3af", "opacity": 0.35, "strokeWidth": 1},
                "encoding": {"x": x, "y": y, "detail": {"field": "line", "type": "nominal"}},
            },
            {
                "data": {"values": records(mean.round(6))},
                "mark": {"type": "line", "color": "#dc2626", "strokeWidth": 3, "tooltip": True},
                "encoding": {"x": x, "y": y},
            },
        ],
    )
