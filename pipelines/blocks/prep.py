"""The ``prep.*`` blocks: column-aware preprocessing that is deployed with the model.

Each is an estimator block (in ``estimator``: the steps before, optional; out
``estimator``): it appends one transformer from ``prep_transformers`` to the
steps, so ``model.train`` fits it inside the Pipeline and the endpoint applies
it to every request. Columns are resolved when the model is trained; a column
that is not in the table fails there with a message naming this node.

Keys are a contract (DESIGN.md, "Data preparation").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import ESTIMATOR, Block, BlockError, Port, StepContext

GROUPS = 4
GROUP_DTYPES = ("none", "number", "text", "date", "bool", "any")
MISSING_STRATEGIES = ("mean", "median", "most_frequent", "constant")

Inputs = Mapping[str, Any]
Params = Mapping[str, Any]


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": [], "additionalProperties": False}


def _columns_param(title: str, description: str) -> dict[str, Any]:
    return {"type": "array", "default": [], "title": title, "description": description}


def _names(params: Params, name: str) -> list[str]:
    value = params.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BlockError(f"{name} must be a list of column names", param=name)
    return list(value)


def _node(ctx: StepContext) -> str:
    return str(getattr(ctx, "node_id", "") or "")


def _steps_before(inputs: Inputs, port: str = ESTIMATOR) -> list[tuple[str, Any]]:
    return list(inputs.get(port) or [])


def _check_transformers(steps: list[tuple[str, Any]], where: str) -> None:
    for _, est in steps:
        if not (hasattr(est, "transform") or hasattr(est, "fit_transform")):
            raise BlockError(
                f"{type(est).__name__} is a model, not a preprocessing step; {where} takes "
                "preprocessing steps only (connect the model after this block)"
            )


def _append(inputs: Inputs, name: str, estimator: Any) -> dict[str, Any]:
    steps = _steps_before(inputs)
    _check_transformers(steps, "the steps before a prep block")
    taken = {n for n, _ in steps}
    unique, n = name, 1
    while unique in taken:
        n += 1
        unique = f"{name}_{n}"
    return {ESTIMATOR: [*steps, (unique, estimator)]}


IN_STEPS = Port(ESTIMATOR, ESTIMATOR, required=False, description="the steps before it")
OUT_STEPS = Port(ESTIMATOR, ESTIMATOR, description="the steps before it, then this step")


# -- prep.auto ------------------------------------------------------------------------


def _run_auto(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .prep_transformers import AutoPrep

    step = AutoPrep(
        max_categories=int(params.get("max_categories", 30)),
        drop_ids=bool(params.get("drop_ids", True)),
        missing_indicator=bool(params.get("missing_indicator", True)),
        node=_node(ctx),
    )
    return _append(inputs, "auto", step)


PREP_AUTO = Block(
    key="prep.auto",
    label="Auto-prepare table",
    category="Preprocessing",
    description="Turn any table into model-ready numbers in one step, column by column: "
    "numbers get median imputation and a missing indicator; text with few values is "
    "one-hot encoded (unknown categories ignored, blanks a category of their own); text "
    "with many values is target-encoded; dates become year, month, day and weekday; "
    "id-like and constant columns are dropped. model.train's log lists the plan chosen "
    "for each column. Put a model (e.g. HistGradientBoostingClassifier) after it.",
    inputs=(IN_STEPS,),
    outputs=(OUT_STEPS,),
    params_schema=_object(
        {
            "max_categories": {
                "type": "integer", "minimum": 2, "maximum": 1000, "default": 30,
                "title": "One-hot up to",
                "description": "Text columns with at most this many distinct values are one-hot "
                "encoded; columns with more are target-encoded.",
            },
            "drop_ids": {
                "type": "boolean", "default": True, "title": "Drop id-like columns",
                "description": "Drop columns such as customer_id whose values are (nearly) all distinct.",
            },
            "missing_indicator": {
                "type": "boolean", "default": True, "title": "Missing indicator",
                "description": "Add a 0/1 column for each numeric column that had blanks.",
            },
        }
    ),
    run=_run_auto,
    curated=True,
    tags=("prep", "transformer"),
)


# -- prep.columns ---------------------------------------------------------------------


def _run_columns(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    import re

    from .prep_transformers import ColumnPicker, GroupedColumns

    node = _node(ctx)
    groups = []
    for i in range(1, GROUPS + 1):
        names = _names(params, f"group_{i}_columns")
        dtype = params.get(f"group_{i}_dtype", "none")
        pattern = params.get(f"group_{i}_pattern", "") or ""
        try:
            re.compile(pattern)
        except re.error as exc:
            raise BlockError(f"group_{i}_pattern is not a valid pattern: {exc}", param=f"group_{i}_pattern") from None
        chain = _steps_before(inputs, f"group_{i}")
        _check_transformers(chain, f"group {i}")
        if not names and dtype == "none" and not pattern:
            if chain:
                raise BlockError(
                    f"group {i} has steps connected but picks no columns; set group_{i}_columns, "
                    f"group_{i}_dtype or group_{i}_pattern",
                    param=f"group_{i}_columns",
                )
            continue
        picker = ColumnPicker(
            names=names,
            dtype="" if dtype == "none" else dtype,
            pattern=pattern,
            node=node,
            param=f"group_{i}_columns",
        )
        groups.append((f"group_{i}", picker, chain))
    if not groups:
        raise BlockError("pick the columns of at least one group (group_1_columns, _dtype or _pattern)", param="group_1_columns")
    step = GroupedColumns(groups=groups, remainder=params.get("remainder", "drop"), drop=_names(params, "drop"), node=node)
    return _append(inputs, "columns", step)


def _group_params() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for i in range(1, GROUPS + 1):
        props[f"group_{i}_columns"] = _columns_param(f"Group {i}: columns", f"Columns that go through the steps wired into group_{i}.")
        props[f"group_{i}_dtype"] = {
            "type": "string", "enum": list(GROUP_DTYPES), "default": "none", "title": f"Group {i}: every column of type",
            "description": "Also pick every column of this kind (number, text, date, bool, any); none: by name/pattern only.",
        }
        props[f"group_{i}_pattern"] = {
            "type": "string", "default": "", "title": f"Group {i}: name pattern",
            "description": "Also pick columns whose name matches this regular expression (e.g. ^amount_).",
        }
    return props


PREP_COLUMNS = Block(
    key="prep.columns",
    label="Column groups",
    category="Preprocessing",
    description="A ColumnTransformer: send groups of columns through their own steps. "
    "Wire a chain of steps (e.g. OneHotEncoder) into group_1 … group_4 and pick each group's "
    "columns by name, by type (number, text, date, bool) and/or by a name pattern; a group "
    "with no steps passes its columns through unchanged. A column goes to the first group "
    "that picks it; 'drop' removes columns (such as customer_id) before any group; columns "
    "no group picks are dropped or passed through ('remainder'). Example: group 1 = city, "
    "plan → OneHotEncoder; group 2 = type number → StandardScaler; drop = customer_id.",
    inputs=(
        IN_STEPS,
        *(Port(f"group_{i}", ESTIMATOR, required=False, description=f"the steps for group {i}'s columns") for i in range(1, GROUPS + 1)),
    ),
    outputs=(OUT_STEPS,),
    params_schema=_object(
        {
            "drop": _columns_param("Drop columns", "Columns never used (ids, leaks), removed before the groups."),
            **_group_params(),
            "remainder": {
                "type": "string", "enum": ["drop", "passthrough"], "default": "drop", "title": "Other columns",
                "description": "What happens to columns no group picks: drop them, or pass them through unchanged.",
            },
        }
    ),
    run=_run_columns,
    curated=True,
    tags=("prep", "transformer"),
    column_params=("drop", *(f"group_{i}_columns" for i in range(1, GROUPS + 1))),
)


# -- prep.missing ---------------------------------------------------------------------


def _run_missing(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .prep_transformers import MissingValues

    per_column = params.get("per_column") or {}
    if not isinstance(per_column, dict):
        raise BlockError("per_column must be an object {column: strategy}", param="per_column")
    for column, strategy in per_column.items():
        if strategy not in MISSING_STRATEGIES:
            raise BlockError(
                f"per_column: strategy {strategy!r} for column {column!r} is not one of {', '.join(MISSING_STRATEGIES)}",
                param="per_column",
            )
    step = MissingValues(
        strategy=params.get("strategy", "median"),
        per_column=dict(per_column),
        fill_value=params.get("fill_value", 0),
        add_indicator=bool(params.get("add_indicator", True)),
        node=_node(ctx),
    )
    return _append(inputs, "missing", step)


PREP_MISSING = Block(
    key="prep.missing",
    label="Fill missing values",
    category="Preprocessing",
    description="Fill blanks column by column and keep the table's columns: 'strategy' for every "
    "column with blanks (mean and median apply to numbers; text gets its most frequent value), "
    "'per_column' overrides it ({\"age\": \"median\", \"plan\": \"constant\"}); optionally adds a "
    "0/1 '<column>_missing' column for each column that had blanks.",
    inputs=(IN_STEPS,),
    outputs=(OUT_STEPS,),
    params_schema=_object(
        {
            "strategy": {"type": "string", "enum": list(MISSING_STRATEGIES), "default": "median", "title": "Strategy"},
            "per_column": {
                "type": "object", "default": {}, "title": "Per column",
                "description": "{column: strategy} for columns that need another strategy.",
            },
            "fill_value": {"type": ["number", "string"], "default": 0, "title": "Constant", "description": "The value 'constant' fills in."},
            "add_indicator": {"type": "boolean", "default": True, "title": "Missing indicator"},
        }
    ),
    run=_run_missing,
    curated=True,
    tags=("prep", "transformer"),
)


# -- prep.dates -----------------------------------------------------------------------


def _run_dates(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .prep_transformers import DATE_PARTS, DateParts

    parts = _names(params, "parts") or ["year", "month", "day", "dayofweek"]
    unknown = [p for p in parts if p not in DATE_PARTS]
    if unknown:
        raise BlockError(f"unknown date part {unknown[0]!r}; parts are: {', '.join(DATE_PARTS)}", param="parts")
    step = DateParts(columns=_names(params, "columns"), parts=parts, format=params.get("format", ""), node=_node(ctx))
    return _append(inputs, "dates", step)


PREP_DATES = Block(
    key="prep.dates",
    label="Date parts",
    category="Preprocessing",
    description="Replace date columns with numeric parts ('<column>_year', '_month', …). With no "
    "columns given, every date column and every text column that reads as dates is used.",
    inputs=(IN_STEPS,),
    outputs=(OUT_STEPS,),
    params_schema=_object(
        {
            "columns": _columns_param("Date columns", "Empty: detect them."),
            "parts": {
                "type": "array", "default": ["year", "month", "day", "dayofweek"],
                "title": "Parts", "description": "Any of year, month, day, dayofweek, dayofyear, hour.",
            },
            "format": {"type": "string", "default": "", "title": "Format", "description": "e.g. %d/%m/%Y; empty: inferred."},
        }
    ),
    run=_run_dates,
    curated=True,
    tags=("prep", "transformer"),
    column_params=("columns",),
)


# -- prep.text ------------------------------------------------------------------------


def _run_text(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .prep_transformers import TextTfidf

    column = params.get("column") or ""
    if not column:
        raise BlockError("choose the text column to vectorise", param="column")
    step = TextTfidf(
        column=column,
        max_features=int(params.get("max_features", 500)),
        ngram_max=int(params.get("ngram_max", 1)),
        keep_other=bool(params.get("keep_other", True)),
        node=_node(ctx),
    )
    return _append(inputs, "text", step)


PREP_TEXT = Block(
    key="prep.text",
    label="Text (TF-IDF)",
    category="Preprocessing",
    description="Turn a free-text column into TF-IDF word weights ('<column>_<word>' columns); "
    "the other columns are kept for the next steps unless 'keep_other' is off.",
    inputs=(IN_STEPS,),
    outputs=(OUT_STEPS,),
    params_schema=_object(
        {
            "column": {"type": "string", "default": "", "title": "Text column"},
            "max_features": {"type": "integer", "minimum": 1, "maximum": 20000, "default": 500, "title": "Words kept"},
            "ngram_max": {"type": "integer", "minimum": 1, "maximum": 3, "default": 1, "title": "Longest word sequence"},
            "keep_other": {"type": "boolean", "default": True, "title": "Keep other columns"},
        }
    ),
    run=_run_text,
    curated=True,
    tags=("prep", "transformer"),
    column_params=("column",),
)


# -- prep.types -----------------------------------------------------------------------


def _run_types(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    from .prep_transformers import ParseTypes

    lists = {name: _names(params, name) for name in ("decimal_comma", "numbers", "dates")}
    if not any(lists.values()):
        raise BlockError("name at least one column to parse (decimal_comma, numbers or dates)", param="decimal_comma")
    step = ParseTypes(**lists, date_format=params.get("date_format", ""), node=_node(ctx))
    return _append(inputs, "types", step)


PREP_TYPES = Block(
    key="prep.types",
    label="Parse numbers and dates",
    category="Preprocessing",
    description="Read text columns as what they mean: 'decimal_comma' columns such as "
    "\"1.234,5\" become 1234.5; 'numbers' columns such as \"1,234.5\" or \"12 kg\" become numbers; "
    "'dates' columns are parsed with 'date_format' (inferred when empty). Unreadable values become blanks.",
    inputs=(IN_STEPS,),
    outputs=(OUT_STEPS,),
    params_schema=_object(
        {
            "decimal_comma": _columns_param("Decimal-comma columns", "Numbers written 1.234,5."),
            "numbers": _columns_param("Number columns", "Numbers written 1,234.5 or with units."),
            "dates": _columns_param("Date columns", "Parsed as dates."),
            "date_format": {"type": "string", "default": "", "title": "Date format", "description": "e.g. %d.%m.%Y; empty: inferred."},
        }
    ),
    run=_run_types,
    curated=True,
    tags=("prep", "transformer"),
    column_params=("decimal_comma", "numbers", "dates"),
)


PREP_BLOCKS: tuple[Block, ...] = (PREP_AUTO, PREP_COLUMNS, PREP_MISSING, PREP_DATES, PREP_TEXT, PREP_TYPES)
