"""Parameter schemas generated from scikit-learn signatures and _parameter_constraints."""

import json
from numbers import Integral, Real

from sklearn.utils._param_validation import Hidden, Interval, StrOptions

from pipelines.blocks import catalogue
from pipelines.blocks import schema as sch
from pipelines.blocks.params import validate_params
from pipelines.blocks.sklearn_blocks import FIXED_PARAMS, params_schema

ALLOWED_KEYWORDS = {
    "type",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "anyOf",
    "pattern",
    "default",
    "title",
    "description",
    "items",  # the table.* blocks' lists; params.py ignores it, each block checks its items
}
# "object" is used by model.tune for its {param: [values]} search space (edited as JSON);
# "array" by the table.* blocks (column lists, filter conditions) and the prep blocks
# (prep.columns groups, model.train exclude).
JSON_TYPES = {"integer", "number", "string", "boolean", "null", "object", "array"}


def props(key):
    return catalogue().get(key).params_schema["properties"]


def sklearn_blocks():
    return [b for b in catalogue() if b.key.startswith("sklearn.")]


def test_logistic_regression_c_must_be_positive():
    c = props("sklearn.linear_model.LogisticRegression")["C"]
    assert (c["type"], c["exclusiveMinimum"], c["default"]) == ("number", 0, 1.0)


def test_logistic_regression_solver_is_a_string_enum():
    solver = props("sklearn.linear_model.LogisticRegression")["solver"]
    assert solver["type"] == "string"
    assert {"lbfgs", "liblinear", "saga"} <= set(solver["enum"])
    assert solver["default"] == "lbfgs"


def test_logistic_regression_l1_ratio_is_a_bounded_number_or_null():
    l1_ratio = props("sklearn.linear_model.LogisticRegression")["l1_ratio"]
    assert l1_ratio["anyOf"] == [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}]


def test_class_weight_offers_balanced_or_null_but_not_a_dict():
    class_weight = props("sklearn.linear_model.LogisticRegression")["class_weight"]
    assert class_weight["anyOf"] == [{"type": "string", "enum": ["balanced"]}, {"type": "null"}]


def test_a_deprecated_parameter_with_a_hidden_default_is_left_out():
    # scikit-learn 1.8 deprecated LogisticRegression(penalty=...): its default is
    # the hidden "deprecated" marker, which must never be sent back explicitly.
    schema = catalogue().get("sklearn.linear_model.LogisticRegression").params_schema
    assert "penalty" not in schema["properties"]
    assert "penalty" in schema["x-unsupported"]


def test_random_state_defaults_to_zero_when_sklearn_defaults_to_none():
    random_state = props("sklearn.linear_model.LogisticRegression")["random_state"]
    assert random_state["default"] == 0
    assert {"type": "null"} in random_state["anyOf"]


def test_random_forest_n_estimators_is_an_integer_of_at_least_one():
    n_estimators = props("sklearn.ensemble.RandomForestClassifier")["n_estimators"]
    assert (n_estimators["type"], n_estimators["minimum"]) == ("integer", 1)
    assert n_estimators["default"] == 100


def test_a_param_with_only_unrepresentable_constraints_is_excluded():
    # feature_range is a tuple; missing_values defaults to np.nan.
    scaler = catalogue().get("sklearn.preprocessing.MinMaxScaler").params_schema
    imputer = catalogue().get("sklearn.impute.SimpleImputer").params_schema
    assert "feature_range" not in scaler["properties"]
    assert "feature_range" in scaler["x-unsupported"]
    assert "missing_values" not in imputer["properties"]


def test_a_param_whose_only_json_value_is_null_is_excluded():
    # monotonic_cst is "array-like or None": nothing to choose in a form.
    schema = catalogue().get("sklearn.ensemble.RandomForestClassifier").params_schema
    assert "monotonic_cst" in schema["x-unsupported"]


def test_runtime_only_params_are_left_out_of_every_schema():
    for block in sklearn_blocks():
        assert not FIXED_PARAMS & set(block.params_schema["properties"]), block.key


def test_open_integer_bounds_become_inclusive_bounds():
    subs = sch.constraint_schemas(Interval(Integral, 0, 10, closed="neither"))
    assert subs == [{"type": "integer", "minimum": 1, "maximum": 9}]


def test_real_interval_keeps_exclusive_bounds():
    subs = sch.constraint_schemas(Interval(Real, 0, 1, closed="right"))
    assert subs == [{"type": "number", "exclusiveMinimum": 0, "maximum": 1}]


def test_deprecated_string_options_are_not_offered():
    subs = sch.constraint_schemas(StrOptions({"new", "old"}, deprecated={"old"}))
    assert subs == [{"type": "string", "enum": ["new"]}]


def test_hidden_constraints_are_not_offered():
    assert sch.constraint_schemas(Hidden(StrOptions({"warn"}))) == []


def test_a_union_of_bare_types_becomes_a_type_list():
    assert sch.param_schema([Integral, str, None], 3) == {
        "type": ["integer", "string", "null"],
        "default": 3,
    }


def test_every_property_has_a_title_and_a_description():
    for block in sklearn_blocks():
        for name, prop in block.params_schema["properties"].items():
            assert prop.get("title"), (block.key, name)
            assert prop.get("description"), (block.key, name)


def test_every_schema_uses_only_the_agreed_keywords():
    def check(schema, where):
        assert set(schema) <= ALLOWED_KEYWORDS, where
        types = schema.get("type", [])
        assert set(types if isinstance(types, list) else [types]) <= JSON_TYPES, where
        for sub in schema.get("anyOf", []):
            check(sub, where)

    for block in catalogue():
        top = block.params_schema
        assert top["type"] == "object" and top["additionalProperties"] is False, block.key
        for name, prop in top["properties"].items():
            check(prop, (block.key, name))


def test_every_sklearn_default_is_json_and_satisfies_its_schema():
    for block in sklearn_blocks():
        defaults = block.defaults()
        assert json.loads(json.dumps(defaults, allow_nan=False)) == defaults, block.key
        for name, prop in block.params_schema["properties"].items():
            assert "default" in prop, (block.key, name)
            assert sch.matches(prop, prop["default"]), (block.key, name)


def test_every_schema_accepts_empty_params_in_the_param_validator():
    for block in catalogue():
        if block.key in ("dataset.upload", "dataset.sql"):
            continue  # a source: its dataset or connection is required
        params, errors = validate_params(block.params_schema, {})
        assert errors == {}, block.key
        assert params == block.defaults(), block.key


def test_curated_one_hot_encoder_ignores_unknown_categories_and_outputs_dense_arrays():
    encoder = props("sklearn.preprocessing.OneHotEncoder")
    assert encoder["handle_unknown"]["default"] == "ignore"
    assert encoder["sparse_output"]["default"] is False


def test_params_schema_refuses_a_curated_default_outside_the_schema():
    from sklearn.linear_model import LogisticRegression

    try:
        params_schema(LogisticRegression, {"solver": "magic"})
    except ValueError as exc:
        assert "solver" in str(exc)
    else:
        raise AssertionError("a bad curated default was accepted")


def test_param_descriptions_take_the_first_sentence_of_numpydoc_entries():
    doc = """Summary.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the thing. More words here.

        Another paragraph.
    beta : int
        Uses :class:`~sklearn.svm.SVC` and ``gamma``.

    Attributes
    ----------
    coef_ : array
        Ignored.
    """
    assert sch.param_descriptions(doc) == {
        "alpha": "Strength of the thing.",
        "beta": "Uses SVC and gamma.",
    }


def test_no_block_lets_a_graph_name_a_file_or_cache_folder_on_the_worker():
    for block in sklearn_blocks():
        properties = block.params_schema["properties"]
        assert "memory" not in properties, block.key
        assert "input" not in properties, block.key


def test_an_int_or_fraction_constraint_becomes_two_alternatives():
    # GradientBoosting's min_samples_split: Interval(Integral, 2, None) | Interval(RealNotInt, 0, 1, "right").
    split = props("sklearn.ensemble.GradientBoostingClassifier")["min_samples_split"]
    assert split["anyOf"] == [
        {"type": "integer", "minimum": 2},
        {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    ]
    assert split["default"] == 2


def test_an_int_or_fraction_param_accepts_a_count_and_a_fraction_and_names_both_when_neither():
    schema = catalogue().get("sklearn.ensemble.GradientBoostingClassifier").params_schema
    for good in (5, 2, 0.5, 1):
        params, errors = validate_params(schema, {"min_samples_split": good})
        assert errors == {}, (good, errors)
    for bad in (1.5, 0, -3):
        _, errors = validate_params(schema, {"min_samples_split": bad})
        assert "min_samples_split" in errors, bad


def test_a_json_count_or_fraction_reaches_sklearn_as_the_type_it_means():
    from sklearn.ensemble import GradientBoostingClassifier

    constraints = GradientBoostingClassifier._parameter_constraints["min_samples_split"]
    assert sch.coerce_for_sklearn(constraints, 5) == 5 and isinstance(sch.coerce_for_sklearn(constraints, 5), int)
    assert isinstance(sch.coerce_for_sklearn(constraints, 1), float)  # 1 means "all samples", a fraction
    assert isinstance(sch.coerce_for_sklearn(constraints, 5.0), int)
