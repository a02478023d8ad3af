"""Computing and storing monitoring windows.

A window compares the rows a deployment predicted in [start, end) with the
reference (``services.monitoring_reference``): by default the training table of
the model version that served them, found through lineage, or the dataset or
production window the deployment chose; sampled to at most
``MONITORING_REFERENCE_ROWS`` rows and loaded once per process. Each stored report
says which reference it was computed with (``report["reference"]``).

Scheduled windows are calendar-aligned (UTC) hours, days or weeks; the beat's
tick computes the last closed one for every deployment with traffic and skips a
window already stored, so running it twice is a no-op. ``POST …/monitoring/run/``
computes one window now and replaces a stored one with the same bounds.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from ..execution.summaries import json_safe
from ..models import Deployment, ModelVersion, MonitoringWindow, PredictionLog, WindowSize
from ..monitoring.window import window_report
from ..selectors import monitoring as reads
from .alerts import alert_rules_evaluate
from .monitoring_reference import no_reference, reference_load

logger = logging.getLogger(__name__)

SIZES = {WindowSize.HOUR: timedelta(hours=1), WindowSize.DAY: timedelta(days=1), WindowSize.WEEK: timedelta(weeks=1)}
LATE_LABEL_DAYS = 30  # how far back the tick looks for windows whose labels arrived later


# --- calendar ------------------------------------------------------------------------


def window_floor(moment: datetime, size: str) -> datetime:
    """The start of the calendar-aligned (UTC) ``size`` window holding ``moment``; weeks start on Monday."""
    moment = moment.astimezone(UTC)
    if size == WindowSize.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if size == WindowSize.DAY else day - timedelta(days=day.weekday())


def window_size_of(start: datetime, end: datetime) -> str:
    """``hour``/``day``/``week`` when [start, end) is exactly such a calendar window, else ``custom``."""
    for size, length in SIZES.items():
        if end - start == length and window_floor(start, size) == start:
            return size
    return WindowSize.CUSTOM


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- windows --------------------------------------------------------------------------


def monitoring_report(*, deployment: Deployment, start: datetime, end: datetime) -> tuple[dict, int | None]:
    """(the report of [start, end), the model version it was compared with); computes, stores nothing."""
    version_id = reads.window_model_version_id(deployment, start, end)
    version = ModelVersion.objects.filter(pk=version_id).first() if version_id else None
    reference, described = reference_load(deployment, version)
    reference = reference or no_reference(version)
    frame = reads.prediction_window_frame(deployment, start, end, settings.MONITORING_WINDOW_ROWS)
    features = frame.drop(columns=[reads.REQUEST_ID, reads.ROW, reads.PREDICTION])
    system = reads.window_system(deployment, start, end)
    report = window_report(
        reference, features, start=iso(start), end=iso(end), n=frame.attrs["n_rows"],
        present=frame.attrs["present"], predictions=frame[reads.PREDICTION].tolist(),
        labels=reads.window_labels(deployment, start, end, settings.MONITORING_WINDOW_ROWS),
        latency_ms=system["latency_ms"], error_rate=system["error_rate"],
        min_rows=settings.MONITORING_MIN_ROWS, min_labels=settings.MONITORING_MIN_LABELS,
    )
    report["requests"] = system["requests"]
    report["requests_by"] = system["requests_by"]  # counts per bucket of bucket_seconds from start
    report["request_rate_per_min"] = round(system["requests"] / max((end - start).total_seconds() / 60, 1e-9), 6)
    report["model_version"] = version_id
    report["reference"] = described
    return json_safe(report), version_id


def monitoring_window_compute(*, deployment: Deployment, start: datetime, end: datetime) -> MonitoringWindow:
    """Compute [start, end) now and store it, replacing a stored window with the same bounds."""
    report, version_id = monitoring_report(deployment=deployment, start=start, end=end)
    fields = {"size": window_size_of(start, end), "status": report["status"], "n": report["n"],
              "model_version_id": version_id, "report": report}
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                window, _ = MonitoringWindow.objects.update_or_create(
                    deployment=deployment, start=start, end=end, defaults=fields
                )
                transaction.on_commit(partial(monitoring_window_stored, deployment, window))
            return window
        except IntegrityError:  # inserted meanwhile by another request or the tick: update it
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def monitoring_window_ensure(*, deployment_id: int, start: datetime, end: datetime) -> MonitoringWindow | None:
    """The scheduled computation: store [start, end) unless it is stored already (then a no-op,
    returning None). Two workers racing on one window store it once."""
    deployment = Deployment.objects.select_related("current_revision").filter(pk=deployment_id).first()
    if deployment is None:
        logger.info("deployment %s is gone; window %s skipped", deployment_id, iso(start))
        return None
    if MonitoringWindow.objects.filter(deployment=deployment, start=start, end=end).exists():
        return None
    report, version_id = monitoring_report(deployment=deployment, start=start, end=end)
    try:
        with transaction.atomic():
            window = MonitoringWindow.objects.create(
                deployment=deployment, start=start, end=end, size=window_size_of(start, end),
                status=report["status"], n=report["n"], model_version_id=version_id, report=report,
            )
            transaction.on_commit(lambda: monitoring_window_stored(deployment, window))
    except IntegrityError:
        return None  # another worker stored it first
    return window


def monitoring_window_stored(deployment: Deployment, window: MonitoringWindow) -> None:
    """Runs after a stored window commits: the deployment's alert rules judge it (and a
    persisting drift or performance alert may start a retrain run)."""
    alert_rules_evaluate(deployment, window.report)


def monitoring_due(*, now: datetime | None = None) -> list[tuple[int, datetime, datetime]]:
    """(deployment id, start, end) of the windows the tick should compute now.

    - the last closed window of each configured size, for every deployment with traffic in it
      and no stored window;
    - stored windows of the last ``LATE_LABEL_DAYS`` days that were computed before they
      closed (a "so far" window asked for from the page), or that got labels after they
      were computed (late feedback counts in the window of the prediction).
    """
    now = now or timezone.now()
    due: list[tuple[int, datetime, datetime]] = []
    for size in [s for s in settings.MONITORING_WINDOW_SIZES if s in SIZES]:
        end = window_floor(now, size)
        start = end - SIZES[size]
        stored = set(
            MonitoringWindow.objects.filter(start=start, end=end).values_list("deployment_id", flat=True)
        )
        due += [(d, start, end) for d in reads.deployments_with_traffic(start, end) if d not in stored]
    stale = MonitoringWindow.objects.filter(end__gte=now - timedelta(days=LATE_LABEL_DAYS), end__lte=now).filter(
        Q(computed_at__lt=F("end")) | Exists(_labelled_since_computed(OuterRef("deployment"), OuterRef("start"),
                                                                      OuterRef("end"), OuterRef("computed_at")))
    )
    due += [(w.deployment_id, w.start, w.end) for w in stale.only("deployment_id", "start", "end")]
    return due


def _labelled_since_computed(deployment, start, end, computed_at):
    return PredictionLog.objects.filter(
        deployment=deployment, created_at__gte=start, created_at__lt=end, labeled_at__gt=computed_at
    )


def monitoring_tick(*, now: datetime | None = None) -> int:
    """Send one task per due window (``services.dispatch``); returns how many were sent.
    Also sends the compaction of the prediction log hours that are over, and forgets hours
    compacted long ago (``services.log_compaction``)."""
    from . import dispatch
    from .log_compaction import prediction_hours_compact_due, prediction_hours_prune

    due = monitoring_due(now=now)
    dispatch.enqueue_monitoring_windows(due)
    prediction_hours_compact_due(now=now)
    prediction_hours_prune(now=now)
    return len(due)


def monitoring_window_refresh(*, deployment_id: int, start: datetime, end: datetime) -> MonitoringWindow | None:
    """The task's body: a new window is stored once; a stored one is recomputed only when it
    was computed before it closed or labels arrived since (so a repeated message changes nothing)."""
    window = MonitoringWindow.objects.filter(deployment_id=deployment_id, start=start, end=end).first()
    if window is None:
        return monitoring_window_ensure(deployment_id=deployment_id, start=start, end=end)
    closed_since = window.computed_at < window.end <= timezone.now()
    if not closed_since and not _labelled_since_computed(deployment_id, start, end, window.computed_at).exists():
        return None
    return monitoring_window_compute(deployment=window.deployment, start=start, end=end)
