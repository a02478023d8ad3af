"""Starting, cancelling and retrying runs.

``run_start`` stores the run and its steps and, in the same transaction, asks
the scheduler (``execution.scheduler``) which steps can start: cache hits are
copied, ready steps are queued and sent to the workers once the transaction
commits. From then on a run moves forward through ``services.advance``, called
by the step that finishes; nothing ever reloads a whole run to decide.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import OperationalError, transaction
from django.utils import timezone

from ..blocks import catalogue
from ..errors import ApplicationError
from ..graph import Plan
from ..models import Pipeline, PipelineVersion, Run, RunStatus, StepRun, StepStatus, Trigger
from ..models.run import RUN_FINAL
from . import dispatch
from .advance import run_prepare
from .audit import audit_record
from .graphs import graph_compile
from .pipelines import audit_version, pipeline_version_snapshot

logger = logging.getLogger(__name__)

ACTIVE_STEP = (StepStatus.QUEUED, StepStatus.RUNNING)


def run_start(
    *,
    pipeline: Pipeline,
    user,
    trigger: str = Trigger.MANUAL,
    trigger_detail: str = "",
    use_cache: bool = True,
    retry_of: Run | None = None,
    version: PipelineVersion | None = None,
) -> Run:
    """Snapshot the pipeline (or use ``version``), create the run and its steps, and start it.

    Raises GraphInvalid (400, errors keyed by node id) before anything is stored
    if the graph is not valid. The returned run is as created (``queued``); the
    first steps are already sent to the workers (or taken from the cache) when
    the caller sees it.
    """
    graph = version.graph if version is not None else pipeline.graph
    plan = graph_compile(graph=graph, workspace=pipeline.workspace)
    with transaction.atomic():
        if version is None:
            version = pipeline_version_snapshot(pipeline=pipeline, user=user, audit=False)
        run = Run(
            workspace=pipeline.workspace,
            pipeline=pipeline,
            pipeline_version=version,
            trigger=trigger,
            trigger_detail=trigger_detail[:200],
            use_cache=use_cache,
            retry_of=retry_of,
            created_by=user,
            steps_total=len(plan.steps),
            headline_node=_headline_node(plan),
        )
        status = run.status
        run.save(force_insert=True)
        steps = _step_rows(run, plan)
        to_send = run_prepare(run=run, steps=steps)
        if run.status != status:  # cache hits: the run is already under way, or done
            run.save(update_fields=["status", "steps_done", "started_at", "finished_at", "headline"])
        StepRun.objects.bulk_create(steps)
        # Registered first, so it runs first after the commit: the workers get the
        # first steps before the audit events are appended (a transaction of their
        # own, whose commit waits for its WAL flush).
        transaction.on_commit(lambda: dispatch.enqueue_steps(to_send))
        if getattr(version, "new_version", False):
            audit_version(version, user)
        audit_record(
            workspace_id=pipeline.workspace_id, user=user, action="run.retry" if retry_of else "run.start",
            target=run, details={"pipeline": pipeline.pk, "version": version.number, "trigger": trigger,
                                 **({"retry_of": retry_of.pk} if retry_of else {})},
        )
    return run


def _step_rows(run: Run, plan: Plan) -> list[StepRun]:
    children: dict[str, list[str]] = {s.node_id: [] for s in plan.steps}
    for step in plan.steps:
        for parent in step.depends_on:
            children[parent].append(step.node_id)
    return [
        StepRun(
            run=run,
            node_id=step.node_id,
            block_key=step.block_key,
            block_version=step.block_version,
            position=index,
            params=step.params,
            inputs={port: list(src) for port, src in step.inputs.items()},
            children=children[step.node_id],
            always_rerun=_node_option(step.raw_node, "cache") == "always_rerun",
            timeout_seconds=_timeout(step.raw_node),
            queue=_node_option(step.raw_node, "queue") or "",
        )
        for index, step in enumerate(plan.steps)
    ]


def _headline_node(plan: Plan) -> str:
    """The first step in plan order whose block outputs metrics: its headline is the run's."""
    blocks = catalogue()
    for step in plan.steps:
        block = blocks.get(step.block_key)
        if block is not None and any(port.type == "metrics" for port in block.outputs):
            return step.node_id
    return ""


def _node_option(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else None


def _timeout(raw: Any) -> int | None:
    value = _node_option(raw, "timeout_seconds")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def run_cancel(*, run: Run, user=None) -> Run:
    """Cancel a queued or running run: pending steps are skipped, running ones terminated.

    A worker recording a step locks the step, then the run; this locks the run, then the
    steps. PostgreSQL breaks such a deadlock by aborting one side: the cancel is then
    tried again (the worker's write has committed by then)."""
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            return _run_cancel(run=run, user=user)
        except OperationalError as exc:
            if "deadlock detected" not in str(exc) or attempt == DEADLOCK_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


DEADLOCK_ATTEMPTS = 3


def _run_cancel(*, run: Run, user) -> Run:
    now = timezone.now()
    with transaction.atomic():
        updated = Run.objects.filter(pk=run.pk).exclude(status__in=RUN_FINAL).update(
            status=RunStatus.CANCELLED, finished_at=now, error="cancelled by a user"
        )
        if not updated:
            run.refresh_from_db()
            raise ApplicationError(f"run {run.pk} has already ended ({run.status})", status=409)
        running = list(run.steps.filter(status__in=ACTIVE_STEP).values_list("task_id", flat=True))
        run.steps.filter(status__in=ACTIVE_STEP).update(
            status=StepStatus.CANCELLED, finished_at=now, error="cancelled by a user"
        )
        run.steps.filter(status=StepStatus.PENDING).update(
            status=StepStatus.SKIPPED, error="skipped: the run was cancelled"
        )
        audit_record(workspace_id=run.workspace_id, user=user, action="run.cancel", target=run)
        transaction.on_commit(lambda: dispatch.revoke(running))
    run.refresh_from_db()
    return run


def run_retry(*, run: Run, user) -> Run:
    """A new run of the same version that reuses every step that succeeded."""
    if run.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
        raise ApplicationError(f"only failed or cancelled runs can be retried (this one is {run.status})", status=409)
    return run_start(
        pipeline=run.pipeline,
        user=user,
        trigger=Trigger.RETRY,
        use_cache=True,
        retry_of=run,
        version=run.pipeline_version,
    )
