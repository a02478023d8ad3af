"""Responsible AI reports in a real browser: the loans demo runs on a real worker; the run page
and the editor's Outputs tab draw the bias, fairness and explanation reports with their charts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from pipelines.demo import loans_graph
from pipelines.templatetags.studio import metric
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


def _step(run: dict, node: str) -> dict:
    return next(s for s in run["steps"] if s["node_id"] == node)


def _drawn_sizes(scope) -> list[tuple[float, float]]:
    """Width and height of every chart drawn in ``scope`` (Vega's SVG or canvas)."""
    charts = scope.locator(".vega-embed svg.marks, .vega-embed canvas")
    return [(box["width"], box["height"]) for box in (c.bounding_box() for c in charts.all())]


def _metric_rows(card) -> dict[str, tuple[str, str]]:
    """The card's metrics table: name → (value as shown, source node)."""
    rows = card.get_by_test_id("card-metrics").locator("tr:has(td)")
    cells = [[c.strip() for c in row.locator("td").all_inner_texts()] for row in rows.all()]
    return {name: (value, source) for name, value, source in cells}


def test_the_loans_model_cards_show_their_lineage_and_the_run_page_draws_every_report(
    login, live_server, user, finished_run, tmp_path
):
    api = APIClient()
    api.force_authenticate(user)
    load = _step(finished_run, "load")
    page = login(user)

    cards = (("train", "evaluate", "fairness", "fails"), ("train_fair", "evaluate_fair", "fairness_fair", "meets"))
    for node, evaluate, fairness, verdict in cards:
        version = api.post("/api/models/", {"name": "loans", "run": finished_run["id"], "node": node}, format="json")
        assert version.status_code == 201, version.content
        page.goto(f"{live_server.url}/models/{version.json()['id']}/card/")
        card = page.get_by_test_id("model-card")

        # Training data and metrics come from the run's steps, not from anything typed in.
        data = card.get_by_test_id("card-data")
        expect(data).to_contain_text("loans")
        expect(data).to_contain_text(load["outputs"]["table"]["sha256"])
        scored = _step(finished_run, evaluate)["summary"]["metrics"]
        assert _metric_rows(card) == {
            name: (metric(value), evaluate)
            for name, value in scored.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        # The fairness numbers are the rai.fairness step's report, as its summary holds them.
        report = _step(finished_run, fairness)["summary"]["outputs"]["report"]
        shown = card.get_by_test_id("card-fairness")
        expect(shown).to_contain_text(fairness)
        for name in ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference"):
            expect(shown.get_by_test_id(f"card-{name}")).to_contain_text(metric(report[name]))
        expect(shown).to_contain_text(f"{verdict} the four-fifths rule")
        expect(card.locator(".mc-metric", has_text="selection_rate")).to_have_count(1)
        assert card.get_by_test_id("card-by-group").locator(".mc-bar").count() > 0
        count = report["by_group"]["0"]["count"]
        expect(card.get_by_test_id("card-by-group").first).to_contain_text(f"{count:,}")
        assert f"{count:,}.0" not in card.inner_text()
        if node == "train":  # the explanations are of the plain model
            expect(card.get_by_test_id("card-features").first).to_contain_text("credit_score")
        page.screenshot(path=str(tmp_path / f"card-{node}.png"), full_page=True)

    page.goto(f"{live_server.url}/runs/{finished_run['id']}/")
    for node, charts in (("data_bias", 2), ("fairness", 3), ("fairness_fair", 3), ("importance", 1), ("shap", 2)):
        step = page.locator(f"#step-{node}")
        if step.get_attribute("open") is None:
            step.locator("summary").first.click()
        expect(drawn(step)).to_have_count(charts, timeout=20_000)
        sizes = _drawn_sizes(step)
        assert len(sizes) == charts and all(w > 100 and h > 100 for w, h in sizes), (node, sizes)
        step.screenshot(path=str(tmp_path / f"run-{node}.png"))
    page.screenshot(path=str(tmp_path / "run-page.png"), full_page=True)
    assert page.errors == []
