"""Thin Celery tasks: they take ids and call services.

Every task is declared with ``engine_task``, which fixes the conventions in
one place: an explicit name, late acknowledgement (a task whose worker dies is
redelivered, and every task here is safe to run twice), and retries with
backoff only for transient database errors — bad data fails in the service and
is recorded, never retried. Only ``services.dispatch`` sends these tasks.
"""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_prerun
from django.db import InterfaceError, OperationalError, close_old_connections

from .services import advance, fanout, prediction_logs, steps

TRANSIENT = (OperationalError, InterfaceError, ConnectionError)


def engine_task(name: str, **options):
    """``shared_task`` with the engine's name, delivery and retry policy."""
    return shared_task(
        name=name,
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=TRANSIENT,
        retry_backoff=1,
        retry_backoff_max=30,
        max_retries=5,
        **options,
    )


@task_prerun.connect
def _fresh_database_connection(**kwargs) -> None:
    """Like a request: drop obsolete connections and health-check the rest before use,
    so a connection PostgreSQL dropped is replaced instead of failing the task."""
    close_old_connections()


@engine_task("pipelines.step_execute")
def step_execute(step_id: int) -> None:
    steps.step_execute(step_id=step_id, timeout_errors=(SoftTimeLimitExceeded,))


@engine_task("pipelines.step_trial")
def step_trial(step_id: int, attempt: int, index: int) -> None:
    fanout.fanout_trial(step_id=step_id, attempt=attempt, index=index)


@engine_task("pipelines.step_gather")
def step_gather(step_id: int, attempt: int) -> None:
    fanout.fanout_gather(step_id=step_id, attempt=attempt)


@engine_task("pipelines.sweep_stale_steps")
def sweep_stale_steps() -> int:
    return steps.steps_sweep_stale()


@engine_task("pipelines.prediction_logs_drain")
def prediction_logs_drain() -> int:
    """Write the prediction logs waiting in the Redis stream (beat sends this every
    ``PREDICTION_LOG_DRAIN_SECONDS``)."""
    return prediction_logs.prediction_logs_drain()


@engine_task("pipelines.run_advance")
def run_advance(run_id: int) -> None:
    """Look at every step of a run once (messages sent by earlier versions use this name)."""
    from .models import Run

    run = Run.objects.filter(pk=run_id).first()
    if run is not None and not run.is_final:
        advance.run_reconcile(run=run)
