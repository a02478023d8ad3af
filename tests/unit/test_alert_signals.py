"""What each alert signal reads from a window and when it breaches (plain Python)."""

import pytest

from pipelines.services.alert_signals import breaches, signal_value, threshold_problem


def _window(**parts):
    return {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "n": 300, **parts}


def test_drift_share_reads_the_share_and_names_the_drifted_features():
    drift = {"share": 0.5, "features": [{"name": "age", "drifted": True}, {"name": "income", "drifted": False}]}
    value, detail = signal_value("drift_share", _window(drift=drift))
    assert value == 0.5 and "age" in detail and "income" not in detail
    assert breaches("drift_share", 0.5, 0.5)  # at or above
    assert not breaches("drift_share", 0.49, 0.5)


def test_feature_drift_counts_drifted_features():
    drift = {"share": 0.4, "features": [{"name": "a", "drifted": True}, {"name": "b", "drifted": True}]}
    assert signal_value("feature_drift", _window(drift=drift))[0] == 2


def test_performance_fires_below_its_threshold_and_has_no_verdict_without_labels():
    assert breaches("performance", 0.79, 0.8) and not breaches("performance", 0.8, 0.8)
    assert signal_value("performance", _window(performance={"metric": "accuracy", "value": None}))[0] is None


@pytest.mark.parametrize(
    ("signal", "window"),
    [
        ("drift_share", _window(drift={"share": None, "features": []})),
        ("drift_share", _window(drift=None)),
        ("feature_drift", _window()),
        ("latency_p95_ms", _window(latency_ms={"p50": None, "p95": None, "p99": None})),
        ("error_rate", _window(n=0, error_rate=None)),
        ("quality", _window(quality={})),
    ],
)
def test_a_window_without_data_gives_no_verdict(signal, window):
    assert signal_value(signal, window)[0] is None


def test_quality_takes_the_worst_issue_rate_wherever_the_report_puts_it():
    per_feature = _window(quality={"features": [{"name": "colour", "unseen_rate": 0.3, "null_rate": 0.1}]})
    keyed = _window(quality={"features": {"colour": {"type_error_rate": 0.2}}, "null_rate": 0.05})
    missing = _window(quality={"missing_columns": ["age"], "null_rate": 0.0})
    assert signal_value("quality", per_feature) == (0.3, "colour: unseen_rate 30.0%")
    assert signal_value("quality", keyed)[0] == 0.2
    assert signal_value("quality", missing)[0] == 1.0 and "age" in signal_value("quality", missing)[1]


@pytest.mark.parametrize(
    ("signal", "threshold", "ok"),
    [
        ("drift_share", 0.5, True), ("drift_share", 1.0, True), ("drift_share", 0.0, False),
        ("drift_share", 1.01, False), ("error_rate", float("nan"), False), ("latency_p95_ms", 250, True),
        ("latency_p95_ms", -1, False), ("feature_drift", 2, True), ("feature_drift", 1.5, False),
        ("performance", -0.5, True), ("performance", float("inf"), False), ("quality", True, False),
    ],
)
def test_thresholds_are_checked_per_signal(signal, threshold, ok):
    assert (threshold_problem(signal, threshold) is None) is ok


def test_an_outage_where_every_request_failed_still_fires_the_error_rate():
    value, _ = signal_value("error_rate", _window(n=0, error_rate=1.0))
    assert value == 1.0 and breaches("error_rate", value, 0.05)
