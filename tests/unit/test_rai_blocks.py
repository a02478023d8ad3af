"""Responsible AI blocks: the loans data, bias and fairness reports, mitigation, explanations.

Cross-checked against the libraries they stand on (fairlearn called directly,
shap's TreeSHAP additivity) and against the bias planted in ``loans``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, mean_absolute_error, precision_score
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from pipelines.blocks import BlockError, catalogue
from pipelines.blocks.builtin_columns import BUILTIN_COLUMNS
from pipelines.blocks.data import load_builtin, split_table
from pipelines.blocks.explain import shap_values
from pipelines.blocks.loans import GROUP_SHARE, loans_probabilities, loans_table
from pipelines.blocks.training import model_features, train
from pipelines.graph.builder import GraphBuilder
from pipelines.graph.spec import parse_graph
from pipelines.graph.validate import validate_graph
from pipelines.views.outputs import render_step_outputs
from tests.rai_tiers import TIERS, tiers_table


class Ctx:
    def load_table(self, sha256):
        raise AssertionError("no uploads here")

    def log(self, message):
        pass


def run(key: str, inputs: dict, **params) -> dict:
    block = catalogue().get(key)
    return block.run(Ctx(), inputs, {**block.defaults(), **params})


def _scaled_logreg() -> list:
    return [("scale", StandardScaler()), ("logreg", LogisticRegression(max_iter=1000))]


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    return loans_table()


@pytest.fixture(scope="module")
def parts(loans):
    return split_table(loans, test_size=0.3, stratify_column="target", seed=0)


@pytest.fixture(scope="module")
def plain_model(parts):
    train_part, _ = parts
    return train(_scaled_logreg(), train_part, "target", exclude=["group"])


# --- loans ---------------------------------------------------------------------------------


def test_loans_is_seeded_numeric_and_has_the_columns_validation_knows(loans):
    assert tuple(loans.columns) == BUILTIN_COLUMNS["loans"]
    assert all(pd.api.types.is_numeric_dtype(loans[c]) for c in loans.columns)
    assert loans.equals(load_builtin("loans"))
    assert set(loans["group"]) == {0, 1} and set(loans["target"]) == {0, 1}
    assert abs(loans["group"].mean() - GROUP_SHARE) < 0.03


# --- rai.dataset_bias ----------------------------------------------------------------------


def test_dataset_bias_finds_the_planted_bias_with_its_sign_and_size_within_the_interval(loans):
    report = run("rai.dataset_bias", {"table": loans}, sensitive_columns=["group"])["report"]

    rates = {g: v["label_rate"] for g, v in report["by_group"].items()}
    assert rates["1"] < rates["0"]  # planted against group 1
    assert report["columns"]["group"]["lowest_group"] == "1"
    features, probability = loans_probabilities()
    planted = (
        probability[features["group"] == 0].mean() - probability[features["group"] == 1].mean()
    )
    low, high = report["ci"]["label_rate_difference"]  # the first sensitive column's, at the top
    assert low <= planted <= high
    assert report["label_rate_difference"] == pytest.approx(rates["0"] - rates["1"])
    assert report["by_group"]["1"]["count"] == int((loans["group"] == 1).sum())
    assert report["by_group"]["1"]["label_rate"] == pytest.approx(
        loans.loc[loans["group"] == 1, "target"].mean()
    )


def test_dataset_bias_names_the_proxy_of_the_sensitive_column_first(loans):
    report = run("rai.dataset_bias", {"table": loans}, sensitive_columns=["group"], resamples=0)[
        "report"
    ]

    assert report["columns"]["group"]["proxies"][0]["feature"] == "zip_score"
    assert "ci" not in report["columns"]["group"] and "ci" not in report


def test_dataset_bias_warns_about_small_groups_and_reports_missing_values_by_group():
    table = pd.DataFrame(
        {
            "sex": ["f"] * 150 + ["m"] * 40 + ["x"],
            "income": [np.nan] * 30 + [1.0] * 161,
            "target": [1, 0] * 95 + [1],
        }
    )
    report = run("rai.dataset_bias", {"table": table}, sensitive_columns=["sex"])["report"]

    assert any("'m'" in w and "40 row(s)" in w for w in report["warnings"])
    assert any("'x'" in w and "1 row(s)" in w for w in report["warnings"])
    assert report["by_group"]["x"] == {
        "count": 1,
        "share": pytest.approx(1 / 191),
        "label_rate": 1.0,
        "label_rate_ci": report["by_group"]["x"]["label_rate_ci"],
    }
    assert report["columns"]["sex"]["missing_by_group"]["income"] == {
        "f": pytest.approx(0.2),
        "m": 0.0,
        "x": 0.0,
    }


def test_dataset_bias_refuses_a_column_that_does_not_exist_naming_the_param(loans):
    with pytest.raises(BlockError) as caught:
        run("rai.dataset_bias", {"table": loans}, sensitive_columns=["gender"])
    assert caught.value.param == "sensitive_columns"
    assert "'gender'" in caught.value.message


# --- rai.fairness --------------------------------------------------------------------------


def test_fairness_numbers_equal_fairlearn_called_directly(plain_model, parts):
    _, test = parts
    report = run("rai.fairness", {"model": plain_model, "table": test}, sensitive_column="group")[
        "report"
    ]

    y_pred = plain_model.predict(model_features(plain_model, test))
    y_true, groups = test["target"], test["group"]
    frame = MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
            "precision": precision_score,
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    for group in (0, 1):
        for metric in (
            "accuracy",
            "selection_rate",
            "true_positive_rate",
            "false_positive_rate",
            "precision",
        ):
            assert report["by_group"][str(group)][metric] == pytest.approx(
                frame.by_group.loc[group, metric], abs=1e-12
            )
    assert report["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y_true, y_pred, sensitive_features=groups)
    )
    assert report["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(y_true, y_pred, sensitive_features=groups)
    )
    assert report["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y_true, y_pred, sensitive_features=groups)
    )


def test_fairness_reads_a_sensitive_column_the_model_was_trained_without(plain_model, parts):
    _, test = parts
    assert "group" not in plain_model.feature_columns_

    report = run("rai.fairness", {"model": plain_model, "table": test}, sensitive_column="group")[
        "report"
    ]

    # zip_score carries the group: the planted bias survives leaving the column out.
    assert report["by_group"]["1"]["selection_rate"] < report["by_group"]["0"]["selection_rate"]
    low, high = report["ci"]["demographic_parity_difference"]
    assert low <= report["demographic_parity_difference"] <= high
    assert low > 0


def test_bootstrap_intervals_agree_with_fairlearns_own_bootstrap(plain_model, parts):
    _, test = parts
    report = run(
        "rai.fairness",
        {"model": plain_model, "table": test},
        sensitive_column="group",
        resamples=400,
    )["report"]

    y_pred = plain_model.predict(model_features(plain_model, test))
    frame = MetricFrame(
        metrics={"selection_rate": selection_rate},
        y_true=test["target"],
        y_pred=y_pred,
        sensitive_features=test["group"],
        n_boot=400,
        ci_quantiles=[0.025, 0.975],
        random_state=1,
    )
    low, high = (q.loc[1, "selection_rate"] for q in frame.by_group_ci)
    ours = report["by_group"]["1"]["ci"]["selection_rate"]
    # Two independent sets of resamples of the same distribution: close, not equal.
    assert ours[0] == pytest.approx(low, abs=0.015)
    assert ours[1] == pytest.approx(high, abs=0.015)


def test_fairness_of_a_regressor_is_mae_by_group_as_fairlearn_computes_it():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=600), "g": rng.choice(["a", "b"], 600)})
    table["target"] = 2 * table["x"] + np.where(
        table["g"] == "b", rng.normal(0, 2, 600), rng.normal(0, 0.2, 600)
    )
    model = train([("lr", LinearRegression())], table, "target", exclude=["g"])

    report = run("rai.fairness", {"model": model, "table": table}, sensitive_column="g")["report"]

    frame = MetricFrame(
        metrics=mean_absolute_error,
        y_true=table["target"],
        y_pred=model.predict(table[["x"]]),
        sensitive_features=table["g"],
    )
    assert report["by_group"]["a"]["mae"] == pytest.approx(frame.by_group["a"])
    assert report["by_group"]["b"]["mae"] == pytest.approx(frame.by_group["b"])
    assert report["demographic_parity_ratio"] is None
    assert report["mae_difference"] == pytest.approx(frame.by_group["b"] - frame.by_group["a"])


def test_a_group_with_one_row_is_reported_with_a_warning_not_a_crash(plain_model, parts):
    _, test = parts
    table = test.copy()
    table["region"] = "north"
    table.loc[table.index[0], "region"] = "island"

    report = run("rai.fairness", {"model": plain_model, "table": table}, sensitive_column="region")[
        "report"
    ]

    assert report["by_group"]["island"]["count"] == 1
    assert any("'island'" in w and "1 row(s)" in w for w in report["warnings"])


@pytest.mark.parametrize(
    ("column", "message"),
    [("gender", "there is no column 'gender'"), (None, "choose the sensitive column")],
)
def test_fairness_without_a_usable_sensitive_column_is_a_block_error_on_the_param(
    plain_model, parts, column, message
):
    _, test = parts
    with pytest.raises(BlockError) as caught:
        run("rai.fairness", {"model": plain_model, "table": test}, sensitive_column=column)
    assert caught.value.param == "sensitive_column"
    assert message in caught.value.message


def test_a_missing_sensitive_column_is_a_validation_error_keyed_by_node():
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="loans")
        .node("split", "data.split")
        .node("logreg", "sklearn.linear_model.LogisticRegression")
        .node("train", "model.train")
        .node("fair", "rai.fairness", sensitive_column="gender")
        .node("bias", "rai.dataset_bias", sensitive_columns=["group", "race"])
        .edge("load.table", "split.table")
        .edge("load.table", "bias.table")
        .edge("logreg.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "fair.model")
        .edge("split.test", "fair.table")
        .build()
    )
    result = validate_graph(parse_graph(graph), catalogue())

    assert set(result.errors) == {"fair", "bias"}
    assert result.errors["fair"][0].startswith(
        "sensitive_column: column 'gender' is not in the table"
    )
    assert result.errors["bias"][0].startswith(
        "sensitive_columns: column 'race' is not in the table"
    )


@pytest.fixture(scope="module")
def tiers():
    return tiers_table(900, seed=0), tiers_table(900, seed=1)


@pytest.fixture(scope="module")
def plain_tiers_model(tiers):
    train_part, _ = tiers
    return train(_scaled_logreg(), train_part, "tier", exclude=["group"])


@pytest.fixture(scope="module")
def mitigated_tiers_model(tiers):
    """The same chain through ``rai.mitigate`` (default: reductions, demographic parity)."""
    train_part, _ = tiers
    steps = run("rai.mitigate", {"estimator": _scaled_logreg()}, sensitive_column="group")[
        "estimator"
    ]
    return train(steps, train_part, "tier")


@pytest.fixture(scope="module")
def plain_tiers_report(plain_tiers_model, tiers):
    """``rai.fairness`` of the plain model on the test part, with the default parameters."""
    _, test = tiers
    return run(
        "rai.fairness", {"model": plain_tiers_model, "table": test}, sensitive_column="group"
    )["report"]


def test_multiclass_fairness_is_fairlearn_per_class_and_the_worst_class_on_top(
    plain_tiers_model, plain_tiers_report, tiers
):
    _, test = tiers
    report = plain_tiers_report

    y_pred = plain_tiers_model.predict(model_features(plain_tiers_model, test))
    y_true, groups = test["tier"], test["group"]
    assert report["classes"] == sorted(TIERS)
    per_class = {}
    for k in TIERS:
        truth, said = (y_true == k).astype(int), (y_pred == k).astype(int)
        frame = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "true_positive_rate": true_positive_rate,
                "false_positive_rate": false_positive_rate,
                "precision": precision_score,
            },
            y_true=truth,
            y_pred=said,
            sensitive_features=groups,
        )
        entry = report["by_class"][k]
        for group in (0, 1):
            for metric in frame.by_group.columns:
                assert entry["by_group"][str(group)][metric] == pytest.approx(
                    frame.by_group.loc[group, metric], abs=1e-12
                ), (k, group, metric)
        per_class[k] = {
            "demographic_parity_difference": demographic_parity_difference(
                truth, said, sensitive_features=groups
            ),
            "demographic_parity_ratio": demographic_parity_ratio(
                truth, said, sensitive_features=groups
            ),
            "equalized_odds_difference": equalized_odds_difference(
                truth, said, sensitive_features=groups
            ),
        }
        for name, value in per_class[k].items():
            assert entry[name] == pytest.approx(value), (k, name)
    for name, worst in (
        ("demographic_parity_difference", max),
        ("demographic_parity_ratio", min),
        ("equalized_odds_difference", max),
    ):
        label = worst(TIERS, key=lambda k, name=name: per_class[k][name])
        assert report[name] == pytest.approx(per_class[label][name]), name
        assert report["worst_class"][name] == label
        assert f"{name.replace('_', ' ')} from class {label!r}" in report["note"]
    accuracy = MetricFrame(
        metrics=accuracy_score, y_true=y_true, y_pred=y_pred, sensitive_features=groups
    )
    for group in (0, 1):
        assert report["by_group"][str(group)]["accuracy"] == pytest.approx(
            accuracy.by_group.loc[group], abs=1e-12
        )
    assert report["by_group"]["1"]["count"] == int((groups == 1).sum())
    # The planted bias: group 1 is told "high" less often than group 0.
    high = report["by_class"]["high"]["by_group"]
    assert high["1"]["selection_rate"] < high["0"]["selection_rate"]


def test_multiclass_bootstrap_intervals_agree_with_fairlearns_per_class_bootstrap(
    plain_tiers_model, tiers
):
    _, test = tiers
    report = run(
        "rai.fairness",
        {"model": plain_tiers_model, "table": test},
        sensitive_column="group",
        resamples=400,
    )["report"]

    y_pred = plain_tiers_model.predict(model_features(plain_tiers_model, test))
    for k in TIERS:
        frame = MetricFrame(
            metrics={"selection_rate": selection_rate},
            y_true=(test["tier"] == k).astype(int),
            y_pred=(y_pred == k).astype(int),
            sensitive_features=test["group"],
            n_boot=400,
            ci_quantiles=[0.025, 0.975],
            random_state=1,
        )
        low, high = (q.loc[1, "selection_rate"] for q in frame.by_group_ci)
        ours = report["by_class"][k]["by_group"]["1"]["ci"]["selection_rate"]
        # Independent resamples of the same distribution: close, not equal.
        assert ours[0] == pytest.approx(low, abs=0.02), k
        assert ours[1] == pytest.approx(high, abs=0.02), k
    for name in ("demographic_parity_difference", "equalized_odds_difference"):
        low, high = report["ci"][name]
        assert low <= report[name] <= high, name
    low, high = report["by_group"]["0"]["ci"]["accuracy"]
    assert low <= report["by_group"]["0"]["accuracy"] <= high


def test_a_binary_label_keeps_its_one_positive_class_report(plain_model, parts):
    _, test = parts
    report = run("rai.fairness", {"model": plain_model, "table": test}, sensitive_column="group")[
        "report"
    ]
    assert report["positive_label"] == "1"
    assert not {"by_class", "worst_class", "classes", "note"} & set(report)


# --- rai.mitigate --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["reductions", "threshold"])
def test_a_mitigated_model_narrows_the_parity_gap_and_predicts_the_same_twice(
    parts, plain_model, method
):
    train_part, test = parts
    steps = run(
        "rai.mitigate", {"estimator": _scaled_logreg()}, sensitive_column="group", method=method
    )["estimator"]
    model = train(steps, train_part, "target")

    fair = run(
        "rai.fairness", {"model": model, "table": test}, sensitive_column="group", resamples=0
    )["report"]
    plain = run(
        "rai.fairness", {"model": plain_model, "table": test}, sensitive_column="group", resamples=0
    )["report"]

    assert fair["demographic_parity_ratio"] > max(0.9, plain["demographic_parity_ratio"])
    assert fair["overall"]["accuracy"] > 0.7
    features = model_features(model, test)
    again = pickle.loads(pickle.dumps(model))
    assert (again.predict(features) == model.predict(features)).all()
    assert np.allclose(model.predict_proba(features).sum(axis=1), 1)


def test_mitigation_needs_the_sensitive_column_in_the_training_table(parts):
    train_part, _ = parts
    steps = run(
        "rai.mitigate", {"estimator": [("logreg", LogisticRegression())]}, sensitive_column="group"
    )["estimator"]
    with pytest.raises(BlockError) as caught:
        train(steps, train_part, "target", exclude=["group"])
    assert "keep it in the table" in caught.value.message


def _worst_class_gap(truth: pd.Series, predicted: np.ndarray, groups: pd.Series) -> float:
    """The largest demographic parity difference over the classes, each asked as "is it k?"."""
    return max(
        demographic_parity_difference(truth == k, predicted == k, sensitive_features=groups)
        for k in TIERS
    )


def test_a_multiclass_model_is_mitigated_class_by_class_and_predicts_the_same_every_time(
    tiers, plain_tiers_model, mitigated_tiers_model
):
    _, test = tiers
    plain, model = plain_tiers_model, mitigated_tiers_model

    features = model_features(model, test)
    predicted = model.predict(features)
    plain_gap = _worst_class_gap(
        test["tier"], plain.predict(model_features(plain, test)), test["group"]
    )
    assert _worst_class_gap(test["tier"], predicted, test["group"]) < 0.5 * plain_gap
    assert set(predicted) == set(TIERS) and (predicted == test["tier"]).mean() > 0.6
    assert list(model.classes_) == sorted(TIERS)
    proba = model.predict_proba(features)
    assert proba.shape == (len(test), 3) and np.allclose(proba.sum(axis=1), 1)
    chosen = proba[np.arange(len(test)), np.searchsorted(model.classes_, predicted)]
    assert (chosen == proba.max(axis=1)).all()  # the predicted class is a most probable one
    again = pickle.loads(pickle.dumps(model))
    assert (model.predict(features) == predicted).all()
    assert (again.predict(features) == predicted).all()
    assert np.array_equal(again.predict_proba(features), proba)


def test_the_fairness_report_of_a_mitigated_multiclass_model_shows_the_narrower_gap(
    tiers, mitigated_tiers_model, plain_tiers_report
):
    _, test = tiers
    model, plain = mitigated_tiers_model, plain_tiers_report
    fair = run("rai.fairness", {"model": model, "table": test}, sensitive_column="group")["report"]

    assert fair["demographic_parity_difference"] < 0.5 * plain["demographic_parity_difference"]
    assert fair["demographic_parity_ratio"] > plain["demographic_parity_ratio"]
    assert fair["ci"]["demographic_parity_difference"][1] < plain["demographic_parity_difference"]
    assert [c["title"] for c in fair["charts"]] == [
        f"{m} by group, per class"
        for m in ("selection rate", "true positive rate", "false positive rate")
    ]
    # What predict?explain=true's refusal points at for such a model: it works, and finds skill.
    explained = run("explain.permutation_importance", {"model": model, "table": test}, repeats=2)[
        "report"
    ]
    assert explained["importances"][0]["feature"] == "skill"


def test_a_label_the_multiclass_model_never_saw_is_a_class_it_never_predicts(
    plain_tiers_model, tiers
):
    _, test = tiers
    test = test.copy()
    test.loc[test.index[:20], "tier"] = "unseen"

    report = run(
        "rai.fairness",
        {"model": plain_tiers_model, "table": test},
        sensitive_column="group",
        resamples=50,
    )["report"]

    assert report["classes"] == [*sorted(TIERS), "unseen"]
    unseen = report["by_class"]["unseen"]
    assert unseen["demographic_parity_difference"] == 0
    assert unseen["demographic_parity_ratio"] is None  # never selected: 0 / 0
    assert all(g["true_positive_rate"] == 0 for g in unseen["by_group"].values())
    assert report["worst_class"]["demographic_parity_ratio"] != "unseen"


def _mitigated(train_part: pd.DataFrame, **params) -> None:
    steps = run(
        "rai.mitigate",
        {"estimator": [("logreg", LogisticRegression(max_iter=1000))]},
        **{"sensitive_column": "group", **params},
    )["estimator"]
    train(steps, train_part, "tier")


@pytest.mark.parametrize(
    ("params", "param", "named"),
    [
        ({"method": "threshold"}, "method", "'reductions'"),
        ({"constraint": "equalized_odds"}, "constraint", "'demographic_parity'"),
    ],
)
def test_mitigation_of_a_multiclass_label_refuses_what_it_cannot_keep_and_names_the_way(
    tiers, params, param, named
):
    with pytest.raises(BlockError) as caught:
        _mitigated(tiers[0], **params)
    assert caught.value.param == param
    assert "3 classes" in caught.value.message and named in caught.value.message


def test_mitigation_refuses_a_label_with_a_single_class(tiers):
    table = tiers[0].assign(tier="mid")
    with pytest.raises(BlockError, match="at least two classes.*'mid'"):
        _mitigated(table)


def test_mitigation_refuses_a_group_with_one_row_naming_it_and_the_column(tiers):
    table = tiers[0].copy()
    table.loc[table.index[0], "group"] = 7

    with pytest.raises(BlockError) as caught:
        _mitigated(table)

    assert caught.value.param == "sensitive_column"
    assert "'7' (1 row(s))" in caught.value.message and "'group'" in caught.value.message


def test_mitigation_refuses_a_sensitive_column_with_one_value(tiers):
    with pytest.raises(BlockError, match="single value") as caught:
        _mitigated(tiers[0].assign(group=0))
    assert caught.value.param == "sensitive_column"


# --- explain.* ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "final",
    [
        RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0),
        GradientBoostingClassifier(random_state=0),
    ],
    ids=["forest", "boosting"],
)
def test_tree_shap_values_of_a_row_sum_to_its_prediction_minus_the_expected_value(parts, final):
    train_part, test = parts
    model = train([("scale", StandardScaler()), ("tree", final)], train_part, "target")
    rows = model_features(model, test).head(40).astype(float)

    found = shap_values(model, rows)

    assert found["exact"] and found["names"] == list(rows.columns)  # transformed features, named
    assert np.allclose(found["values"].sum(axis=1), found["prediction"] - found["base"], atol=1e-9)
    if isinstance(final, RandomForestClassifier):
        assert np.allclose(found["prediction"], model.predict_proba(rows)[:, 1])


def test_shap_of_a_tree_regressor_reports_importances_and_the_expected_value(parts):
    train_part, test = parts
    model = train(
        [("forest", RandomForestRegressor(n_estimators=20, max_depth=5, random_state=0))],
        train_part,
        "credit_score",
        exclude=["target"],
    )
    report = run("explain.shap", {"model": model, "table": test}, max_rows=200)["report"]

    assert report["method"] == "tree_shap" and report["rows"] == 200
    assert {"feature", "importance", "std"} == set(report["importances"][0])
    assert report["expected_value"] == pytest.approx(
        model[-1].predict(test[model.feature_columns_]).mean(), rel=0.05
    )


def test_sampled_shapley_values_of_other_models_also_add_up_exactly(plain_model, parts):
    _, test = parts
    rows = model_features(plain_model, test).head(30).astype(float)

    found = shap_values(plain_model, rows, background=50)

    assert not found["exact"]
    assert np.allclose(found["values"].sum(axis=1), found["prediction"] - found["base"], atol=1e-9)
    report = run("explain.shap", {"model": plain_model, "table": test})["report"]
    assert (
        report["method"] == "sampled_shapley"
        and report["rows"] == 100
        and report["background_rows"] == 100
    )
    assert report["importances"][0]["feature"] == "credit_score"


def test_permutation_importance_ranks_the_planted_strong_feature_first(plain_model, parts):
    _, test = parts
    report = run("explain.permutation_importance", {"model": plain_model, "table": test})["report"]

    assert report["importances"][0]["feature"] == "credit_score"
    assert report["importances"][0]["importance"] > 3 * report["importances"][1]["importance"]
    assert [c["title"] for c in report["charts"]] == ["Permutation importance"]


def test_partial_dependence_draws_average_and_ice_curves_per_column(plain_model, parts):
    _, test = parts
    report = run(
        "explain.partial_dependence",
        {"model": plain_model, "table": test},
        features=["credit_score", "debt_ratio"],
        ice_lines=10,
    )["report"]

    curve = report["curves"]["credit_score"]
    assert len(curve["grid"]) == len(curve["average"]) == 20
    assert curve["average"][-1] > curve["average"][0]  # approval rises with the credit score
    assert report["importances"][0]["feature"] == "credit_score"
    assert len(report["charts"]) == 2


@pytest.mark.parametrize("key", ["explain.shap", "explain.partial_dependence"])
def test_explaining_a_classifier_without_predict_proba_says_what_to_use_instead(parts, key):
    train_part, test = parts
    model = train([("scale", StandardScaler()), ("svm", LinearSVC())], train_part, "target")
    with pytest.raises(BlockError, match="has no predict_proba"):
        run(key, {"model": model, "table": test})
    # permutation importance needs only predict
    assert run("explain.permutation_importance", {"model": model, "table": test}, max_rows=200)[
        "report"
    ]["importances"]


# --- catalogue and rendering ----------------------------------------------------------------


def test_each_rai_block_declares_a_report_of_its_kind():
    kinds = {
        "rai.dataset_bias": "bias",
        "rai.fairness": "fairness",
        "explain.permutation_importance": "explanation",
        "explain.shap": "explanation",
        "explain.partial_dependence": "explanation",
    }
    for key, kind in kinds.items():
        block = catalogue().get(key)
        assert [(p.name, p.type, p.kind) for p in block.outputs] == [("report", "report", kind)], (
            key
        )
    assert [(p.name, p.type) for p in catalogue().get("rai.mitigate").outputs] == [
        ("estimator", "estimator")
    ]


def test_the_run_page_renderer_shows_a_fairness_report_with_groups_intervals_and_charts(
    plain_model, parts
):
    from pipelines.execution.summaries import json_safe, output_summary

    _, test = parts
    report = json_safe(
        run("rai.fairness", {"model": plain_model, "table": test}, sensitive_column="group")[
            "report"
        ]
    )
    summary = {"outputs": {"report": output_summary("report", report, kind="fairness")}}

    [shown] = render_step_outputs(summary)

    assert shown.template == "pages/outputs/rai.html"
    names = [h["name"] for h in shown.data["headlines"]]
    assert names == [
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
    ]
    assert all(h["ci"] for h in shown.data["headlines"])
    assert [row["group"] for row in shown.data["groups"]] == ["0", "1"]
    assert "selection_rate" in shown.data["metrics"]
    assert len(shown.data["charts"]) == 3


def test_the_run_page_renderer_shows_how_to_read_a_multiclass_fairness_report(plain_tiers_report):
    from pipelines.execution.summaries import json_safe, output_summary

    report = json_safe(plain_tiers_report)
    summary = {"outputs": {"report": output_summary("report", report, kind="fairness")}}

    [shown] = render_step_outputs(summary)

    assert shown.data["note"] == report["note"]
    assert "3 classes, each judged against the rest" in shown.data["note"]
    assert [h["name"] for h in shown.data["headlines"]] == [
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
    ]
    assert shown.data["metrics"] == ["count", "accuracy"]
    assert len(shown.data["charts"]) == 3


def test_tree_shap_explains_the_transformed_features_of_a_mixed_table_by_their_names():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from pipelines.demo_data import churn_table

    table = churn_table(rows=600)
    prep = run("prep.auto", {})["estimator"]
    model = train([*prep, ("boost", HistGradientBoostingClassifier(max_iter=30))], table, "churned")
    rows = model_features(model, table).head(30)

    found = shap_values(model, rows)

    assert found["exact"] and any(n.startswith("onehot__plan_") for n in found["names"])
    assert np.allclose(found["values"].sum(axis=1), found["prediction"] - found["base"], atol=1e-9)
    assert found["output"].startswith("log-odds")

    other = train([*prep, ("logreg", LogisticRegression(max_iter=2000))], table, "churned")
    with pytest.raises(BlockError, match="column 'city' is not numeric"):
        run("explain.shap", {"model": other, "table": table})
