"""The monitoring pages' Vega-Lite specs, built from window reports (plain Python)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.monitoring import charts, quality
from pipelines.monitoring.window import Reference, window_report

FEATURES = {"x": "numeric", "colour": "categorical"}


def _report(day: int, shift: float = 0.0) -> dict:
    rng = np.random.default_rng(day)
    training = pd.DataFrame({"x": rng.normal(0, 1, 3000), "colour": rng.choice(["red", "blue"], 3000)})
    current = pd.DataFrame({"x": rng.normal(shift, 1, 500), "colour": rng.choice(["red", "blue"], 500)})
    reference = Reference(features=training, kinds=FEATURES, profiles=quality.profile(training, FEATURES),
                          task="regression", predictions=rng.normal(0, 1, 3000))
    return window_report(reference, current, start=f"2026-11-{day:02d}T00:00:00Z",
                         end=f"2026-11-{day + 1:02d}T00:00:00Z", n=500, predictions=rng.normal(shift, 1, 500))


def test_a_timeline_has_a_point_per_window_and_the_revisions_as_rules():
    reports = [_report(1), _report(2, shift=1.0)]
    markers = [{"at": "2026-11-02T06:00:00Z", "action": "rollback", "label": "r2 rollback: m v1"}]
    spec = charts.signal_timeline(charts.timeline_rows(reports), markers, signal="drift_share",
                                  title="Share of drifted features", rule=0.5, rule_label="dataset drift")

    assert [row["value"] for row in spec["data"]["values"]] == [0.0, 0.5]
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["line", "point", "rule", "rule"]
    assert spec["layer"][-1]["data"]["values"] == markers


def test_the_heatmap_has_a_cell_per_feature_and_window_in_window_order():
    spec = charts.drift_heatmap([_report(1), _report(2, shift=1.0)])
    cells = spec["data"]["values"]
    assert [(c["label"], c["feature"], c["drifted"]) for c in cells] == [
        ("Nov 01", "x", "no drift"), ("Nov 01", "colour", "no drift"),
        ("Nov 02", "x", "drifted"), ("Nov 02", "colour", "no drift"),
    ]


def test_the_distribution_overlay_offers_every_feature_and_starts_with_the_first():
    report = _report(2, shift=1.0)
    spec = charts.distribution_overlay(report, report["drift"]["features"])
    assert spec["params"][0]["bind"]["options"] == ["x", "colour"] and spec["params"][0]["value"] == "x"
    colours = [v for v in spec["data"]["values"] if v["feature"] == "colour"]
    assert {v["bin"] for v in colours} == {"red", "blue"}
    assert sum(v["share"] for v in colours if v["sample"] == "current") == pytest.approx(1.0)


def test_windows_shorter_than_a_day_are_labelled_with_their_hour():
    assert charts.window_label("2026-11-02T05:00:00+00:00", "2026-11-02T06:00:00+00:00") == "Nov 02 05:00"
    assert charts.window_label("2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00") == "Nov 02"


def test_request_rate_has_a_point_per_bucket_in_requests_per_minute():
    windows = [{"start": "2026-11-02T00:00:00Z", "end": "2026-11-02T03:00:00Z", "status": "ok",
                "requests_by": {"bucket_seconds": 3600, "counts": [60, 0, 120]}}]

    points, bucket = charts.request_rate_points(windows)

    assert bucket == 3600
    assert [(p["start"], p["requests"], p["rate"]) for p in points] == [
        ("2026-11-02T00:00:00Z", 60, 1.0), ("2026-11-02T01:00:00Z", 0, 0.0), ("2026-11-02T02:00:00Z", 120, 2.0)]


def test_a_short_last_bucket_is_a_rate_over_its_own_length():
    windows = [{"start": "2026-11-02T00:00:00Z", "end": "2026-11-02T01:30:00Z",
                "requests_by": {"bucket_seconds": 3600, "counts": [60, 60]}}]

    points, _ = charts.request_rate_points(windows)

    assert [p["rate"] for p in points] == [1.0, 2.0]
    assert points[-1]["end"] == "2026-11-02T01:30:00Z"


def test_older_windows_without_buckets_give_one_point_and_shared_buckets_count_once():
    windows = [
        {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z", "requests": 1440,
         "request_rate_per_min": 1.0},
        {"start": "2026-11-02T00:00:00Z", "end": "2026-11-02T02:00:00Z",
         "requests_by": {"bucket_seconds": 3600, "counts": [6, 6]}},
        {"start": "2026-11-02T01:00:00Z", "end": "2026-11-02T02:00:00Z",
         "requests_by": {"bucket_seconds": 60, "counts": [60] * 60}},
    ]

    points, bucket = charts.request_rate_points(windows)

    assert bucket is None  # mixed bucket sizes
    assert points[0] == {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z", "requests": 1440,
                         "rate": 1.0}
    assert [p["start"] for p in points].count("2026-11-02T01:00:00Z") == 1
    assert len(points) == 1 + 1 + 60
    assert charts.request_rate_chart(windows, [])["description"] == (
        "Requests per minute, averaged over each window's buckets")


def test_one_bucket_size_is_named_in_the_description():
    windows = [{"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z",
                "requests_by": {"bucket_seconds": 3600, "counts": [1] * 24}}]

    assert charts.request_rate_chart(windows, [])["description"] == "Requests per minute, averaged per hour bucket"
