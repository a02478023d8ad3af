"""Deploy from the model page and predict from the "try it" form, in real Chromium.

Set SCREENSHOT_DIR to keep full-page screenshots of the three registry pages.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.demo import DEMO_PIPELINES
from pipelines.serving.logbuffer import prediction_log_writer_stop
from pipelines.serving.state import caches_clear
from tests.conftest import wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(login, owner):
    """A logged-in page from the shared browser (tests/e2e/conftest.py)."""
    yield login(owner)
    prediction_log_writer_stop()
    caches_clear()


def _shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_deploy_from_the_model_page_then_predict_with_the_try_it_form(page, live_server, owner_api, celery_worker_process):
    pipeline = owner_api.post("/api/pipelines/", {"name": "bc", "graph": DEMO_PIPELINES[0]["graph"]()}, format="json").json()
    run = wait_for_run(owner_api, owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"])
    version = owner_api.post("/api/models/", {"name": "breast-cancer", "run": run["id"], "node": "train"}, format="json").json()

    page.goto(f"{live_server.url}/models/{version['id']}/")
    page.get_by_text("Model card").wait_for()
    _shot(page, "model_version")
    page.fill("#deploy-name", "bc-live")
    page.click("[data-testid=deploy]")
    page.wait_for_url(f"{live_server.url}/deployments/bc-live/")

    page.click("[data-testid=try-predict]")
    page.locator("#try-result pre").wait_for()
    page.wait_for_function("document.querySelector('#try-result pre').textContent.includes('predictions')")
    result = page.locator("#try-result pre").text_content()
    assert '"model_version": 1' in result and '"probabilities"' in result

    page.fill("#key-form input[name=name]", "checkout")
    page.click("#key-form button")
    page.locator("#new-key-value").wait_for()
    plain_key = page.locator("#new-key-value").text_content()
    assert plain_key.startswith("mlsk_")
    # The new key is listed at once, without a reload.
    new_row = page.locator("#key-table tbody tr").first
    assert new_row.is_visible() and "checkout" in new_row.text_content()
    assert new_row.locator("td").first.text_content().rstrip("…") in plain_key

    for _ in range(2):  # three predictions in all, from one server process
        page.click("[data-testid=try-predict]")
        page.wait_for_function("document.querySelector('#try-status').textContent.includes('HTTP 200')")
        page.evaluate("document.querySelector('#try-status').textContent = ''")
    prediction_log_writer_stop()
    page.reload()
    assert page.locator("[data-testid=stat-requests]").text_content().strip() == "3"
    # Request ids are shown whole: three requests, three different ids on screen.
    shown = [cell.strip() for cell in page.locator("[data-testid=request-id]").all_text_contents()]
    assert len(shown) == 3 and len(set(shown)) == 3, shown
    _shot(page, "deployment")

    page.goto(f"{live_server.url}/models/")
    _shot(page, "models")
    assert page.get_by_text("bc-live").count() >= 1
