"""Rename, duplicate and delete pipelines and datasets from the list and detail pages, in real Chromium."""

from __future__ import annotations

import io

import pytest

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Dataset, Membership, Pipeline, Role, Workspace
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _upload(api, rows: int) -> dict:
    data = io.BytesIO(b"x,target\n" + b"".join(f"{i},{i % 2}\n".encode() for i in range(rows)))
    data.name = "sales.csv"
    response = api.post("/api/datasets/", {"file": data, "name": "sales"}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def _menu(page, name: str, action: str) -> None:
    page.get_by_label(f"More actions for {name}", exact=True).click()
    page.locator("details.row-menu[open]").locator(f"[data-manage={action}]").click()


def test_an_editor_renames_duplicates_and_deletes_from_the_pages(login, owner, owner_api, live_server):
    first = _upload(owner_api, rows=4)
    latest = _upload(owner_api, rows=6)
    graph = GraphBuilder().node("load", "dataset.upload", dataset="sales").build()
    pipeline = owner_api.post("/api/pipelines/", {"name": "Churn", "graph": graph}, format="json").json()
    page = login(owner)

    # Pipelines list: rename, duplicate, then delete the copy.
    page.goto(f"{live_server.url}/pipelines/")
    _menu(page, "Churn", "rename")
    page.fill("#manage-dialog input[name=name]", "Churn model")
    screenshot(page, "manage_rename_pipeline")
    page.click("#manage-dialog .manage-confirm")
    page.get_by_role("link", name="Churn model", exact=True).wait_for()
    assert Pipeline.objects.get(pk=pipeline["id"]).name == "Churn model"

    _menu(page, "Churn model", "duplicate")
    page.click("#manage-dialog .manage-confirm")
    page.get_by_role("link", name="Churn model (copy)", exact=True).wait_for()
    copy = Pipeline.objects.get(name="Churn model (copy)")
    assert copy.version == 1 and copy.graph == Pipeline.objects.get(pk=pipeline["id"]).graph

    _menu(page, "Churn model (copy)", "delete")
    assert "cannot be undone" in page.locator("#manage-dialog .manage-note").text_content()
    page.click("#manage-dialog .manage-confirm")
    page.get_by_role("link", name="Churn model (copy)", exact=True).wait_for(state="detached")
    assert not Pipeline.objects.filter(pk=copy.pk).exists()

    # Dataset page: the latest version is loaded by the pipeline, so deleting it is refused by name.
    page.goto(f"{live_server.url}/datasets/{latest['id']}/")
    assert "Churn model" in page.get_by_test_id("dataset-usage").text_content()
    page.click(".head-actions [data-manage=delete]")
    page.click("#manage-dialog .manage-confirm")
    refusal = page.locator("#manage-dialog .manage-error")
    refusal.wait_for()
    assert "'Churn model' (node load)" in refusal.text_content()
    screenshot(page, "manage_delete_refused")
    page.click("#manage-dialog [data-manage-cancel]")
    assert Dataset.objects.filter(pk=latest["id"]).exists()

    page.click(".head-actions [data-manage=rename]")
    page.fill("#manage-dialog input[name=name]", "revenue")
    page.click("#manage-dialog .manage-confirm")
    page.locator("h1", has_text="revenue").wait_for()
    assert sorted(Dataset.objects.values_list("name", flat=True)) == ["revenue", "revenue"]
    assert Pipeline.objects.get(pk=pipeline["id"]).graph["nodes"][0]["params"]["dataset"] == "revenue"

    page.click(".head-actions [data-manage=duplicate]")
    page.click("#manage-dialog .manage-confirm")
    page.locator("h1", has_text="revenue (copy)").wait_for()
    assert Dataset.objects.get(name="revenue (copy)").artifact_id == latest["sha256"]

    # Version 1 is not loaded by anything (the pipeline follows the latest): it goes, from the list.
    page.goto(f"{live_server.url}/datasets/")
    _menu(page, f"revenue v{first['version']}", "delete")
    page.click("#manage-dialog .manage-confirm")
    page.get_by_label(f"More actions for revenue v{first['version']}", exact=True).wait_for(state="detached")
    assert not Dataset.objects.filter(pk=first["id"]).exists()
    screenshot(page, "manage_datasets_after")
    assert page.errors == []


def test_a_viewer_sees_no_rename_duplicate_or_delete(login, owner, make_user, owner_api, live_server):
    dataset = _upload(owner_api, rows=3)
    owner_api.post("/api/pipelines/", {"name": "Churn"}, format="json")
    viewer = make_user("viewer")
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=viewer, role=Role.VIEWER)
    page = login(viewer)

    page.goto(f"{live_server.url}/pipelines/")
    page.get_by_role("link", name="Churn", exact=True).wait_for()
    pipelines_buttons = page.locator("[data-manage]").count()
    page.goto(f"{live_server.url}/datasets/{dataset['id']}/")
    page.locator("h1", has_text="sales").wait_for()
    dataset_buttons = page.locator("[data-manage]").count()

    assert (pipelines_buttons, dataset_buttons) == (0, 0)
    assert page.errors == []
