"""Column rules and param checks of the ``table.*`` blocks: plain Python on column names.

Each rule takes ``{input port: column names, or None when unknown}`` and the
params, checks what it can (param shapes always, column names when known) and
returns the output columns; graph validation calls it with the upstream
columns, the run with the real ones, so a bad column reads the same before and
during a run. The blocks are declared in ``table``; pandas work is in ``table_ops``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import TABLE, BlockError

Params = Mapping[str, Any]
Columns = Mapping[str, "list[str] | None"]
FILTER_OPS = (
    "==", "!=", "<", "<=", ">", ">=", "in", "not in", "is null", "not null", "contains", "starts with",
)  # fmt: skip
NO_VALUE_OPS = ("is null", "not null")
LIST_OPS = ("in", "not in")
TEXT_OPS = ("contains", "starts with")
AGG_FUNCTIONS = ("count", "sum", "mean", "median", "min", "max", "nunique")
JOIN_HOWS = ("inner", "left", "right", "outer")
JOIN_VALIDATE = ("auto", "one_to_one", "one_to_many", "many_to_one", "many_to_many")
JOIN_SUFFIXES = ("_left", "_right")
MAX_CONDITIONS = 50
MAX_LIST_VALUES = 10_000
MAX_SHOWN_COLUMNS = 20

# -- helpers shared by the rules and the runs ------------------------------------------


def listing(columns: Sequence[Any]) -> str:
    """``a, b, c`` — the first few column names, then how many more."""
    shown = [str(c) for c in columns[:MAX_SHOWN_COLUMNS]]
    if len(columns) > MAX_SHOWN_COLUMNS:
        shown.append(f"… ({len(columns) - MAX_SHOWN_COLUMNS} more)")
    return ", ".join(shown) if shown else "none"


def require_columns(
    names: Sequence[str], columns: Sequence[str] | None, *, param: str, where: str = "the table"
) -> None:
    """Raise BlockError naming the first of ``names`` that ``columns`` lacks (unknown: no check)."""
    if columns is None:
        return
    present = set(columns)
    for name in names:
        if name not in present:
            raise BlockError(
                f"column '{name}' is not in {where} (columns: {listing(columns)})", param=param
            )


def string_list(params: Params, name: str) -> list[str]:
    """A param that must be a list of column names; duplicates are dropped, order kept."""
    value = params.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BlockError("must be a list of column names", param=name)
    return list(dict.fromkeys(value))


def _one_table(inputs: Columns) -> list[str] | None:
    return inputs.get(TABLE)


# -- table.select_columns ---------------------------------------------------------------


def select_columns(inputs: Columns, params: Params) -> dict[str, list[str] | None]:
    names = string_list(params, "columns")
    keep = params.get("mode", "keep") == "keep"
    if not names and keep:
        raise BlockError("choose at least one column to keep", param="columns")
    columns = _one_table(inputs)
    require_columns(names, columns, param="columns")
    if columns is None:
        return {TABLE: names if keep else None}
    out = names if keep else [c for c in columns if c not in set(names)]
    if not out:
        raise BlockError("dropping these columns leaves none", param="columns")
    return {TABLE: out}


# -- table.filter_rows ------------------------------------------------------------------


def conditions(params: Params) -> list[dict[str, Any]]:
    """The ``conditions`` param, checked for shape: ``[{"column", "op", "value"}]``."""
    raw = params.get("conditions") or []
    if not isinstance(raw, list):
        raise BlockError("must be a list of conditions", param="conditions")
    if not raw:
        raise BlockError("add at least one condition", param="conditions")
    if len(raw) > MAX_CONDITIONS:
        raise BlockError(
            f"at most {MAX_CONDITIONS} conditions (got {len(raw)})", param="conditions"
        )
    checked = []
    for number, cond in enumerate(raw, start=1):
        where = f"condition {number}"
        if not isinstance(cond, dict):
            raise BlockError(
                f"{where} must be an object with column, op and value", param="conditions"
            )
        extra = set(cond) - {"column", "op", "value"}
        if extra:
            raise BlockError(
                f"{where} has unknown field(s) {', '.join(sorted(extra))}", param="conditions"
            )
        column, op, value = cond.get("column"), cond.get("op"), cond.get("value")
        if not isinstance(column, str) or not column:
            raise BlockError(f"{where} needs a column name", param="conditions")
        if op not in FILTER_OPS:
            raise BlockError(
                f"{where}: op must be one of {', '.join(FILTER_OPS)} (got {op!r})",
                param="conditions",
            )
        if op in LIST_OPS:
            if not isinstance(value, list) or not value or len(value) > MAX_LIST_VALUES:
                raise BlockError(
                    f"{where}: '{op}' needs a list of 1 to {MAX_LIST_VALUES} values",
                    param="conditions",
                )
            if not all(_is_scalar(v) and v is not None for v in value):
                raise BlockError(
                    f"{where}: the list may hold only numbers, text and true/false",
                    param="conditions",
                )
        elif op in TEXT_OPS:
            if not isinstance(value, str):
                raise BlockError(f"{where}: '{op}' needs a text value", param="conditions")
        elif op not in NO_VALUE_OPS and (value is None or not _is_scalar(value)):
            raise BlockError(
                f"{where}: '{op}' needs a number, a text or true/false", param="conditions"
            )
        checked.append({"column": column, "op": op, "value": value, "where": where})
    return checked


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def filter_rows(inputs: Columns, params: Params) -> dict[str, list[str] | None]:
    columns = _one_table(inputs)
    for cond in conditions(params):
        require_columns([cond["column"]], columns, param="conditions")
    return {TABLE: columns}


# -- table.join -------------------------------------------------------------------------


def join(inputs: Columns, params: Params) -> dict[str, list[str] | None]:
    on = string_list(params, "on")
    if not on:
        raise BlockError("choose the key column(s) to join on", param="on")
    left, right = inputs.get("left"), inputs.get("right")
    require_columns(on, left, param="on", where="the left table")
    require_columns(on, right, param="on", where="the right table")
    if left is None or right is None:
        return {TABLE: None}
    keys = set(on)
    left_rest = {c for c in left if c not in keys}
    right_rest = {c for c in right if c not in keys}
    out = [c if c in keys or c not in right_rest else c + JOIN_SUFFIXES[0] for c in left]
    out += [c + JOIN_SUFFIXES[1] if c in left_rest else c for c in right if c not in keys]
    return {TABLE: out}


# -- table.concat -----------------------------------------------------------------------


def concat(inputs: Columns, params: Params) -> dict[str, list[str] | None]:
    tables = [inputs[name] for name in ("t1", "t2", "t3") if name in inputs]
    source = params.get("source_column")
    if any(t is None for t in tables) or not tables:
        return {TABLE: None}
    mode = params.get("columns", "same")
    first = tables[0]
    if mode == "same":
        for index, other in enumerate(tables[1:], start=2):
            if set(other) != set(first):
                missing = [c for c in first if c not in set(other)]
                extra = [c for c in other if c not in set(first)]
                raise BlockError(
                    f"table t{index} has other columns than t1 (missing: {listing(missing)}; "
                    f"extra: {listing(extra)}); set columns to union or intersection",
                    param="columns",
                )
        out = list(first)
    elif mode == "union":
        out = list(dict.fromkeys(c for t in tables for c in t))
    else:
        out = [c for c in first if all(c in set(t) for t in tables[1:])]
        if not out:
            raise BlockError("the tables share no column", param="columns")
    if source:
        if source in out:
            raise BlockError(f"column '{source}' already exists", param="source_column")
        out.append(source)
    return {TABLE: out}


# -- table.group_by ---------------------------------------------------------------------


def aggregations(params: Params) -> list[dict[str, str]]:
    """The ``aggregations`` param, checked: ``[{"column", "function", "as"}]`` with ``as`` filled."""
    raw = params.get("aggregations") or []
    if not isinstance(raw, list) or not raw:
        raise BlockError("add at least one aggregation", param="aggregations")
    checked = []
    for number, agg in enumerate(raw, start=1):
        where = f"aggregation {number}"
        if not isinstance(agg, dict) or set(agg) - {"column", "function", "as"}:
            raise BlockError(
                f"{where} must be an object with column, function and as", param="aggregations"
            )
        column, function, name = agg.get("column"), agg.get("function"), agg.get("as")
        if not isinstance(column, str) or not column:
            raise BlockError(f"{where} needs a column name", param="aggregations")
        if function not in AGG_FUNCTIONS:
            raise BlockError(
                f"{where}: function must be one of {', '.join(AGG_FUNCTIONS)} (got {function!r})",
                param="aggregations",
            )
        if name is None or name == "":
            name = f"{column}_{function}"
        if not isinstance(name, str):
            raise BlockError(f"{where}: 'as' must be a column name", param="aggregations")
        checked.append({"column": column, "function": function, "as": name})
    return checked


def group_by(inputs: Columns, params: Params) -> dict[str, list[str] | None]:
    by = string_list(params, "by")
    if not by:
        raise BlockError("choose at least one column to group by", param="by")
    aggs = aggregations(params)
    out = [*by, *(a["as"] for a in aggs)]
    repeated = [name for name in dict.fromkeys(out) if out.count(name) > 1]
    if repeated:
        raise BlockError(
            f"two output columns would be called '{repeated[0]}'; give the aggregation another 'as'",
            param="aggregations",
        )
    columns = _one_table(inputs)
    require_columns(by, columns, param="by")
    require_columns([a["column"] for a in aggs], columns, param="aggregations")
    return {TABLE: out}


# -- table.drop_duplicates --------------------------------------------------------------


def drop_duplicates(inputs: Columns, params: Params) -> dict[str, list[str] | None]:
    columns = _one_table(inputs)
    require_columns(string_list(params, "subset"), columns, param="subset")
    return {TABLE: columns}


# -- table.sample -----------------------------------------------------------------------


def sample(inputs: Columns, params: Params) -> dict[str, list[str] | None]:
    n, fraction = params.get("n"), params.get("fraction")
    if (n is None) == (fraction is None):
        raise BlockError("set either n or fraction (one of them, not both)", param="n")
    columns = _one_table(inputs)
    stratify = params.get("stratify_column")
    if stratify:
        require_columns([stratify], columns, param="stratify_column")
    return {TABLE: columns}


# -- table.sql --------------------------------------------------------------------------

SQL_TIMEOUT_DEFAULT = 60
SQL_TIMEOUT_MAX = 600
SQL_MAX_ROWS_DEFAULT = 1_000_000
SQL_MAX_ROWS_MAX = 5_000_000
SQL_MAX_QUERY_CHARS = 20_000


def sql(inputs: Columns, params: Params) -> dict[str, list[str] | None]:
    from .table_sql import check_query  # DuckDB, imported only for a table.sql node

    check_query(params.get("query", ""))
    return {TABLE: None}  # known only by running the query
