"""Hour compaction of the Parquet copy of prediction logs, through the service and on a
real Celery worker (PostgreSQL, Redis): which hours are due, claims, late batches, and
monitoring windows read from the compacted files."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from importlib import import_module

import pandas as pd
import pytest
from django.apps import apps as django_apps
from django.conf import settings

from pipelines.models import PredictionLog, PredictionLogHour
from pipelines.selectors import monitoring as reads
from pipelines.selectors.predictions import prediction_frame
from pipelines.services.artifacts import artifact_store
from pipelines.services.log_compaction import (
    COMPACTED_KEPT,
    prediction_hour_compact,
    prediction_hours_due,
    prediction_hours_prune,
)
from pipelines.services.monitoring import monitoring_tick
from pipelines.serving import columnar
from pipelines.serving.state import caches_clear
from tests.integration.monitoring_factories import deploy_monitored, traffic, write_traffic

DAY = datetime(2026, 11, 2, tzinfo=UTC)
ONE, TWO = DAY + timedelta(hours=1), DAY + timedelta(hours=2)
WINDOW = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}


def _files(deployment, hour: datetime) -> list[str]:
    return artifact_store().backend.list(columnar.hour_prefix(deployment.pk, hour.strftime(columnar.HOUR_FORMAT)))


def _hours(deployment) -> dict[datetime, tuple[bool, bool]]:
    """hour → (pending, compacted)."""
    return {h.hour: (h.pending, h.compacted_at is not None)
            for h in PredictionLogHour.objects.filter(deployment=deployment)}


def run_window(client) -> dict:
    response = client.post("/api/deployments/watched/monitoring/run/", WINDOW, format="json")
    assert response.status_code == 200, response.content
    return response.json()["windows"][0]


@pytest.mark.django_db
@pytest.mark.usefixtures("isolated_store")
class TestThroughTheService:
    @pytest.fixture
    def watched(self, owner, owner_api):
        return deploy_monitored(owner_api, owner)

    def test_written_hours_are_due_once_over_plus_the_grace_period(self, watched):
        write_traffic(watched, traffic(120, seed=1), at=ONE + timedelta(minutes=59, seconds=40), requests_per_batch=4)

        assert _hours(watched) == {ONE: (True, False), TWO: (True, False)}
        grace = timedelta(seconds=settings.PREDICTION_LOG_COMPACT_GRACE_SECONDS)
        assert prediction_hours_due(now=TWO + grace - timedelta(seconds=1)) == []
        assert prediction_hours_due(now=TWO + grace) == [(watched.pk, ONE)]
        assert prediction_hours_due(now=TWO + timedelta(hours=1) + grace) == [(watched.pk, ONE), (watched.pk, TWO)]

    def test_compacting_an_hour_leaves_one_file_with_every_row_and_clears_pending(self, watched):
        write_traffic(watched, traffic(300, seed=2), at=ONE, rows_per_request=3, requests_per_batch=10)
        before = prediction_frame(watched, DAY, DAY + timedelta(days=1))
        assert len(_files(watched, ONE)) == 10

        result = prediction_hour_compact(deployment_id=watched.pk, hour=ONE)

        assert result.rows == 300 and _files(watched, ONE) == [result.key]
        assert _hours(watched) == {ONE: (False, True)}
        assert prediction_hours_due(now=DAY + timedelta(days=1)) == []
        pd.testing.assert_frame_equal(prediction_frame(watched, DAY, DAY + timedelta(days=1)), before)

    def test_a_late_batch_marks_its_compacted_hour_pending_again_and_is_kept(self, watched):
        write_traffic(watched, traffic(100, seed=3), at=ONE, requests_per_batch=2)
        prediction_hour_compact(deployment_id=watched.pk, hour=ONE)

        write_traffic(watched, traffic(40, seed=4), at=ONE + timedelta(minutes=30))  # a drainer that came back late

        assert _hours(watched) == {ONE: (True, True)}
        assert len(prediction_frame(watched, ONE, TWO)) == 140  # read beside the compacted file
        assert prediction_hours_due(now=DAY + timedelta(days=1)) == [(watched.pk, ONE)]
        assert prediction_hour_compact(deployment_id=watched.pk, hour=ONE).rows == 140
        assert len(_files(watched, ONE)) == 1 and len(prediction_frame(watched, ONE, TWO)) == 140

    def test_compacted_hours_are_forgotten_after_a_while_and_a_later_batch_brings_its_hour_back(self, watched):
        # 10 one-row requests in ONE, 50 in TWO
        write_traffic(watched, traffic(60, seed=9), at=ONE + timedelta(minutes=59, seconds=30), rows_per_request=1,
                      requests_per_batch=5)
        prediction_hour_compact(deployment_id=watched.pk, hour=ONE)  # TWO stays pending
        compacted = PredictionLogHour.objects.get(deployment=watched, hour=ONE).compacted_at

        assert prediction_hours_prune(now=compacted + COMPACTED_KEPT) == 0
        assert prediction_hours_prune(now=compacted + COMPACTED_KEPT + timedelta(seconds=1)) == 1
        assert _hours(watched) == {TWO: (True, False)}  # a pending hour is kept, however old

        write_traffic(watched, traffic(10, seed=10), at=ONE + timedelta(minutes=1))  # a drainer that came back late
        assert _hours(watched) == {ONE: (True, False), TWO: (True, False)}
        assert prediction_hour_compact(deployment_id=watched.pk, hour=ONE).rows == 20
        assert len(prediction_frame(watched, ONE, TWO)) == 20

    def test_an_hour_claimed_by_a_compaction_is_skipped_by_another(self, watched):
        write_traffic(watched, traffic(50, seed=5), at=ONE, requests_per_batch=1)
        PredictionLogHour.objects.filter(deployment=watched).update(
            pending=False, claimed_until=datetime.now(UTC) + timedelta(minutes=5))

        assert prediction_hour_compact(deployment_id=watched.pk, hour=ONE) is None
        assert len(_files(watched, ONE)) == 5

    def test_a_claim_left_by_a_worker_that_died_expires_and_the_hour_is_compacted(self, watched):
        write_traffic(watched, traffic(50, seed=5), at=ONE, requests_per_batch=1)
        PredictionLogHour.objects.filter(deployment=watched).update(
            pending=False, claimed_until=datetime.now(UTC) - timedelta(seconds=1))

        assert prediction_hours_due() == [(watched.pk, ONE)]
        assert prediction_hour_compact(deployment_id=watched.pk, hour=ONE).rows == 50
        assert _hours(watched) == {ONE: (False, True)}

    def test_hours_logged_before_the_migration_are_marked_for_compaction(self, watched):
        write_traffic(watched, traffic(120, seed=8), at=ONE + timedelta(minutes=59, seconds=40))
        PredictionLogHour.objects.all().delete()  # as before migration 0017

        import_module("pipelines.migrations.0017_prediction_log_hours").mark_logged_hours(django_apps, None)

        assert _hours(watched) == {ONE: (True, False), TWO: (True, False)}

    def test_a_window_of_compacted_hours_equals_the_window_from_json(self, watched, owner_api, monkeypatch):
        write_traffic(watched, traffic(1500, seed=6, shift=("a",)), at=ONE + timedelta(minutes=50),
                      rows_per_request=5, requests_per_batch=20)
        for hour in (ONE, TWO):
            prediction_hour_compact(deployment_id=watched.pk, hour=hour)
        assert [len(_files(watched, h)) for h in (ONE, TWO)] == [1, 1]

        parquet = reads.prediction_window_frame(watched, DAY, DAY + timedelta(days=1), limit=5000)
        logged = reads._window_from_json(watched, DAY, DAY + timedelta(days=1), limit=5000)
        key = [reads.REQUEST_ID, reads.ROW]
        assert parquet.attrs == logged.attrs
        pd.testing.assert_frame_equal(
            parquet.sort_values(key).reset_index(drop=True)[list(logged.columns)],
            logged.sort_values(key).reset_index(drop=True), check_dtype=False,
        )


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_tick_compacts_finished_hours_on_a_worker_and_windows_read_them(
    owner, owner_api, celery_worker_process, monkeypatch
):
    artifact_store.cache_clear()  # the session's store, which the worker shares
    caches_clear()
    watched = deploy_monitored(owner_api, owner)
    write_traffic(watched, traffic(1200, seed=7, shift=("a", "b")), at=ONE + timedelta(minutes=55),
                  rows_per_request=6, requests_per_batch=10)
    assert sum(len(_files(watched, h)) for h in (ONE, TWO)) >= 20

    # Beat's tick sends one compaction per finished hour to the monitor queue; twice here, so
    # two tasks per hour meet on the worker's two processes (one claims the hour, one skips it).
    monitoring_tick()
    monitoring_tick()
    deadline = time.monotonic() + 60
    while _hours(watched) != {ONE: (False, True), TWO: (False, True)}:
        assert time.monotonic() < deadline, f"not compacted on the worker: {_hours(watched)}"
        time.sleep(0.2)

    assert [len(_files(watched, h)) for h in (ONE, TWO)] == [1, 1]
    assert all(columnar.is_compacted(k) for h in (ONE, TWO) for k in _files(watched, h))
    logged = prediction_frame(watched, DAY, DAY + timedelta(days=1))
    assert len(logged) == 1200 and not logged.duplicated(["request_id", "row"]).any()
    from_parquet = run_window(owner_api)
    monkeypatch.setattr(reads, "_window_from_parquet", lambda *args, **kwargs: None)
    from_json = run_window(owner_api)
    monkeypatch.undo()
    PredictionLog.objects.update(inputs=None, outputs=None)  # only the compacted files can answer now
    again = run_window(owner_api)

    assert from_parquet["n"] == from_json["n"] == again["n"] == 1200
    assert {f["name"] for f in from_parquet["drift"]["features"] if f["drifted"]} == {"a", "b"}
    for part in ("drift", "prediction_drift", "quality"):
        assert from_parquet[part] == from_json[part] == again[part], part

    # A week on, the tick forgets the compacted hours (their files stay).
    PredictionLogHour.objects.filter(deployment=watched).update(
        compacted_at=datetime.now(UTC) - COMPACTED_KEPT - timedelta(minutes=1))
    monitoring_tick()
    assert _hours(watched) == {} and [len(_files(watched, h)) for h in (ONE, TWO)] == [1, 1]
