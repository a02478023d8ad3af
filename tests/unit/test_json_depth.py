"""Measuring how deeply a JSON text nests, before parsing it."""

import json

import pytest

from pipelines.errors import ApplicationError
from pipelines.inputs import json_depth, json_depth_refuse


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": []}', 2),
        (b'{"a": [{"b": [1, 2]}, {"c": {}}]}', 4),
        (b"[" * 500 + b"]" * 500, 500),
    ],
)
def test_depth_counts_nested_arrays_and_objects(text, depth):
    assert json_depth(text) == depth


def test_brackets_inside_strings_do_not_count_escaped_quotes_included():
    text = json.dumps({"city": "[[[[{{{{", "quote": 'say "[[[" \\ ok', "rows": [[1]]}).encode()

    assert json_depth(text) == 3


def test_a_body_at_the_limit_passes_and_one_past_it_is_refused_naming_depth_and_limit():
    json_depth_refuse(b"[" * 32 + b"]" * 32, limit=32)

    with pytest.raises(ApplicationError) as info:
        json_depth_refuse(b"[" * 33 + b"]" * 33, limit=32)

    assert (info.value.status, info.value.field) == (400, "body")
    assert info.value.message == "the JSON body nests arrays and objects 33 levels deep; at most 32 are allowed"


def test_many_brackets_side_by_side_are_not_depth():
    rows = json.dumps({"instances": [[1.0, 2.0]] * 5000}).encode()

    json_depth_refuse(rows, limit=32)
    assert json_depth(rows) == 3
