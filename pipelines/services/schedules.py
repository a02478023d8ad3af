"""Schedules: a pipeline started on a cron expression (UTC) or every N seconds.

Beat sends ``pipelines.automation_tick`` every ``AUTOMATION_TICK_SECONDS``;
``schedules_fire_due`` starts each schedule whose ``next_run_at`` has passed.
The due time is claimed with a conditional update on ``next_run_at`` in the
same transaction as the run, so two beats, or a tick delivered twice, start
exactly one run per due time, and a crash between the two leaves both undone
(the next tick tries again). Due times missed while nothing ran (beat stopped)
are not caught up one by one: the schedule starts once and moves to its next
time after now.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from cron_descriptor import Options, get_description
from cronsim import CronSim, CronSimError
from django.db import transaction
from django.utils import timezone

from ..access import has_role
from ..errors import ApplicationError
from ..models import Pipeline, Role, Run, Schedule, Trigger

logger = logging.getLogger(__name__)

MIN_EVERY_SECONDS = 5
MAX_EVERY_SECONDS = 366 * 24 * 3600
MAX_CRON = 100


def schedule_check(*, cron: str | None, every_seconds: int | None) -> tuple[str, int | None]:
    """Normalise and check a schedule's timing; raises ApplicationError naming the field."""
    if (cron is None) == (every_seconds is None):
        raise ApplicationError(
            'give either "cron" (e.g. "0 2 * * *") or "every_seconds" (at least 5)', field="cron"
        )
    if cron is not None:
        cron = " ".join(cron.split())
        if not cron or len(cron) > MAX_CRON:
            raise ApplicationError("cron must be a five-field cron expression", field="cron")
        try:
            next(CronSim(cron, timezone.now()))
        except (CronSimError, StopIteration, ValueError) as exc:
            raise ApplicationError(
                f"cron {cron!r} does not parse: {exc or 'no such time'} "
                "(five fields: minute hour day-of-month month day-of-week, in UTC)",
                field="cron",
            ) from exc
        return cron, None
    if every_seconds < MIN_EVERY_SECONDS or every_seconds > MAX_EVERY_SECONDS:
        raise ApplicationError(
            f"every_seconds must be between {MIN_EVERY_SECONDS} and {MAX_EVERY_SECONDS}", field="every_seconds"
        )
    return "", every_seconds


def schedule_describe(schedule: Schedule) -> str:
    """The timing in plain words: "every 5 minutes", "At 02:00, Monday through Friday (UTC)"."""
    if schedule.every_seconds:
        return _describe_interval(schedule.every_seconds)
    options = Options()
    options.use_24hour_time_format = True
    try:
        return f"{get_description(schedule.cron, options)} (UTC)"
    except Exception:  # noqa: BLE001 - a describer gap must not hide the schedule
        return f"cron {schedule.cron} (UTC)"


def _describe_interval(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"every {unit}" if n == 1 else f"every {n} {unit}s"
    return f"every {seconds} seconds"


def schedule_next_after(schedule: Schedule, after: datetime) -> datetime:
    """The first due time strictly after ``after``.

    An interval keeps its phase (created at :03 every 10 s → :13, :23 …).
    """
    if schedule.every_seconds:
        step = timedelta(seconds=schedule.every_seconds)
        anchor = schedule.next_run_at or after
        if anchor > after:
            return anchor
        missed = (after - anchor) // step + 1
        return anchor + missed * step
    # cronsim yields times strictly after its start, at minute resolution.
    return next(CronSim(schedule.cron, after.astimezone(UTC)))


def schedule_create(
    *, pipeline: Pipeline, user, cron: str | None = None, every_seconds: int | None = None, paused: bool = False
) -> Schedule:
    cron, every_seconds = schedule_check(cron=cron, every_seconds=every_seconds)
    schedule = Schedule(
        pipeline=pipeline, cron=cron, every_seconds=every_seconds, paused=paused, created_by=user
    )
    now = timezone.now()
    schedule.next_run_at = now + timedelta(seconds=every_seconds) if every_seconds else schedule_next_after(schedule, now)
    schedule.save(force_insert=True)
    return schedule


def schedule_set_paused(*, schedule: Schedule, paused: bool) -> Schedule:
    """Pause or resume. Resuming moves the next due time past now: nothing missed is replayed."""
    fields = {"paused": paused}
    if not paused and schedule.paused:
        now = timezone.now()
        fields["next_run_at"] = schedule_next_after(schedule, now)
    Schedule.objects.filter(pk=schedule.pk).update(**fields)
    schedule.refresh_from_db()
    return schedule


def schedule_delete(*, schedule: Schedule) -> None:
    schedule.delete()


def schedules_fire_due(*, now: datetime | None = None) -> int:
    """Start every schedule that is due; returns how many runs were started."""
    now = now or timezone.now()
    due = list(
        Schedule.objects.filter(paused=False, next_run_at__lte=now)
        .select_related("pipeline__workspace", "created_by")
        .order_by("next_run_at")[:500]
    )
    started = 0
    for schedule in due:
        try:
            started += _fire(schedule, now)
        except Exception:  # noqa: BLE001 - one broken schedule must not stop the others
            logger.exception("schedule %s could not fire", schedule.pk)
    return started


def _fire(schedule: Schedule, now: datetime) -> int:
    from .runs import run_start  # runs imports the engine; keep this module light to import

    due_at = schedule.next_run_at
    upcoming = schedule_next_after(schedule, now)
    with transaction.atomic():
        claimed = Schedule.objects.filter(pk=schedule.pk, paused=False, next_run_at=due_at).update(
            next_run_at=upcoming, last_run_at=now
        )
        if not claimed:  # another beat, or a duplicate tick, took this due time
            return 0
        error, run = "", None
        user = schedule.created_by
        if user is None or not user.is_active or not has_role(user, schedule.pipeline.workspace_id, Role.EDITOR):
            error = "the schedule's owner is no longer an editor of this workspace; nothing was started"
        else:
            try:
                with transaction.atomic():
                    run = run_start(
                        pipeline=schedule.pipeline,
                        user=user,
                        trigger=Trigger.SCHEDULE,
                        trigger_detail=f"schedule {schedule_describe(schedule)}",
                    )
            except ApplicationError as exc:  # an invalid graph: recorded, retried at the next due time
                error = f"not started: {exc.message}"
        recorded = {"last_error": error, **({"last_run": run} if run is not None else {})}
        Schedule.objects.filter(pk=schedule.pk).update(**recorded)
    return 1 if run is not None else 0


def schedule_run_now(*, schedule: Schedule, user) -> Run:
    """Start the schedule's pipeline now, as ``user``; the schedule's own times do not move."""
    from .runs import run_start

    return run_start(
        pipeline=schedule.pipeline,
        user=user,
        trigger=Trigger.MANUAL,
        trigger_detail=f"run now from schedule {schedule_describe(schedule)}",
    )
