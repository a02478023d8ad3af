"""Responsible AI reports in a real browser: the loans demo runs on a real worker; the run page
and the editor's Outputs tab draw the bias, fairness and explanation reports with their charts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from pipelines.demo import loans_graph
from tests.conftest import wait_for_run

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ada", password="pass-12345")


@pytest.fixture
def finished_run(user, celery_worker_process) -> dict:
    api = APIClient()
    api.force_authenticate(user)
    created = api.post("/api/pipelines/", {"name": "Loans", "graph": loans_graph()}, format="json")
    assert created.status_code == 201, created.content
    started = api.post(f"/api/pipelines/{created.json()['id']}/runs/", {}, format="json")
    run = wait_for_run(api, started.json()["id"], timeout=240)
    assert run["status"] == "succeeded", run["error"]
    return run


def drawn(scope):
    return scope.locator(".vega-embed svg.marks")


def test_bias_fairness_and_explanations_are_drawn_on_the_run_page_and_in_the_editor(login, live_server, user, finished_run):
    page = login(user)
    page.goto(f"{live_server.url}/runs/{finished_run['id']}/")

    # label rate by group and the proxies; selection rate, TPR and FPR by group; importances
    for node, charts in (("data_bias", 2), ("fairness", 3), ("fairness_fair", 3), ("importance", 1), ("shap", 2)):
        step = page.locator(f"#step-{node}")
        if step.get_attribute("open") is None:
            step.locator("summary").first.click()
        expect(drawn(step)).to_have_count(charts, timeout=20_000)
        step.locator(".rai-report").scroll_into_view_if_needed()
        screenshot(page, f"rai-run-{node}")
    expect(page.locator("#step-fairness .rai-groups tbody tr")).to_have_count(2)
    expect(page.locator("#step-fairness")).to_contain_text("demographic_parity_ratio")
    expect(page.locator("#step-data_bias .vega-chart svg").first).to_contain_text("label rate")
    assert page.errors == []

    editor = login(user)
    editor.goto(f"{live_server.url}/pipelines/{finished_run['pipeline']}/edit/")
    expect(editor.get_by_test_id("node-fairness")).to_have_attribute("data-status", "succeeded")
    editor.get_by_test_id("node-fairness").locator(".ed-node-title").click()
    editor.get_by_test_id("outputs-tab").click()
    report = editor.get_by_test_id("rai-fairness")
    expect(report.get_by_test_id("rai-by-group").locator("tbody tr")).to_have_count(2)
    expect(drawn(report.get_by_test_id("rai-charts"))).to_have_count(3, timeout=20_000)
    screenshot(editor, "rai-editor-fairness")

    editor.get_by_test_id("node-shap").locator(".ed-node-title").click()
    editor.get_by_test_id("outputs-tab").click()
    explained = editor.get_by_test_id("rai-explanation")
    expect(explained.get_by_test_id("rai-importances")).to_contain_text("credit_score")
    expect(drawn(explained.get_by_test_id("rai-charts"))).to_have_count(2, timeout=20_000)
    screenshot(editor, "rai-editor-shap")
    assert editor.errors == []
