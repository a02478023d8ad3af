"""model.train, model.evaluate and model.predict."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from pipelines.blocks import BlockError, catalogue


class FakeContext:
    """Stands in for the executor's StepContext."""

    def __init__(self):
        self.lines = []

    def load_table(self, sha256):
        raise AssertionError("no uploads here")

    def log(self, message):
        self.lines.append(message)


def run(key, inputs=None, **params):
    block = catalogue().get(key)
    outputs = block.run(FakeContext(), inputs or {}, {**block.defaults(), **params})
    assert set(outputs) == {p.name for p in block.outputs}
    return outputs


def steps(*keys, **params):
    out = None
    for key in keys:
        out = run(key, {} if out is None else {"estimator": out}, **params.get(key, {}))[
            "estimator"
        ]
    return out


def split(name):
    data = run("dataset.builtin", name=name)["table"]
    return run("data.split", {"table": data}, stratify_column=None)


def train(estimator, table, **params):
    return run("model.train", {"estimator": estimator, "table": table}, **params)["model"]


def evaluate(model, table):
    return run("model.evaluate", {"model": model, "table": table})["metrics"]


SCALED_LOGREG = ("sklearn.preprocessing.StandardScaler", "sklearn.linear_model.LogisticRegression")


def people(n=40):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "sex": rng.choice(["f", "m"], n),
            "target": rng.integers(0, 2, n),
        }
    )


def test_breast_cancer_with_scaler_and_logistic_regression_is_at_least_95_percent_accurate():
    parts = split("breast_cancer")
    model = train(steps(*SCALED_LOGREG), parts["train"])
    assert evaluate(model, parts["test"])["accuracy"] >= 0.95


def test_train_gives_a_fitted_pipeline_of_the_steps():
    parts = split("iris")
    model = train(steps(*SCALED_LOGREG), parts["train"])
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == ["standard_scaler", "logistic_regression"]


def test_training_leaves_the_input_steps_unfitted():
    estimator = steps(*SCALED_LOGREG)
    train(estimator, split("iris")["train"])
    assert not hasattr(estimator[-1][1], "coef_")


def test_binary_classification_metrics_are_plain_json():
    parts = split("breast_cancer")
    metrics = evaluate(train(steps(*SCALED_LOGREG), parts["train"]), parts["test"])
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics
    assert {"accuracy", "f1", "precision", "recall", "roc_auc", "confusion_matrix"} <= set(metrics)
    assert metrics["task"] == "classification"
    assert metrics["headline"] == {"name": "accuracy", "value": metrics["accuracy"]}
    assert metrics["confusion_matrix"]["labels"] == [0, 1]
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == metrics["n_samples"]


def test_multiclass_metrics_include_one_vs_rest_roc_auc():
    parts = split("iris")
    metrics = evaluate(train(steps(*SCALED_LOGREG), parts["train"]), parts["test"])
    assert 0.9 <= metrics["roc_auc"] <= 1.0
    assert metrics["confusion_matrix"]["labels"] == [0, 1, 2]


def test_roc_auc_comes_from_the_decision_function_when_there_are_no_probabilities():
    parts = split("breast_cancer")
    model = train(steps("sklearn.preprocessing.StandardScaler", "sklearn.svm.SVC"), parts["train"])
    assert not hasattr(model, "predict_proba")
    assert evaluate(model, parts["test"])["roc_auc"] > 0.95


def test_regression_metrics_are_r2_mae_and_rmse():
    parts = split("diabetes")
    model = train(steps("sklearn.linear_model.Ridge"), parts["train"])
    metrics = evaluate(model, parts["test"])
    assert set(metrics) == {"task", "n_samples", "r2", "mae", "rmse", "headline", "charts"}
    assert metrics["task"] == "regression"
    assert [c["title"] for c in metrics["charts"]] == ["Predicted vs actual", "Residuals", "Feature importance"]
    assert metrics["headline"] == {"name": "r2", "value": metrics["r2"]}
    assert all(type(metrics[k]) is float for k in ("r2", "mae", "rmse"))


def test_a_text_column_without_an_encoder_names_the_column_and_suggests_prep_auto_or_an_encoder():
    with pytest.raises(BlockError) as info:
        train(steps("sklearn.linear_model.LogisticRegression"), people())
    assert info.value.message == (
        "column 'sex' holds text; add prep.auto (or prep.columns with a OneHotEncoder) "
        "before LogisticRegression"
    )


def test_a_one_hot_encoder_makes_a_text_column_trainable():
    estimator = steps(
        "sklearn.preprocessing.OneHotEncoder", "sklearn.linear_model.LogisticRegression"
    )
    assert isinstance(train(estimator, people()), Pipeline)


def test_missing_values_without_an_imputer_suggest_a_simple_imputer():
    data = split("iris")["train"]
    data.loc[:4, "petal width (cm)"] = np.nan
    with pytest.raises(
        BlockError,
        match=r"'petal width \(cm\)' has 5 missing value\(s\); add a SimpleImputer before StandardScaler",
    ):
        train(steps(*SCALED_LOGREG), data)


def test_a_classifier_on_a_continuous_target_is_refused():
    with pytest.raises(BlockError, match="LogisticRegression is a classifier .* continuous"):
        train(steps(*SCALED_LOGREG), split("diabetes")["train"])


def test_training_on_a_missing_target_column_lists_the_columns():
    with pytest.raises(BlockError, match="no target column 'label'.*'target'") as info:
        train(steps(*SCALED_LOGREG), split("iris")["train"], target="label")
    assert info.value.param == "target"


def test_predict_keeps_the_input_columns_and_adds_prediction_and_probabilities():
    parts = split("iris")
    model = train(steps(*SCALED_LOGREG), parts["train"])
    predicted = run("model.predict", {"model": model, "table": parts["test"]})["table"]
    assert list(predicted.columns) == [
        *parts["test"].columns,
        "prediction",
        "proba_0",
        "proba_1",
        "proba_2",
    ]
    assert (predicted["prediction"] == parts["test"]["target"]).mean() > 0.9


def test_predict_works_on_rows_without_the_target():
    parts = split("diabetes")
    model = train(steps("sklearn.linear_model.Ridge"), parts["train"])
    rows = parts["test"].drop(columns=["target"])
    predicted = run("model.predict", {"model": model, "table": rows})["table"]
    assert list(predicted.columns) == [*rows.columns, "prediction"]


def test_predict_on_a_table_missing_a_feature_names_it():
    parts = split("diabetes")
    model = train(steps("sklearn.linear_model.Ridge"), parts["train"])
    with pytest.raises(BlockError, match="lacks column 'bmi'"):
        run("model.predict", {"model": model, "table": parts["test"].drop(columns=["bmi"])})


def test_evaluation_preprocesses_the_table_once_for_every_metric_and_chart():
    """predict, predict_proba (ROC AUC, ROC/PR/calibration charts) share one transform of the
    test table; the metrics are those of the Pipeline's own methods."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.preprocessing import StandardScaler

    from pipelines.blocks.training import evaluate

    class CountingScaler(StandardScaler):
        rows_transformed = 0

        def transform(self, X, copy=None):
            CountingScaler.rows_transformed += len(X)
            return super().transform(X, copy=copy)

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    table["target"] = (table["a"] + rng.normal(scale=0.5, size=400) > 0).astype(int)
    model = Pipeline([("scale", CountingScaler()), ("lr", LogisticRegression())]).fit(table[["a", "b"]], table["target"])
    model.target_ = "target"
    CountingScaler.rows_transformed = 0

    metrics = evaluate(model, table)

    assert CountingScaler.rows_transformed == 400  # the coefficients are the importances: no permutation
    features = table[["a", "b"]]
    assert metrics["accuracy"] == accuracy_score(table["target"], model.predict(features))
    assert metrics["roc_auc"] == roc_auc_score(table["target"], model.predict_proba(features)[:, 1])
    assert [c["title"].split(" (")[0] for c in metrics["charts"]][:3] == ["ROC curve", "Precision-recall curve", "Calibration"]


def _tree_classifiers():
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.tree import DecisionTreeClassifier

    return [
        HistGradientBoostingClassifier(max_iter=20, random_state=0),
        RandomForestClassifier(n_estimators=10, random_state=0),
        ExtraTreesClassifier(n_estimators=10, random_state=0),
        DecisionTreeClassifier(max_depth=3, random_state=0),
    ]


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("estimator", _tree_classifiers(), ids=lambda e: type(e).__name__)
def test_tree_classifiers_are_evaluated_with_their_own_predictions_from_one_pass(
    estimator, classes
):
    """predict is read off predict_proba for these classifiers: the answers are the model's own
    predict, and the final step predicts once for the whole table (on tied rows only again)."""
    from sklearn.preprocessing import StandardScaler

    from pipelines.blocks.metrics import Scored

    rng = np.random.default_rng(1)
    features = pd.DataFrame(rng.normal(size=(600, 3)), columns=["a", "b", "c"])
    labels = np.array(["no", "yes", "maybe"][:classes])
    target = labels[
        (features["a"] + rng.normal(scale=0.7, size=600) > 0).astype(int)
        + (classes == 3) * (features["b"] > 1)
    ]
    model = Pipeline([("scale", StandardScaler()), ("model", estimator)]).fit(features, target)
    calls = []
    final = model[-1]
    original = type(final).predict_proba

    def counting(self, X):
        calls.append(len(X))
        return original(self, X)

    final.predict_proba = counting.__get__(final)
    scored = Scored(model, features)

    predicted = scored.predict()
    # One pass over all rows; a forest's own predict (through predict_proba) only for tied rows.
    assert calls[0] == 600 and sum(calls[1:]) < 60
    assert predicted.tolist() == model.predict(features).tolist()


def test_rows_where_classes_tie_are_predicted_by_the_classifier_itself():
    """A leaf with equal class counts gives 0.5/0.5: those rows take the tree's own predict."""
    from sklearn.tree import DecisionTreeClassifier

    from pipelines.blocks.metrics import Scored

    features = pd.DataFrame({"a": [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]})
    target = np.array([1, 0, 1, 0, 1, 1])
    model = Pipeline([("model", DecisionTreeClassifier(max_depth=1, random_state=0))]).fit(
        features, target
    )
    assert (model.predict_proba(features).max(axis=1) == 0.5).any()

    assert Scored(model, features).predict().tolist() == model.predict(features).tolist()
