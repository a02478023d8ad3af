"""The pandas work behind the row-level ``table.*`` blocks (declared in ``table``, checked by ``table_rules``).

Every function checks its params with the block's column rule first, against
the real columns, so errors read the same as in graph validation. All work is
vectorised; nothing loops over rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import table_rules as spec
from .base import TABLE, BlockError, StepContext

Inputs = Mapping[str, Any]
Params = Mapping[str, Any]

# A join or query result beyond this many rows is refused before it is built.
MAX_RESULT_ROWS = 5_000_000


def _columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns]


# -- select, drop duplicates ------------------------------------------------------------


def run_select_columns(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    frame = inputs[TABLE]
    out = spec.select_columns({TABLE: _columns(frame)}, params)[TABLE]
    ctx.log(f"kept {len(out)} of {frame.shape[1]} columns")
    return {TABLE: frame.loc[:, out].copy()}


def run_drop_duplicates(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    frame = inputs[TABLE]
    spec.drop_duplicates({TABLE: _columns(frame)}, params)
    subset = spec.string_list(params, "subset") or None
    keep = params.get("keep", "first")
    out = frame.drop_duplicates(subset=subset, keep=False if keep == "none" else keep)
    ctx.log(f"dropped {len(frame) - len(out)} duplicate row(s); {len(out)} left")
    return {TABLE: out.reset_index(drop=True)}


# -- filter -----------------------------------------------------------------------------


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "text"


_KIND_WORDS = {"number": "numbers", "text": "text", "boolean": "true/false values", "date": "dates"}


def _value_for(series: pd.Series, value: Any, cond: dict[str, Any]) -> Any:
    """``value`` as something comparable with ``series``, or a BlockError naming the column."""
    kind = _kind(series)
    column, op = cond["column"], cond["op"]

    def wrong() -> BlockError:
        return BlockError(
            f"{cond['where']}: column '{column}' holds {_KIND_WORDS[kind]}; cannot use "
            f"'{op}' with {value!r}",
            param="conditions",
        )

    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong()
        return value
    if kind == "boolean":
        if not isinstance(value, bool) or op in ("<", "<=", ">", ">="):
            raise wrong()
        return value
    if kind == "date":
        try:
            stamp = pd.Timestamp(value) if isinstance(value, str) else None
        except ValueError:
            stamp = None
        if stamp is None:
            raise wrong()
        tz = getattr(series.dtype, "tz", None)
        if tz is not None and stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)
        return stamp
    if not isinstance(value, str):
        raise wrong()
    return value


def _condition_mask(frame: pd.DataFrame, cond: dict[str, Any]) -> pd.Series:
    series = frame[cond["column"]]
    op, value = cond["op"], cond["value"]
    if op == "is null":
        return series.isna()
    present = series.notna()
    if op == "not null":
        return present
    if op in spec.TEXT_OPS:
        if _kind(series) != "text":
            raise BlockError(
                f"{cond['where']}: column '{cond['column']}' holds {_KIND_WORDS[_kind(series)]}; "
                f"'{op}' needs a text column",
                param="conditions",
            )
        text = series.astype("string")
        hit = (
            text.str.contains(value, regex=False)
            if op == "contains"
            else text.str.startswith(value)
        )
        return hit.fillna(False).astype(bool) & present
    if op in spec.LIST_OPS:
        values = [_value_for(series, v, cond) for v in value]
        hit = series.isin(values)
        return (hit if op == "in" else ~hit) & present
    target = _value_for(series, value, cond)
    try:
        compared = {
            "==": series.__eq__,
            "!=": series.__ne__,
            "<": series.__lt__,
            "<=": series.__le__,
            ">": series.__gt__,
            ">=": series.__ge__,
        }[op](target)
    except TypeError as exc:  # an object column mixing text and numbers
        raise BlockError(
            f"{cond['where']}: column '{cond['column']}' holds mixed values that cannot be "
            f"compared with {value!r}",
            param="conditions",
        ) from exc
    return compared.fillna(False).astype(bool) & present


def run_filter_rows(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    frame = inputs[TABLE]
    spec.filter_rows({TABLE: _columns(frame)}, params)
    masks = [_condition_mask(frame, cond) for cond in spec.conditions(params)]
    combined = (
        np.logical_and.reduce(masks)
        if params.get("combine", "all") == "all"
        else np.logical_or.reduce(masks)
    )
    out = frame.loc[np.asarray(combined, dtype=bool)].reset_index(drop=True)
    ctx.log(f"kept {len(out)} of {len(frame)} rows")
    return {TABLE: out}


# -- join -------------------------------------------------------------------------------


def _key_counts(frame: pd.DataFrame, on: list[str]) -> pd.Series:
    return frame.groupby(on, dropna=False, observed=True, sort=False).size()


def run_join(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    left, right = inputs["left"], inputs["right"]
    spec.join({"left": _columns(left), "right": _columns(right)}, params)
    on = spec.string_list(params, "on")
    how = params.get("how", "inner")
    validate = params.get("validate", "auto")
    for key in on:
        kinds = _kind(left[key]), _kind(right[key])
        if kinds[0] != kinds[1]:
            raise BlockError(
                f"key column '{key}' holds {_KIND_WORDS[kinds[0]]} on the left and "
                f"{_KIND_WORDS[kinds[1]]} on the right; convert one side first",
                param="on",
            )
    counts = pd.concat(
        [_key_counts(left, on).rename("left"), _key_counts(right, on).rename("right")],
        axis=1,
        join="inner",
    )
    _check_key_repeats(left, right, on, counts, validate)
    matched = int((counts["left"] * counts["right"]).sum())
    estimate = matched
    if how in ("left", "outer"):
        estimate += len(left) - int(counts["left"].sum())
    if how in ("right", "outer"):
        estimate += len(right) - int(counts["right"].sum())
    if estimate > MAX_RESULT_ROWS:
        raise BlockError(
            f"the join would give {estimate:,} rows (more than {MAX_RESULT_ROWS:,}); check the "
            "key columns or drop duplicate keys first",
            param="on",
        )
    out = left.merge(right, how=how, on=on, suffixes=spec.JOIN_SUFFIXES, sort=False)
    ctx.log(f"joined {len(left)} × {len(right)} rows on {', '.join(on)} ({how}): {len(out)} rows")
    return {TABLE: out}


def _check_key_repeats(
    left: pd.DataFrame, right: pd.DataFrame, on: list[str], counts: pd.DataFrame, validate: str
) -> None:
    keys = ", ".join(on)
    for side, frame, must_be_unique in (
        ("left", left, validate in ("one_to_one", "one_to_many")),
        ("right", right, validate in ("one_to_one", "many_to_one")),
    ):
        if must_be_unique:
            repeated = frame.duplicated(on, keep=False)
            if repeated.any():
                example = frame.loc[repeated, on].iloc[0].tolist()
                raise BlockError(
                    f"key ({keys}) repeats in the {side} table ({int(repeated.sum())} rows, e.g. "
                    f"{_example(example)}) but validate is {validate}",
                    param="validate",
                )
    if validate == "auto":
        both = counts[(counts["left"] > 1) & (counts["right"] > 1)]
        if len(both):
            first = both.index[0]
            example = list(first) if isinstance(first, tuple) else [first]
            rows = int((both["left"] * both["right"]).sum())
            raise BlockError(
                f"many-to-many join: {len(both)} key value(s) repeat in both tables (e.g. "
                f"{_example(example)}: {int(both['left'].iloc[0])} rows left × "
                f"{int(both['right'].iloc[0])} rows right), which multiplies them into {rows:,} "
                "rows; drop duplicates first or set validate to many_to_many",
                param="validate",
            )


def _example(values: list[Any]) -> str:
    return ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values)


# -- concat -----------------------------------------------------------------------------


def run_concat(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    names = [name for name in ("t1", "t2", "t3") if name in inputs]
    frames = [inputs[name] for name in names]
    out_columns = spec.concat(
        {name: _columns(f) for name, f in zip(names, frames, strict=True)}, params
    )[TABLE]
    source = params.get("source_column")
    data_columns = [c for c in out_columns if c != source] if source else out_columns
    parts = [f.reindex(columns=data_columns) for f in frames]
    out = pd.concat(parts, ignore_index=True)
    if source:
        out[source] = np.repeat(names, [len(f) for f in frames])
    ctx.log(f"stacked {' + '.join(str(len(f)) for f in frames)} rows: {len(out)} rows")
    return {TABLE: out}


# -- group by ---------------------------------------------------------------------------


def run_group_by(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    frame = inputs[TABLE]
    spec.group_by({TABLE: _columns(frame)}, params)
    by = spec.string_list(params, "by")
    aggs = spec.aggregations(params)
    for agg in aggs:
        if agg["function"] in ("sum", "mean", "median") and _kind(frame[agg["column"]]) not in (
            "number",
            "boolean",
        ):
            raise BlockError(
                f"column '{agg['column']}' holds {_KIND_WORDS[_kind(frame[agg['column']])]}; "
                f"{agg['function']} needs numbers",
                param="aggregations",
            )
    named = {agg["as"]: pd.NamedAgg(agg["column"], agg["function"]) for agg in aggs}
    out = frame.groupby(by, dropna=False, observed=True, sort=True).agg(**named).reset_index()
    ctx.log(f"{len(frame)} rows in {len(out)} group(s)")
    return {TABLE: out}


# -- sample -----------------------------------------------------------------------------


def run_sample(ctx: StepContext, inputs: Inputs, params: Params) -> dict[str, Any]:
    frame = inputs[TABLE].reset_index(drop=True)  # positions, so sort_index restores the order
    spec.sample({TABLE: _columns(frame)}, params)
    n, fraction = params.get("n"), params.get("fraction")
    seed = params.get("seed", 0)
    stratify = params.get("stratify_column")
    if fraction is None:
        fraction = min(1.0, n / len(frame)) if len(frame) else 1.0
    if stratify:
        picked = frame.groupby(stratify, dropna=False, observed=True, group_keys=False).sample(
            frac=fraction, random_state=seed
        )
    elif n is not None:
        picked = frame.sample(n=min(n, len(frame)), random_state=seed)
    else:
        picked = frame.sample(frac=fraction, random_state=seed)
    out = picked.sort_index().reset_index(drop=True)
    ctx.log(f"sampled {len(out)} of {len(frame)} rows")
    return {TABLE: out}
