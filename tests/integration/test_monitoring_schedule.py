"""Scheduled monitoring on a real Celery worker (and beat): the last closed day is computed
once per deployment, a second tick is a no-op, and late labels bring the window back."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.models import MonitoringWindow
from pipelines.services.monitoring import monitoring_due, monitoring_tick, window_floor
from tests.conftest import start_beat, stop_worker
from tests.integration.monitoring_factories import deploy_monitored, log_traffic, traffic

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def yesterday_traffic(owner, owner_api):
    """``watched`` with 300 rows yesterday (UTC) and ``idle`` with none."""
    deployment = deploy_monitored(owner_api, owner)
    deploy_monitored(owner_api, owner, name="idle")
    start = window_floor(datetime.now(UTC), "day") - timedelta(days=1)
    ids = log_traffic(deployment, traffic(300, seed=1), at=start + timedelta(hours=1))
    return deployment, start, ids


def test_the_tick_computes_the_last_closed_day_once_and_late_labels_recompute_it(
    yesterday_traffic, owner_api, celery_worker_process
):
    deployment, start, ids = yesterday_traffic

    assert monitoring_tick() == 1  # only the deployment with traffic
    window = wait_for(lambda: MonitoringWindow.objects.filter(deployment=deployment).first(), what="the window")
    assert (window.start, window.end, window.size, window.n) == (start, start + timedelta(days=1), "day", 300)
    assert window.report["performance"]["n_labels"] == 0

    assert monitoring_due() == []
    assert monitoring_tick() == 0
    time.sleep(1)
    assert MonitoringWindow.objects.count() == 1

    # Ground truth for yesterday's predictions, posted today.
    feedback = [{"request_id": rid, "label": [0] * 10} for rid in ids]
    assert owner_api.post("/api/deployments/watched/feedback", feedback, format="json").status_code == 200
    assert monitoring_tick() == 1
    relabelled = wait_for(
        lambda: MonitoringWindow.objects.filter(pk=window.pk, report__performance__n_labels=300).first(),
        what="the window recomputed with its late labels",
    )
    assert relabelled.report["performance"]["value"] is not None
    assert MonitoringWindow.objects.count() == 1
    assert monitoring_due() == []


def test_beat_runs_the_tick(yesterday_traffic, celery_worker_process, artifact_root, tmp_path):
    deployment, start, _ = yesterday_traffic
    beat = start_beat(tmp_path, artifact_root, env={"MONITORING_TICK_SECONDS": "1"})
    try:
        window = wait_for(lambda: MonitoringWindow.objects.filter(deployment=deployment).first(),
                          what="beat's tick to store the window")
    finally:
        stop_worker(beat)
    assert window.start == start and window.status != "insufficient_data"
    assert not MonitoringWindow.objects.filter(deployment__name="idle").exists()
