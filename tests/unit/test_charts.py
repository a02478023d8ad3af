"""The Vega-Lite specs built on the server (pipelines/blocks/charts.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipelines.blocks import charts


def views(spec: dict) -> list[dict]:
    """Every unit view of a spec (layers and concatenated panels flattened)."""
    if "concat" in spec:
        return [v for panel in spec["concat"] for v in views(panel)]
    if "layer" in spec:
        return [{**{k: spec[k] for k in ("data", "encoding") if k in spec}, **layer} for layer in spec["layer"]]
    return [spec]


def assert_valid(spec: dict) -> None:
    """Schema named, JSON-able, and every view has a mark, an encoding and data (its own or inherited)."""
    assert spec["$schema"].endswith("vega-lite/v6.json")
    json.dumps(spec, allow_nan=False)
    for view in views(spec):
        assert view.get("mark"), view
        assert view.get("encoding"), view
        assert "values" in view.get("data", {}), view


def data_of(spec: dict) -> list[dict]:
    return spec["data"]["values"]


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 12_000
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income.k": rng.normal(50, 5, n),
            "city": rng.choice(["Oslo", "Rome", "Lima"], n),
            "flag": rng.integers(0, 2, n),
        }
    )


def test_a_histogram_bins_a_numeric_column_over_every_row(table):
    spec = charts.histogram(table, "age", bins=15)
    assert_valid(spec)
    assert spec["mark"]["type"] == "bar"
    assert len(data_of(spec)) == 15
    assert sum(b["count"] for b in data_of(spec)) == len(table)


def test_a_histogram_of_text_counts_the_most_frequent_values(table):
    spec = charts.histogram(table, "city")
    assert_valid(spec)
    assert {r["value"]: r["count"] for r in data_of(spec)} == table["city"].value_counts().to_dict()


def test_a_scatter_plot_samples_at_most_5000_rows_the_same_way_each_time(table):
    spec = charts.scatter(table, "age", "income.k", "city", seed=3)
    assert_valid(spec)
    assert len(data_of(spec)) == charts.MAX_POINTS
    assert charts.scatter(table, "age", "income.k", "city", seed=3) == spec
    assert charts.scatter(table, "age", "income.k", "city", seed=4) != spec
    # A dotted column name is escaped, or Vega-Lite would read it as a nested field.
    assert spec["encoding"]["y"]["field"] == "income\\.k"
    assert spec["encoding"]["color"]["type"] == "nominal"


def test_no_chart_asks_for_more_than_5000_points(table):
    assert len(data_of(charts.scatter(table, "age", "flag", max_points=50_000))) == charts.MAX_POINTS
    assert len(data_of(charts.residuals(table["age"], table["income.k"], max_points=10**6))) == charts.MAX_POINTS
    assert len(data_of(charts.scatter(table.head(30), "age", "flag"))) == 30


def test_a_correlation_heatmap_covers_every_pair_of_numeric_columns(table):
    spec = charts.correlation(table)
    assert_valid(spec)
    cells = {(c["x"], c["y"]): c["r"] for c in data_of(spec)}
    assert len(cells) == 9  # age, income.k, flag squared; city is text
    assert cells[("age", "age")] == 1.0
    assert cells[("age", "flag")] == pytest.approx(table["age"].corr(table["flag"]), abs=1e-4)


def test_a_profile_draws_one_panel_per_column(table):
    spec = charts.profile(table.assign(gap=np.where(np.arange(len(table)) % 2, np.nan, 1.0)))
    assert_valid(spec)
    assert [p["title"]["text"] for p in spec["concat"]] == ["age", "income.k", "city", "flag", "gap"]
    assert "6000 missing" in spec["concat"][4]["title"]["subtitle"]


@pytest.fixture
def toy() -> tuple[np.ndarray, np.ndarray]:
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0, 1, 0])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.55, 0.7, 0.3])
    return y, scores


def test_roc_points_are_sklearns_roc_curve(toy):
    y, scores = toy
    spec = charts.roc(y, scores)
    assert_valid(spec)
    fpr, tpr, _ = roc_curve(y, scores)
    points = data_of(spec)
    assert [p["fpr"] for p in points] == pytest.approx(list(fpr))
    assert [p["tpr"] for p in points] == pytest.approx(list(tpr))
    assert points[0]["threshold"] is None  # sklearn's first threshold is +inf
    assert f"AUC {roc_auc_score(y, scores):.3f}" in spec["title"]


def test_precision_recall_points_are_sklearns_curve(toy):
    y, scores = toy
    spec = charts.precision_recall(y, scores)
    assert_valid(spec)
    precision, recall, _ = precision_recall_curve(y, scores)
    assert [p["precision"] for p in data_of(spec)] == pytest.approx(list(precision))
    assert [p["recall"] for p in data_of(spec)] == pytest.approx(list(recall))


def test_long_curves_are_thinned_keeping_both_ends():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 20_000)
    scores = rng.random(20_000)
    points = data_of(charts.roc(y, scores, max_points=300))
    assert len(points) <= 300
    assert (points[0]["fpr"], points[0]["tpr"]) == (0.0, 0.0)
    assert (points[-1]["fpr"], points[-1]["tpr"]) == (1.0, 1.0)


def test_calibration_reports_the_observed_rate_per_probability_bin(toy):
    y, scores = toy
    spec = charts.calibration(y, scores, bins=2)
    assert_valid(spec)
    # Bin [0, 0.5): 0.1 0.4 0.35 0.2 0.3 → one positive in five; [0.5, 1]: 0.8 0.9 0.6 0.55 0.7 → four.
    assert [(p["observed"], p["rows"]) for p in data_of(spec)] == [(0.2, 5), (0.8, 5)]


def test_feature_importance_names_features_after_the_preprocessing_steps():
    rng = np.random.default_rng(2)
    x = pd.DataFrame({"signal": rng.normal(size=300), "noise": rng.normal(size=300)})
    y = (x["signal"] > 0).astype(int)
    forest = Pipeline([("rf", RandomForestClassifier(n_estimators=20, random_state=0))]).fit(x, y)
    spec = charts.feature_importance(forest)
    assert_valid(spec)
    assert data_of(spec)[0]["feature"] == "signal"
    linear = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).fit(x, y)
    ranked = data_of(charts.feature_importance(linear))
    assert [r["feature"] for r in ranked] == ["signal", "noise"]
    assert "coefficient" in charts.feature_importance(linear)["description"]


def test_a_model_without_importances_is_explained_by_permutation_on_its_input_columns():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(5)
    x = pd.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400)})
    y = pd.Series((x["signal"] > 0).astype(int))
    knn = Pipeline([("knn", KNeighborsClassifier())]).fit(x, y)
    assert charts.feature_importance(knn) is None
    spec = charts.evaluation_charts(knn, x, y, task="classification")[-1]
    assert_valid(spec)
    assert "permutation" in spec["description"]
    ranked = data_of(spec)
    assert ranked[0]["feature"] == "signal" and ranked[0]["value"] > 0.2 > abs(ranked[1]["value"])
    assert spec == charts.evaluation_charts(knn, x, y, task="classification")[-1]  # seeded


def test_binary_evaluation_charts_are_roc_pr_calibration_and_importance():
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = pd.Series(np.where(x["a"] + rng.normal(scale=0.5, size=200) > 0, "yes", "no"))
    model = Pipeline([("lr", LogisticRegression())]).fit(x, y)
    specs = charts.evaluation_charts(model, x, y, task="classification")
    assert [s["title"].split(" (")[0] for s in specs] == [
        "ROC curve", "Precision-recall curve", "Calibration", "Feature importance",
    ]
    for spec in specs:
        assert_valid(spec)
    assert "positive class yes" in specs[0]["description"]


def test_regression_evaluation_charts_are_predicted_vs_actual_and_residuals():
    rng = np.random.default_rng(4)
    x = pd.DataFrame({"a": rng.normal(size=3000)})
    y = 2 * x["a"] + rng.normal(size=3000)
    model = Pipeline([("lr", LinearRegression())]).fit(x, y)
    specs = charts.evaluation_charts(model, x, y, task="regression")
    assert [s["title"] for s in specs] == ["Predicted vs actual", "Residuals", "Feature importance"]
    for spec in specs:
        assert_valid(spec)
    assert len(data_of(specs[1])) == charts.EVALUATION_POINTS
    row = data_of(specs[1])[0]
    assert row["residual"] == pytest.approx(row["actual"] - row["predicted"], abs=1e-5)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_permutation_importances_scored_in_one_call_equal_scikit_learns(task):
    """Same shuffles, same scores as sklearn.inspection.permutation_importance, on a
    mixed table through prep.auto; and the model is called once, not per column and repeat."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.inspection import permutation_importance

    from pipelines.blocks.prep_transformers import AutoPrep

    rng = np.random.default_rng(7)
    n = 300
    x = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "city": pd.Series(rng.choice(["Oslo", "Rome", "Lima"], size=n)).astype("str"),
        "when": pd.Series((np.datetime64("2020-01-01") + rng.integers(0, 900, n)).astype(str)),
    })
    signal = x["a"] + (x["city"] == "Rome") + rng.normal(scale=0.3, size=n)
    final = HistGradientBoostingClassifier(max_iter=20) if task == "classification" else HistGradientBoostingRegressor(max_iter=20)
    y = (signal > 0.3).astype(int) if task == "classification" else signal
    model = Pipeline([("auto", AutoPrep()), ("model", final)]).fit(x, y)
    calls = []
    predict = model.predict
    model.predict = lambda frame: calls.append(len(frame)) or predict(frame)

    mean, std = charts.permutation_importances(model, x, y, repeats=3, seed=0)

    expected = permutation_importance(model, x, y, n_repeats=3, random_state=0)
    np.testing.assert_array_equal(mean, expected.importances_mean)
    np.testing.assert_array_equal(std, expected.importances_std)
    assert calls[0] == n * (1 + 4 * 3)  # our one call: the rows, then 4 columns × 3 repeats shuffled
