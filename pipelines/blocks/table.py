"""Row-level table blocks (``table.*``): training data only, before the split.

Declarations only. Each block's ``output_columns`` rule (``table_rules``, plain
Python on column names) is called by graph validation with the upstream columns
and by the run with the real ones, so a bad column is reported the same way
before and during a run. The pandas work is in ``table_ops`` and the DuckDB work
in ``table_sql``, imported when a block runs so building the catalogue stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import table_rules as rules
from .base import TABLE, Block, Port, StepContext
from .core import SEED_MAX, _object

Inputs = Mapping[str, Any]
Params = Mapping[str, Any]


def _select_param(name: str, title: str, description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "title": title,
        "description": description,
    }


def _seed() -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": 0,
        "maximum": SEED_MAX,
        "default": 0,
        "title": "Seed",
        "description": "The same seed gives the same rows.",
    }


def _run_with(module: str, function: str):
    """A run function that imports ``module`` (pandas, DuckDB) only when the block runs."""

    def run(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
        import importlib

        work = getattr(importlib.import_module(f"{__package__}.{module}"), function)
        return work(ctx, inputs, params)

    run.__name__ = f"run_{function}"
    return run


# -- table.select_columns ---------------------------------------------------------------

TABLE_SELECT_COLUMNS = Block(
    key="table.select_columns",
    label="Select columns",
    category="Data",
    description="Keep the chosen columns (in the order given) or drop them.",
    inputs=(Port(TABLE, TABLE, description="the table"),),
    outputs=(Port(TABLE, TABLE, description="the table with the chosen columns"),),
    params_schema=_object(
        {
            "columns": _select_param("columns", "Columns", "The columns to keep or drop."),
            "mode": {
                "type": "string",
                "enum": ["keep", "drop"],
                "default": "keep",
                "title": "Mode",
                "description": "keep: only these columns, in this order; drop: all but these.",
            },
        }
    ),
    run=_run_with("table_ops", "run_select_columns"),
    curated=True,
    tags=("data", "table"),
    column_params=("columns",),
    output_columns=rules.select_columns,
)


# -- table.filter_rows ------------------------------------------------------------------

TABLE_FILTER_ROWS = Block(
    key="table.filter_rows",
    label="Filter rows",
    category="Data",
    description="Keep the rows that meet all (or any) of the conditions. A missing value "
    "meets no condition except 'is null'.",
    inputs=(Port(TABLE, TABLE, description="the table"),),
    outputs=(Port(TABLE, TABLE, description="the rows that meet the conditions"),),
    params_schema=_object(
        {
            "conditions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "column": {"type": "string"},
                        "op": {"type": "string", "enum": list(rules.FILTER_OPS)},
                        "value": {},
                    },
                    "required": ["column", "op"],
                },
                "default": [],
                "title": "Conditions",
                "description": "Each is {column, op, value}; 'in' and 'not in' take a list, "
                "'is null' and 'not null' no value.",
            },
            "combine": {
                "type": "string",
                "enum": ["all", "any"],
                "default": "all",
                "title": "Combine",
                "description": "all: a row must meet every condition; any: at least one.",
            },
        }
    ),
    run=_run_with("table_ops", "run_filter_rows"),
    curated=True,
    tags=("data", "table"),
    output_columns=rules.filter_rows,
)


# -- table.join -------------------------------------------------------------------------

TABLE_JOIN = Block(
    key="table.join",
    label="Join tables",
    category="Data",
    description="Match the rows of two tables on key columns. Other columns present in "
    "both tables get the suffixes _left and _right. A join where keys repeat on both "
    "sides (many-to-many) is refused unless validate says many_to_many.",
    inputs=(
        Port("left", TABLE, description="the left table"),
        Port("right", TABLE, description="the right table"),
    ),
    outputs=(Port(TABLE, TABLE, description="the joined rows"),),
    params_schema=_object(
        {
            "how": {
                "type": "string",
                "enum": list(rules.JOIN_HOWS),
                "default": "inner",
                "title": "How",
                "description": "inner: keys in both; left/right: every row of that side; "
                "outer: every row of both.",
            },
            "on": _select_param(
                "on", "Key columns", "Columns present in both tables whose values must match."
            ),
            "validate": {
                "type": "string",
                "enum": list(rules.JOIN_VALIDATE),
                "default": "auto",
                "title": "Check keys",
                "description": "one_to_one, one_to_many, many_to_one: refuse keys that repeat "
                "where they must be unique; auto: refuse only many-to-many; many_to_many: allow it.",
            },
        }
    ),
    run=_run_with("table_ops", "run_join"),
    curated=True,
    tags=("data", "table"),
    column_params=("on",),
    output_columns=rules.join,
)


# -- table.concat -----------------------------------------------------------------------

TABLE_CONCAT = Block(
    key="table.concat",
    label="Stack tables",
    category="Data",
    description="Put the rows of two or three tables one after the other.",
    inputs=(
        Port("t1", TABLE, description="the first rows"),
        Port("t2", TABLE, description="rows to append"),
        Port("t3", TABLE, required=False, description="more rows to append"),
    ),
    outputs=(Port(TABLE, TABLE, description="all rows"),),
    params_schema=_object(
        {
            "columns": {
                "type": "string",
                "enum": ["same", "union", "intersection"],
                "default": "same",
                "title": "Columns",
                "description": "same: the tables must have the same columns; union: all "
                "columns, missing values left empty; intersection: shared columns only.",
            },
            "source_column": {
                "type": ["string", "null"],
                "default": None,
                "title": "Source column",
                "description": "If set, a column of this name says which input (t1, t2, t3) "
                "each row came from.",
            },
        }
    ),
    run=_run_with("table_ops", "run_concat"),
    curated=True,
    tags=("data", "table"),
    output_columns=rules.concat,
)


# -- table.group_by ---------------------------------------------------------------------

TABLE_GROUP_BY = Block(
    key="table.group_by",
    label="Group and aggregate",
    category="Data",
    description="One row per combination of the group columns, with aggregates of other "
    "columns (count, sum, mean, median, min, max, nunique). Missing values form a group.",
    inputs=(Port(TABLE, TABLE, description="the table"),),
    outputs=(Port(TABLE, TABLE, description="one row per group"),),
    params_schema=_object(
        {
            "by": _select_param("by", "Group by", "The columns whose values form the groups."),
            "aggregations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "column": {"type": "string"},
                        "function": {"type": "string", "enum": list(rules.AGG_FUNCTIONS)},
                        "as": {"type": "string"},
                    },
                    "required": ["column", "function"],
                },
                "default": [],
                "title": "Aggregations",
                "description": "Each is {column, function, as}; 'as' names the result "
                "(default <column>_<function>). count counts non-missing values.",
            },
        }
    ),
    run=_run_with("table_ops", "run_group_by"),
    curated=True,
    tags=("data", "table"),
    column_params=("by",),
    output_columns=rules.group_by,
)


# -- table.drop_duplicates --------------------------------------------------------------

TABLE_DROP_DUPLICATES = Block(
    key="table.drop_duplicates",
    label="Drop duplicate rows",
    category="Data",
    description="Remove rows that repeat the values of an earlier (or later) row.",
    inputs=(Port(TABLE, TABLE, description="the table"),),
    outputs=(Port(TABLE, TABLE, description="the table without repeated rows"),),
    params_schema=_object(
        {
            "subset": _select_param(
                "subset",
                "Compare columns",
                "Rows are duplicates when these columns are equal; none: all columns.",
            ),
            "keep": {
                "type": "string",
                "enum": ["first", "last", "none"],
                "default": "first",
                "title": "Keep",
                "description": "Which of the repeated rows stays; none drops them all.",
            },
        }
    ),
    run=_run_with("table_ops", "run_drop_duplicates"),
    curated=True,
    tags=("data", "table"),
    column_params=("subset",),
    output_columns=rules.drop_duplicates,
)


# -- table.sample -----------------------------------------------------------------------

TABLE_SAMPLE = Block(
    key="table.sample",
    label="Sample rows",
    category="Data",
    description="Keep a random subset of the rows, in their original order; stratified "
    "sampling keeps a column's class proportions.",
    inputs=(Port(TABLE, TABLE, description="the table"),),
    outputs=(Port(TABLE, TABLE, description="the sampled rows"),),
    params_schema=_object(
        {
            "n": {
                "type": ["integer", "null"],
                "minimum": 1,
                "default": 1000,
                "title": "Rows",
                "description": "How many rows (all of them when the table has fewer); "
                "leave empty to use fraction.",
            },
            "fraction": {
                "type": ["number", "null"],
                "exclusiveMinimum": 0,
                "maximum": 1,
                "default": None,
                "title": "Fraction",
                "description": "The share of rows to keep, instead of n.",
            },
            "stratify_column": {
                "type": ["string", "null"],
                "default": None,
                "title": "Stratify column",
                "description": "Sample each class of this column in proportion; with n the "
                "total is n rounded per class.",
            },
            "seed": _seed(),
        }
    ),
    run=_run_with("table_ops", "run_sample"),
    curated=True,
    tags=("data", "table"),
    column_params=("stratify_column",),
    output_columns=rules.sample,
)


# -- table.sql --------------------------------------------------------------------------

TABLE_SQL = Block(
    key="table.sql",
    label="SQL query",
    category="Data",
    description="One SELECT statement run by DuckDB on the inputs t1, t2 and t3. No "
    "files, network, ATTACH, COPY, INSTALL, LOAD or PRAGMA; the query has a time limit.",
    inputs=(
        Port("t1", TABLE, description="the table named t1 in the query"),
        Port("t2", TABLE, required=False, description="the table named t2"),
        Port("t3", TABLE, required=False, description="the table named t3"),
    ),
    outputs=(Port(TABLE, TABLE, description="the query's result"),),
    params_schema=_object(
        {
            "query": {
                "type": "string",
                "default": "SELECT * FROM t1",
                "title": "Query",
                "description": "A DuckDB SELECT over t1, t2, t3.",
            },
            "query_timeout_seconds": {
                "type": "integer",
                "minimum": 1,
                "maximum": rules.SQL_TIMEOUT_MAX,
                "default": rules.SQL_TIMEOUT_DEFAULT,
                "title": "Time limit (s)",
                "description": "The query is stopped after this many seconds.",
            },
            "max_rows": {
                "type": "integer",
                "minimum": 1,
                "maximum": rules.SQL_MAX_ROWS_MAX,
                "default": rules.SQL_MAX_ROWS_DEFAULT,
                "title": "Most rows",
                "description": "A result with more rows is refused (add a LIMIT).",
            },
        }
    ),
    run=_run_with("table_sql", "run_sql"),
    curated=True,
    tags=("data", "table", "sql"),
    output_columns=rules.sql,
)


TABLE_BLOCKS: tuple[Block, ...] = (
    TABLE_SELECT_COLUMNS,
    TABLE_FILTER_ROWS,
    TABLE_JOIN,
    TABLE_CONCAT,
    TABLE_GROUP_BY,
    TABLE_DROP_DUPLICATES,
    TABLE_SAMPLE,
    TABLE_SQL,
)
