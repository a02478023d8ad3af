"""Running estimator blocks: composing unfitted steps."""

import warnings

import pytest
import sklearn

from pipelines.blocks import BlockError, catalogue
from pipelines.blocks.sklearn_blocks import estimator_class


class FakeContext:
    """Stands in for the executor's StepContext."""

    def __init__(self):
        self.lines = []

    def load_table(self, sha256):
        raise AssertionError("estimator blocks load no tables")

    def log(self, message):
        self.lines.append(message)


def run(key, steps=None, **params):
    block = catalogue().get(key)
    inputs = {} if steps is None else {"estimator": steps}
    return block.run(FakeContext(), inputs, {**block.defaults(), **params})["estimator"]


def test_every_sklearn_block_builds_its_estimator_from_the_schema_defaults():
    failures = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. MDS warns that its default will change
        for block in catalogue():
            if not block.key.startswith("sklearn."):
                continue
            try:
                [(_, estimator)] = run(block.key)
            except Exception as exc:  # collect them all, report at once
                failures.append(f"{block.key}: {exc!r}")
                continue
            if type(estimator) is not estimator_class(block.key):
                failures.append(f"{block.key}: built {type(estimator).__name__}")
    assert failures == []


def test_the_schema_defaults_reach_the_estimator():
    [(_, forest)] = run("sklearn.ensemble.RandomForestClassifier", n_estimators=7)
    assert (forest.n_estimators, forest.random_state) == (7, 0)


def test_an_estimator_block_appends_its_step_after_the_steps_before_it():
    scaled = run("sklearn.preprocessing.StandardScaler")
    steps = run("sklearn.linear_model.LogisticRegression", scaled)
    assert [name for name, _ in steps] == ["standard_scaler", "logistic_regression"]


def test_the_input_steps_are_not_changed():
    scaled = run("sklearn.preprocessing.StandardScaler")
    run("sklearn.decomposition.PCA", scaled)
    assert len(scaled) == 1


def test_step_names_get_a_numeric_suffix_on_a_clash():
    steps = run("sklearn.preprocessing.StandardScaler")
    steps = run("sklearn.preprocessing.StandardScaler", steps)
    steps = run("sklearn.preprocessing.StandardScaler", steps)
    assert [n for n, _ in steps] == ["standard_scaler", "standard_scaler_2", "standard_scaler_3"]


def test_acronyms_make_readable_step_names():
    assert run("sklearn.decomposition.PCA")[0][0] == "pca"
    assert run("sklearn.neighbors.KNeighborsClassifier")[0][0] == "k_neighbors_classifier"


def test_a_model_followed_by_another_estimator_is_refused():
    model = run("sklearn.linear_model.LogisticRegression")
    with pytest.raises(BlockError, match="LogisticRegression is a model, not a preprocessing step"):
        run("sklearn.preprocessing.StandardScaler", model)


def test_an_invalid_param_value_is_a_block_error_naming_the_param():
    with pytest.raises(BlockError) as info:
        run("sklearn.ensemble.RandomForestClassifier", n_estimators=0)
    assert info.value.param == "n_estimators"


def test_an_unknown_param_is_a_block_error():
    with pytest.raises(BlockError) as info:
        run("sklearn.preprocessing.StandardScaler", n_jobs=4)
    assert info.value.param == "n_jobs"


def test_a_json_integer_for_a_float_only_param_becomes_a_float():
    [(_, booster)] = run("sklearn.ensemble.HistGradientBoostingClassifier", max_features=1)
    assert isinstance(booster.max_features, float)


def test_a_json_integer_stays_an_integer_where_sklearn_reads_it_as_a_count():
    [(_, forest)] = run("sklearn.ensemble.RandomForestClassifier", max_features=1)
    assert isinstance(forest.max_features, int)


def test_estimator_block_version_is_the_sklearn_version():
    assert catalogue().get("sklearn.svm.SVC").version == sklearn.__version__


def test_estimator_blocks_take_optional_steps_and_give_steps():
    block = catalogue().get("sklearn.svm.SVC")
    assert [(p.name, p.type, p.required) for p in block.inputs] == [
        ("estimator", "estimator", False)
    ]
    assert [(p.name, p.type) for p in block.outputs] == [("estimator", "estimator")]


def test_uncurated_blocks_get_a_label_from_the_class_name_and_a_type_tag():
    block = catalogue().get("sklearn.linear_model.SGDClassifier")
    assert (block.label, block.category, block.curated) == (
        "SGD Classifier",
        "Classification",
        False,
    )
    assert "classifier" in block.tags


def test_curated_blocks_get_friendly_labels():
    block = catalogue().get("sklearn.ensemble.RandomForestClassifier")
    assert (block.label, block.curated) == ("Random forest classifier", True)


def test_transformers_are_tagged_so_the_editor_can_tell_them_from_models():
    assert "transformer" in catalogue().get("sklearn.preprocessing.StandardScaler").tags
    assert "transformer" not in catalogue().get("sklearn.svm.SVC").tags


def test_meta_estimators_that_need_an_estimator_are_not_blocks():
    assert "sklearn.pipeline.Pipeline" not in catalogue()
    assert "sklearn.model_selection.GridSearchCV" not in catalogue()
