"""Chart blocks (``viz.*``): a table or a model in, one ``chart`` out (a Vega-Lite spec).

Keys are a contract (DESIGN.md, "Data preparation"). Each block only checks
its inputs and parameters and calls a pure builder in ``charts.py``; pandas and
scikit-learn load when a block runs, so building the catalogue stays cheap.
Charts are computed on the server: point charts on a seeded sample of at most
5,000 rows, aggregates on the whole table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import CHART, MODEL, TABLE, Block, BlockError, Port, StepContext
from .core import SEED_MAX, _object, _target_param

Inputs = Mapping[str, Any]
Params = Mapping[str, Any]

CATEGORY = "Charts"
CHART_OUT = (Port(CHART, CHART, description="a Vega-Lite chart, drawn in the outputs panel"),)
TABLE_IN = (Port(TABLE, TABLE, description="the rows to chart"),)
MAX_CLASSES = 10


def _column_param(title: str, description: str) -> dict[str, Any]:
    # Every param has a default (the editor starts from them); a column still unset is
    # refused when the step runs (``_check_columns``), naming the param.
    return {"type": ["string", "null"], "default": None, "title": title, "description": description}


MAX_POINTS_PARAM = {
    "type": "integer",
    "minimum": 10,
    "maximum": 5000,
    "default": 5000,
    "title": "Points at most",
    "description": "Larger tables are drawn from a random sample of this many rows.",
}
SEED_PARAM = {
    "type": "integer",
    "minimum": 0,
    "maximum": SEED_MAX,
    "default": 0,
    "title": "Seed",
    "description": "The same seed draws the same sample.",
}


def _bins_param(default: int) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": 200,
        "default": default,
        "title": "Bins",
        "description": "Equal-width bins for numeric columns.",
    }


def _check_columns(table: Any, params: Params, *names: str, required: Mapping[str, str] = {}) -> None:  # noqa: B006 - read only
    """Every named param that is set must name a column of ``table``; unset ``required`` ones
    fail with their message ({param: what to choose})."""
    for name in names:
        column = params.get(name)
        if not column and name in required:
            raise BlockError(f"choose {required[name]}", param=name)
        if column and column not in table.columns:
            shown = ", ".join(repr(str(c)) for c in table.columns[:20])
            raise BlockError(f"there is no column {column!r}; columns are: {shown}", param=name)


def _check_rows(table: Any) -> None:
    if len(table) == 0:
        raise BlockError("the table has no rows to chart")


# -- viz.histogram ----------------------------------------------------------------------


def _run_histogram(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .charts import histogram

    table = inputs[TABLE]
    _check_columns(table, params, "column", required={"column": "the column to chart"})
    _check_rows(table)
    return {CHART: histogram(table, params["column"], bins=params.get("bins", 20))}


VIZ_HISTOGRAM = Block(
    key="viz.histogram",
    label="Histogram",
    category=CATEGORY,
    description="The distribution of one column: binned bars for numbers, the most frequent values otherwise.",
    inputs=TABLE_IN,
    outputs=CHART_OUT,
    params_schema=_object(
        {"column": _column_param("Column", "The column to chart."), "bins": _bins_param(20)},
    ),
    run=_run_histogram,
    curated=True,
    tags=("chart", "visualisation", "distribution"),
    column_params=("column",),
)


# -- viz.scatter ------------------------------------------------------------------------


def _run_scatter(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .charts import scatter

    table = inputs[TABLE]
    required = {"x": "the column for the horizontal axis (x)", "y": "the column for the vertical axis (y)"}
    _check_columns(table, params, "x", "y", "color", required=required)
    _check_rows(table)
    spec = scatter(
        table,
        params["x"],
        params["y"],
        params.get("color") or None,
        max_points=params.get("max_points", 5000),
        seed=params.get("seed", 0),
    )
    return {CHART: spec}


VIZ_SCATTER = Block(
    key="viz.scatter",
    label="Scatter plot",
    category=CATEGORY,
    description="One column against another, one point per row (sampled), coloured by a third.",
    inputs=TABLE_IN,
    outputs=CHART_OUT,
    params_schema=_object(
        {
            "x": _column_param("X column", "The column along the horizontal axis."),
            "y": _column_param("Y column", "The column along the vertical axis."),
            "color": _column_param("Colour by", "A column to colour the points by (optional)."),
            "max_points": MAX_POINTS_PARAM,
            "seed": SEED_PARAM,
        },
    ),
    run=_run_scatter,
    curated=True,
    tags=("chart", "visualisation"),
    column_params=("x", "y", "color"),
)


# -- viz.correlation --------------------------------------------------------------------


def _run_correlation(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .charts import correlation

    table = inputs[TABLE]
    _check_rows(table)
    numeric = table.select_dtypes("number").columns
    if len(numeric) < 2:
        raise BlockError(f"a correlation needs two numeric columns; the table has {len(numeric)}")
    return {CHART: correlation(table, method=params.get("method", "pearson"))}


VIZ_CORRELATION = Block(
    key="viz.correlation",
    label="Correlation heatmap",
    category=CATEGORY,
    description="Pairwise correlations of the numeric columns as a colour grid.",
    inputs=TABLE_IN,
    outputs=CHART_OUT,
    params_schema=_object(
        {
            "method": {
                "type": "string",
                "enum": ["pearson", "spearman"],
                "default": "pearson",
                "title": "Method",
                "description": "Pearson measures linear relations; Spearman any monotonic one (by ranks).",
            }
        }
    ),
    run=_run_correlation,
    curated=True,
    tags=("chart", "visualisation", "correlation"),
)


# -- viz.profile ------------------------------------------------------------------------


def _run_profile(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .charts import profile

    table = inputs[TABLE]
    _check_rows(table)
    if table.shape[1] == 0:
        raise BlockError("the table has no columns to profile")
    return {CHART: profile(table, bins=params.get("bins", 15))}


VIZ_PROFILE = Block(
    key="viz.profile",
    label="Column profile",
    category=CATEGORY,
    description="A small distribution chart per column, with its type and missing values.",
    inputs=TABLE_IN,
    outputs=CHART_OUT,
    params_schema=_object({"bins": _bins_param(15)}),
    run=_run_profile,
    curated=True,
    tags=("chart", "visualisation", "profile"),
)


# -- viz.roc / viz.residuals ------------------------------------------------------------


MODEL_IN = (
    Port(MODEL, MODEL, description="the trained model"),
    Port(TABLE, TABLE, description="labelled rows the model has not seen"),
)


def _labelled(model: Any, table: Any, target: str) -> tuple[Any, Any]:
    from .training import model_features, split_target

    _check_rows(table)
    _, y = split_target(table, target)
    if y.isna().any():
        raise BlockError(f"target column {target!r} has missing values; drop those rows first", param="target")
    return model_features(model, table), y


def _run_roc(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from sklearn.base import is_classifier

    from .charts import positive_scores, roc, roc_by_class

    model, target = inputs[MODEL], params.get("target", "target")
    if not is_classifier(model[-1]):
        raise BlockError(f"{type(model[-1]).__name__} is not a classifier; a ROC curve needs one")
    features, y = _labelled(model, inputs[TABLE], target)
    classes = list(model.classes_)
    if y.nunique() < 2:
        raise BlockError(f"target column {target!r} holds one class only; a ROC curve needs both", param="target")
    if len(classes) == 2:
        scored = positive_scores(model, features)
        if scored is None:
            raise BlockError(f"{type(model[-1]).__name__} gives no scores to rank rows by")
        return {CHART: roc(y, scored[0], pos_label=classes[1])}
    if not hasattr(model, "predict_proba"):
        raise BlockError(f"{type(model[-1]).__name__} gives no class probabilities for a one-vs-rest ROC")
    if len(classes) > MAX_CLASSES:
        raise BlockError(f"the model has {len(classes)} classes; ROC curves are drawn for at most {MAX_CLASSES}")
    return {CHART: roc_by_class(y, model.predict_proba(features), classes)}


VIZ_ROC = Block(
    key="viz.roc",
    label="ROC curve",
    category=CATEGORY,
    description="True against false positive rate over every threshold; one curve per class "
    "(one-vs-rest) for more than two classes.",
    inputs=MODEL_IN,
    outputs=CHART_OUT,
    params_schema=_object({"target": _target_param("compare predictions with")}),
    run=_run_roc,
    curated=True,
    tags=("chart", "evaluation", "classification"),
    column_params=("target",),
)


def _run_residuals(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from sklearn.base import is_regressor

    from .charts import residuals

    model, target = inputs[MODEL], params.get("target", "target")
    if not is_regressor(model[-1]):
        raise BlockError(f"{type(model[-1]).__name__} is not a regressor; residuals need one")
    features, y = _labelled(model, inputs[TABLE], target)
    spec = residuals(
        y, model.predict(features), max_points=params.get("max_points", 5000), seed=params.get("seed", 0)
    )
    return {CHART: spec}


VIZ_RESIDUALS = Block(
    key="viz.residuals",
    label="Residuals",
    category=CATEGORY,
    description="How far off a regressor is (actual − predicted) against what it predicted, per row (sampled).",
    inputs=MODEL_IN,
    outputs=CHART_OUT,
    params_schema=_object(
        {
            "target": _target_param("compare predictions with"),
            "max_points": MAX_POINTS_PARAM,
            "seed": SEED_PARAM,
        }
    ),
    run=_run_residuals,
    curated=True,
    tags=("chart", "evaluation", "regression"),
    column_params=("target",),
)


VIZ_BLOCKS = (VIZ_HISTOGRAM, VIZ_SCATTER, VIZ_CORRELATION, VIZ_PROFILE, VIZ_ROC, VIZ_RESIDUALS)
