"""The monitoring statistics on synthetic data (plain Python, no services)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.monitoring import drift, quality
from pipelines.monitoring.performance import performance
from pipelines.monitoring.window import Reference, window_report

FEATURES = [f"x{i}" for i in range(10)]
KINDS = {name: drift.NUMERIC for name in FEATURES}


def normal_frame(rows: int, seed: int, shifted: tuple[str, ...] = (), by: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(0.0, 1.0, size=(rows, len(FEATURES))), columns=FEATURES)
    for name in shifted:
        frame[name] += by  # one standard deviation
    return frame


@pytest.mark.parametrize("reference_rows, method", [(10_000, "wasserstein"), (800, "ks")])
def test_shifting_two_features_by_one_sigma_flags_exactly_those(reference_rows, method):
    result = drift.dataset_drift(normal_frame(reference_rows, 1), normal_frame(5_000, 2, ("x3", "x7")), KINDS)

    assert {f["name"] for f in result["features"] if f["drifted"]} == {"x3", "x7"}
    assert {f["method"] for f in result["features"]} == {method}
    assert result["share"] == pytest.approx(0.2)
    assert result["dataset_drift"] is False


def test_the_dataset_drifts_once_half_the_features_do():
    reference = normal_frame(10_000, 1)

    four = drift.dataset_drift(reference, normal_frame(5_000, 2, ("x0", "x1", "x2", "x3")), KINDS)
    five = drift.dataset_drift(reference, normal_frame(5_000, 2, ("x0", "x1", "x2", "x3", "x4")), KINDS)

    assert (four["dataset_drift"], five["dataset_drift"]) == (False, True)
    assert five["share"] == pytest.approx(0.5)


def test_in_distribution_traffic_flags_at_most_the_expected_false_positive_rate():
    """KS at p ≤ 0.05 flags about 5 % of in-distribution columns; 1000 tests → ≤ 8 %."""
    reference = normal_frame(800, 1)
    flagged = tested = 0
    for seed in range(100):
        result = drift.dataset_drift(reference, normal_frame(500, 100 + seed), KINDS, with_distribution=False)
        flagged += result["n_drifted"]
        tested += len(result["features"])
    assert tested == 1000
    assert flagged / tested <= 0.08


def test_in_distribution_traffic_against_a_large_reference_flags_nothing():
    reference = normal_frame(10_000, 1)
    for seed in range(20):
        result = drift.dataset_drift(reference, normal_frame(5_000, 200 + seed), KINDS, with_distribution=False)
        assert result["n_drifted"] == 0, result["features"]


def test_categorical_columns_use_chi_squared_or_z_on_small_references_and_jensen_shannon_on_large():
    rng = np.random.default_rng(3)
    colours = pd.Series(rng.choice(["red", "green", "blue"], 500))
    binary = pd.Series(rng.choice(["yes", "no"], 500))
    small = drift.dataset_drift(
        pd.DataFrame({"colour": colours, "flag": binary}),
        pd.DataFrame({"colour": ["red"] * 300, "flag": ["yes"] * 300}),
        {"colour": drift.CATEGORICAL, "flag": drift.CATEGORICAL},
    )
    methods = {f["name"]: (f["method"], f["drifted"]) for f in small["features"]}
    assert methods == {"colour": ("chisquare", True), "flag": ("z", True)}

    large = drift.dataset_drift(
        pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], 5000)}),
        pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], 2000)}),
        {"colour": drift.CATEGORICAL},
    )
    feature = large["features"][0]
    assert (feature["method"], feature["drifted"], feature["threshold"]) == ("jensenshannon", False, 0.1)


def test_a_numeric_column_with_few_values_is_tested_like_a_categorical_one():
    rng = np.random.default_rng(4)
    result = drift.dataset_drift(
        pd.DataFrame({"n": rng.integers(0, 3, 600).astype(float)}),
        pd.DataFrame({"n": rng.integers(0, 3, 600).astype(float)}),
        {"n": drift.NUMERIC},
    )
    assert result["features"][0]["method"] == "chisquare"


def test_psi_is_reported_beside_the_decision_with_its_band():
    result = drift.dataset_drift(normal_frame(10_000, 1), normal_frame(5_000, 2, ("x0",)), KINDS)
    by_name = {f["name"]: f for f in result["features"]}
    assert by_name["x0"]["psi"] >= 0.25 and by_name["x0"]["psi_band"] == "significant"
    assert by_name["x1"]["psi"] < 0.1 and by_name["x1"]["psi_band"] == "stable"


def test_a_column_blank_in_the_window_has_no_verdict_and_does_not_count():
    current = normal_frame(500, 2)
    current["x0"] = np.nan
    result = drift.dataset_drift(normal_frame(10_000, 1), current, KINDS)
    x0 = next(f for f in result["features"] if f["name"] == "x0")
    assert (x0["method"], x0["drifted"], x0["score"]) == ("none", False, None)


def test_wasserstein_matches_scipy():
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(5)
    a, b = np.sort(rng.normal(0, 2, 3000)), np.sort(rng.exponential(1, 7000))
    assert drift.wasserstein_normed(a, b) == pytest.approx(wasserstein_distance(a, b) / np.std(a), rel=1e-9)


# --- quality ---------------------------------------------------------------------


def test_an_unseen_category_is_a_quality_issue():
    training = pd.DataFrame({"city": ["paris", "rome", "oslo"] * 50, "age": np.arange(150.0)})
    kinds = {"city": drift.CATEGORICAL, "age": drift.NUMERIC}
    profiles = quality.profile(training, kinds)

    clean = quality.data_quality(training.head(60), profiles)
    dirty = quality.data_quality(pd.DataFrame({"city": ["paris", "atlantis"] * 30, "age": [10.0] * 60}), profiles)

    assert clean["ok"] is True and clean["issues"] == []
    assert dirty["ok"] is False
    city = next(c for c in dirty["columns"] if c["name"] == "city")
    assert city["unseen"] == ["atlantis"] and city["unseen_share"] == pytest.approx(0.5)


def test_quality_reports_blanks_type_errors_range_and_missing_or_extra_columns():
    training = pd.DataFrame({"a": np.linspace(0, 10, 100), "b": np.linspace(0, 1, 100)})
    profiles = quality.profile(training, {"a": drift.NUMERIC, "b": drift.NUMERIC})
    current = pd.DataFrame({"a": [1.0, None, "oops", 50.0] * 10, "z": [1] * 40}, dtype=object)

    report = quality.data_quality(current, profiles)

    a = next(c for c in report["columns"] if c["name"] == "a")
    assert a["null_rate"] == pytest.approx(0.25)
    assert a["type_error_share"] == pytest.approx(0.25)
    assert a["out_of_range_share"] == pytest.approx(0.25)
    assert report["missing_columns"] == ["b"] and report["extra_columns"] == ["z"]
    assert len(report["issues"]) == 5


# --- performance -------------------------------------------------------------------


def test_performance_needs_enough_labels_and_comes_with_an_interval():
    truth = [0, 1] * 40
    assert performance("classification", truth[:49], truth[:49], min_labels=50)["value"] is None

    right = performance("classification", truth, truth)
    wrong = performance("classification", truth, [1 - t for t in truth[:40]] + truth[40:])

    assert right["value"] == 1.0 and right["ci"] == [1.0, 1.0]
    assert wrong["value"] == pytest.approx(0.5)
    assert wrong["ci"][0] < 0.5 < wrong["ci"][1]


def test_regression_performance_is_r2_with_mae_and_rmse():
    rng = np.random.default_rng(6)
    truth = rng.normal(0, 1, 200)
    result = performance("regression", truth, truth + rng.normal(0, 0.1, 200))
    assert result["metric"] == "r2" and 0.95 < result["value"] <= 1.0
    assert result["ci"][0] <= result["value"] <= result["ci"][1]
    assert 0.05 < result["mae"] < 0.15


def test_labels_compare_as_numbers_when_both_sides_are_numbers():
    assert performance("classification", [1, 0] * 30, [1.0, 0.0] * 30)["value"] == 1.0
    assert performance("classification", ["a", "b"] * 30, ["a", "a"] * 30)["value"] == 0.5


# --- a whole window -------------------------------------------------------------------


def _reference() -> Reference:
    training = normal_frame(2_000, 1)
    return Reference(features=training, kinds=KINDS, profiles=quality.profile(training, KINDS),
                     task="classification", predictions=np.array(["a", "b"] * 1000),
                     validation={"metric": "accuracy", "value": 0.9})


def test_a_window_below_the_minimum_rows_has_no_verdict():
    report = window_report(_reference(), normal_frame(40, 2), start="s", end="e", n=40,
                           predictions=["a", "b"] * 20)
    assert report["status"] == "insufficient_data"
    assert report["drift"]["status"] == "insufficient_data" and report["drift"]["features"] == []


def test_an_empty_window_is_insufficient_data_not_an_error():
    report = window_report(_reference(), pd.DataFrame(columns=FEATURES), start="s", end="e", n=0)
    assert report["status"] == "insufficient_data"
    assert report["performance"]["value"] is None


def test_a_window_with_drift_and_bad_accuracy_is_an_alert():
    truth = ["a", "b"] * 100
    report = window_report(
        _reference(), normal_frame(200, 2, tuple(FEATURES[:6])), start="s", end="e", n=200,
        predictions=truth, labels=(truth, ["a"] * 200),
    )
    assert report["drift"]["dataset_drift"] is True
    assert report["performance"]["value"] == 0.5 and report["performance"]["status"] == "alert"
    assert report["status"] == "alert"


def test_a_quiet_window_is_ok():
    truth = ["a", "b"] * 1000
    report = window_report(_reference(), normal_frame(2_000, 2), start="s", end="e", n=2_000,
                           predictions=truth, labels=(truth, truth))
    assert report["status"] == "ok", (report["drift"], report["quality"])


def test_without_a_reference_neither_drift_nor_quality_has_a_verdict():
    empty = Reference(features=pd.DataFrame(columns=FEATURES), kinds=KINDS, profiles={}, task="classification")
    report = window_report(empty, normal_frame(500, 2), start="s", end="e", n=500)
    assert report["drift"]["status"] == "insufficient_data" and "no reference" in report["drift"]["detail"]
    assert report["quality"]["issues"] == [] and report["status"] == "insufficient_data"
