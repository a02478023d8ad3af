"""The monitoring pages in real Chromium: a week of traffic that drifts, with feedback.

Set SCREENSHOT_DIR to keep full-page screenshots of both pages.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.models import Deployment, PredictionLog
from pipelines.services.monitoring import monitoring_window_compute, window_floor
from tests.integration.monitoring_factories import (
    deploy_monitored,
    log_traffic,
    traffic,
    upload_dataset,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _shot(page, name: str) -> None:
    """A full-page screenshot of ``page`` (or of one element: a Playwright locator)."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        options = {"full_page": True} if hasattr(page, "goto") else {}
        page.screenshot(path=str(Path(folder) / f"{name}.png"), **options)


@pytest.fixture
def drifting_week(owner, owner_api) -> Deployment:
    """Seven closed days: three in distribution, then ``a`` and ``b`` move and an unknown city
    appears; every day gets (correct, then wrong) feedback; a redeploy four days ago."""
    deployment = deploy_monitored(owner_api, owner)
    redeploy = owner_api.post("/api/deployments/", {"name": "watched",
                                                    "model_version": deployment.current_revision.model_version_id},
                              format="json")
    assert redeploy.status_code == 200
    today = window_floor(datetime.now(UTC), "day")
    deployment.revisions.filter(number=2).update(created_at=today - timedelta(days=4, hours=-6))
    for day in range(7, 0, -1):
        start = today - timedelta(days=day)
        drifting = day <= 4
        frame = traffic(400, seed=day, shift=("a", "b") if drifting else (),
                        cities=["paris", "rome", "oslo", "atlantis"] if day <= 2 else None)
        ids = log_traffic(deployment, frame, at=start + timedelta(hours=2))
        truth = ((frame["a"] + frame["b"]) > 0).astype(int).tolist()
        if drifting:
            truth = [1 - t if i % 3 == 0 else t for i, t in enumerate(truth)]  # a third wrong
        for i, request_id in enumerate(ids):
            PredictionLog.objects.filter(request_id=request_id).update(label=truth[i * 10:(i + 1) * 10],
                                                                       labeled_at=start + timedelta(hours=5))
        monitoring_window_compute(deployment=deployment, start=start, end=start + timedelta(days=1))
    return deployment


def test_the_monitoring_page_draws_every_signal_and_the_overview_lists_the_health(login, owner, live_server,
                                                                                  drifting_week):
    page = login(owner)
    page.goto(f"{live_server.url}/deployments/watched/monitoring/")

    assert page.locator("[data-testid=monitoring-status]").get_attribute("data-status") == "alert"
    # Six timelines, the heatmap and the distribution: every figure drawn by Vega (as SVG).
    page.wait_for_function("document.querySelectorAll('figure.vega-chart.is-drawn').length === 9")
    assert page.locator("[data-testid=timelines] figure svg").count() == 7
    rate = page.locator("[data-testid=timelines] figure", has_text="Request rate")
    assert rate.locator("svg .mark-line path").count() >= 1
    _shot(rate, "request_rate_chart")
    heatmap_cells = page.locator("[data-testid=heatmap] svg .mark-rect.role-mark path")
    assert heatmap_cells.count() == 3 * 7  # three features × seven windows
    issues = page.locator("[data-testid=quality-issues]").text_content()
    assert "atlantis" in issues
    assert "below it" in page.locator("[data-testid=performance-summary]").text_content()
    assert page.locator("[data-testid=window-table] tbody tr").count() == 7

    # Choosing another feature redraws the overlay with its bins.
    select = page.locator("[data-testid=distribution] select")
    assert select.input_value() == "a"
    select.select_option("city")
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=distribution] svg text')].some(t => t.textContent === 'paris')"
    )
    _shot(page, "deployment_monitoring")

    page.goto(f"{live_server.url}/monitoring/")
    row = page.locator("[data-testid=monitoring-overview] tbody tr", has_text="watched")
    assert row.locator("[data-status]").get_attribute("data-status") == "alert"
    assert page.locator("nav.mainnav a.active").text_content() == "Monitoring"
    _shot(page, "monitoring_overview")
    assert page.errors == []


def test_choosing_a_dataset_then_a_window_as_the_reference_from_the_page(login, owner, owner_api, live_server,
                                                                          drifting_week):
    """The control shows the current reference, saves a dataset and then a production window through
    the API, and a window computed afterwards says which reference it was compared with."""
    upload_dataset(owner_api, traffic(2000, seed=60, shift=("a", "b")), "shifted")
    page = login(owner)
    page.goto(f"{live_server.url}/deployments/watched/monitoring/")
    current = page.locator("[data-testid=reference-current]")
    assert current.get_attribute("data-kind") == "training"
    assert page.locator("[data-testid=window-reference]").first.text_content() == "vs training data"

    page.locator("#reference-form select[name=dataset]").select_option(label="shifted v1 · 2000 rows")
    assert page.locator("#reference-form input[value=dataset]").is_checked()
    page.get_by_role("button", name="Use this reference").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=reference-current]').dataset.kind === 'dataset'"
    )
    assert current.text_content() == "dataset shifted v1"

    # A window computed now is compared with the dataset and says so in the table.
    page.locator("#compute-now").click()
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=window-reference]')].some(c => c.textContent.includes('shifted'))"
    )
    _shot(page, "monitoring_reference_dataset")

    # A start after the end is refused with the API's message, and nothing changes.
    today = window_floor(datetime.now(UTC), "day")
    page.locator("#reference-form input[name=start]").fill((today - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#reference-form input[name=end]").fill((today - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    assert page.locator("#reference-form input[value=window]").is_checked()
    page.get_by_role("button", name="Use this reference").click()
    page.wait_for_selector("#page-error:not([hidden])")
    assert "end must be after start" in page.locator("#page-error").text_content()
    assert current.get_attribute("data-kind") == "dataset"

    # Three in-distribution days as the production window.
    page.locator("#reference-form input[name=start]").fill((today - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#reference-form input[name=end]").fill((today - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Use this reference").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=reference-current]').dataset.kind === 'window'"
    )
    assert current.text_content().startswith("production ")
    assert owner_api.get("/api/deployments/watched/monitoring/reference/").json()["start"] == (
        (today - timedelta(days=7)).isoformat().replace("+00:00", "Z"))
    _shot(page, "monitoring_reference_window")
    _shot(page.locator("[data-testid=reference]"), "reference_control")
    assert page.errors == []
