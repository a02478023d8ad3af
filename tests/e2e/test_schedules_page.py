"""The pipeline page's schedules: added from a form, shown in plain words, paused, run now (real Chromium)."""

from __future__ import annotations

import pytest

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Run, Schedule
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_schedule_added_on_the_pipeline_page_reads_in_plain_words_and_runs_now(login, owner, owner_api, live_server):
    graph = GraphBuilder().node("load", "dataset.builtin", name="iris").build()
    pipeline = owner_api.post("/api/pipelines/", {"name": "nightly retrain", "graph": graph}, format="json").json()
    webhook = owner_api.post(f"/api/pipelines/{pipeline['id']}/triggers/", {"kind": "webhook"}, format="json")
    assert webhook.status_code == 201
    page = login(owner)
    page.goto(f"{live_server.url}/pipelines/{pipeline['id']}/runs/")

    page.select_option("#schedule-form select[name=mode]", "cron")
    page.fill("#schedule-form input[name=cron]", "30 2 * * 1-5")
    page.click("#schedule-form button[type=submit]")
    page.get_by_text("At 02:30, Monday through Friday (UTC)").wait_for()
    page.select_option("#schedule-form select[name=mode]", "every")
    page.fill("#schedule-form input[name=every]", "15")
    page.select_option("#schedule-form select[name=unit]", "60")
    page.click("#schedule-form button[type=submit]")
    page.get_by_text("every 15 minutes").wait_for()
    assert Schedule.objects.filter(pipeline_id=pipeline["id"]).count() == 2

    page.locator(".auto-item", has_text="every 15 minutes").get_by_role("button", name="Pause").click()
    page.locator(".auto-item.paused", has_text="every 15 minutes").wait_for()
    assert Schedule.objects.get(every_seconds=900).paused
    screenshot(page, "pipeline_schedules")

    page.locator(".auto-item", has_text="At 02:30").get_by_role("button", name="Run now").click()
    page.wait_for_url(f"{live_server.url}/runs/*/")
    run = Run.objects.get(pipeline_id=pipeline["id"])
    assert run.trigger_detail == "run now from schedule At 02:30, Monday through Friday (UTC)"


def test_a_bad_cron_on_the_page_shows_the_servers_message(login, owner, owner_api, live_server):
    pipeline = owner_api.post("/api/pipelines/", {"name": "p"}, format="json").json()
    page = login(owner)
    page.goto(f"{live_server.url}/pipelines/{pipeline['id']}/runs/")

    page.select_option("#schedule-form select[name=mode]", "cron")
    page.fill("#schedule-form input[name=cron]", "every day")
    page.click("#schedule-form button[type=submit]")

    page.locator("#automation-error").get_by_text("does not parse").wait_for()
    assert not Schedule.objects.exists()


def test_a_viewer_sees_schedules_without_the_buttons(login, make_user, owner, owner_api, live_server):
    from pipelines.models import Membership, Role, Workspace

    viewer = make_user("viewer")
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=viewer, role=Role.VIEWER)
    pipeline = owner_api.post("/api/pipelines/", {"name": "p"}, format="json").json()
    owner_api.post(f"/api/pipelines/{pipeline['id']}/schedules/", {"every_seconds": 3600}, format="json")
    page = login(viewer)
    page.goto(f"{live_server.url}/pipelines/{pipeline['id']}/runs/")

    page.get_by_text("every hour").wait_for()
    assert page.locator("#schedule-form").count() == 0
    assert page.get_by_role("button", name="Run now").count() == 0
