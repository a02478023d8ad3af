"""Thin Celery tasks: they take ids and call services.

Every task is declared with ``engine_task``, which fixes the conventions in
one place: an explicit name, late acknowledgement (a task whose worker dies is
redelivered, and every task here is safe to run twice), and retries with
backoff only for transient database errors — bad data fails in the service and
is recorded, never retried. Only ``services.dispatch`` sends these tasks.
"""

from __future__ import annotations

import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_postrun, task_prerun
from django.db import InterfaceError, OperationalError, close_old_connections, connections

from .services import (
    advance,
    fanout,
    log_compaction,
    monitoring,
    prediction_logs,
    schedules,
    steps,
    triggers,
)

TRANSIENT = (OperationalError, InterfaceError, ConnectionError)

# The queues of DESIGN.md "Storage and scale" (settings.TASK_QUEUES).
STEPS, TRIALS, MONITOR, CONTROL = "steps", "trials", "monitor", "control"


def engine_task(name: str, *, queue: str, **options):
    """``shared_task`` with the engine's name, queue, delivery and retry policy.

    ``queue`` is required, so no task lands on a queue by accident: ``steps`` and
    ``trials`` hold the long work, ``control`` the short tasks that move runs and
    deployments on (they must never wait behind a training step), ``monitor`` the
    monitoring windows, alert deliveries and shadow records. ``services.dispatch``
    may still send a step to the queue its node names.
    """
    return shared_task(
        name=name,
        queue=queue,
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=TRANSIENT,
        retry_backoff=1,
        retry_backoff_max=30,
        max_retries=5,
        **options,
    )


# A connection that served a task this recently is taken to be alive (see below).
RECENTLY_USED_SECONDS = 5.0
_last_task_ended = float("-inf")


@task_prerun.connect
def _fresh_database_connection(**kwargs) -> None:
    """Like a request: drop obsolete or broken connections and health-check the rest
    before use, so a connection PostgreSQL dropped is replaced instead of failing the task.

    The check is a round trip of its own; it is skipped for a connection that
    ended a task less than ``RECENTLY_USED_SECONDS`` ago. Should that one have
    died meanwhile, the task's first statement fails with a transient error and
    the task is retried (``engine_task``) on a fresh connection.
    """
    close_old_connections()
    if time.monotonic() - _last_task_ended < RECENTLY_USED_SECONDS:
        for conn in connections.all(initialized_only=True):
            if conn.connection is not None:
                conn.health_check_done = True


@task_postrun.connect
def _task_ended(**kwargs) -> None:
    global _last_task_ended
    _last_task_ended = time.monotonic()


@engine_task("pipelines.step_execute", queue=STEPS)
def step_execute(step_id: int) -> None:
    steps.step_execute(step_id=step_id, timeout_errors=(SoftTimeLimitExceeded,))


@engine_task("pipelines.step_trial", queue=TRIALS)
def step_trial(step_id: int, attempt: int, index: int) -> None:
    fanout.fanout_trial(step_id=step_id, attempt=attempt, index=index)


@engine_task("pipelines.step_gather", queue=TRIALS)
def step_gather(step_id: int, attempt: int) -> None:
    fanout.fanout_gather(step_id=step_id, attempt=attempt)


@engine_task("pipelines.sweep_stale_steps", queue=CONTROL)
def sweep_stale_steps() -> int:
    return steps.steps_sweep_stale()


@engine_task("pipelines.prediction_logs_drain", queue=MONITOR)
def prediction_logs_drain() -> int:
    """Write the prediction logs waiting in the Redis stream (beat sends this every
    ``PREDICTION_LOG_DRAIN_SECONDS``)."""
    return prediction_logs.prediction_logs_drain()


@engine_task("pipelines.prediction_hour_compact", queue=MONITOR)
def prediction_hour_compact(deployment_id: int, hour: str) -> int:
    """Merge one deployment-hour of the Parquet copy of the logs into one file (the
    monitoring tick sends it once the hour is over); returns the rows it holds."""
    from datetime import datetime

    result = log_compaction.prediction_hour_compact(deployment_id=deployment_id, hour=datetime.fromisoformat(hour))
    return 0 if result is None else result.rows


@engine_task("pipelines.run_advance", queue=CONTROL)
def run_advance(run_id: int) -> None:
    """Look at every step of a run once (messages sent by earlier versions use this name)."""
    from .models import Run

    run = Run.objects.filter(pk=run_id).first()
    if run is not None and not run.is_final:
        advance.run_reconcile(run=run)


@engine_task("pipelines.alert_delivery_send", bind=True, queue=MONITOR)
def alert_delivery_send(self, delivery_id: int) -> None:
    """One attempt at an alert's email or webhook; transient failures come back with backoff."""
    from django.conf import settings

    from .services.alert_channels import alert_delivery_send as send

    countdown = send(delivery_id=delivery_id)
    if countdown is not None:
        raise self.retry(countdown=countdown, max_retries=settings.ALERT_DELIVERY_MAX_ATTEMPTS)


@engine_task("pipelines.retrain_runs_collect", queue=CONTROL)
def retrain_runs_collect() -> int:
    """Register the candidate models of retrain runs that have succeeded (beat)."""
    from .services.retrain import retrain_runs_collect as collect

    return collect()


@engine_task("pipelines.monitoring_tick", queue=MONITOR)
def monitoring_tick() -> int:
    """Beat: send a task for every monitoring window that is due."""
    return monitoring.monitoring_tick()


@engine_task("pipelines.monitoring_window", queue=MONITOR)
def monitoring_window(deployment_id: int, start: str, end: str) -> None:
    from datetime import datetime

    monitoring.monitoring_window_refresh(
        deployment_id=deployment_id, start=datetime.fromisoformat(start), end=datetime.fromisoformat(end)
    )


@engine_task("pipelines.rollout_check", queue=CONTROL)
def rollout_check() -> int:
    """Automatic rollback of canary splits whose new version does worse (services.rollout)."""
    from .services.rollout import rollout_check_all

    return rollout_check_all()


@engine_task("pipelines.shadow_record", queue=MONITOR)
def shadow_record(payload: dict) -> int:
    """A batch of mirrored requests answered by a shadowed version (services.shadow)."""
    from .services.shadow import shadow_record as record

    return record(payload=payload)


@engine_task("pipelines.automation_tick", queue=CONTROL)
def automation_tick() -> int:
    """Start what is due: schedules, new dataset versions, upstream successes (safe to run twice)."""
    return schedules.schedules_fire_due() + triggers.triggers_fire_due()
