"""cache_key: equal work gets an equal key, any change that could change the result a new one."""

from __future__ import annotations

import pytest

from pipelines.execution import executor
from pipelines.execution.executor import cache_key

SHA_A, SHA_B = "a" * 64, "b" * 64

BASE = {
    "block_key": "sklearn.linear_model.LogisticRegression",
    "block_version": "1",
    "params": {"C": 1.0, "max_iter": 100},
    "input_hashes": {"estimator": SHA_A, "table": SHA_B},
}


def key(**changes) -> str:
    return cache_key(**{**BASE, **changes})


def test_a_cache_key_is_a_sha256_hex_digest():
    value = key()

    assert len(value) == 64 and set(value) <= set("0123456789abcdef")


def test_the_same_step_twice_gets_the_same_key():
    assert key() == key()


def test_the_order_of_param_keys_does_not_change_the_key():
    assert key(params={"max_iter": 100, "C": 1.0}) == key(params={"C": 1.0, "max_iter": 100})


def test_the_order_of_nested_param_keys_does_not_change_the_key():
    first = key(params={"parameters": {"C": [1, 10], "penalty": ["l2"]}})
    second = key(params={"parameters": {"penalty": ["l2"], "C": [1, 10]}})

    assert first == second


def test_the_order_of_inputs_does_not_change_the_key():
    assert key(input_hashes={"table": SHA_B, "estimator": SHA_A}) == key()


@pytest.mark.parametrize(
    "change",
    [
        {"block_key": "sklearn.linear_model.RidgeClassifier"},
        {"block_version": "2"},
        {"params": {"C": 0.5, "max_iter": 100}},
        {"params": {"C": 1.0}},
        {"params": {"C": 1.0, "max_iter": 100, "tol": 0.001}},
        {"input_hashes": {"estimator": SHA_A, "table": "c" * 64}},
        {"input_hashes": {"estimator": SHA_B, "table": SHA_A}},
        {"input_hashes": {"table": SHA_B}},
    ],
    ids=[
        "block",
        "block version",
        "param value",
        "param removed",
        "param added",
        "input content",
        "inputs swapped between ports",
        "input removed",
    ],
)
def test_anything_that_could_change_the_result_changes_the_key(change):
    assert key(**change) != key()


def test_an_integer_and_a_float_param_get_different_keys():
    # scikit-learn may treat 1 and 1.0 differently, so they must not share a cache entry.
    assert key(params={"C": 1, "max_iter": 100}) != key()


def test_another_library_version_changes_the_key(monkeypatch):
    before = key()
    monkeypatch.setitem(executor.LIBRARY_VERSIONS, "sklearn", "0.0.0-other")

    assert key() != before


def test_the_current_scikit_learn_version_is_part_of_the_key():
    import sklearn

    assert executor.LIBRARY_VERSIONS == {"sklearn": sklearn.__version__}


def test_params_that_are_not_json_are_refused_rather_than_given_a_colliding_key():
    with pytest.raises(ValueError):
        key(params={"C": float("nan")})
    with pytest.raises(TypeError):
        key(params={"C": object()})
