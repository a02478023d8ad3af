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
    page.fill("#manage-dialog input[name=new_name]", "Churn model")
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
    page.fill("#manage-dialog input[name=new_name]", "revenue")
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


def test_a_viewer_sees_no_rename_duplicate_or_delete_on_the_pages_or_in_the_editor(login, owner, make_user, owner_api, live_server):
    dataset = _upload(owner_api, rows=3)
    pipeline = owner_api.post("/api/pipelines/", {"name": "Churn"}, format="json").json()
    viewer = make_user("viewer")
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=viewer, role=Role.VIEWER)
    page = login(viewer)

    page.goto(f"{live_server.url}/pipelines/")
    page.get_by_role("link", name="Churn", exact=True).wait_for()
    pipelines_buttons = page.locator("[data-manage]").count()
    page.goto(f"{live_server.url}/datasets/{dataset['id']}/")
    page.locator("h1", has_text="sales").wait_for()
    dataset_buttons = page.locator("[data-manage]").count()
    page.goto(f"{live_server.url}/pipelines/{pipeline['id']}/edit/")
    page.get_by_test_id("editor").wait_for()
    editor_menus = page.get_by_test_id("pipeline-menu").count()

    assert (pipelines_buttons, dataset_buttons, editor_menus) == (0, 0, 0)
    assert page.locator(".ed-name", has_text="Churn").count() == 1
    assert page.errors == []


def test_the_editor_pins_a_dataset_version_picks_a_connection_and_renames_duplicates_deletes(
    login, owner, owner_api, live_server
):
    from playwright.sync_api import expect

    from pipelines.models import Connection
    from pipelines.services.connections import connection_create

    _upload(owner_api, rows=4)
    _upload(owner_api, rows=6)
    workspace = Workspace.objects.get(personal_owner=owner)
    connection_create(
        workspace=workspace, user=owner, name="warehouse", host="127.0.0.1", port=5432,
        database="db", db_user="reader", password="", test=False,
    )
    graph = (
        GraphBuilder()
        .node("load", "dataset.upload", at=(0, 0), dataset="sales")
        .node("sql", "dataset.sql", at=(0, 200), query="select 1")
        .build()
    )
    pipeline = owner_api.post("/api/pipelines/", {"name": "Churn", "graph": graph}, format="json").json()
    owner_api.post("/api/pipelines/", {"name": "Other"}, format="json")
    page = login(owner)
    page.goto(f"{live_server.url}/pipelines/{pipeline['id']}/edit/")
    expect(page.get_by_test_id("editor")).to_be_visible()

    # One entry per dataset name; the version is "latest" or a pinned number.
    page.get_by_test_id("node-load").locator(".ed-node-title").click()
    dataset_select = page.locator("#param-load-dataset")
    expect(dataset_select).to_have_value("sales")
    assert dataset_select.locator("option").all_text_contents() == ["Choose an uploaded dataset…", "sales · 2 versions"]
    expect(page.locator("#param-load-version")).to_have_value("latest")
    assert "Latest (now v2)" in page.locator("#param-load-version").text_content()
    page.locator("#param-load-version").select_option("1")
    screenshot(page, "manage_editor_dataset_version")

    page.get_by_test_id("node-sql").locator(".ed-node-title").click()
    page.locator("#param-sql-connection").select_option("warehouse")
    screenshot(page, "manage_editor_connection")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    nodes = {n["id"]: n["params"] for n in Pipeline.objects.get(pk=pipeline["id"]).graph["nodes"]}
    assert nodes["load"] == {"dataset": "sales", "version": 1}
    assert nodes["sql"]["connection"] == "warehouse" and Connection.objects.count() == 1

    # Rename: the name changes and later saves still go through (the editor follows the new version).
    page.get_by_test_id("pipeline-menu").click()
    page.get_by_role("menuitem", name="Rename…").click()
    page.get_by_test_id("manage-name").fill("Other")
    page.get_by_test_id("manage-confirm").click()
    expect(page.get_by_test_id("manage-error")).to_contain_text("a pipeline named 'Other' already exists")
    page.get_by_test_id("manage-name").fill("Churn v2 data")
    page.get_by_test_id("manage-confirm").click()
    expect(page.get_by_test_id("pipeline-menu")).to_contain_text("Churn v2 data")
    page.get_by_test_id("node-load").locator(".ed-node-title").click()
    page.locator("#param-load-version").select_option("latest")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    saved = Pipeline.objects.get(pk=pipeline["id"])
    assert saved.name == "Churn v2 data" and saved.graph["nodes"][0]["params"] == {"dataset": "sales"}

    # Duplicate opens the copy; deleting it goes back to the list.
    page.get_by_test_id("pipeline-menu").click()
    page.get_by_role("menuitem", name="Duplicate…").click()
    page.get_by_test_id("manage-confirm").click()
    copy = None
    page.wait_for_url(lambda url: url.endswith("/edit/") and f"/{pipeline['id']}/" not in url)
    copy = Pipeline.objects.get(name="Churn v2 data (copy)")
    assert page.url.endswith(f"/pipelines/{copy.pk}/edit/") and copy.graph == saved.graph
    expect(page.get_by_test_id("pipeline-menu")).to_contain_text("Churn v2 data (copy)")

    page.get_by_test_id("pipeline-menu").click()
    page.get_by_role("menuitem", name="Delete…").click()
    expect(page.get_by_test_id("manage-dialog")).to_contain_text("cannot be undone")
    page.get_by_test_id("manage-confirm").click()
    page.wait_for_url(f"{live_server.url}/pipelines/")
    assert not Pipeline.objects.filter(pk=copy.pk).exists()
    assert Pipeline.objects.filter(pk=pipeline["id"]).exists()
    assert page.errors == []


def test_a_connection_is_saved_from_the_datasets_page_after_one_test_and_a_failing_one_is_explained(
    login, owner, live_server
):
    from django.conf import settings

    from pipelines.models import Connection

    db = settings.DATABASES["default"]
    page = login(owner)
    page.goto(f"{live_server.url}/datasets/")
    form = page.locator("#connection-form")

    def fill(name: str, port: str) -> None:
        form.locator("input[name=connection_name]").fill(name)
        form.locator("input[name=connection_host]").fill(db["HOST"] or "127.0.0.1")
        form.locator("input[name=connection_port]").fill(port)
        form.locator("input[name=connection_database]").fill(db["NAME"])
        form.locator("input[name=connection_user]").fill(db["USER"])
        form.locator("input[name=connection_password]").fill(db["PASSWORD"] or "")

    fill("nowhere", "1")
    form.locator("button[type=submit]").click()
    refusal = form.locator(".conn-error")
    refusal.wait_for()
    assert "could not connect" in refusal.text_content()
    assert not Connection.objects.exists()

    fill("warehouse", str(db["PORT"] or 5432))
    form.locator("button[type=submit]").click()
    page.locator("#connections .conn-table", has_text="warehouse").wait_for()
    saved = Connection.objects.get()
    assert (saved.name, saved.database) == ("warehouse", db["NAME"])
    assert page.errors == []
