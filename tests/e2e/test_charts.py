"""Charts in a real browser: a pipeline with model.evaluate and viz.histogram runs on a real
worker, and vega-embed draws its charts on the run page and in the editor's Outputs tab."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from pipelines.graph.builder import GraphBuilder
from tests.conftest import wait_for_run

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def charted_graph() -> dict:
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", at=(0, 0), name="breast_cancer")
        .node("histogram", "viz.histogram", at=(0, 160), column="mean radius", bins=25)
        .node("profile", "viz.profile", at=(0, 480))
        .node("correlation", "viz.correlation", at=(260, 480))
        .node("scatter", "viz.scatter", at=(520, 480), x="mean radius", y="mean texture", color="target")
        .node("split", "data.split", at=(260, 0), test_size=0.25, stratify_column="target", seed=0)
        .node("scale", "sklearn.preprocessing.StandardScaler", at=(0, 320))
        .node("logreg", "sklearn.linear_model.LogisticRegression", at=(260, 320), max_iter=1000)
        .node("train", "model.train", at=(520, 160), target="target")
        .node("evaluate", "model.evaluate", at=(780, 160), target="target")
        .edge("load.table", "split.table")
        .edge("load.table", "histogram.table")
        .edge("load.table", "profile.table")
        .edge("load.table", "correlation.table")
        .edge("load.table", "scatter.table")
        .edge("scale.estimator", "logreg.estimator")
        .edge("logreg.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ada", password="pass-12345")


@pytest.fixture
def finished_run(user, celery_worker_process) -> dict:
    api = APIClient()
    api.force_authenticate(user)
    created = api.post("/api/pipelines/", {"name": "Charts", "graph": charted_graph()}, format="json")
    assert created.status_code == 201, created.content
    started = api.post(f"/api/pipelines/{created.json()['id']}/runs/", {}, format="json")
    run = wait_for_run(api, started.json()["id"])
    assert run["status"] == "succeeded", run["error"]
    return run


def drawn(scope):
    """Vega-embed's output inside a chart container: the SVG it renders."""
    return scope.locator(".vega-embed svg.marks")


def test_charts_are_drawn_on_the_run_page_and_in_the_editor(login, live_server, user, finished_run):
    page = login(user)
    page.goto(f"{live_server.url}/runs/{finished_run['id']}/")

    evaluate = page.locator("#step-evaluate")
    expect(evaluate).to_have_attribute("open", "")  # it has a headline
    # ROC, precision-recall, calibration and the coefficients, each a real SVG with axes.
    expect(drawn(evaluate)).to_have_count(4, timeout=20_000)
    expect(evaluate.locator(".vega-chart.is-drawn")).to_have_count(4)
    expect(evaluate.locator(".vega-chart svg").first).to_contain_text("false positive rate")
    evaluate.locator(".vega-chart").first.scroll_into_view_if_needed()
    screenshot(page, "charts-run-evaluate")

    histogram = page.locator("#step-histogram")
    histogram.locator("summary").click()
    expect(drawn(histogram)).to_have_count(1)
    expect(histogram.locator(".vega-chart svg")).to_contain_text("mean radius")
    bars = histogram.locator(".vega-chart svg .mark-rect path")
    expect(bars).to_have_count(25)
    histogram.scroll_into_view_if_needed()
    screenshot(page, "charts-run-histogram")

    # A profile is one small chart per column (the first 24 of 31); every table chart draws.
    for node in ("profile", "correlation", "scatter"):
        step = page.locator(f"#step-{node}")
        step.locator("summary").click()
        expect(drawn(step)).to_have_count(1)
        step.scroll_into_view_if_needed()
        screenshot(page, f"charts-run-{node}")
    expect(page.locator("#step-profile .vega-chart svg")).to_contain_text("worst radius")
    assert page.errors == []

    # The model page shows the evaluation's metrics, charts included, through the same renderer.
    api = APIClient()
    api.force_authenticate(user)
    registered = api.post("/api/models/", {"name": "charts", "run": finished_run["id"], "node": "train"}, format="json")
    assert registered.status_code == 201, registered.content
    page.goto(f"{live_server.url}/models/{registered.json()['id']}/")
    expect(drawn(page)).to_have_count(4, timeout=20_000)
    page.locator(".vega-chart").first.scroll_into_view_if_needed()
    screenshot(page, "charts-model-page")
    assert page.errors == []

    editor = login(user)
    editor.goto(f"{live_server.url}/pipelines/{finished_run['pipeline']}/edit/")
    expect(editor.get_by_test_id("node-histogram")).to_have_attribute("data-status", "succeeded")
    editor.get_by_test_id("node-histogram").locator(".ed-node-title").click()
    editor.get_by_test_id("outputs-tab").click()
    chart = editor.get_by_test_id("output-chart").get_by_test_id("vega-chart")
    expect(chart).to_have_attribute("data-state", "drawn", timeout=20_000)
    expect(drawn(chart)).to_have_count(1)
    screenshot(editor, "charts-editor-histogram")

    editor.get_by_test_id("node-evaluate").locator(".ed-node-title").click()
    editor.get_by_test_id("outputs-tab").click()
    expect(drawn(editor.get_by_test_id("metrics-charts"))).to_have_count(4, timeout=20_000)
    editor.get_by_test_id("metrics-charts").scroll_into_view_if_needed()
    screenshot(editor, "charts-editor-evaluate")
    assert editor.errors == []
