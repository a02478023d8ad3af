"""Schedules and triggers (issue 10, item 4), on PostgreSQL, Redis, a real worker and a real beat."""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Membership, Role, Run, Schedule, TriggerFiring, Workspace
from pipelines.services.schedules import schedules_fire_due
from pipelines.services.triggers import triggers_fire_due
from tests.conftest import api_client_for, start_beat, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAST_BEAT = {"AUTOMATION_TICK_SECONDS": "1", "TRIGGER_DEBOUNCE_SECONDS": "1"}


def _graph() -> dict:
    return GraphBuilder().node("load", "dataset.builtin", name="iris").build()


def _pipeline(client, name: str = "nightly") -> dict:
    response = client.post("/api/pipelines/", {"name": name, "graph": _graph()}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _upload(client, name: str, rows: int = 3) -> dict:
    body = b"a,b\n" + b"".join(f"{i},{i % 2}\n".encode() for i in range(rows))
    upload = io.BytesIO(body)
    upload.name = f"{name}.csv"
    response = client.post("/api/datasets/", {"file": upload, "name": name}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def _wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def beat(artifact_root, tmp_path, celery_worker_process):
    proc = start_beat(tmp_path, artifact_root, env=FAST_BEAT)
    yield proc
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def viewer_api(make_user, owner):
    user = make_user("viewer")
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=user, role=Role.VIEWER)
    return api_client_for(user)


# --- schedules ----------------------------------------------------------------------


def test_a_schedule_with_a_short_interval_fires_through_a_real_beat(owner_api, beat):
    pipeline = _pipeline(owner_api)

    response = owner_api.post(f"/api/pipelines/{pipeline['id']}/schedules/", {"every_seconds": 5}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["description"] == "every 5 seconds"

    run = _wait_for(
        lambda: Run.objects.filter(pipeline_id=pipeline["id"], trigger="schedule").first(),
        timeout=30, what="a scheduled run",
    )
    finished = wait_for_run(owner_api, run.pk)
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["trigger"] == "schedule"
    assert finished["trigger_detail"] == "schedule every 5 seconds"
    assert finished["created_by"] == "owner"
    listed = owner_api.get(f"/api/pipelines/{pipeline['id']}/schedules/").json()
    assert listed[0]["last_run"] == run.pk


def test_two_beats_at_the_same_due_time_start_one_run(owner, owner_api):
    pipeline = _pipeline(owner_api)
    owner_api.post(f"/api/pipelines/{pipeline['id']}/schedules/", {"every_seconds": 60}, format="json")
    Schedule.objects.filter(pipeline_id=pipeline["id"]).update(next_run_at=timezone.now() - timedelta(seconds=1))
    now = timezone.now()
    started: list[int] = []
    barrier = threading.Barrier(2)

    def tick():
        barrier.wait()
        try:
            started.append(schedules_fire_due(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(started) == [0, 1]
    assert Run.objects.filter(pipeline_id=pipeline["id"], trigger="schedule").count() == 1
    schedule = Schedule.objects.get(pipeline_id=pipeline["id"])
    assert schedule.next_run_at > now
    # The same tick delivered again later starts nothing more.
    assert schedules_fire_due(now=now) == 0


def test_a_cron_schedule_is_described_in_plain_words_and_runs_at_its_next_minute(owner_api):
    pipeline = _pipeline(owner_api)

    response = owner_api.post(f"/api/pipelines/{pipeline['id']}/schedules/", {"cron": "30 2 * * 1-5"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["description"] == "At 02:30, Monday through Friday (UTC)"
    assert body["every_seconds"] is None
    assert body["next_run_at"].endswith(("02:30:00Z", "02:30:00+00:00"))


def test_a_cron_expression_that_does_not_parse_is_a_400_naming_cron(owner_api):
    pipeline = _pipeline(owner_api)

    for cron in ("61 * * * *", "every day", "* * * *", ""):
        response = owner_api.post(f"/api/pipelines/{pipeline['id']}/schedules/", {"cron": cron}, format="json")
        assert response.status_code == 400, (cron, response.content)
        assert response.json()["field"] == "cron", response.json()
    assert not Schedule.objects.exists()


def test_an_interval_under_five_seconds_or_both_timings_are_refused(owner_api):
    pipeline = _pipeline(owner_api)
    url = f"/api/pipelines/{pipeline['id']}/schedules/"

    short = owner_api.post(url, {"every_seconds": 4}, format="json")
    both = owner_api.post(url, {"every_seconds": 60, "cron": "* * * * *"}, format="json")
    text = owner_api.post(url, {"every_seconds": "60"}, format="json")

    assert short.status_code == 400 and short.json()["field"] == "every_seconds"
    assert both.status_code == 400 and both.json()["field"] == "cron"
    assert text.status_code == 400 and text.json()["field"] == "every_seconds"


def test_a_viewer_cannot_schedule_and_an_outsider_cannot_see_schedules(owner_api, viewer_api, outsider_api):
    pipeline = _pipeline(owner_api)
    url = f"/api/pipelines/{pipeline['id']}/schedules/"
    owner_api.post(url, {"every_seconds": 60}, format="json")

    assert viewer_api.get(url).status_code == 200
    assert viewer_api.post(url, {"every_seconds": 60}, format="json").status_code == 403
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.post(url, {"every_seconds": 60}, format="json").status_code == 404
    schedule = Schedule.objects.get()
    assert viewer_api.delete(f"{url}{schedule.pk}/").status_code == 403
    assert outsider_api.delete(f"{url}{schedule.pk}/").status_code == 404
    assert Schedule.objects.count() == 1


def test_a_paused_schedule_starts_nothing_and_resumes_from_now(owner_api):
    pipeline = _pipeline(owner_api)
    url = f"/api/pipelines/{pipeline['id']}/schedules/"
    schedule = owner_api.post(url, {"every_seconds": 60}, format="json").json()
    Schedule.objects.filter(pk=schedule["id"]).update(next_run_at=timezone.now() - timedelta(hours=1))

    paused = owner_api.patch(f"{url}{schedule['id']}/", {"paused": True}, format="json")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert schedules_fire_due() == 0

    resumed = owner_api.patch(f"{url}{schedule['id']}/", {"paused": False}, format="json").json()
    assert resumed["paused"] is False
    assert Schedule.objects.get(pk=schedule["id"]).next_run_at > timezone.now()
    assert not Run.objects.filter(pipeline_id=pipeline["id"]).exists()


def test_run_now_starts_the_pipeline_at_once_and_delete_removes_the_schedule(owner_api):
    pipeline = _pipeline(owner_api)
    url = f"/api/pipelines/{pipeline['id']}/schedules/"
    schedule = owner_api.post(url, {"cron": "0 3 * * *"}, format="json").json()

    run = owner_api.post(f"{url}{schedule['id']}/run/", {}, format="json")
    deleted = owner_api.delete(f"{url}{schedule['id']}/")

    assert run.status_code == 201, run.content
    assert run.json()["status"] == "queued"
    assert run.json()["trigger_detail"] == "run now from schedule At 03:00 (UTC)"
    assert deleted.status_code == 204
    assert owner_api.get(url).json() == []


def test_a_schedule_whose_owner_lost_the_editor_role_starts_nothing_and_says_why(make_user, owner_api, owner):
    editor = make_user("editor")
    membership = Membership.objects.create(
        workspace=Workspace.objects.get(personal_owner=owner), user=editor, role=Role.EDITOR
    )
    pipeline = _pipeline(owner_api)
    api_client_for(editor).post(f"/api/pipelines/{pipeline['id']}/schedules/", {"every_seconds": 60}, format="json")
    membership.role = Role.VIEWER
    membership.save()
    Schedule.objects.update(next_run_at=timezone.now() - timedelta(seconds=1))

    assert schedules_fire_due() == 0

    schedule = Schedule.objects.get()
    assert "no longer an editor" in schedule.last_error
    assert schedule.next_run_at > timezone.now()
    assert not Run.objects.exists()


# --- triggers -------------------------------------------------------------------------


def test_a_new_dataset_version_starts_the_dependent_pipeline_exactly_once(owner_api, beat):
    _upload(owner_api, "churn")
    pipeline = _pipeline(owner_api, "retrain")
    trigger = owner_api.post(
        f"/api/pipelines/{pipeline['id']}/triggers/", {"kind": "dataset", "dataset": "churn"}, format="json"
    )
    assert trigger.status_code == 201, trigger.content
    time.sleep(3)  # a few ticks: version 1 was there before the trigger and starts nothing
    assert not Run.objects.filter(pipeline_id=pipeline["id"]).exists()

    version = _upload(owner_api, "churn", rows=5)
    assert version["version"] == 2
    run = _wait_for(
        lambda: Run.objects.filter(pipeline_id=pipeline["id"]).first(), timeout=30, what="a dataset-triggered run"
    )
    time.sleep(4)  # more ticks look at the same version

    assert Run.objects.filter(pipeline_id=pipeline["id"]).count() == 1
    assert (run.trigger, run.trigger_detail) == ("dataset", "dataset churn v2")
    assert wait_for_run(owner_api, run.pk)["status"] == "succeeded"


def test_a_burst_of_dataset_uploads_is_debounced_into_one_run_for_the_last(owner_api, settings):
    settings.TRIGGER_DEBOUNCE_SECONDS = 60
    _upload(owner_api, "churn")
    pipeline = _pipeline(owner_api, "retrain")
    owner_api.post(f"/api/pipelines/{pipeline['id']}/triggers/", {"kind": "dataset", "dataset": "churn"}, format="json")
    for rows in (4, 5, 6):
        _upload(owner_api, "churn", rows=rows)

    assert triggers_fire_due() == 0  # still within the debounce window
    later = timezone.now() + timedelta(seconds=61)
    assert triggers_fire_due(now=later) == 1
    assert triggers_fire_due(now=later) == 0

    run = Run.objects.get(pipeline_id=pipeline["id"])
    assert run.trigger_detail == "dataset churn v4"


def test_a_dataset_trigger_on_an_unknown_dataset_is_a_400_naming_dataset(owner_api, outsider_api):
    pipeline = _pipeline(owner_api)
    other = _upload(outsider_api, "theirs")
    url = f"/api/pipelines/{pipeline['id']}/triggers/"

    for body in ({"kind": "dataset"}, {"kind": "dataset", "dataset": "nope"}, {"kind": "dataset", "dataset": other["id"]},
                 {"kind": "dataset", "dataset": ["x"]}, {"kind": "dataset", "dataset": " "},
                 {"kind": "webhook", "dataset": ""}):
        response = owner_api.post(url, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["field"] == "dataset"
    bad_kind = owner_api.post(url, {"kind": "cron"}, format="json")
    assert bad_kind.status_code == 400 and bad_kind.json()["field"] == "kind"


def test_an_upstream_pipelines_successful_run_starts_the_downstream_one(owner_api, celery_worker_process):
    upstream = _pipeline(owner_api, "features")
    downstream = _pipeline(owner_api, "train")
    trigger = owner_api.post(
        f"/api/pipelines/{downstream['id']}/triggers/", {"kind": "pipeline", "pipeline": upstream["id"]}, format="json"
    )
    assert trigger.status_code == 201, trigger.content

    first = owner_api.post(f"/api/pipelines/{upstream['id']}/runs/", {}, format="json").json()
    assert wait_for_run(owner_api, first["id"])["status"] == "succeeded"
    assert triggers_fire_due() == 1
    assert triggers_fire_due() == 0

    run = Run.objects.get(pipeline_id=downstream["id"])
    assert (run.trigger, run.trigger_detail) == ("pipeline", f"pipeline features run {first['id']}")
    assert wait_for_run(owner_api, run.pk)["status"] == "succeeded"
    assert TriggerFiring.objects.get().source_run_id == first["id"]


def test_a_pipeline_trigger_that_would_close_a_loop_is_refused(owner_api):
    a, b, c = (_pipeline(owner_api, name) for name in "abc")
    url = "/api/pipelines/{}/triggers/"
    assert owner_api.post(url.format(b["id"]), {"kind": "pipeline", "pipeline": a["id"]}, format="json").status_code == 201
    assert owner_api.post(url.format(c["id"]), {"kind": "pipeline", "pipeline": b["id"]}, format="json").status_code == 201

    back = owner_api.post(url.format(a["id"]), {"kind": "pipeline", "pipeline": c["id"]}, format="json")
    itself = owner_api.post(url.format(a["id"]), {"kind": "pipeline", "pipeline": a["id"]}, format="json")

    twice = owner_api.post(url.format(b["id"]), {"kind": "pipeline", "pipeline": a["id"]}, format="json")
    assert twice.status_code == 409 and twice.json()["field"] == "pipeline"
    assert back.status_code == 400 and back.json()["field"] == "pipeline"
    assert "loop" in back.json()["detail"]
    assert itself.status_code == 400 and itself.json()["field"] == "pipeline"


def test_a_pipeline_trigger_cannot_follow_a_pipeline_the_user_cannot_see(owner_api, outsider_api):
    mine = _pipeline(owner_api)
    theirs = _pipeline(outsider_api, "theirs")

    response = owner_api.post(
        f"/api/pipelines/{mine['id']}/triggers/", {"kind": "pipeline", "pipeline": theirs["id"]}, format="json"
    )

    assert response.status_code == 404 and response.json()["field"] == "pipeline"


def test_the_webhook_starts_a_run_and_refuses_a_wrong_secret_like_a_missing_url(owner_api, client):
    pipeline = _pipeline(owner_api)
    created = owner_api.post(f"/api/pipelines/{pipeline['id']}/triggers/", {"kind": "webhook"}, format="json")
    assert created.status_code == 201, created.content
    url = created.json()["url"]
    path = url[url.index("/api/hooks/"):]

    started = client.post(path)
    wrong = client.post(path[:-2] + "x/")
    missing = client.post("/api/hooks/nothing-here/")

    assert started.status_code == 201, started.content
    run = Run.objects.get(pk=started.json()["run"])
    assert (run.trigger, run.created_by.username) == ("webhook", "owner")
    assert wrong.status_code == missing.status_code == 404
    assert wrong.json() == missing.json()
    # The secret is shown once: listing the triggers never answers it again.
    listed = owner_api.get(f"/api/pipelines/{pipeline['id']}/triggers/").json()
    assert "url" not in listed[0] and listed[0]["kind"] == "webhook"


def test_a_paused_webhook_answers_404_and_a_viewer_cannot_make_triggers(owner_api, viewer_api, client):
    pipeline = _pipeline(owner_api)
    created = owner_api.post(f"/api/pipelines/{pipeline['id']}/triggers/", {"kind": "webhook"}, format="json").json()
    path = created["url"][created["url"].index("/api/hooks/"):]
    owner_api.patch(f"/api/pipelines/{pipeline['id']}/triggers/{created['id']}/", {"paused": True}, format="json")

    assert client.post(path).status_code == 404
    denied = viewer_api.post(f"/api/pipelines/{pipeline['id']}/triggers/", {"kind": "webhook"}, format="json")
    assert denied.status_code == 403
