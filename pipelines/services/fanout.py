"""Fanned-out steps: one task per trial on any free worker, then one gather.

A step whose block has a ``fanout`` (model.tune) is claimed like any step;
instead of running the block it enqueues ``count(plan)`` trial tasks and stays
"running". Each trial writes a StepTrial row under a lock on the step row and
counts the rows of its attempt: the trial that writes the last one — exactly
one, because the count happens under the lock — enqueues the gather, which
ranks, refits, stores the outputs and advances the run like any step.

The plan is recomputed from the step's inputs and params in every task (it is
deterministic), so nothing but trial results is stored between tasks. While
trials run, the step's heartbeat is a lease pushed forward by every trial, so
the sweeper does not mistake a long queue of trials for a dead worker.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..blocks import catalogue
from ..blocks.base import Block, BlockError
from ..execution.executor import StepExecutor
from ..models import StepRun, StepStatus, StepTrial
from . import dispatch
from .advance import step_input_refs
from .artifacts import artifact_store, worker_name
from .training import training_backend

logger = logging.getLogger(__name__)


def _lease() -> Any:
    return timezone.now() + timedelta(seconds=settings.STEP_REQUEUE_AFTER)


@lru_cache(maxsize=16)
def _load(sha256: str, kind: str) -> Any:
    """Inputs are immutable artifacts: each worker process loads one once for all its trials."""
    return artifact_store().load(sha256, kind)


def _inputs(input_refs: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {port: _load(ref["sha256"], ref["kind"]) for port, ref in input_refs.items()}


@lru_cache(maxsize=8)
def _plan(step_id: int, attempt: int) -> Any:
    """The step's plan, prepared once per worker process and attempt.

    A step's params and input artifacts never change once it is queued, so
    (step, attempt) identifies the plan.
    """
    step = StepRun.objects.get(pk=step_id)
    block = catalogue().get(step.block_key)
    return block.fanout.prepare(_inputs(step_input_refs(step)), step.params)


def fanout_start(*, step: StepRun, block: Block, input_refs: dict) -> str | None:
    """Plan the trials and enqueue them. Returns an error message if planning failed."""
    try:
        plan = block.fanout.prepare(_inputs(input_refs), step.params)
    except BlockError as exc:
        return exc.message
    total = block.fanout.count(plan)
    attempt = step.attempts
    StepRun.objects.filter(pk=step.pk, status=StepStatus.RUNNING).update(
        summary={"fanout": {"total": total, "done": 0, "attempt": attempt}},
        logs=f"{total} trials sent to the workers",
        heartbeat_at=_lease(),
    )

    transaction.on_commit(lambda: dispatch.enqueue_trials(step.pk, attempt, total, queue=step.queue))
    return None


def fanout_trial(*, step_id: int, attempt: int, index: int) -> None:
    """Run one trial; the last one of the attempt enqueues the gather. Safe to run twice."""
    step = StepRun.objects.filter(pk=step_id).first()
    if step is None or step.status != StepStatus.RUNNING or step.attempts != attempt:
        logger.info("trial %s/%s of step %s is stale; skipping", attempt, index, step_id)
        return
    if StepTrial.objects.filter(step_id=step_id, attempt=attempt, index=index).exists():
        return
    block = catalogue().get(step.block_key)
    refs = step_input_refs(step)
    plan = _plan(step_id, attempt)
    with training_backend():
        result = block.fanout.trial(_inputs(refs), step.params, plan, index)
    total = block.fanout.count(plan)
    with transaction.atomic():
        locked = StepRun.objects.select_for_update().filter(pk=step_id).first()
        if locked is None or locked.status != StepStatus.RUNNING or locked.attempts != attempt:
            return
        _, created = StepTrial.objects.get_or_create(
            step_id=step_id, attempt=attempt, index=index,
            defaults={"result": result, "worker": worker_name()},
        )
        done = StepTrial.objects.filter(step_id=step_id, attempt=attempt).count()
        locked.summary = {"fanout": {"total": total, "done": done, "attempt": attempt}}
        locked.heartbeat_at = _lease()
        locked.save(update_fields=["summary", "heartbeat_at"])
        if created and done == total:
            transaction.on_commit(lambda: dispatch.enqueue_gather(step_id, attempt, queue=locked.queue))


def fanout_gather(*, step_id: int, attempt: int) -> None:
    """Rank the trials, refit the best, store the outputs and finish the step."""
    from .steps import step_finish

    step = StepRun.objects.filter(pk=step_id).first()
    if step is None or step.status != StepStatus.RUNNING or step.attempts != attempt:
        return
    block = catalogue().get(step.block_key)
    refs = step_input_refs(step)
    plan = _plan(step_id, attempt)
    results = dict(
        StepTrial.objects.filter(step_id=step_id, attempt=attempt).values_list("index", "result")
    )
    workers = sorted(
        set(StepTrial.objects.filter(step_id=step_id, attempt=attempt).values_list("worker", flat=True))
    )

    def finish(ctx, inputs, params):
        ctx.log(f"{len(results)} trials ran on {len(workers)} worker(s): {', '.join(workers)}")
        return block.fanout.finish(inputs, params, plan, results)

    gather_block = dataclasses.replace(block, run=finish)
    outcome = StepExecutor(artifact_store(), parallelism=training_backend).execute(gather_block, step.params, refs)
    if outcome.ok:
        outcome.summary["fanout"] = {"total": len(results), "done": len(results), "workers": workers}
    step_finish(step=step, outcome=outcome)
