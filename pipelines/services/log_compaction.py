"""Compacting the Parquet copy of prediction logs, one deployment-hour at a time.

The writer (``prediction_logs.prediction_records_write``) marks each hour it writes
a batch for as ``pending`` (``PredictionLogHour``). Once an hour is over and
``PREDICTION_LOG_COMPACT_GRACE_SECONDS`` have passed (late drains: a batch claimed
again after its drainer died), the monitoring tick sends one task per pending hour,
and the task merges the hour's files into one (``serving.compaction``).

Safe to run twice: a task claims its hour with a conditional update (and clears
``pending`` with the claim), so a second task for the same hour is skipped. A batch
written while the compaction runs marks the hour pending again and is merged by
the next one; until then readers read it beside the compacted file. A claim left
by a worker that died expires after ``PREDICTION_LOG_COMPACT_CLAIM_SECONDS`` and
the hour is compacted again.

The rows are bookkeeping, not logs: the tick also deletes those of hours compacted
more than ``COMPACTED_KEPT`` ago with nothing pending (``prediction_hours_prune``),
so the table holds about a week of hours per deployment instead of growing by 24 a
day for ever. (There is no retention of the logs themselves to follow: ``PredictionLog``
rows and the Parquet files are kept.)
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..models import PredictionLogHour
from ..serving import columnar, compaction
from .artifacts import artifact_store

logger = logging.getLogger(__name__)

DUE_PER_TICK = 1000  # hours sent per tick at most (a backlog is worked off over several ticks)
COMPACTED_KEPT = timedelta(days=7)  # a compacted hour's row stays this long (the admin lists it), then goes


def _due(now: datetime) -> Q:
    """Not compacted since its last batch, or claimed by a compaction that never finished."""
    return Q(pending=True, claimed_until__isnull=True) | Q(claimed_until__lt=now)


def prediction_hours_due(*, now: datetime | None = None) -> list[tuple[int, datetime]]:
    """(deployment id, hour) of the hours to compact now, oldest first."""
    now = now or timezone.now()
    finished = now - timedelta(hours=1, seconds=settings.PREDICTION_LOG_COMPACT_GRACE_SECONDS)
    hours = PredictionLogHour.objects.filter(_due(now), hour__lte=finished).order_by("hour", "deployment_id")
    return list(hours.values_list("deployment_id", "hour")[:DUE_PER_TICK])


def prediction_hours_compact_due(*, now: datetime | None = None) -> int:
    """Send one compaction task per due hour (``services.dispatch``); returns how many."""
    from . import dispatch

    due = prediction_hours_due(now=now)
    dispatch.enqueue_log_compactions(due)
    return len(due)


def prediction_hours_prune(*, now: datetime | None = None) -> int:
    """Delete the rows of hours compacted more than ``COMPACTED_KEPT`` ago, neither pending nor
    claimed; returns how many. Nothing is lost: a batch drained for such an hour later writes
    its row again, pending, and it is compacted with the compacted file. One conditional
    DELETE, so a row that a writer marks pending meanwhile is re-checked by PostgreSQL and kept."""
    now = now or timezone.now()
    old = PredictionLogHour.objects.filter(pending=False, claimed_until__isnull=True,
                                           compacted_at__lt=now - COMPACTED_KEPT)
    deleted, _ = old.delete()
    return deleted


def prediction_hour_compact(*, deployment_id: int, hour: datetime) -> compaction.Compaction | None:
    """Claim the hour and merge its files; None when it is not due or another task holds it
    (or the deployment is gone)."""
    now = timezone.now()
    claim = now + timedelta(seconds=settings.PREDICTION_LOG_COMPACT_CLAIM_SECONDS)
    rows = PredictionLogHour.objects.filter(_due(now), deployment_id=deployment_id, hour=hour)
    if not rows.update(pending=False, claimed_until=claim):
        return None
    mine = PredictionLogHour.objects.filter(deployment_id=deployment_id, hour=hour, claimed_until=claim)
    store = artifact_store()
    label = hour.strftime(columnar.HOUR_FORMAT)
    try:
        try:
            result = compaction.hour_compact(store.backend, store.scratch_dir(), deployment_id, label)
        except FileNotFoundError:
            # A compaction whose claim had expired deleted a file under us; it merged it first.
            result = compaction.hour_compact(store.backend, store.scratch_dir(), deployment_id, label)
    except BaseException:
        mine.update(pending=True, claimed_until=None)
        raise
    mine.update(claimed_until=None, compacted_at=timezone.now())
    logger.info("compacted predictions of deployment %s, %s: %s", deployment_id, label, result)
    return result
