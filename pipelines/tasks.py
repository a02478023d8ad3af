"""Thin Celery tasks: they take ids and call services."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_prerun
from django.db import close_old_connections

from .services import fanout, runs, steps


@task_prerun.connect
def _fresh_database_connection(**kwargs) -> None:
    """Like a request: drop obsolete connections and health-check the rest before use,
    so a connection PostgreSQL dropped is replaced instead of failing the task."""
    close_old_connections()


@shared_task(name="pipelines.step_execute", acks_late=True, reject_on_worker_lost=True)
def step_execute(step_id: int) -> None:
    steps.step_execute(step_id=step_id, timeout_errors=(SoftTimeLimitExceeded,))


@shared_task(name="pipelines.sweep_stale_steps")
def sweep_stale_steps() -> int:
    return steps.steps_sweep_stale()


@shared_task(name="pipelines.step_trial", acks_late=True, reject_on_worker_lost=True)
def step_trial(step_id: int, attempt: int, index: int) -> None:
    fanout.fanout_trial(step_id=step_id, attempt=attempt, index=index)


@shared_task(name="pipelines.step_gather", acks_late=True, reject_on_worker_lost=True)
def step_gather(step_id: int, attempt: int) -> None:
    fanout.fanout_gather(step_id=step_id, attempt=attempt)


@shared_task(name="pipelines.run_advance", acks_late=True)
def run_advance(run_id: int) -> None:
    runs.run_advance(run_id=run_id)
