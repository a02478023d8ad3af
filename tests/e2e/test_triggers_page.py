"""The pipeline page's triggers: each kind added from the form with its picker, the webhook's
secret URL shown once with a copy button, deleted (real Chromium)."""

from __future__ import annotations

import io

import pytest

from pipelines.models import PipelineTrigger
from pipelines.services.triggers import secret_hash
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _upload(api, name: str) -> None:
    data = io.BytesIO(b"x,target\n0,0\n1,1\n2,0\n")
    data.name = f"{name}.csv"
    response = api.post("/api/datasets/", {"file": data, "name": name}, format="multipart")
    assert response.status_code == 201, response.content


def _pipeline(api, name: str) -> dict:
    response = api.post("/api/pipelines/", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_triggers_of_each_kind_are_added_and_deleted_on_the_pipeline_page(login, owner, owner_api, live_server):
    _upload(owner_api, "sales")
    upstream = _pipeline(owner_api, "prepare data")
    pipeline = _pipeline(owner_api, "retrain on new data")
    page = login(owner)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/pipelines/{pipeline['id']}/runs/")
    form = page.locator("#trigger-form")

    assert form.locator("select[name=pipeline] option").all_inner_texts() == [f"prepare data (#{upstream['id']})"]
    form.locator("select[name=kind]").select_option("dataset")
    form.locator("select[name=dataset]").select_option("sales")
    form.get_by_role("button", name="Add trigger").click()
    page.get_by_text("On a new version of dataset 'sales'").wait_for()

    form.locator("select[name=kind]").select_option("pipeline")
    assert form.locator("select[name=dataset]").is_hidden()
    form.get_by_role("button", name="Add trigger").click()
    page.get_by_text("On a successful run of pipeline 'prepare data'").wait_for()

    form.locator("select[name=kind]").select_option("webhook")
    form.get_by_role("button", name="Add trigger").click()
    url_field = page.locator("#webhook-url")
    url_field.wait_for()
    url = url_field.input_value()
    assert url.startswith(f"{live_server.url}/api/hooks/")
    webhook = PipelineTrigger.objects.get(pipeline_id=pipeline["id"], kind="webhook")
    assert webhook.secret_hash == secret_hash(url.rstrip("/").rsplit("/", 1)[1])
    assert page.locator("#trigger-form").is_hidden()  # until the secret is copied
    page.get_by_role("button", name="Copy", exact=True).click()
    page.get_by_role("button", name="Copied", exact=True).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == url
    screenshot(page, "pipeline_triggers_webhook_secret")

    page.get_by_role("button", name="I have copied it").click()
    page.get_by_text("On a POST to its webhook URL").wait_for()
    assert url.rsplit("/api/hooks/", 1)[1].rstrip("/") not in page.content()  # shown once only
    assert sorted(PipelineTrigger.objects.filter(pipeline_id=pipeline["id"]).values_list("kind", flat=True)) == [
        "dataset", "pipeline", "webhook"]
    screenshot(page, "pipeline_triggers")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".auto-item", has_text="webhook URL").get_by_role("button", name="Delete").click()
    page.get_by_text("On a POST to its webhook URL").wait_for(state="detached")
    assert not PipelineTrigger.objects.filter(pipeline_id=pipeline["id"], kind="webhook").exists()
    assert page.errors == []


def test_a_refused_trigger_shows_the_servers_message(login, owner, owner_api, live_server):
    _upload(owner_api, "sales")
    pipeline = _pipeline(owner_api, "p")
    owner_api.post(f"/api/pipelines/{pipeline['id']}/triggers/", {"kind": "dataset", "dataset": "sales"},
                   format="json")
    page = login(owner)
    page.goto(f"{live_server.url}/pipelines/{pipeline['id']}/runs/")

    page.locator("#trigger-form select[name=dataset]").select_option("sales")
    page.locator("#trigger-form").get_by_role("button", name="Add trigger").click()

    page.locator("#automation-error").get_by_text("already has that dataset trigger").wait_for()
    assert PipelineTrigger.objects.filter(pipeline_id=pipeline["id"]).count() == 1


def test_a_viewer_sees_triggers_without_the_form(login, make_user, owner, owner_api, live_server):
    from pipelines.models import Membership, Role, Workspace

    viewer = make_user("viewer")
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=viewer, role=Role.VIEWER)
    pipeline = _pipeline(owner_api, "p")
    owner_api.post(f"/api/pipelines/{pipeline['id']}/triggers/", {"kind": "webhook"}, format="json")
    page = login(viewer)
    page.goto(f"{live_server.url}/pipelines/{pipeline['id']}/runs/")

    page.get_by_text("On a POST to its webhook URL").wait_for()
    assert page.locator("#trigger-form").count() == 0
    assert page.get_by_role("button", name="Delete").count() == 0
