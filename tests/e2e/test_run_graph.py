"""The run detail page's graph in a real browser: the editor's nodes, read-only.

Runs and steps are made with the ORM (no worker needed); the page mounts
frontend/src/runGraph.tsx, which needs the built bundle.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pipelines.access import workspace_for
from pipelines.demo import breast_cancer_graph
from pipelines.models import PipelineVersion, Role, Run, RunStatus, StepRun
from pipelines.services.pipelines import pipeline_create

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

METRICS = {
    "task": "classification",
    "accuracy": 0.958,
    "f1": 0.966,
    "headline": {"name": "accuracy", "value": 0.958},
}


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ada", password="pass-12345")


@pytest.fixture
def version(user) -> PipelineVersion:
    pipeline = pipeline_create(
        workspace=workspace_for(user, None, Role.EDITOR),
        user=user,
        name="Breast cancer",
        graph=breast_cancer_graph(),
    )
    return PipelineVersion.objects.create(
        pipeline=pipeline, number=1, graph=breast_cancer_graph(), graph_hash="h1"
    )


def make_run(version: PipelineVersion, status: str, steps: dict[str, dict]) -> Run:
    now = timezone.now()
    run = Run.objects.create(
        workspace=version.pipeline.workspace,
        pipeline=version.pipeline,
        pipeline_version=version,
        status=status,
        created_by=version.pipeline.created_by,
        started_at=now - timedelta(seconds=4),
        finished_at=now,
        steps_total=len(steps),
        steps_done=len(steps),
        headline=METRICS["headline"] if status == RunStatus.SUCCEEDED else None,
    )
    blocks = {n["id"]: n["block"] for n in version.graph["nodes"]}
    for position, (node_id, fields) in enumerate(steps.items()):
        StepRun.objects.create(
            run=run,
            node_id=node_id,
            block_key=blocks[node_id],
            block_version="1",
            position=position,
            **fields,
        )
    return run


def open_run(login, live_server, user, run):
    page = login(user)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    expect(page.locator("#run-graph-root .react-flow__node")).to_have_count(6)
    return page


def test_the_run_graph_shows_the_editor_nodes_with_their_step_status(
    login, live_server, user, version
):
    earlier = make_run(version, RunStatus.SUCCEEDED, {"load": {"status": "succeeded"}})
    ok = {"status": "succeeded"}
    run = make_run(
        version,
        RunStatus.SUCCEEDED,
        {
            "load": {"status": "succeeded", "cache_hit": True, "cached_from": earlier.steps.get()},
            "split": ok,
            "scale": ok,
            "logreg": ok,
            "train": ok,
            "evaluate": {"status": "succeeded", "summary": {"metrics": METRICS}},
        },
    )
    page = open_run(login, live_server, user, run)
    graph = page.get_by_test_id("run-graph")
    load = graph.get_by_test_id("node-load")
    evaluate = graph.get_by_test_id("node-evaluate")
    expect(load).to_have_class(re.compile(r"\bed-node--cached\b"))
    expect(load.get_by_test_id("node-status")).to_have_text("cached")
    expect(evaluate).to_have_class(re.compile(r"\bed-node--succeeded\b"))
    expect(evaluate.get_by_test_id("node-headline")).to_have_text("accuracy 0.958")
    expect(graph.locator(".ed-node .react-flow__handle[data-port='table']").first).to_be_visible()
    # The server's picture is only the no-JavaScript fallback now.
    expect(page.locator("svg.graph")).to_have_count(0)
    screenshot(page, "run-graph")
    assert page.errors == []


def test_the_run_graph_is_read_only(login, live_server, user, version):
    steps = ("load", "split", "scale", "logreg", "train", "evaluate")
    run = make_run(version, RunStatus.SUCCEEDED, {n: {"status": "succeeded"} for n in steps})
    page = open_run(login, live_server, user, run)
    scale = page.locator(".react-flow__node[data-id='scale']")
    logreg = page.locator(".react-flow__node[data-id='logreg']")

    def gap() -> tuple[float, float]:
        a, b = scale.bounding_box(), logreg.bounding_box()
        return round(b["x"] - a["x"]), round(b["y"] - a["y"])

    before = gap()
    box = scale.bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 120, steps=6)
    page.mouse.up()
    assert gap() == before  # dragging a node pans the view at most; nodes keep their places
    expect(page.locator("#run-graph-root .react-flow__handle.connectable")).to_have_count(0)
    page.get_by_test_id("node-scale").locator(".ed-node-title").dblclick()
    expect(page.locator("#run-graph-root .ed-node-rename")).to_have_count(0)
    assert page.errors == []


def test_clicking_a_node_opens_its_step_section(login, live_server, user, version):
    run = make_run(
        version,
        RunStatus.FAILED,
        {
            "load": {"status": "succeeded"},
            "split": {"status": "succeeded"},
            "scale": {"status": "succeeded"},
            "logreg": {"status": "succeeded"},
            "train": {"status": "failed", "error": "there is no target column 'y'"},
            "evaluate": {"status": "skipped"},
        },
    )
    page = open_run(login, live_server, user, run)
    train = page.get_by_test_id("node-train")
    expect(train).to_have_class(re.compile(r"\bed-node--failed\b"))
    expect(train).to_contain_text("there is no target column 'y'")
    expect(page.get_by_test_id("node-evaluate")).to_have_attribute("data-status", "skipped")
    screenshot(page, "run-graph-failed")

    section = page.locator("details#step-split")
    expect(section).not_to_have_attribute("open", "")
    page.get_by_test_id("node-split").locator(".ed-node-title").click()
    expect(section).to_have_attribute("open", "")
    expect(section).to_be_in_viewport()
    assert page.url.endswith("#step-split")
    page.wait_for_timeout(600)  # let the smooth scroll finish before the picture
    screenshot(page, "run-graph-step-opened")
    expect(page.locator(".react-flow__node[data-id='split']")).to_have_class(
        re.compile(r"\bselected\b")
    )
    assert page.errors == []


def test_the_server_picture_is_shown_when_the_catalogue_cannot_be_loaded(
    login, live_server, user, version
):
    run = make_run(version, RunStatus.SUCCEEDED, {"load": {"status": "succeeded"}})
    page = login(user)
    page.route("**/api/blocks/", lambda route: route.fulfill(status=503, body="{}"))
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    expect(page.locator("svg.graph .g-node--succeeded")).to_have_count(1)
    expect(page.locator("#run-graph-root")).to_have_count(0)
    expect(page.locator(".react-flow__node")).to_have_count(0)
