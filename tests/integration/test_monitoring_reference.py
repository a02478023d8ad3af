"""Choosing what monitoring windows are compared with: training data, a dataset, a production window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.models import AuditEvent, Dataset, MonitoringReference
from pipelines.services.monitoring_reference import reference_cache_info, reference_clear_cache
from tests.conftest import api_client_for
from tests.integration.monitoring_factories import (
    deploy_monitored,
    log_traffic,
    traffic,
    upload_dataset,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]

DAY = datetime(2026, 11, 2, tzinfo=UTC)
URL = "/api/deployments/watched/monitoring/reference/"


@pytest.fixture
def watched(owner, owner_api):
    return deploy_monitored(owner_api, owner)


@pytest.fixture
def shifted(owner_api):
    """A dataset like the traffic after ``a`` and ``b`` moved by one standard deviation."""
    return upload_dataset(owner_api, traffic(3000, seed=11, shift=("a", "b")), "shifted")


def run_window(client, day: datetime):
    body = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    response = client.post("/api/deployments/watched/monitoring/run/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["windows"][0]


def drifted(window: dict) -> set[str]:
    return {f["name"] for f in window["drift"]["features"] if f["drifted"]}


def test_the_default_reference_is_the_training_data(watched, owner_api):
    response = owner_api.get(URL)

    assert response.status_code == 200
    assert response.json() == {"kind": "training", "dataset": None, "version": None, "dataset_id": None,
                               "start": None, "end": None, "label": "training data"}


def test_a_dataset_reference_unflags_the_shift_it_already_holds_and_windows_keep_their_reference(
    watched, owner_api, shifted
):
    """Shifted traffic drifts from the training data; against a dataset with the same shift it does not.
    The window computed before the change still says it was compared with the training data."""
    for day in (DAY, DAY + timedelta(days=1)):
        log_traffic(watched, traffic(1000, seed=day.day, shift=("a", "b")), at=day + timedelta(hours=2))
    before = run_window(owner_api, DAY)

    response = owner_api.put(URL, {"kind": "dataset", "dataset": "shifted", "version": 1}, format="json")
    after = run_window(owner_api, DAY + timedelta(days=1))

    assert response.status_code == 200, response.content
    assert response.json()["label"] == "dataset shifted v1"
    assert response.json()["dataset_id"] == shifted["id"]
    assert drifted(before) == {"a", "b"} and before["reference"]["kind"] == "training"
    assert drifted(after) == set(), after["drift"]["features"]
    assert after["reference"] == {
        "kind": "dataset", "dataset": "shifted", "version": 1, "dataset_id": shifted["id"], "start": None,
        "end": None, "label": "dataset shifted v1", "available": True, "rows": 3000}
    stored = owner_api.get("/api/deployments/watched/monitoring/", {"start": "2026-11-01", "end": "2026-11-05"})
    assert [w["reference"]["label"] for w in stored.json()["windows"]] == ["training data", "dataset shifted v1"]


def test_a_dataset_without_a_version_is_pinned_to_its_latest_version(watched, owner_api, shifted):
    upload_dataset(owner_api, traffic(200, seed=12), "shifted")

    body = owner_api.put(URL, {"kind": "dataset", "dataset": "shifted"}, format="json").json()

    assert body["version"] == 2
    upload_dataset(owner_api, traffic(200, seed=13), "shifted")
    assert owner_api.get(URL).json()["version"] == 2


def test_a_production_window_reference_makes_the_same_traffic_later_not_drift(watched, owner_api):
    log_traffic(watched, traffic(1000, seed=23, shift=("a",)), at=DAY + timedelta(hours=1))
    log_traffic(watched, traffic(1000, seed=24, shift=("a",)), at=DAY + timedelta(days=1, hours=1))
    assert drifted(run_window(owner_api, DAY + timedelta(days=1))) == {"a"}

    response = owner_api.put(URL, {"kind": "window", "start": "2026-11-02T00:00:00Z",
                                   "end": "2026-11-03T00:00:00Z"}, format="json")
    window = run_window(owner_api, DAY + timedelta(days=1))

    assert response.status_code == 200, response.content
    assert response.json()["label"] == "production 2026-11-02 00:00 → 2026-11-03 00:00 UTC"
    assert drifted(window) == set(), window["drift"]["features"]
    assert window["reference"]["kind"] == "window" and window["reference"]["rows"] == 1000
    assert window["prediction_drift"]["drifted"] is False  # against the predictions logged then


def test_the_reference_is_loaded_once_for_many_windows(watched, owner_api, shifted):
    owner_api.put(URL, {"kind": "dataset", "dataset": "shifted"}, format="json")
    reference_clear_cache()

    for day in range(3):
        log_traffic(watched, traffic(200, seed=30 + day), at=DAY + timedelta(days=day))
        run_window(owner_api, DAY + timedelta(days=day))

    table = reference_cache_info()["table"]
    assert (table.misses, table.hits) == (1, 2)


def test_switching_back_to_training_data_and_the_audit_trail(
    watched, owner_api, shifted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner_api.put(URL, {"kind": "dataset", "dataset": "shifted"}, format="json")
        response = owner_api.put(URL, {"kind": "training"}, format="json")

    assert response.json()["kind"] == "training"
    log_traffic(watched, traffic(300, seed=41, shift=("a", "b")), at=DAY)
    assert drifted(run_window(owner_api, DAY)) == {"a", "b"}
    events = AuditEvent.objects.filter(action="deployment.monitoring_reference").order_by("seq")
    assert [e.details["kind"] for e in events] == ["dataset", "training"]


def test_deleting_the_reference_dataset_falls_back_to_the_training_data(watched, owner_api, shifted):
    owner_api.put(URL, {"kind": "dataset", "dataset": "shifted"}, format="json")

    Dataset.objects.filter(pk=shifted["id"]).delete()

    assert owner_api.get(URL).json()["kind"] == "training"
    assert not MonitoringReference.objects.exists()


# --- roles ------------------------------------------------------------------------------


def test_a_viewer_reads_the_reference_but_cannot_change_it(watched, viewer, shifted):
    client = api_client_for(viewer)

    assert client.get(URL).status_code == 200
    response = client.put(URL, {"kind": "dataset", "dataset": "shifted"}, format="json")

    assert response.status_code == 403
    assert not MonitoringReference.objects.exists()


def test_an_editor_changes_the_reference(watched, editor, shifted):
    response = api_client_for(editor).put(URL, {"kind": "dataset", "dataset": "shifted"}, format="json")

    assert response.status_code == 200, response.content
    assert MonitoringReference.objects.get().set_by == editor


def test_an_outsider_gets_404_for_both(watched, outsider_api):
    assert outsider_api.get(URL).status_code == 404
    assert outsider_api.put(URL, {"kind": "training"}, format="json").status_code == 404


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    ({}, "kind"),
    ({"kind": "month"}, "kind"),
    ({"kind": 3}, "kind"),
    ({"kind": "dataset"}, "dataset"),
    ({"kind": "dataset", "dataset": "nope"}, "dataset"),
    ({"kind": "dataset", "dataset": 5}, "dataset"),
    ({"kind": "dataset", "dataset": "shifted", "version": 9}, "version"),
    ({"kind": "dataset", "dataset": "shifted", "version": "1"}, "version"),
    ({"kind": "dataset", "dataset": "shifted", "version": 0}, "version"),
    ({"kind": "window", "end": "2026-11-03T00:00:00Z"}, "start"),
    ({"kind": "window", "start": "2026-11-02T00:00:00Z"}, "end"),
    ({"kind": "window", "start": "yesterday", "end": "2026-11-03T00:00:00Z"}, "start"),
    ({"kind": "window", "start": "2026-11-03T00:00:00Z", "end": "2026-11-02T00:00:00Z"}, "end"),
    ({"kind": "window", "start": "2026-11-02T00:00:00Z", "end": "2026-11-02T00:00:00Z"}, "end"),
    ({"kind": "window", "start": "2026-11-02T00:00:00Z", "end": "2999-01-01T00:00:00Z"}, "end"),
    ({"kind": "window", "start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}, "start"),  # empty
    ({"kind": "training", "end": "AAA"}, "end"),  # a malformed moment is refused whatever the kind
])
def test_bad_bodies_are_400_naming_the_field_and_change_nothing(watched, owner_api, shifted, body, field):
    response = owner_api.put(URL, body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["field"] == field, response.json()
    assert not MonitoringReference.objects.exists()


def test_a_dataset_missing_a_column_the_model_needs_is_refused_naming_it(watched, owner_api):
    upload_dataset(owner_api, traffic(300, seed=51).drop(columns=["city"]), "no-city")

    response = owner_api.put(URL, {"kind": "dataset", "dataset": "no-city"}, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "dataset"
    assert response.json()["missing_columns"] == ["city"]
    assert "city" in response.json()["detail"]


def test_a_dataset_of_another_workspace_of_the_same_user_is_refused(watched, owner_api):
    team = owner_api.post("/api/workspaces/", {"name": "team"}, format="json").json()
    upload_dataset(owner_api, traffic(300, seed=52), "theirs", workspace=team["id"])

    response = owner_api.put(URL, {"kind": "dataset", "dataset": "theirs"}, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "dataset"
    assert "'team'" in response.json()["detail"]


def test_a_dataset_of_a_workspace_the_user_is_not_in_is_not_found(watched, owner_api, outsider_api):
    upload_dataset(outsider_api, traffic(300, seed=53), "secret")

    response = owner_api.put(URL, {"kind": "dataset", "dataset": "secret"}, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "dataset"
    assert "outsider" not in response.json()["detail"]


def test_a_window_with_too_few_rows_is_refused(watched, owner_api):
    log_traffic(watched, traffic(40, seed=54), at=DAY)

    response = owner_api.put(URL, {"kind": "window", "start": "2026-11-02", "end": "2026-11-03"}, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "start"
    assert "40 rows" in response.json()["detail"]
