"""Gates, promotion (with an admin override) and rollout on the registry pages, in real Chromium.

Set SCREENSHOT_DIR to keep full-page screenshots of the model and deployment pages.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.models import ModelVersion, PromotionEvent
from pipelines.serving.logbuffer import prediction_log_writer_stop, prediction_logs_flush
from pipelines.serving.state import caches_clear
from tests.integration.delivery_models import trained_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(login, owner):
    yield login(owner)
    prediction_log_writer_stop()
    caches_clear()


def _shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _version(owner_api, owner, accuracy: float) -> dict:
    run = trained_run(owner, ["a", "b"])
    version = owner_api.post("/api/models/", {"name": "churn", "run": run.pk, "node": "train"}, format="json").json()
    # What an evaluate step of the run would have recorded (these runs are made directly).
    ModelVersion.objects.filter(pk=version["id"]).update(
        metrics={"evaluate": {"accuracy": accuracy, "headline": {"name": "accuracy", "value": accuracy}}}
    )
    return version


def test_gates_are_edited_promotion_is_blocked_then_overridden_and_the_timeline_shows_it(
    page, live_server, owner, owner_api
):
    first = _version(owner_api, owner, 0.91)
    second = _version(owner_api, owner, 0.72)

    page.goto(f"{live_server.url}/models/{first['id']}/")
    page.get_by_text("Promotion gates").wait_for()
    page.click("#gate-add")
    row = page.locator("#gate-rows tr[data-gate]").first
    row.locator("[data-param=metric]").select_option("accuracy")
    row.locator("[data-param=value]").fill("0.8")
    _shot(page, "delivery_gate_editor")
    page.click("#gate-save")
    page.wait_for_function("!document.querySelector('#gate-save') || document.querySelector('#gate-save').hidden")
    page.get_by_text("Metric floor").wait_for()
    assert owner_api.get("/api/registered-models/churn/gates/").json()["checks"] == [
        {"kind": "metric_min", "blocking": True, "metric": "accuracy", "value": 0.8}
    ]

    page.fill("#promote-reason", "first production model")
    page.click("[data-testid=promote]")
    page.locator("[data-testid=alias]").first.wait_for()
    assert "champion" in page.locator("[data-testid=alias]").first.text_content()
    assert "promoted" in page.locator("[data-testid=gate-evaluation]").first.text_content()

    page.goto(f"{live_server.url}/models/{second['id']}/")
    page.fill("#promote-alias", "champion")
    page.click("[data-testid=promote]")
    page.locator("[data-testid=promote-error]").wait_for()
    assert "metric_min" in page.locator("#promote-result").text_content()
    assert "0.72" in page.locator("#promote-result").text_content()
    assert PromotionEvent.objects.count() == 1

    page.fill("#promote-alias", "champion")
    page.check("#promote-override")
    page.fill("#promote-reason", "accepting lower accuracy for the new data")
    page.click("[data-testid=promote]")
    page.get_by_text("accepting lower accuracy for the new data").wait_for()
    timeline = page.locator("[data-testid=timeline]").text_content()
    assert "override" in timeline and "v1 → v2" in timeline
    assert "overridden" in page.locator("[data-testid=gate-evaluation]").first.text_content()

    # A deployment following champion, with a canary to challenger, shows its traffic.
    owner_api.post("/api/registered-models/churn/versions/1/promote/", {"alias": "challenger"}, format="json")
    owner_api.post("/api/deployments/", {"name": "churn-live", "model": "churn", "alias": "champion"}, format="json")
    owner_api.put("/api/deployments/churn-live/traffic/", {"split": {"champion": 90, "challenger": 10}}, format="json")
    for i in range(60):
        response = owner_api.post("/api/deployments/churn-live/predict", {"instances": [{"a": 1.0, "b": 2.0}]},
                                  format="json", HTTP_X_REQUEST_ID=f"req-{i}")
        assert response.status_code == 200, response.content
    prediction_logs_flush()
    page.goto(f"{live_server.url}/models/{second['id']}/")
    _shot(page, "delivery_model")
    page.goto(f"{live_server.url}/deployments/churn-live/")
    split = page.locator("[data-testid=traffic-split]").text_content()
    assert "champion v2 · 90%" in split and "challenger v1 · 10%" in split
    assert page.locator("[data-testid=followed-alias]").text_content() == "champion"
    # Next to each side's error rate and p95, the p-value of the test the automatic rollback
    # applies against the followed alias (none for the followed alias itself).
    assert page.locator("[data-testid=p-latency]").all_text_contents()[0] == "—"
    assert 0 <= float(page.locator("[data-testid=p-latency]").all_text_contents()[1]) <= 1
    assert 0 <= float(page.locator("[data-testid=p-errors]").all_text_contents()[1]) <= 1
    # The two sides of the canary are compared in a chart (error rate, p95 latency).
    page.locator("#rollout [data-vega-chart] svg, #rollout [data-vega-chart] canvas").first.wait_for()
    _shot(page, "delivery_deployment")

    page.goto(f"{live_server.url}/models/")
    assert sorted(page.locator("[data-testid=version-alias]").all_text_contents()) == ["challenger", "champion"]
    page.goto(f"{live_server.url}/deployments/churn-live/")

    # Switch to shadow from the page.
    page.select_option("#traffic-form select[name=mode]", "shadow")
    page.click("#traffic-form button")
    page.get_by_text("every request is mirrored to").wait_for()
    assert owner_api.get("/api/deployments/churn-live/traffic/").json()["shadow"] == "challenger"
    assert not page.errors, page.errors
