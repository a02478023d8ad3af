"""Prediction request bodies → a DataFrame with the model's columns and dtypes.

Plain Python (no Django). Accepted bodies (exactly one of these keys, plus an
optional ``params`` that is ignored, as MLflow does):

- ``{"instances": [{col: v, …}, …]}`` records, or ``{"instances": [[v, …], …]}``
  rows in signature order;
- ``{"dataframe_split": {"columns": [...], "data": [[...]], "index"?: [...]}}``;
- ``{"dataframe_records": [{col: v}, …]}``;
- ``{"inputs": {col: [v, …]}}`` (columnar), or ``{"inputs": [...]}`` as records or rows;
- Open Inference Protocol tensors: see ``frame_from_v2``.

Every refusal is an ``ApplicationError`` with an HTTP status (400 malformed, 413 too
many rows, 422 values that do not fit the signature) and the offending
``field`` (and ``row`` where one row is to blame).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ApplicationError

FORMATS = ("instances", "dataframe_split", "dataframe_records", "inputs")
DEFAULT_MAX_ROWS = 1000


# --- dtype kinds ------------------------------------------------------------


def dtype_kind(dtype: str) -> str:
    """float | int | bool | str: what JSON values a column of this pandas dtype takes."""
    d = str(dtype).lower()
    if d.startswith("bool"):
        return "bool"
    if d.startswith(("int", "uint")):
        return "int"
    if d.startswith("float"):
        return "float"
    return "str"


class Signature:
    """The compiled form of a ModelVersion signature, cached with the deployment."""

    __slots__ = (
        "columns", "dtypes", "kinds", "allow_nan", "nullable", "index", "all_float", "max_rows", "pandas_columns",
    )

    def __init__(self, signature: dict[str, Any], *, max_rows: int = DEFAULT_MAX_ROWS):
        inputs = signature.get("inputs") or []
        self.columns: list[str] = [str(c["name"]) for c in inputs]
        self.dtypes: list[str] = [str(c.get("dtype", "float64")) for c in inputs]
        self.kinds: list[str] = [dtype_kind(d) for d in self.dtypes]
        self.allow_nan: bool = bool(signature.get("allow_nan", False))
        # Per column (newer signatures): the model predicts with a blank there, so
        # "" and null become NaN instead of a 422.
        self.nullable: list[bool] = [bool(c.get("nullable", self.allow_nan)) for c in inputs]
        self.index = {c: i for i, c in enumerate(self.columns)}
        self.all_float = all(k == "float" for k in self.kinds)
        self.max_rows = max_rows
        # Built once: making a string Index is most of the cost of a one-row DataFrame.
        self.pandas_columns = pd.Index(self.columns, dtype=object)


# --- entry points -----------------------------------------------------------


def frame_from_body(body: Any, sig: Signature) -> pd.DataFrame:
    """Our JSON / MLflow scoring bodies → DataFrame. Raises ApplicationError."""
    if not isinstance(body, dict):
        raise ApplicationError(
            f"the body must be a JSON object with one of: {', '.join(FORMATS)}", status=400, field="body"
        )
    present = [k for k in FORMATS if k in body]
    unknown = [k for k in body if k not in FORMATS and k != "params"]
    if unknown:
        raise ApplicationError(
            f"unknown key {unknown[0]!r}; the body takes one of: {', '.join(FORMATS)}",
            status=400,
            field=unknown[0],
        )
    if len(present) != 1:
        raise ApplicationError(
            f"the body must have exactly one of: {', '.join(FORMATS)}"
            + (f" (it has {', '.join(present)})" if present else ""),
            status=400,
            field=present[1] if len(present) > 1 else "body",
        )
    key = present[0]
    value = body[key]
    if key == "dataframe_split":
        return _from_split(value, sig)
    if key == "dataframe_records":
        return _from_list(value, sig, key, records_only=True)
    if key == "inputs" and isinstance(value, dict):
        return _from_columns(value, sig, key)
    return _from_list(value, sig, key)


def frame_from_v2(body: Any, sig: Signature) -> tuple[pd.DataFrame, list[str] | None, str | None]:
    """Open Inference Protocol request → (DataFrame, requested output names or None, request id).

    Either one tensor per feature column (named by the column, shape ``[n]`` or
    ``[n, 1]``), or a single 2-D tensor ``[n, n_features]`` with the features in
    signature order (what KServe's sklearn server and most clients send).
    """
    if not isinstance(body, dict):
        raise ApplicationError("the body must be a JSON object with 'inputs'", status=400, field="body")
    tensors = body.get("inputs")
    if not isinstance(tensors, list) or not tensors:
        raise ApplicationError("'inputs' must be a non-empty list of tensors", status=400, field="inputs")
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ApplicationError("'id' must be a string", status=400, field="id")
    wanted = None
    outputs = body.get("outputs")
    if outputs is not None:
        if not isinstance(outputs, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs):
            raise ApplicationError("'outputs' must be a list of {\"name\": …}", status=400, field="outputs")
        wanted = [o["name"] for o in outputs]
    parsed = [_v2_tensor(t, i) for i, t in enumerate(tensors)]
    if len(parsed) == 1 and parsed[0][0] not in sig.index:
        name, shape, data = parsed[0]
        field = f"inputs[0] ({name})"
        if len(shape) == 1 and len(sig.columns) == 1:
            shape = [shape[0], 1]
        if len(shape) != 2 or shape[1] != len(sig.columns):
            raise ApplicationError(
                f"tensor {name!r} has shape {shape}; send [n, {len(sig.columns)}] with the features "
                f"in this order: {', '.join(sig.columns)}, or one tensor per column named by the column",
                field=field, status=422,
            )
        rows = _reshape(data, shape, field)
        return _from_rows(rows, sig, field), wanted, request_id
    columns: dict[str, list] = {}
    for i, (name, shape, data) in enumerate(parsed):
        field = f"inputs[{i}] ({name})"
        if name not in sig.index:
            raise ApplicationError(
                f"the model has no input {name!r}; its inputs are: {', '.join(sig.columns)}", field=name, status=422
            )
        if name in columns:
            raise ApplicationError(f"input {name!r} is given twice", status=400, field=name)
        if len(shape) == 2 and shape[1] == 1:
            shape = [shape[0]]
        if len(shape) != 1:
            raise ApplicationError(f"tensor {name!r} has shape {shape}; a column takes [n] or [n, 1]", field=field, status=422)
        columns[name] = _reshape(data, shape, field)
    return _from_columns(columns, sig, "inputs"), wanted, request_id


# --- the formats --------------------------------------------------------------


def _check_batch(n: int, sig: Signature, field: str) -> None:
    if n == 0:
        raise ApplicationError(f"{field} is empty: send at least one row", status=400, field=field)
    if n > sig.max_rows:
        raise ApplicationError(
            f"{field} has {n} rows; the limit is {sig.max_rows} rows per request", status=413, field=field
        )


def _from_split(value: Any, sig: Signature) -> pd.DataFrame:
    key = "dataframe_split"
    if not isinstance(value, dict):
        raise ApplicationError("dataframe_split must be an object with 'columns' and 'data'", status=400, field=key)
    extra = [k for k in value if k not in ("columns", "data", "index")]
    if extra:
        raise ApplicationError(f"dataframe_split has an unknown key {extra[0]!r}", status=400, field=f"{key}.{extra[0]}")
    columns, data = value.get("columns"), value.get("data")
    if not isinstance(data, list):
        raise ApplicationError("dataframe_split.data must be a list of rows", status=400, field=f"{key}.data")
    if columns is None:
        return _from_rows(data, sig, f"{key}.data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ApplicationError("dataframe_split.columns must be a list of names", status=400, field=f"{key}.columns")
    _check_columns(columns, sig)
    _check_batch(len(data), sig, f"{key}.data")
    width = len(columns)
    by_column: dict[str, list] = {c: [] for c in columns}
    lists = list(by_column.values())
    for r, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            raise ApplicationError(
                f"row {r} of {key}.data must be a list of {width} values (one per column)", field=f"{key}.data", row=r, status=422
            )
        for j, v in enumerate(row):
            lists[j].append(v)
    return _build(by_column, len(data), sig)


def _from_columns(value: dict, sig: Signature, field: str) -> pd.DataFrame:
    _check_columns(list(value), sig)
    lengths = set()
    for name, col in value.items():
        if not isinstance(col, list):
            value[name] = col = [col]
        lengths.add(len(col))
    if len(lengths) > 1:
        raise ApplicationError(f"the columns of {field} have different lengths: {sorted(lengths)}", field=field, status=422)
    n = lengths.pop()
    _check_batch(n, sig, field)
    return _build(value, n, sig)


def _from_list(value: Any, sig: Signature, field: str, *, records_only: bool = False) -> pd.DataFrame:
    if isinstance(value, dict) and records_only:
        value = [value]
    if not isinstance(value, list):
        raise ApplicationError(f"{field} must be a list of rows", status=400, field=field)
    _check_batch(len(value), sig, field)
    first = value[0]
    if isinstance(first, dict):
        return _from_records(value, sig, field)
    if records_only:
        raise ApplicationError(f"{field} must be a list of objects {{column: value}}", status=400, field=field, row=0)
    if isinstance(first, list):
        return _from_rows(value, sig, field)
    if len(sig.columns) == 1:  # a single-feature model may take a flat list of values
        return _build({sig.columns[0]: value}, len(value), sig)
    raise ApplicationError(
        f"{field} must hold records ({{column: value}}) or rows (lists of {len(sig.columns)} values)",
        status=400,
        field=field,
        row=0,
    )


def _from_records(records: list, sig: Signature, field: str) -> pd.DataFrame:
    by_column: dict[str, list] = {c: [] for c in sig.columns}
    lists = [(c, by_column[c]) for c in sig.columns]
    expected = len(sig.columns)
    for r, record in enumerate(records):
        if not isinstance(record, dict):
            raise ApplicationError(f"row {r} of {field} is not an object", status=400, field=field, row=r)
        if len(record) != expected or any(c not in record for c, _ in lists):
            _check_columns(list(record), sig, row=r)
        for c, target in lists:
            target.append(record[c])
    return _build(by_column, len(records), sig)


def _from_rows(rows: list, sig: Signature, field: str) -> pd.DataFrame:
    _check_batch(len(rows), sig, field)
    width = len(sig.columns)
    for r, row in enumerate(rows):
        if not isinstance(row, list):
            raise ApplicationError(f"row {r} of {field} is not a list", status=400, field=field, row=r)
        if len(row) != width:
            raise ApplicationError(
                f"row {r} of {field} has {len(row)} values; the model takes {width}: {', '.join(sig.columns)}",
                field=field,
                row=r, status=422,
            )
    if sig.all_float:
        return _float_frame(rows, sig, field)
    by_column = {c: [row[j] for row in rows] for j, c in enumerate(sig.columns)}
    return _build(by_column, len(rows), sig)


def _check_columns(given: list[str], sig: Signature, *, row: int | None = None) -> None:
    missing = [c for c in sig.columns if c not in given]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ApplicationError(f"column {missing[0]!r} is missing{more}", field=missing[0], row=row, status=422)
    extra = [c for c in given if c not in sig.index]
    if extra:
        raise ApplicationError(
            f"column {extra[0]!r} is not an input of this model; its inputs are: {', '.join(sig.columns)}",
            field=extra[0],
            row=row, status=422,
        )


# --- values -------------------------------------------------------------------


def _float_frame(rows: list, sig: Signature, field: str) -> pd.DataFrame:
    """The fast path for all-numeric models: one NumPy conversion, then checks."""
    try:
        array = np.array(rows, dtype=np.float64)
    except (TypeError, ValueError):
        by_column = {c: [row[j] for row in rows] for j, c in enumerate(sig.columns)}
        return _build(by_column, len(rows), sig)  # finds and names the bad value
    if array.ndim != 2 or any(type(v) is bool for row in rows for v in row):
        by_column = {c: [row[j] for row in rows] for j, c in enumerate(sig.columns)}
        return _build(by_column, len(rows), sig)
    _check_finite(array, sig)
    return pd.DataFrame(array, columns=sig.pandas_columns, copy=False)


def _check_finite(array: np.ndarray, sig: Signature) -> None:
    finite = np.isfinite(array)
    if finite.all():
        return
    bad = np.isinf(array) | (np.isnan(array) & ~np.asarray(sig.nullable, dtype=bool))
    if not bad.any():
        return
    r, j = (int(x) for x in np.argwhere(bad)[0])
    value = float(array[r, j])
    if math.isnan(value):
        message = f"column {sig.columns[j]!r} is missing (null or NaN) in row {r}; this model has no imputer, so every value is needed"
    else:
        message = f"column {sig.columns[j]!r} is {value} in row {r} (not a finite number)"
    raise ApplicationError(message, field=sig.columns[j], row=r, status=422)


def _build(by_column: dict[str, list], n: int, sig: Signature) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name, dtype, kind, nullable in zip(sig.columns, sig.dtypes, sig.kinds, sig.nullable, strict=True):
        values = by_column[name]
        data[name] = _column(name, values, dtype, kind, nullable)
    return pd.DataFrame(data, columns=sig.pandas_columns)


def _column(name: str, values: list, dtype: str, kind: str, nullable: bool):
    """One column's values as the dtype the model was trained on. Blanks (null, and
    "" where the column is nullable) become NaN when the model handles them."""
    if kind in ("float", "int"):
        out = np.empty(len(values), dtype=np.float64)
        for r, v in enumerate(values):
            t = type(v)
            if t is float or t is int:
                out[r] = v
            elif v is None or (v == "" and nullable):
                out[r] = math.nan
            elif isinstance(v, int | float) and not isinstance(v, bool):
                out[r] = float(v)
            else:
                raise ApplicationError(
                    f"column {name!r} takes numbers; row {r} has {_describe(v)}", field=name, row=r, status=422
                )
            if not math.isfinite(out[r]):
                x = out[r]
                if math.isnan(x) and nullable:
                    continue
                what = "missing (null or NaN)" if math.isnan(x) else f"{x} (not a finite number)"
                hint = "; this model has no imputer, so every value is needed" if math.isnan(x) else ""
                raise ApplicationError(f"column {name!r} is {what} in row {r}{hint}", field=name, row=r, status=422)
        if kind == "int":
            if np.isnan(out).any():
                return out  # the model takes missing values: keep them as floats
            if not np.all(np.mod(out, 1) == 0):
                r = int(np.argwhere(np.mod(out, 1) != 0)[0][0])
                raise ApplicationError(
                    f"column {name!r} takes whole numbers; row {r} has {values[r]!r}", field=name, row=r, status=422
                )
            return out.astype(dtype if dtype.startswith(("int", "uint")) else "int64")
        return out if dtype == "float64" else out.astype(dtype)
    if kind == "bool":
        for r, v in enumerate(values):
            if not isinstance(v, bool):
                raise ApplicationError(f"column {name!r} takes true or false; row {r} has {_describe(v)}", field=name, row=r, status=422)
        return np.array(values, dtype=bool)
    blank = False
    for r, v in enumerate(values):
        if v is None or (v == "" and nullable):
            blank = True
            if not nullable:
                raise ApplicationError(
                    f"column {name!r} is missing (null) in row {r}; this model needs every value",
                    field=name,
                    row=r, status=422,
                )
        elif not isinstance(v, str):
            raise ApplicationError(f"column {name!r} takes text; row {r} has {_describe(v)}", field=name, row=r, status=422)
    if blank:  # NaN, as a blank cell of the training CSV was; unseen categories pass as they are
        return pd.array([math.nan if v is None or v == "" else v for v in values], dtype=object)
    return pd.array(values, dtype=object)


def _describe(v: Any) -> str:
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, str):
        shown = v if len(v) <= 40 else v[:37] + "…"
        return f"the text {shown!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return repr(v)


# --- V2 tensors -----------------------------------------------------------------

V2_NUMERIC = {
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64",
}


def _v2_tensor(t: Any, i: int) -> tuple[str, list[int], list]:
    field = f"inputs[{i}]"
    if not isinstance(t, dict):
        raise ApplicationError("each input must be an object with name, shape, datatype and data", status=400, field=field)
    name, shape, datatype, data = t.get("name"), t.get("shape"), t.get("datatype"), t.get("data")
    if not isinstance(name, str):
        raise ApplicationError("each input needs a 'name'", status=400, field=f"{field}.name")
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise ApplicationError(f"input {name!r} needs a 'shape' of non-negative integers", status=400, field=f"{field}.shape")
    if not isinstance(datatype, str) or (datatype not in V2_NUMERIC and datatype != "BYTES"):
        raise ApplicationError(f"input {name!r} has an unknown datatype {datatype!r}", status=400, field=f"{field}.datatype")
    parameters = t.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ApplicationError(f"input {name!r}: 'parameters' must be an object", status=400, field=f"{field}.parameters")
    if parameters.get("binary_data_size") is not None:
        raise ApplicationError(
            "binary tensor data is not supported; send JSON data (binary_data=False)",
            status=400,
            field=f"{field}.parameters",
        )
    if not isinstance(data, list):
        raise ApplicationError(f"input {name!r} needs 'data' as a list", status=400, field=f"{field}.data")
    return name, shape, data


def _reshape(data: list, shape: list[int], field: str) -> list:
    flat = data
    if data and isinstance(data[0], list):  # nested (row-major) data is allowed too
        flat = [v for row in data for v in (row if isinstance(row, list) else [row])]
    size = math.prod(shape)
    if len(flat) != size:
        raise ApplicationError(f"{field} has {len(flat)} values but its shape {shape} needs {size}", status=400, field=field)
    if len(shape) == 1:
        return list(flat)
    width = shape[1]
    return [flat[r * width:(r + 1) * width] for r in range(shape[0])]
