"""Monitoring windows through the API, on PostgreSQL: drift, quality, late labels, roles, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.models import MonitoringWindow
from tests.conftest import api_client_for
from tests.integration.monitoring_factories import deploy_monitored, log_traffic, traffic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]

DAY = datetime(2026, 11, 2, tzinfo=UTC)
WINDOW = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}
URL = "/api/deployments/watched/monitoring/"


@pytest.fixture
def watched(owner, owner_api):
    return deploy_monitored(owner_api, owner)


def run_window(client, body=WINDOW, name="watched"):
    return client.post(f"/api/deployments/{name}/monitoring/run/", body, format="json")


def test_shifting_two_features_flags_exactly_those_and_a_later_get_returns_the_window(watched, owner_api):
    log_traffic(watched, traffic(1000, seed=1, shift=("a", "b")), at=DAY + timedelta(hours=3))

    response = run_window(owner_api)

    assert response.status_code == 200, response.content
    window = response.json()["windows"][0]
    assert (window["start"], window["end"], window["n"]) == (WINDOW["start"], WINDOW["end"], 1000)
    drifted = {f["name"] for f in window["drift"]["features"] if f["drifted"]}
    assert drifted == {"a", "b"}
    assert window["drift"]["dataset_drift"] is True  # two of three columns
    for feature in window["drift"]["features"]:
        assert {"name", "kind", "method", "score", "threshold", "drifted"} <= set(feature)
    assert window["latency_ms"]["p50"] is not None and window["error_rate"] == 0.0
    assert response.json()["status"] == window["status"] == "alert"

    again = owner_api.get(URL, WINDOW)
    assert again.status_code == 200
    assert again.json()["windows"] == [window]


def test_in_distribution_traffic_is_ok(watched, owner_api):
    log_traffic(watched, traffic(3000, seed=2), at=DAY + timedelta(hours=1))

    window = run_window(owner_api).json()["windows"][0]

    assert [f["name"] for f in window["drift"]["features"] if f["drifted"]] == []
    assert window["prediction_drift"]["drifted"] is False
    assert window["status"] == "ok", window


def test_an_unseen_category_is_reported_by_data_quality(watched, owner_api):
    log_traffic(watched, traffic(500, seed=3, cities=["paris", "atlantis"]), at=DAY)

    window = run_window(owner_api).json()["windows"][0]

    city = next(c for c in window["quality"]["columns"] if c["name"] == "city")
    assert city["unseen"] == ["atlantis"]
    assert window["quality"]["ok"] is False
    assert window["status"] in ("warning", "alert")


def test_monitoring_without_traffic_is_insufficient_data_not_an_error(watched, owner_api):
    response = run_window(owner_api)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "insufficient_data"
    assert body["windows"][0]["n"] == 0
    assert owner_api.get(URL).json()["status"] == "insufficient_data"


def test_fewer_rows_than_the_minimum_give_no_drift_verdict(watched, owner_api):
    log_traffic(watched, traffic(60, seed=4, shift=("a",)), at=DAY)

    window = run_window(owner_api).json()["windows"][0]

    assert window["drift"]["status"] == "insufficient_data"
    assert window["drift"]["features"] == []


def test_late_labels_count_in_the_window_of_the_prediction(watched, owner_api):
    """Predictions on day D, ground truth posted later by request id: D's window has it,
    and wrong ground truth lowers accuracy below the validation metric (an alert)."""
    frame = traffic(600, seed=5)
    ids = log_traffic(watched, frame, at=DAY + timedelta(hours=5))
    log_traffic(watched, traffic(300, seed=6), at=DAY + timedelta(days=1, hours=1))  # the next day
    truth = ((frame["a"] + frame["b"]) > 0).astype(int).tolist()
    wrong = [1 - t for t in truth]
    feedback = [{"request_id": rid, "label": wrong[i * 10:(i + 1) * 10]} for i, rid in enumerate(ids)]
    assert owner_api.post("/api/deployments/watched/feedback", feedback, format="json").status_code == 200

    day = run_window(owner_api).json()["windows"][0]
    next_day = run_window(owner_api, {"start": "2026-11-03T00:00:00Z", "end": "2026-11-04T00:00:00Z"}).json()

    performance = day["performance"]
    assert (performance["metric"], performance["n_labels"]) == ("accuracy", 600)
    assert performance["value"] < 0.2 and performance["ci"][1] < 0.97
    assert performance["status"] == "alert" and day["status"] == "alert"
    assert next_day["windows"][0]["performance"]["n_labels"] == 0


def test_a_recomputed_window_replaces_the_stored_one(watched, owner_api):
    run_window(owner_api)
    log_traffic(watched, traffic(200, seed=7), at=DAY)
    run_window(owner_api)

    assert MonitoringWindow.objects.filter(deployment=watched).count() == 1
    assert MonitoringWindow.objects.get(deployment=watched).n == 200


def test_get_lists_windows_of_the_asked_size_in_the_range(watched, owner_api):
    for day in range(3):
        start = DAY + timedelta(days=day)
        run_window(owner_api, {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()})
    run_window(owner_api, {"start": "2026-11-02T05:00:00Z", "end": "2026-11-02T06:00:00Z"})

    days = owner_api.get(URL, {"start": "2026-11-01", "end": "2026-11-05", "window": "day"}).json()
    hours = owner_api.get(URL, {"start": "2026-11-01", "end": "2026-11-05", "window": "hour"}).json()
    middle = owner_api.get(URL, {"start": "2026-11-03", "end": "2026-11-04"}).json()

    assert [w["start"] for w in days["windows"]] == [
        "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"]
    assert [w["start"] for w in hours["windows"]] == ["2026-11-02T05:00:00Z"]
    assert [w["start"] for w in middle["windows"]] == ["2026-11-03T00:00:00Z"]


# --- roles ------------------------------------------------------------------------


def test_a_viewer_reads_monitoring_but_cannot_run_it(watched, viewer):
    client = api_client_for(viewer)
    assert client.get(URL).status_code == 200
    response = run_window(client)
    assert response.status_code == 403
    assert not MonitoringWindow.objects.exists()


def test_an_editor_runs_monitoring(watched, editor):
    assert run_window(api_client_for(editor)).status_code == 200


def test_an_outsider_gets_404_for_both(watched, outsider_api):
    assert outsider_api.get(URL).status_code == 404
    assert run_window(outsider_api).status_code == 404
    assert outsider_api.get("/api/deployments/nope/monitoring/").status_code == 404


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("params, field", [
    ({"start": "yesterday"}, "start"),
    ({"end": "2026-13-01"}, "end"),
    ({"start": "2026-11-05", "end": "2026-11-01"}, "end"),
    ({"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, "end"),
    ({"window": "month"}, "window"),
    ({"window": ""}, "window"),
    ({"start": ""}, "start"),
    ({"start": "0001-01-01"}, "start"),
    ({"start": "2026-11-01\x00"}, "start"),
])
def test_bad_query_parameters_are_400_naming_the_field(watched, owner_api, params, field):
    response = owner_api.get(URL, params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


@pytest.mark.parametrize("body, field", [
    ({"end": WINDOW["end"]}, "start"),
    ({"start": WINDOW["start"]}, "end"),
    ({"start": 5, "end": WINDOW["end"]}, "start"),
    ({"start": WINDOW["start"], "end": "not a date"}, "end"),
    ({"start": WINDOW["end"], "end": WINDOW["start"]}, "end"),
    ({"start": "1900-01-01", "end": WINDOW["end"]}, "start"),
])
def test_bad_run_bodies_are_400_naming_the_field(watched, owner_api, body, field):
    response = run_window(owner_api, body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


def firing(client, name="watched"):
    alerts = client.get("/api/alerts/", {"deployment": name, "status": "firing"}).json()
    return sorted(a["signal"] for a in alerts["results"]) if isinstance(alerts, dict) else sorted(
        a["signal"] for a in alerts
    )


def test_a_stored_drifted_window_fires_the_default_drift_rule(
    watched, owner_api, django_capture_on_commit_callbacks
):
    log_traffic(watched, traffic(1000, seed=1, shift=("a", "b")), at=DAY + timedelta(hours=3))

    with django_capture_on_commit_callbacks(execute=True):
        assert run_window(owner_api).status_code == 200

    assert "drift_share" in firing(owner_api)


def test_an_unseen_category_fires_a_quality_alert(watched, owner_api, django_capture_on_commit_callbacks):
    log_traffic(watched, traffic(500, seed=3, cities=["paris", "atlantis"]), at=DAY)

    with django_capture_on_commit_callbacks(execute=True):
        window = run_window(owner_api).json()["windows"][0]

    assert window["quality"]["score"] > 0.1
    assert "quality" in firing(owner_api)


def test_in_distribution_traffic_fires_nothing(watched, owner_api, django_capture_on_commit_callbacks):
    log_traffic(watched, traffic(3000, seed=2), at=DAY + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert run_window(owner_api).status_code == 200

    assert firing(owner_api) == []
