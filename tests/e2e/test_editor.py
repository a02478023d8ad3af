"""The pipeline editor in a real browser: build, connect, save, run, conflicts, undo."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from pipelines.access import workspace_for
from pipelines.demo import breast_cancer_graph
from pipelines.graph.builder import GraphBuilder
from pipelines.models import Membership, Pipeline, Role, Workspace
from pipelines.services.pipelines import pipeline_create, pipeline_update

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ada", password="pass-12345")


def make_pipeline(user, graph=None, name="Test pipeline") -> Pipeline:
    return pipeline_create(
        workspace=workspace_for(user, None, Role.EDITOR), user=user, name=name, graph=graph
    )


def open_editor(login, live_server, user, pipeline):
    page = login(user)
    page.goto(f"{live_server.url}/pipelines/{pipeline.pk}/edit/")
    expect(page.get_by_test_id("editor")).to_be_visible()
    return page


def handle(page, node_id: str, port: str, kind: str):
    """kind: 'source' (an output) or 'target' (an input)."""
    return page.locator(
        f'.react-flow__handle.{kind}[data-nodeid="{node_id}"][data-handleid="{port}"]'
    )


def drag_between(page, start, end) -> None:
    a = start.bounding_box()
    b = end.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move((a["x"] + b["x"]) / 2, (a["y"] + b["y"]) / 2 + 5, steps=6)
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=6)
    page.mouse.up()


def connect(page, source: str, source_port: str, target: str, target_port: str) -> None:
    before = page.locator(".react-flow__edge").count()
    drag_between(
        page,
        handle(page, source, source_port, "source"),
        handle(page, target, target_port, "target"),
    )
    expect(page.locator(".react-flow__edge")).to_have_count(before + 1)


def add_block(page, query: str, key: str, x: int, y: int) -> None:
    search = page.get_by_test_id("palette-search")
    search.fill(query)
    item = page.get_by_test_id(f"palette-{key}")
    item.drag_to(page.get_by_test_id("canvas"), target_position={"x": x, "y": y})
    search.fill("")


def select_node(page, node_id: str) -> None:
    page.get_by_test_id(f"node-{node_id}").locator(".ed-node-title").click()
    expect(page.get_by_test_id("params-form")).to_be_visible()


def test_build_and_run_the_breast_cancer_pipeline_from_an_empty_canvas(
    celery_worker_process, login, live_server, user
):
    pipeline = make_pipeline(user)
    page = open_editor(login, live_server, user, pipeline)
    expect(page.get_by_test_id("empty-state")).to_contain_text(
        "Drag a dataset from the left to start"
    )
    screenshot(page, "editor-empty")

    add_block(page, "built-in", "dataset.builtin", 110, 90)
    add_block(page, "split", "data.split", 350, 90)
    add_block(page, "standard scaler", "sklearn.preprocessing.StandardScaler", 590, 90)
    add_block(page, "logistic", "sklearn.linear_model.LogisticRegression", 110, 330)
    add_block(page, "train model", "model.train", 350, 330)
    add_block(page, "evaluate", "model.evaluate", 590, 330)
    expect(page.locator(".react-flow__node")).to_have_count(6)
    expect(page.get_by_test_id("empty-state")).to_have_count(0)

    connect(page, "builtin", "table", "split", "table")
    connect(page, "standardscaler", "estimator", "logisticregression", "estimator")
    connect(page, "logisticregression", "estimator", "train", "estimator")
    connect(page, "split", "train", "train", "table")
    connect(page, "train", "model", "evaluate", "model")
    connect(page, "split", "test", "evaluate", "table")

    select_node(page, "builtin")
    page.locator("#param-builtin-name").select_option("breast_cancer")
    select_node(page, "logisticregression")
    page.locator("#param-logisticregression-max_iter").fill("1000")
    select_node(page, "train")
    expect(
        page.locator("#param-train-target")
    ).to_be_visible()  # column param, free text before a run

    page.get_by_role("button", name="Auto-layout").click()
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("save-state")).to_have_text(re.compile(r"Saved · draft rev 2"))

    pipeline.refresh_from_db()
    nodes = {n["id"]: n for n in pipeline.graph["nodes"]}
    assert nodes["builtin"]["params"] == {"name": "breast_cancer"}
    assert nodes["logisticregression"]["params"] == {"max_iter": 1000}
    assert len(pipeline.graph["edges"]) == 6

    page.get_by_test_id("run-button").click()
    expect(page.get_by_test_id("run-bar")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )
    for node_id in nodes:
        expect(page.get_by_test_id(f"node-{node_id}")).to_have_attribute(
            "data-status", re.compile("succeeded|cached")
        )
    expect(page.get_by_test_id("node-evaluate").get_by_test_id("node-headline")).to_contain_text(
        re.compile(r"accuracy 0\.9\d\d")
    )
    expect(page.get_by_test_id("run-progress")).to_contain_text("6/6 steps")

    select_node(page, "evaluate")
    page.get_by_test_id("outputs-tab").click()
    expect(page.get_by_test_id("metrics")).to_contain_text("accuracy")
    expect(page.get_by_test_id("confusion-matrix")).to_be_visible()
    screenshot(page, "editor-after-run")
    assert page.errors == []


def test_an_incompatible_connection_is_refused_with_the_reason(login, live_server, user):
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", at=(0, 0))
        .node("logreg", "sklearn.linear_model.LogisticRegression", at=(320, 0))
        .build()
    )
    pipeline = make_pipeline(user, graph)
    page = open_editor(login, live_server, user, pipeline)

    drag_between(
        page, handle(page, "load", "table", "source"), handle(page, "logreg", "estimator", "target")
    )

    expect(page.get_by_test_id("toast")).to_contain_text(
        "table output cannot connect to estimator input"
    )
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    assert page.errors == []


def test_a_stale_save_shows_the_conflict_and_never_overwrites(login, live_server, user):
    pipeline = make_pipeline(user, breast_cancer_graph())
    page = open_editor(login, live_server, user, pipeline)

    # Someone else saves meanwhile (version 1 -> 2).
    theirs = breast_cancer_graph()
    theirs["nodes"][0]["params"]["name"] = "wine"
    pipeline_update(pipeline=pipeline, user=user, expected_version=1, graph=theirs)

    select_node(page, "logreg")
    page.locator("#param-logreg-C").fill("0.5")
    expect(page.get_by_test_id("save-state")).to_have_text("Unsaved changes")
    page.get_by_test_id("save-button").click()

    banner = page.get_by_test_id("conflict-banner")
    expect(banner).to_contain_text("Someone else saved this pipeline (draft rev 2)")
    expect(banner).to_contain_text("Reload to get their changes")
    pipeline.refresh_from_db()
    assert pipeline.version == 2
    assert pipeline.graph == theirs  # their save survived

    banner.get_by_role("button", name="Reload").click()
    expect(banner).to_have_count(0)
    expect(page.get_by_test_id("save-state")).to_have_text(re.compile(r"Saved · draft rev 2"))
    select_node(page, "load")
    expect(page.locator("#param-load-name")).to_have_value("wine")
    assert page.errors == []


def test_undo_restores_a_deleted_node_with_its_connections(login, live_server, user):
    pipeline = make_pipeline(user, breast_cancer_graph())
    page = open_editor(login, live_server, user, pipeline)
    expect(page.locator(".react-flow__edge")).to_have_count(6)

    select_node(page, "split")
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("node-split")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).to_have_count(3)
    expect(page.get_by_test_id("save-state")).to_have_text("Unsaved changes")

    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-split")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(6)
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")

    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_test_id("node-split")).to_have_count(0)
    assert page.errors == []


def test_server_validation_errors_are_shown_on_the_node_and_the_field(login, live_server, user):
    graph = breast_cancer_graph()
    graph["nodes"][3]["params"]["C"] = -1
    pipeline = make_pipeline(user, graph)
    page = open_editor(login, live_server, user, pipeline)

    page.get_by_test_id("run-button").click()
    node = page.get_by_test_id("node-logreg")
    expect(node.get_by_test_id("node-errors")).to_contain_text("C: must be > 0")
    expect(node).to_have_class(re.compile(r"\bhas-errors\b"))  # the red outline
    select_node(page, "logreg")
    expect(page.get_by_test_id("field-C").get_by_test_id("field-error")).to_contain_text(
        "must be > 0"
    )
    assert Pipeline.objects.get(pk=pipeline.pk).runs.count() == 0
    assert page.errors == []


def test_viewers_get_a_read_only_editor(login, live_server, user, django_user_model):
    pipeline = make_pipeline(user, breast_cancer_graph())
    viewer = django_user_model.objects.create_user(username="vera", password="pass-12345")
    Membership.objects.create(user=viewer, workspace=pipeline.workspace, role=Role.VIEWER)
    page = open_editor(login, live_server, viewer, pipeline)
    # The save state and the banner (a block's description in the palette may say "read-only" too).
    expect(page.get_by_text(re.compile(r"^Read-only"))).to_have_count(2)
    expect(page.get_by_test_id("run-button")).to_have_count(0)
    expect(page.get_by_test_id("save-button")).to_have_count(0)
    select_node(page, "split")
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("node-split")).to_be_visible()
    assert page.errors == []


def test_the_editor_page_is_not_found_for_outsiders(user, django_user_model):
    pipeline = make_pipeline(user)
    outsider = django_user_model.objects.create_user(username="olga", password="pass-12345")
    client = Client()
    assert client.get(f"/pipelines/{pipeline.pk}/edit/").status_code == 302  # login first
    client.force_login(outsider)
    assert client.get(f"/pipelines/{pipeline.pk}/edit/").status_code == 404
    client.force_login(user)
    response = client.get(f"/pipelines/{pipeline.pk}/edit/")
    assert response.status_code == 200
    config = re.search(
        r'<script id="editor-config" type="application/json">(.*?)</script>',
        response.content.decode(),
    )
    assert json.loads(config.group(1)) == {"pipeline_id": pipeline.pk, "read_only": False}


def test_new_pipeline_page_creates_from_a_template_or_empty(user):
    client = Client()
    client.force_login(user)
    page = client.get("/pipelines/new/")
    assert page.status_code == 200
    assert "Empty pipeline" in page.content.decode()
    assert "Breast cancer" in page.content.decode()

    response = client.post("/pipelines/new/", {"template": "0", "name": ""})
    created = Pipeline.objects.latest("id")
    assert response.status_code == 302
    assert response["Location"] == f"/pipelines/{created.pk}/edit/"
    assert created.name.startswith("Breast cancer")
    assert len(created.graph["nodes"]) == 6
    assert created.workspace == Workspace.objects.get(personal_owner=user)

    client.post("/pipelines/new/", {"template": "", "name": "Mine"})
    empty = Pipeline.objects.latest("id")
    assert (empty.name, empty.graph) == ("Mine", {"nodes": [], "edges": []})

    assert client.post("/pipelines/new/", {"template": "99"}).status_code == 400
