"""validate_params: the JSON-Schema subset block parameters are checked against."""

import math

import pytest

from pipelines.blocks.params import NON_PARAM_KEY, describe_schema, validate_params


def schema(required=(), **properties):
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def errors_for(prop, value):
    _, errors = validate_params(schema(p=prop), {"p": value})
    return errors.get("p")


def value_for(prop, value):
    params, errors = validate_params(schema(p=prop), {"p": value})
    assert errors == {}
    return params["p"]


INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
MAX_FEATURES = {
    "anyOf": [
        {"type": "null"},
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "enum": ["auto", "sqrt"]},
    ],
    "default": None,
}


def test_valid_params_give_no_errors():
    params, errors = validate_params(
        schema(C={"type": "number", "default": 1.0}, solver={"type": "string"}),
        {"C": 0.5, "solver": "lbfgs"},
    )
    assert errors == {}
    assert params == {"C": 0.5, "solver": "lbfgs"}


def test_defaults_are_filled_in_for_absent_params():
    params, errors = validate_params(
        schema(C={"type": "number", "default": 1.0}, solver={"type": "string", "default": "lbfgs"}),
        {"C": 2},
    )
    assert errors == {}
    assert params == {"C": 2, "solver": "lbfgs"}


def test_defaults_are_copies_not_shared_with_the_schema():
    s = schema(layers={"type": "array", "default": [100]})
    params, _ = validate_params(s, {})
    params["layers"].append(5)
    assert s["properties"]["layers"]["default"] == [100]


def test_the_input_params_are_not_mutated():
    given = {"n": 3.0}
    validate_params(schema(n=INTEGER, m={"type": "integer", "default": 1}), given)
    assert given == {"n": 3.0}


def test_params_must_be_an_object():
    params, errors = validate_params(schema(), [1, 2])
    assert params == {}
    assert errors == {NON_PARAM_KEY: "params must be a JSON object, got a list"}


def test_unknown_parameter_lists_the_known_ones():
    _, errors = validate_params(schema(a=NUMBER, b=NUMBER, c=NUMBER), {"x": 1})
    assert errors == {"x": "unknown parameter 'x'; known: a, b, c"}


def test_unknown_parameter_on_a_block_without_parameters_says_so():
    _, errors = validate_params(schema(), {"x": 1})
    assert errors == {"x": "unknown parameter 'x'; this block takes no parameters"}


def test_extra_parameters_pass_when_the_schema_explicitly_allows_them():
    s = schema(a=NUMBER) | {"additionalProperties": True}
    params, errors = validate_params(s, {"x": "anything"})
    assert errors == {}
    assert params == {"x": "anything"}


def test_missing_required_parameter_is_reported_as_required():
    _, errors = validate_params(schema(["target"], target={"type": "string"}), {})
    assert errors == {"target": "required"}


def test_type_error_says_what_was_expected_and_what_was_given():
    assert errors_for(INTEGER, "3") == "expected an integer, got the string '3'"


def test_type_list_error_names_every_allowed_type():
    assert (
        errors_for({"type": ["integer", "null"]}, "x")
        == "expected an integer or null, got the string 'x'"
    )


def test_a_boolean_is_not_an_integer():
    assert errors_for(INTEGER, True) == "expected an integer, got the boolean true"


def test_a_boolean_is_not_a_number():
    assert errors_for(NUMBER, False) == "expected a number, got the boolean false"


def test_a_boolean_does_not_match_a_numeric_enum():
    assert errors_for({"enum": [0, 1]}, True) == "must be one of 0, 1 (got true)"


def test_an_integer_is_a_valid_number():
    assert value_for(NUMBER, 3) == 3


def test_an_integral_float_is_accepted_as_an_integer_and_coerced():
    value = value_for(INTEGER, 3.0)
    assert value == 3 and type(value) is int


def test_a_fractional_float_is_not_an_integer():
    assert errors_for(INTEGER, 3.5) == "expected an integer, got the number 3.5"


def test_an_integral_float_stays_a_float_where_a_number_is_also_allowed():
    value = value_for({"anyOf": [{"type": "integer"}, {"type": "number"}]}, 1.0)
    assert type(value) is float


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_rejected(bad):
    assert errors_for(NUMBER, bad).startswith("must be a finite number")


def test_nan_is_rejected_even_where_any_value_is_allowed():
    assert errors_for({}, [1.0, math.nan]) == "must be a finite number (got NaN)"


def test_minimum_is_inclusive():
    assert value_for({"type": "number", "minimum": 0}, 0) == 0
    assert errors_for({"type": "number", "minimum": 0}, -1) == "must be ≥ 0 (got -1)"


def test_maximum_is_inclusive():
    assert value_for({"type": "number", "maximum": 1}, 1) == 1
    assert errors_for({"type": "number", "maximum": 1}, 1.5) == "must be ≤ 1 (got 1.5)"


def test_exclusive_minimum_rejects_the_bound_itself():
    assert errors_for({"type": "number", "exclusiveMinimum": 0}, 0) == "must be > 0 (got 0)"
    assert errors_for({"type": "number", "exclusiveMinimum": 0}, -1) == "must be > 0 (got -1)"


def test_exclusive_maximum_rejects_the_bound_itself():
    assert errors_for({"type": "number", "exclusiveMaximum": 1}, 1) == "must be < 1 (got 1)"


def test_draft4_boolean_exclusive_minimum_is_honoured():
    prop = {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert errors_for(prop, 0) == "must be > 0 (got 0)"


def test_enum_error_lists_the_allowed_values():
    prop = {"type": "string", "enum": ["lbfgs", "liblinear", "saga"]}
    assert errors_for(prop, "foo") == "must be one of 'lbfgs', 'liblinear', 'saga' (got 'foo')"


def test_a_long_enum_is_shortened_in_the_message():
    prop = {"enum": [f"v{i}" for i in range(30)]}
    message = errors_for(prop, "x")
    assert "'v19'" in message and "'v20'" not in message and "… (10 more)" in message


def test_pattern_is_searched_in_strings():
    prop = {"type": "string", "pattern": "^[a-f0-9]{64}$"}
    assert value_for(prop, "a" * 64) == "a" * 64
    assert errors_for(prop, "nope") == "must match the pattern ^[a-f0-9]{64}$ (got 'nope')"


@pytest.mark.parametrize("value", [None, 0.5, "sqrt"])
def test_any_of_accepts_a_value_valid_for_any_branch(value):
    assert value_for(MAX_FEATURES, value) == value


def test_any_of_error_lists_everything_that_is_allowed():
    assert (
        errors_for(MAX_FEATURES, "foo")
        == "must be null, or a number > 0, or one of 'auto', 'sqrt' (got 'foo')"
    )


def test_any_of_error_applies_to_out_of_bounds_numbers_too():
    assert errors_for(MAX_FEATURES, -1) == (
        "must be null, or a number > 0, or one of 'auto', 'sqrt' (got -1)"
    )


def test_describe_schema_combines_bounds():
    prop = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
    assert describe_schema(prop) == "a number > 0 and ≤ 1"


def test_every_bad_param_is_reported_at_once():
    _, errors = validate_params(
        schema(["target"], target={"type": "string"}, C={"type": "number", "exclusiveMinimum": 0}),
        {"C": -1, "typo": 1},
    )
    assert set(errors) == {"target", "C", "typo"}
