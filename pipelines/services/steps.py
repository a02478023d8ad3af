"""Executing one step on a worker, and sweeping steps whose worker died."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F
from django.utils import timezone

from ..blocks import catalogue
from ..execution.executor import StepExecutor, StepOutcome
from ..models import Run, StepRun, StepStatus
from ..models.run import RUN_FINAL
from .artifacts import artifact_store, artifacts_record, worker_name
from .fanout import fanout_start
from .runs import _enqueue, run_advance, step_input_refs

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class _Heartbeat(threading.Thread):
    """Touch ``heartbeat_at`` while a step runs so the sweeper knows the worker lives."""

    def __init__(self, step_id: int, every: float):
        super().__init__(daemon=True, name=f"heartbeat-{step_id}")
        self.step_id = step_id
        self.every = every
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                StepRun.objects.filter(pk=self.step_id, status=StepStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except Exception:  # noqa: BLE001 - a missed beat is not worth crashing for
            logger.exception("heartbeat for step %s failed", self.step_id)
        finally:
            connection.close()


def step_execute(*, step_id: int, timeout_errors: tuple[type[BaseException], ...] = ()) -> None:
    """Claim step ``step_id`` and run it. Safe to call twice: only one call claims it."""
    close_old_connections()
    now = timezone.now()
    claimed = StepRun.objects.filter(pk=step_id, status=StepStatus.QUEUED).update(
        status=StepStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        worker=worker_name(),
    )
    if not claimed:
        logger.info("step %s is not queued (duplicate delivery or cancelled); skipping", step_id)
        return
    step = StepRun.objects.select_related("run").get(pk=step_id)
    Run.objects.filter(pk=step.run_id, status="queued").update(status="running", started_at=now)
    block = catalogue().get(step.block_key)
    input_refs = step_input_refs(step)

    if block is None:
        error = f"block {step.block_key!r} is not installed on worker {socket.gethostname()}"
        step_finish(step=step, outcome=StepOutcome(ok=False, error=error))
        return
    if block.fanout is not None:
        error = fanout_start(step=step, block=block, input_refs=input_refs)
        if error:
            step_finish(step=step, outcome=StepOutcome(ok=False, error=error))
        return

    heartbeat = _Heartbeat(step_id, settings.STEP_HEARTBEAT_SECONDS)
    heartbeat.start()
    try:
        outcome = StepExecutor(artifact_store()).execute(
            block,
            step.params,
            input_refs,
            timeout_errors=timeout_errors,
            timeout_seconds=step.timeout_seconds or settings.STEP_DEFAULT_TIMEOUT,
        )
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
    step_finish(step=step, outcome=outcome)


def step_finish(*, step: StepRun, outcome: StepOutcome) -> None:
    """Record what a running step produced and move its run forward."""
    if outcome.ok:
        artifacts_record(list(outcome.outputs.values()))
        fields = dict(
            status=StepStatus.SUCCEEDED,
            outputs={port: a.as_ref() for port, a in outcome.outputs.items()},
            summary={**outcome.summary, "seconds": round(outcome.seconds, 4)},
            logs=outcome.logs,
            warnings=outcome.warnings,
        )
    elif not outcome.permanent and step.attempts < MAX_ATTEMPTS:
        # A transient error (lost file system or connection): queue it again.
        task_id = f"step-{step.pk}-{step.attempts + 1}"
        if StepRun.objects.filter(pk=step.pk, status=StepStatus.RUNNING).update(
            status=StepStatus.QUEUED, logs=outcome.logs, error_detail=outcome.error_detail,
            task_id=task_id, queued_at=timezone.now(),
        ):
            step.task_id = task_id
            _enqueue([step], countdown=2 ** step.attempts)
        return
    else:
        fields = dict(
            status=StepStatus.FAILED,
            error=outcome.error,
            error_detail=outcome.error_detail,
            logs=outcome.logs,
            warnings=outcome.warnings,
        )
    finished = timezone.now()
    # Conditional: a step cancelled meanwhile stays cancelled.
    StepRun.objects.filter(pk=step.pk, status=StepStatus.RUNNING).update(
        finished_at=finished, heartbeat_at=finished, **fields
    )
    run_advance(run_id=step.run_id)


def steps_sweep_stale() -> int:
    """Requeue or fail steps whose worker stopped beating; finish runs left hanging.

    Returns how many steps were touched. Run by Celery beat every 30 s.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.STEP_HEARTBEAT_TIMEOUT)
    touched = 0
    for step in StepRun.objects.filter(status=StepStatus.RUNNING, heartbeat_at__lt=cutoff).exclude(
        run__status__in=RUN_FINAL
    ):
        if step.attempts < MAX_ATTEMPTS:
            new_task = f"step-{step.pk}-{step.attempts + 1}"
            if StepRun.objects.filter(pk=step.pk, status=StepStatus.RUNNING, heartbeat_at__lt=cutoff).update(
                status=StepStatus.QUEUED, task_id=new_task, queued_at=timezone.now()
            ):
                step.task_id = new_task
                logger.warning("step %s lost its worker; requeued", step.pk)
                _enqueue([step])
                touched += 1
        elif StepRun.objects.filter(pk=step.pk, status=StepStatus.RUNNING, heartbeat_at__lt=cutoff).update(
            status=StepStatus.FAILED,
            finished_at=timezone.now(),
            error=f"worker lost: the worker running this step stopped responding ({step.attempts} attempts)",
        ):
            run_advance(run_id=step.run_id)
            touched += 1
    # Queued steps whose message may have been lost (a broker restarted without
    # persistence): send them again. A duplicate is harmless, the claim is
    # conditional; queued_at moves so each step is re-sent at most once per period.
    requeue_cutoff = timezone.now() - timedelta(seconds=settings.STEP_REQUEUE_AFTER)
    for step in StepRun.objects.filter(status=StepStatus.QUEUED, queued_at__lt=requeue_cutoff).exclude(
        run__status__in=RUN_FINAL
    )[:500]:
        if StepRun.objects.filter(pk=step.pk, status=StepStatus.QUEUED, queued_at=step.queued_at).update(
            queued_at=timezone.now()
        ):
            logger.warning("step %s waited %s s in the queue; sending it again", step.pk, settings.STEP_REQUEUE_AFTER)
            _enqueue([step])
            touched += 1
    # Runs whose steps are all final but that were never closed (e.g. a crash between
    # the step's update and the advance).
    for run_id in Run.objects.exclude(status__in=RUN_FINAL).exclude(
        steps__status__in=[StepStatus.QUEUED, StepStatus.RUNNING]
    ).filter(created_at__lt=cutoff).values_list("pk", flat=True)[:100]:
        run_advance(run_id=run_id)
        touched += 1
    return touched
