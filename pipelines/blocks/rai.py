"""Responsible AI blocks: bias in data and predictions, a fairer estimator, explanations.

Keys and report fields are a contract (DESIGN.md, "Responsible AI"): each
report goes into the step's summary under ``summary["outputs"]["report"]``:
``rai.fairness`` has ``by_group`` (``{group: {metric: value}}``) and
``demographic_parity_difference``, ``demographic_parity_ratio``,
``equalized_odds_difference`` (for a multiclass model, the worst over its
classes, each judged against the rest; ``by_class`` has each class's numbers);
``rai.dataset_bias`` has ``by_group`` with
counts and label rates, and ``label_rate_difference``; the ``explain.*``
blocks have ``importances`` (``[{"feature", "importance", "std"}]``). Every
report also carries ``charts`` (Vega-Lite specs). Only declarations live here;
fairlearn, shap and scikit-learn load when a block runs (``fairness``,
``explain``, ``mitigation``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import ESTIMATOR, MODEL, REPORT, TABLE, Block, BlockError, Port, StepContext
from .core import SEED_MAX, _object

Inputs = Mapping[str, Any]
Params = Mapping[str, Any]

CATEGORY = "Responsible AI"
REPORT_PORT = "report"
MODEL_AND_TABLE = (
    Port(MODEL, MODEL, description="the trained model"),
    Port(
        TABLE,
        TABLE,
        description="labelled rows, with the sensitive column even if the model was trained without it",
    ),
)

SEED = {
    "type": "integer",
    "minimum": 0,
    "maximum": SEED_MAX,
    "default": 0,
    "title": "Seed",
    "description": "The same seed draws the same samples and resamples.",
}
RESAMPLES = {
    "type": "integer",
    "minimum": 0,
    "maximum": 2000,
    "default": 200,
    "title": "Bootstrap resamples",
    "description": "Resamples for the confidence intervals; 0: no intervals.",
}
CONFIDENCE = {
    "type": "number",
    "minimum": 0.5,
    "maximum": 0.999,
    "default": 0.95,
    "title": "Confidence",
    "description": "The level of the bootstrap intervals.",
}
TARGET = {
    "type": ["string", "null"],
    "default": None,
    "title": "Target column",
    "description": "The column holding the true labels; none: the column the model was trained to predict.",
}


def _report(kind: str, description: str) -> tuple[Port, ...]:
    return (Port(REPORT_PORT, REPORT, description=description, kind=kind),)


def _reported(ctx: StepContext, report: dict[str, Any], summary: str) -> dict[str, Any]:
    """A report block's outputs: ``report`` on its one port, once the step log has the
    one-line ``summary`` and the report's warnings (small groups, …) line by line."""
    ctx.log(summary)
    for warning in report.get("warnings", ()):
        ctx.log(warning)
    return {REPORT_PORT: report}


def _number(value: float | None) -> str:
    """A report number for the step log: 4 significant digits, as the report page shows it."""
    return "undefined" if value is None else f"{value:.4g}"


def _required(params: Params, name: str, what: str) -> Any:
    value = params.get(name)
    if not value:
        raise BlockError(f"choose {what}", param=name)
    return value


# -- rai.dataset_bias -------------------------------------------------------------------


def _run_dataset_bias(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .fairness import dataset_bias

    columns = _required(params, "sensitive_columns", "at least one sensitive column")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BlockError(
            "sensitive_columns must be a list of column names", param="sensitive_columns"
        )
    report = dataset_bias(
        inputs[TABLE],
        columns,
        params.get("label", "target"),
        resamples=params.get("resamples", 200),
        confidence=params.get("confidence", 0.95),
        top_proxies=params.get("proxies", 5),
        seed=params.get("seed", 0),
    )
    return _reported(
        ctx,
        report,
        f"label rate difference by {columns[0]}: {_number(report['label_rate_difference'])}",
    )


RAI_DATASET_BIAS = Block(
    key="rai.dataset_bias",
    label="Dataset bias report",
    category=CATEGORY,
    description="Before training: group sizes and label rates per sensitive column with their "
    "differences and bootstrap intervals, small groups, missing values by group, and the columns "
    "that could stand in for a sensitive one (mutual information).",
    inputs=(Port(TABLE, TABLE, description="the labelled rows to audit"),),
    outputs=_report("bias", "label rates by group, small-group warnings, missingness and proxies"),
    params_schema=_object(
        {
            "sensitive_columns": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "title": "Sensitive columns",
                "description": "Columns whose groups should be treated alike (e.g. group, sex, age band).",
            },
            "label": {
                "type": "string",
                "default": "target",
                "title": "Label column",
                "description": "The outcome whose rate is compared between groups.",
            },
            "resamples": RESAMPLES,
            "confidence": CONFIDENCE,
            "proxies": {
                "type": "integer",
                "minimum": 0,
                "maximum": 50,
                "default": 5,
                "title": "Proxies shown",
                "description": "How many of the columns most associated with each sensitive column to list.",
            },
            "seed": SEED,
        }
    ),
    run=_run_dataset_bias,
    curated=True,
    tags=("fairness", "bias", "responsible ai"),
    column_params=("sensitive_columns", "label"),
)


# -- rai.fairness -----------------------------------------------------------------------


def _run_fairness(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .fairness import fairness_report

    column = _required(params, "sensitive_column", "the sensitive column")
    report = fairness_report(
        inputs[MODEL],
        inputs[TABLE],
        column,
        target=params.get("target"),
        resamples=params.get("resamples", 200),
        confidence=params.get("confidence", 0.95),
        seed=params.get("seed", 0),
    )
    headline = report["headline"]
    return _reported(
        ctx,
        report,
        f"{headline['name']} = {_number(headline['value'])} over {len(report['by_group'])} groups of {column!r}",
    )


RAI_FAIRNESS = Block(
    key="rai.fairness",
    label="Fairness report",
    category=CATEGORY,
    description="How a model's predictions differ between groups (fairlearn MetricFrame): accuracy, "
    "selection rate, TPR, FPR and precision by group (MAE for regressors), demographic parity "
    "difference and ratio, equalized odds difference, with bootstrap intervals. A multiclass model "
    "is judged one class against the rest; its parity numbers are the worst over the classes.",
    inputs=MODEL_AND_TABLE,
    outputs=_report("fairness", "metrics by group and the parity numbers"),
    params_schema=_object(
        {
            "sensitive_column": {
                "type": ["string", "null"],
                "default": None,
                "title": "Sensitive column",
                "description": "The column whose groups are compared; it may be one the model was trained without.",
            },
            "target": TARGET,
            "resamples": RESAMPLES,
            "confidence": CONFIDENCE,
            "seed": SEED,
        }
    ),
    run=_run_fairness,
    curated=True,
    tags=("fairness", "bias", "responsible ai", "evaluation"),
    column_params=("sensitive_column", "target"),
)


# -- rai.mitigate -----------------------------------------------------------------------


def _run_mitigate(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .mitigation import FairClassifier

    column = _required(params, "sensitive_column", "the sensitive column")
    steps = list(inputs[ESTIMATOR])
    wrapped = FairClassifier(
        steps=steps,
        sensitive_column=column,
        method=params.get("method", "reductions"),
        constraint=params.get("constraint", "demographic_parity"),
        seed=params.get("seed", 0),
    )
    chain = " → ".join(type(est).__name__ for _, est in steps)
    ctx.log(f"{chain} under {wrapped.constraint} by {column!r} ({wrapped.method})")
    return {ESTIMATOR: [("fair", wrapped)]}


RAI_MITIGATE = Block(
    key="rai.mitigate",
    label="Fairness mitigation",
    category=CATEGORY,
    description="Wrap a classifier (with its preprocessing) so it is trained under a fairness "
    "constraint: fairlearn's ExponentiatedGradient reduction, or a ThresholdOptimizer that picks a "
    "threshold per group. A label with more than two classes is mitigated one class against the "
    "rest (reductions under demographic parity). Keep the sensitive column in the training table: it is used as the "
    "groups, not as a feature.",
    inputs=(
        Port(
            ESTIMATOR, ESTIMATOR, description="the steps to make fairer, ending with a classifier"
        ),
    ),
    outputs=(Port(ESTIMATOR, ESTIMATOR, description="one step to connect to model.train"),),
    params_schema=_object(
        {
            "sensitive_column": {
                "type": ["string", "null"],
                "default": None,
                "title": "Sensitive column",
                "description": "The column holding the groups the constraint is about.",
            },
            "method": {
                "type": "string",
                "enum": ["reductions", "threshold"],
                "default": "reductions",
                "title": "Method",
                "description": "reductions: ExponentiatedGradient refits the model under the constraint; "
                "threshold: ThresholdOptimizer sets a threshold per group (prediction then needs the column; "
                "binary labels only).",
            },
            "constraint": {
                "type": "string",
                "enum": ["demographic_parity", "equalized_odds"],
                "default": "demographic_parity",
                "title": "Constraint",
                "description": "demographic_parity: equal selection rates; equalized_odds: equal TPR and FPR.",
            },
            "seed": SEED,
        }
    ),
    run=_run_mitigate,
    # 2: multiclass labels (one class against the rest); groups under 10 rows are refused.
    version="2",
    curated=True,
    tags=("fairness", "mitigation", "responsible ai"),
)


# -- explain.* ----------------------------------------------------------------------------

MAX_ROWS = {
    "type": "integer",
    "minimum": 10,
    "maximum": 20000,
    "title": "Rows at most",
    "description": "Larger tables are explained on a random sample of this many rows.",
}


def _run_permutation(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .explain import permutation_report

    report = permutation_report(
        inputs[MODEL],
        inputs[TABLE],
        target=params.get("target"),
        repeats=params.get("repeats", 5),
        max_rows=params.get("max_rows", 2000),
        seed=params.get("seed", 0),
    )
    top = report["importances"][0]
    return _reported(
        ctx,
        report,
        f"most important: {top['feature']} ({top['importance']:.4g} ± {top['std']:.3g}) "
        f"on {report['rows']} rows",
    )


EXPLAIN_PERMUTATION = Block(
    key="explain.permutation_importance",
    label="Permutation importance",
    category=CATEGORY,
    description="How much the model's score drops when one input column is shuffled; works for any model.",
    inputs=MODEL_AND_TABLE,
    outputs=_report("explanation", "importances by input column"),
    params_schema=_object(
        {
            "target": TARGET,
            "repeats": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50,
                "default": 5,
                "title": "Repeats",
                "description": "Shuffles per column; the spread between them is the std.",
            },
            "max_rows": {**MAX_ROWS, "default": 2000},
            "seed": SEED,
        }
    ),
    run=_run_permutation,
    curated=True,
    tags=("explanation", "importance", "responsible ai"),
    column_params=("target",),
)


def _run_shap(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .explain import shap_report

    report = shap_report(
        inputs[MODEL],
        inputs[TABLE],
        max_rows=params.get("max_rows", 500),
        background=params.get("background", 100),
        seed=params.get("seed", 0),
    )
    how = "exact TreeSHAP" if report["method"] == "tree_shap" else "sampled Shapley values"
    return _reported(ctx, report, f"{how} of the {report['output']} for {report['rows']} rows")


EXPLAIN_SHAP = Block(
    key="explain.shap",
    label="SHAP values",
    category=CATEGORY,
    description="Each feature's contribution to each prediction: exact TreeSHAP on the transformed "
    "features for tree models, sampled Shapley values against a small background for others.",
    inputs=MODEL_AND_TABLE,
    outputs=_report("explanation", "mean |SHAP| by feature and the values of a sample of rows"),
    params_schema=_object(
        {
            "max_rows": {
                **MAX_ROWS,
                "maximum": 5000,
                "default": 500,
                "description": "Rows to explain "
                "(a random sample); other than tree models, at most 100.",
            },
            "background": {
                "type": "integer",
                "minimum": 10,
                "maximum": 100,
                "default": 100,
                "title": "Background rows",
                "description": "For models other than trees: the rows standing for 'feature unknown'.",
            },
            "seed": SEED,
        }
    ),
    run=_run_shap,
    curated=True,
    tags=("explanation", "shap", "responsible ai"),
)


def _run_partial_dependence(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .explain import partial_dependence_report

    features = params.get("features") or []
    if not isinstance(features, list) or not all(isinstance(c, str) for c in features):
        raise BlockError("features must be a list of column names", param="features")
    report = partial_dependence_report(
        inputs[MODEL],
        inputs[TABLE],
        features=features,
        grid_resolution=params.get("grid_resolution", 20),
        ice_lines=params.get("ice_lines", 50),
        max_rows=params.get("max_rows", 1000),
        seed=params.get("seed", 0),
    )
    return _reported(
        ctx,
        report,
        f"partial dependence of the {report['output']} on " + ", ".join(report["features"]),
    )


EXPLAIN_PARTIAL_DEPENDENCE = Block(
    key="explain.partial_dependence",
    label="Partial dependence (ICE)",
    category=CATEGORY,
    description="How the prediction moves as one column changes, on average and row by row (ICE curves).",
    inputs=MODEL_AND_TABLE,
    outputs=_report("explanation", "average and ICE curves per column"),
    params_schema=_object(
        {
            "features": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "title": "Columns",
                "description": "Up to 6 input columns; empty: the first 6 numeric ones.",
            },
            "grid_resolution": {
                "type": "integer",
                "minimum": 5,
                "maximum": 100,
                "default": 20,
                "title": "Grid points",
                "description": "Values of the column at which the model is asked.",
            },
            "ice_lines": {
                "type": "integer",
                "minimum": 0,
                "maximum": 200,
                "default": 50,
                "title": "ICE lines",
                "description": "Rows drawn as their own curve.",
            },
            "max_rows": {**MAX_ROWS, "maximum": 5000, "default": 1000},
            "seed": SEED,
        }
    ),
    run=_run_partial_dependence,
    curated=True,
    tags=("explanation", "partial dependence", "responsible ai"),
    column_params=("features",),
)


RAI_BLOCKS: tuple[Block, ...] = (
    RAI_DATASET_BIAS,
    RAI_FAIRNESS,
    RAI_MITIGATE,
    EXPLAIN_PERMUTATION,
    EXPLAIN_SHAP,
    EXPLAIN_PARTIAL_DEPENDENCE,
)
