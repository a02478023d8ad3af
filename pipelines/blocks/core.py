"""The fixed blocks: datasets, split, train, evaluate, predict. Keys are a contract.

Only declarations live here; pandas and scikit-learn are imported when a block
runs (``data``, ``training``), so building the catalogue stays cheap for web
processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import ESTIMATOR, METRICS, MODEL, TABLE, Block, Port, StepContext

BUILTIN_DATASETS = ("iris", "wine", "breast_cancer", "diabetes", "digits", "loans")
SEED_MAX = 2**32 - 1

Inputs = Mapping[str, Any]
Params = Mapping[str, Any]


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _target_param(action: str) -> dict[str, Any]:
    return {
        "type": "string",
        "default": "target",
        "title": "Target column",
        "description": f"The column holding the label to {action}; every other column is a feature.",
    }


# -- dataset.builtin --------------------------------------------------------------------


def _run_builtin(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .data import load_builtin

    table = load_builtin(params.get("name", "iris"))
    ctx.log(f"loaded {params.get('name', 'iris')}: {table.shape[0]} rows, {table.shape[1]} columns")
    return {TABLE: table}


def _builtin_columns(inputs: Inputs, params: Params) -> dict[str, Any]:
    """The fixed columns of a built-in dataset (unknown for an unknown name)."""
    from .builtin_columns import BUILTIN_COLUMNS

    names = BUILTIN_COLUMNS.get(params.get("name", "iris"))
    return {TABLE: list(names) if names is not None else None}


DATASET_BUILTIN = Block(
    key="dataset.builtin",
    label="Built-in dataset",
    category="Data",
    description="A small example dataset (scikit-learn's, or the synthetic loans table); "
    "the label is in column 'target'.",
    inputs=(),
    outputs=(Port(TABLE, TABLE, description="features, then the label in column 'target'"),),
    params_schema=_object(
        {
            "name": {
                "type": "string",
                "enum": list(BUILTIN_DATASETS),
                "default": "iris",
                "title": "Dataset",
                "description": "iris, wine, breast_cancer and digits are classification "
                "datasets; diabetes is a regression dataset; loans is synthetic loan "
                "approvals with a sensitive column 'group' and a planted bias against group 1.",
            }
        }
    ),
    run=_run_builtin,
    curated=True,
    tags=("data", "source"),
    output_columns=_builtin_columns,
)


# -- dataset.upload ---------------------------------------------------------------------


def _run_upload(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    # The run resolved the node's dataset to one upload before it started
    # (services.graphs.graph_compile): ``dataset`` is then its sha256 and
    # ``version``/``name`` say which upload that was.
    table = ctx.load_table(params["dataset"])
    which = f"{params['name']} version {params['version']}" if params.get("name") else "uploaded dataset"
    ctx.log(f"loaded {which}: {table.shape[0]} rows, {table.shape[1]} columns")
    return {TABLE: table}


DATASET_UPLOAD = Block(
    key="dataset.upload",
    label="Uploaded dataset",
    category="Data",
    description="A table uploaded to the workspace (CSV or Parquet), a pinned version or the latest.",
    inputs=(),
    outputs=(Port(TABLE, TABLE, description="the uploaded table"),),
    params_schema=_object(
        {
            "dataset": {
                "type": "string",
                "title": "Dataset",
                "description": "The uploaded dataset: its name, or the sha256 of one of its uploads.",
            },
            "version": {
                "type": ["integer", "null"],
                "minimum": 1,
                "default": None,
                "title": "Version",
                "description": "Empty: the latest upload of this dataset when the run starts; "
                "a number pins that version.",
            },
        },
        required=("dataset",),
    ),
    run=_run_upload,
    curated=True,
    tags=("data", "source"),
)


# -- data.split -------------------------------------------------------------------------


def _run_split(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .data import split_table

    train, test = split_table(
        inputs[TABLE],
        test_size=params.get("test_size", 0.25),
        stratify_column=params.get("stratify_column"),
        seed=params.get("seed", 0),
    )
    ctx.log(f"split into {len(train)} training rows and {len(test)} test rows")
    return {"train": train, "test": test}


DATA_SPLIT = Block(
    key="data.split",
    label="Train/test split",
    category="Data",
    description="Split a table's rows at random into a training part and a test part.",
    inputs=(Port(TABLE, TABLE, description="the rows to split"),),
    outputs=(
        Port("train", TABLE, description="rows to train on"),
        Port("test", TABLE, description="held-out rows to evaluate on"),
    ),
    params_schema=_object(
        {
            "test_size": {
                "type": "number",
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "default": 0.25,
                "title": "Test size",
                "description": "The fraction of rows held out for testing.",
            },
            "stratify_column": {
                "type": ["string", "null"],
                "default": None,
                "title": "Stratify column",
                "description": "Keep this column's class proportions equal in both parts "
                "(usually the target); none for a plain random split.",
            },
            "seed": {
                "type": "integer",
                "minimum": 0,
                "maximum": SEED_MAX,
                "default": 0,
                "title": "Seed",
                "description": "The same seed gives the same split.",
            },
        }
    ),
    run=_run_split,
    curated=True,
    tags=("data",),
    column_params=("stratify_column",),
    output_columns=lambda inputs, params: dict.fromkeys(("train", "test"), inputs.get(TABLE)),
)


# -- model.train ------------------------------------------------------------------------


def _run_train(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .prep_transformers import plan_lines
    from .training import train

    steps = list(inputs[ESTIMATOR])
    model = train(
        steps,
        inputs[TABLE],
        params.get("target", "target"),
        features=_column_list(params, "features"),
        exclude=_column_list(params, "exclude"),
    )
    ctx.log("trained " + " → ".join(type(est).__name__ for _, est in steps))
    ctx.log(f"features ({len(model.feature_columns_)}): " + ", ".join(model.feature_columns_))
    if model.unused_columns_:
        ctx.log(f"{steps[0][0]} · not used, so not asked for at the endpoint: " + ", ".join(model.unused_columns_))
    for line in plan_lines(model):
        ctx.log(line)
    return {MODEL: model}


def _column_list(params: Params, name: str) -> list[str]:
    from .base import BlockError

    value = params.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BlockError(f"{name} must be a list of column names", param=name)
    return value


MODEL_TRAIN = Block(
    key="model.train",
    label="Train model",
    category="Training",
    description="Fit the connected steps, preprocessing and model, as one scikit-learn Pipeline.",
    inputs=(
        Port(ESTIMATOR, ESTIMATOR, description="the steps to fit, in order"),
        Port(TABLE, TABLE, description="the training rows"),
    ),
    outputs=(Port(MODEL, MODEL, description="the fitted Pipeline"),),
    params_schema=_object(
        {
            "target": _target_param("predict"),
            "features": {
                "type": "array",
                "default": [],
                "title": "Feature columns",
                "description": "The columns the model learns from; empty: every column but "
                "the target. The deployed endpoint asks for exactly these.",
            },
            "exclude": {
                "type": "array",
                "default": [],
                "title": "Exclude columns",
                "description": "Columns that are not features (ids, leaks, sensitive columns "
                "kept for evaluation only).",
            },
        }
    ),
    run=_run_train,
    version="2",
    curated=True,
    tags=("training",),
    column_params=("target", "features", "exclude"),
)


# -- model.evaluate ---------------------------------------------------------------------


def _run_evaluate(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .training import evaluate

    metrics = evaluate(inputs[MODEL], inputs[TABLE], params.get("target"))
    headline = metrics["headline"]
    ctx.log(f"{headline['name']} = {headline['value']} on {metrics['n_samples']} rows")
    return {METRICS: metrics}


MODEL_EVALUATE = Block(
    key="model.evaluate",
    label="Evaluate model",
    category="Evaluation",
    description="Score a trained model on labelled rows: accuracy, F1, ROC AUC and the "
    "confusion matrix for classifiers; R², MAE and RMSE for regressors.",
    inputs=(
        Port(MODEL, MODEL, description="the trained model"),
        Port(TABLE, TABLE, description="labelled rows the model has not seen"),
    ),
    outputs=(Port(METRICS, METRICS, description="task-appropriate metrics"),),
    params_schema=_object(
        {
            "target": {
                "type": ["string", "null"],
                "default": None,
                "title": "Target column",
                "description": "The column holding the true labels; none: the column the "
                "model was trained to predict.",
            }
        }
    ),
    run=_run_evaluate,
    version="2",  # 2: the target defaults to the model's; charts (ROC, PR, calibration / residuals, importances)
    curated=True,
    tags=("evaluation",),
    column_params=("target",),
)


# -- model.predict ----------------------------------------------------------------------


def _run_predict(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .training import predict

    table = predict(inputs[MODEL], inputs[TABLE])
    ctx.log(f"predicted {len(table)} rows")
    return {TABLE: table}


MODEL_PREDICT = Block(
    key="model.predict",
    label="Predict",
    category="Evaluation",
    description="Add the model's prediction (and class probabilities, when it has them) "
    "to every row.",
    inputs=(
        Port(MODEL, MODEL, description="the trained model"),
        Port(TABLE, TABLE, description="rows to predict; extra columns are kept"),
    ),
    outputs=(
        Port(
            TABLE,
            TABLE,
            description="the rows with a 'prediction' column and "
            "'proba_<class>' columns for classifiers with probabilities",
        ),
    ),
    params_schema=_object({}),
    run=_run_predict,
    curated=True,
    tags=("prediction",),
)


CORE_BLOCKS: tuple[Block, ...] = (
    DATASET_BUILTIN,
    DATASET_UPLOAD,
    DATA_SPLIT,
    MODEL_TRAIN,
    MODEL_EVALUATE,
    MODEL_PREDICT,
)
