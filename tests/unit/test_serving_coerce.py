"""Prediction bodies → DataFrames: every format, and every refusal naming its field."""

import math

import numpy as np
import pandas as pd
import pytest

from pipelines.errors import ApplicationError
from pipelines.serving.coerce import Signature, frame_from_body, frame_from_v2

SIG = Signature(
    {
        "inputs": [
            {"name": "age", "dtype": "int64"},
            {"name": "income", "dtype": "float64"},
            {"name": "city", "dtype": "object"},
            {"name": "member", "dtype": "bool"},
        ]
    },
    max_rows=5,
)
NUMERIC = Signature({"inputs": [{"name": "a", "dtype": "float64"}, {"name": "b", "dtype": "float64"}]}, max_rows=5)
NAN_OK = Signature({"inputs": [{"name": "a", "dtype": "float64"}], "allow_nan": True})
RECORD = {"age": 30, "income": 1.5, "city": "Oslo", "member": True}


def refused(body, sig=SIG) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        frame_from_body(body, sig)
    return info.value


@pytest.mark.parametrize(
    "body",
    [
        {"instances": [RECORD]},
        {"instances": [[30, 1.5, "Oslo", True]]},
        {"dataframe_split": {"columns": list(RECORD), "data": [list(RECORD.values())]}},
        {"dataframe_split": {"columns": ["city", "age", "member", "income"], "data": [["Oslo", 30, True, 1.5]]}},
        {"dataframe_records": [RECORD]},
        {"inputs": {k: [v] for k, v in RECORD.items()}},
        {"inputs": [RECORD], "params": {"x": 1}},
    ],
    ids=["records", "rows", "split", "split-reordered", "df-records", "inputs-columns", "inputs-records"],
)
def test_every_format_gives_the_same_frame_in_signature_order_and_dtypes(body):
    frame = frame_from_body(body, SIG)

    assert list(frame.columns) == ["age", "income", "city", "member"]
    assert frame.iloc[0].tolist() == [30, 1.5, "Oslo", True]
    assert str(frame["age"].dtype) == "int64" and str(frame["income"].dtype) == "float64"
    assert str(frame["member"].dtype) == "bool"


def test_an_all_numeric_model_takes_rows_through_one_numpy_conversion():
    frame = frame_from_body({"instances": [[1, 2.5], [3, 4]]}, NUMERIC)

    assert frame.to_numpy().tolist() == [[1.0, 2.5], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"instances": [{k: v for k, v in RECORD.items() if k != "city"}]}, 422, "city"),
        ({"instances": [{**RECORD, "zip": 1}]}, 422, "zip"),
        ({"instances": [{**RECORD, "age": "thirty"}]}, 422, "age"),
        ({"instances": [{**RECORD, "age": 30.5}]}, 422, "age"),
        ({"instances": [{**RECORD, "income": True}]}, 422, "income"),
        ({"instances": [{**RECORD, "income": None}]}, 422, "income"),
        ({"instances": [{**RECORD, "income": math.inf}]}, 422, "income"),
        ({"instances": [{**RECORD, "city": 3}]}, 422, "city"),
        ({"instances": [{**RECORD, "member": "yes"}]}, 422, "member"),
        ({"instances": []}, 400, "instances"),
        ({"dataframe_records": [RECORD] * 6}, 413, "dataframe_records"),
        ({"instances": [[1, 2]]}, 422, "instances"),
        ({"instances": [RECORD], "dataframe_records": [RECORD]}, 400, "dataframe_records"),
        ({"data": [RECORD]}, 400, "data"),
        ({}, 400, "body"),
        ([RECORD], 400, "body"),
        ({"dataframe_split": {"columns": ["age"], "data": [[1]]}}, 422, "income"),
        ({"dataframe_split": {"columns": list(RECORD), "data": [[1]]}}, 422, "dataframe_split.data"),
        ({"dataframe_split": "x"}, 400, "dataframe_split"),
        ({"inputs": {"age": [1, 2], "income": [1.0], "city": ["a"], "member": [True]}}, 422, "inputs"),
        ({"instances": ["x", "y"]}, 400, "instances"),
    ],
)
def test_bad_input_is_refused_with_a_status_and_the_field(body, status, field):
    error = refused(body)

    assert (error.status, error.field) == (status, field)
    assert error.message


def test_the_row_at_fault_is_named():
    error = refused({"instances": [RECORD, {**RECORD, "age": "x"}]})

    assert error.row == 1 and "row 1" in error.message


def test_nan_is_refused_by_a_model_without_an_imputer_and_taken_by_one_with():
    with pytest.raises(ApplicationError) as info:
        frame_from_body({"instances": [[float("nan"), 1.0]]}, NUMERIC)
    assert info.value.field == "a" and "imputer" in info.value.message

    frame = frame_from_body({"instances": [{"a": None}]}, NAN_OK)
    assert math.isnan(frame["a"][0])
    with pytest.raises(ApplicationError):
        frame_from_body({"instances": [{"a": float("-inf")}]}, NAN_OK)


def test_v2_takes_one_2d_tensor_or_one_tensor_per_column():
    batch = {"id": "r1", "inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]}
    columns = {
        "inputs": [
            {"name": "b", "shape": [2], "datatype": "FP64", "data": [2, 4]},
            {"name": "a", "shape": [2, 1], "datatype": "FP64", "data": [[1], [3]]},
        ],
        "outputs": [{"name": "predict"}],
    }

    frame, wanted, rid = frame_from_v2(batch, NUMERIC)
    by_column, wanted2, _ = frame_from_v2(columns, NUMERIC)

    assert frame.to_numpy().tolist() == [[1, 2], [3, 4]] and rid == "r1" and wanted is None
    assert np.array_equal(by_column.to_numpy(), frame.to_numpy()) and wanted2 == ["predict"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"inputs": []}, "inputs"),
        ({"inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}, "inputs[0] (input-0)"),
        ({"inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3]}]}, "inputs[0] (input-0)"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP99", "data": [1]}]}, "inputs[0].datatype"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1], "parameters": []}]},
         "inputs[0].parameters"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]},
                     {"name": "c", "shape": [1], "datatype": "FP64", "data": [1]}]}, "c"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]},
                     {"name": "b", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}, "b"),
    ],
)
def test_v2_refusals_name_the_tensor(body, field):
    with pytest.raises(ApplicationError) as info:
        frame_from_v2(body, NUMERIC)

    assert info.value.field == field


MIXED = Signature(
    {
        "inputs": [
            {"name": "age", "dtype": "float64", "nullable": True},
            {"name": "calls", "dtype": "int64", "nullable": True},
            {"name": "city", "dtype": "str", "nullable": True},
            {"name": "plan", "dtype": "str", "nullable": False},
        ]
    }
)


def test_blanks_become_nan_in_columns_the_model_can_leave_blank():
    frame = frame_from_body(
        {"instances": [{"age": "", "calls": None, "city": "", "plan": "basic"}, {"age": 3, "calls": 2, "city": None, "plan": "pro"}]},
        MIXED,
    )

    assert frame["age"].isna().tolist() == [True, False]
    assert frame["calls"].tolist()[1] == 2 and pd.isna(frame["calls"].tolist()[0])
    assert frame["city"].isna().tolist() == [True, True]
    assert frame["plan"].tolist() == ["basic", "pro"]


def test_a_blank_in_a_column_the_model_cannot_leave_blank_is_a_422_naming_it():
    with pytest.raises(ApplicationError) as info:
        frame_from_body({"instances": [{"age": 1, "calls": 1, "city": "Lyon", "plan": None}]}, MIXED)

    assert info.value.status == 422
    assert info.value.field == "plan"


def test_an_unseen_category_passes_through_to_the_encoder():
    frame = frame_from_body({"instances": [{"age": 1, "calls": 1, "city": "Grenoble", "plan": "basic"}]}, MIXED)

    assert frame["city"].tolist() == ["Grenoble"]


def test_per_column_nullable_is_honoured_on_the_all_numeric_fast_path():
    sig = Signature({"inputs": [{"name": "a", "dtype": "float64", "nullable": True}, {"name": "b", "dtype": "float64"}]})

    assert frame_from_body({"instances": [[None, 1.0]]}, sig)["a"].isna().all()
    with pytest.raises(ApplicationError) as info:
        frame_from_body({"instances": [[1.0, None]]}, sig)
    assert info.value.field == "b"
