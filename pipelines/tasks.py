"""Thin Celery tasks: they take ids and call services."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from .services import fanout, runs, steps


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
