"""dataset.builtin, dataset.upload and data.split."""

import pandas as pd
import pytest

from pipelines.blocks import BlockError, catalogue
from pipelines.blocks.params import validate_params


class FakeContext:
    """Stands in for the executor's StepContext."""

    def __init__(self, tables=None):
        self.tables = tables or {}
        self.lines = []

    def load_table(self, sha256):
        return self.tables[sha256]

    def log(self, message):
        self.lines.append(message)


def run(key, inputs=None, ctx=None, **params):
    block = catalogue().get(key)
    return block.run(ctx or FakeContext(), inputs or {}, {**block.defaults(), **params})


def table(n=100):
    return pd.DataFrame({"x": range(n), "label": ["a", "b"] * (n // 2)})


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "diabetes", "digits"])
def test_builtin_dataset_has_features_and_a_target_column(name):
    loaded = run("dataset.builtin", name=name)["table"]
    assert "target" in loaded.columns
    assert loaded.shape[1] > 1 and len(loaded) > 100


def test_builtin_dataset_defaults_to_iris():
    assert run("dataset.builtin")["table"].shape == (150, 5)


def test_builtin_dataset_refuses_an_unknown_name():
    with pytest.raises(BlockError, match="unknown dataset"):
        run("dataset.builtin", name="titanic")


def test_upload_returns_the_table_the_context_stores():
    sha = "ab" * 32
    stored = table()
    assert run("dataset.upload", ctx=FakeContext({sha: stored}), dataset=sha)["table"] is stored


def test_upload_takes_a_dataset_reference_and_an_optional_version():
    schema = catalogue().get("dataset.upload").params_schema
    assert schema["required"] == ["dataset"]
    assert schema["properties"]["version"]["default"] is None
    assert validate_params(schema, {"dataset": "sales", "version": 0})[1] != {}
    assert validate_params(schema, {"dataset": "sales", "version": 2}) == ({"dataset": "sales", "version": 2}, {})


def test_split_sizes_follow_test_size():
    parts = run("data.split", {"table": table(100)}, test_size=0.2)
    assert (len(parts["train"]), len(parts["test"])) == (80, 20)


def test_split_keeps_every_row_exactly_once():
    parts = run("data.split", {"table": table(100)})
    assert sorted(pd.concat([parts["train"], parts["test"]])["x"]) == list(range(100))


def test_split_with_the_same_seed_gives_the_same_parts():
    first = run("data.split", {"table": table()}, seed=7)
    second = run("data.split", {"table": table()}, seed=7)
    pd.testing.assert_frame_equal(first["test"], second["test"])


def test_split_with_another_seed_gives_other_parts():
    first = run("data.split", {"table": table()}, seed=1)
    second = run("data.split", {"table": table()}, seed=2)
    assert list(first["test"]["x"]) != list(second["test"]["x"])


def test_stratified_split_keeps_class_proportions():
    skewed = pd.DataFrame({"x": range(100), "label": ["a"] * 80 + ["b"] * 20})
    parts = run("data.split", {"table": skewed}, test_size=0.25, stratify_column="label")
    assert parts["test"]["label"].value_counts().to_dict() == {"a": 20, "b": 5}


def test_split_on_an_unknown_stratify_column_lists_the_columns():
    with pytest.raises(BlockError, match="'x', 'label'") as info:
        run("data.split", {"table": table()}, stratify_column="species")
    assert info.value.param == "stratify_column"


def test_split_of_a_single_row_is_refused():
    with pytest.raises(BlockError, match="too few to split"):
        run("data.split", {"table": table(2).head(1)})


def test_stratifying_on_a_class_with_a_single_row_is_refused():
    lonely = pd.DataFrame({"x": range(11), "label": ["a"] * 10 + ["b"]})
    with pytest.raises(BlockError, match="class 'b' .* single row"):
        run("data.split", {"table": lonely}, stratify_column="label")


def test_split_declares_stratify_column_as_a_column_param():
    assert catalogue().get("data.split").column_params == ("stratify_column",)


def test_a_builtin_dataset_changed_by_one_step_is_whole_for_the_next():
    from pipelines.blocks.data import load_builtin

    first = load_builtin("wine")
    first.drop(columns="target", inplace=True)
    first.iloc[0, 0] = -1.0

    again = load_builtin("wine")
    assert "target" in again.columns and again.iloc[0, 0] != -1.0
