"""Starting, advancing, cancelling and retrying runs.

A run advances by ready-set scheduling: ``run_advance`` looks at the run's
steps, reuses cached results where the cache key matches, and enqueues every
step whose inputs are all done. It is called when a run starts and after each
step ends, under a row lock on the run, so two steps finishing at once cannot
enqueue the same step twice (and the step claim in ``step_execute`` is a
conditional update besides).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import ApplicationError
from ..execution.executor import cache_key
from ..models import (
    Pipeline,
    Run,
    RunStatus,
    StepRun,
    StepStatus,
    Trigger,
)
from ..models.run import RUN_FINAL
from .artifacts import artifact_store
from .graphs import graph_compile
from .pipelines import pipeline_version_snapshot

logger = logging.getLogger(__name__)

ACTIVE_STEP = (StepStatus.QUEUED, StepStatus.RUNNING)


def run_start(
    *,
    pipeline: Pipeline,
    user,
    trigger: str = Trigger.MANUAL,
    use_cache: bool = True,
    retry_of: Run | None = None,
    version=None,
) -> Run:
    """Snapshot the pipeline (or use ``version``), create the run and its steps, and queue it.

    Raises GraphInvalid (400, errors keyed by node id) before anything is stored
    if the graph is not valid.
    """
    graph = version.graph if version is not None else pipeline.graph
    plan = graph_compile(graph=graph, workspace=pipeline.workspace)
    with transaction.atomic():
        if version is None:
            version = pipeline_version_snapshot(pipeline=pipeline, user=user)
        run = Run.objects.create(
            workspace=pipeline.workspace,
            pipeline=pipeline,
            pipeline_version=version,
            trigger=trigger,
            use_cache=use_cache,
            retry_of=retry_of,
            created_by=user,
            steps_total=len(plan.steps),
        )
        StepRun.objects.bulk_create(
            [
                StepRun(
                    run=run,
                    node_id=step.node_id,
                    block_key=step.block_key,
                    block_version=step.block_version,
                    position=index,
                    params=step.params,
                    inputs={port: list(src) for port, src in step.inputs.items()},
                    always_rerun=_node_option(step.raw_node, "cache") == "always_rerun",
                    timeout_seconds=_timeout(step.raw_node),
                )
                for index, step in enumerate(plan.steps)
            ]
        )
        transaction.on_commit(lambda: _enqueue_advance(run.pk))
    return run


def _enqueue_advance(run_id: int) -> None:
    from ..tasks import run_advance as run_advance_task

    try:
        run_advance_task.apply_async(args=[run_id])
    except Exception:  # noqa: BLE001 - the broker is down; the run is stored and safe
        # The sweeper advances runs that have nothing queued or running, so the
        # run starts once the broker is back; the caller still gets its 201.
        logger.exception("could not enqueue run %s; the sweeper will pick it up", run_id)


def _node_option(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else None


def _timeout(raw: Any) -> int | None:
    value = _node_option(raw, "timeout_seconds")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def run_advance(*, run_id: int) -> None:
    """Move a run forward: reuse cache hits, enqueue ready steps, finish the run when done."""
    to_enqueue: list[StepRun] = []
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            logger.warning("run %s vanished; nothing to advance", run_id)
            return
        if run.status in RUN_FINAL:
            return
        steps = list(run.steps.all())
        by_node = {s.node_id: s for s in steps}
        failed = [s for s in steps if s.status == StepStatus.FAILED]
        now = timezone.now()

        if failed:
            _skip_pending(steps, reason=f"skipped: step '{failed[0].node_id}' failed")
        else:
            progressed = True
            while progressed:
                progressed = False
                for step in steps:
                    if step.status != StepStatus.PENDING:
                        continue
                    upstream = [by_node[src] for src, _ in step.inputs.values()]
                    if not all(u.status == StepStatus.SUCCEEDED for u in upstream):
                        continue
                    refs = step_input_refs(step, by_node)
                    step.cache_key = cache_key(
                        block_key=step.block_key,
                        block_version=step.block_version,
                        params=step.params,
                        input_hashes={port: ref["sha256"] for port, ref in refs.items()},
                    )
                    hit = _cache_lookup(run, step) if run.use_cache and not step.always_rerun else None
                    if hit is not None:
                        _copy_from_cache(step, hit, now)
                        progressed = True
                    else:
                        step.status = StepStatus.QUEUED
                        step.queued_at = now
                        step.task_id = f"step-{step.pk}-{step.attempts + 1}"
                        to_enqueue.append(step)
                    step.save()

        active = any(s.status in ACTIVE_STEP for s in steps)
        run.steps_done = sum(1 for s in steps if s.status in (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED))
        fields = ["steps_done"]
        # A run is "running" once a worker claimed a step or a step finished
        # (cache hits count); steps merely handed to the broker keep it queued.
        started = run.steps_done or any(s.status == StepStatus.RUNNING for s in steps)
        if run.status == RunStatus.QUEUED and started:
            run.status, run.started_at = RunStatus.RUNNING, now
            fields += ["status", "started_at"]
        if not active and not to_enqueue:
            if failed:
                run.status = RunStatus.FAILED
                run.error = f"step '{failed[0].node_id}' failed: {failed[0].error}"
                fields += ["error"]
            elif all(s.status == StepStatus.SUCCEEDED for s in steps):
                run.status = RunStatus.SUCCEEDED
                run.headline = _headline(steps)
                fields += ["headline"]
            if run.status in RUN_FINAL:
                run.started_at = run.started_at or now
                run.finished_at = now
                fields += ["status", "started_at", "finished_at"]
        run.save(update_fields=sorted(set(fields)))
        if to_enqueue:
            transaction.on_commit(lambda: _enqueue(to_enqueue))


def step_input_refs(
    step: StepRun, by_node: dict[str, StepRun] | None = None
) -> dict[str, dict[str, str]]:
    """{input port: {"sha256", "kind"}} of the upstream outputs wired into ``step``.

    ``by_node`` maps node ids to the run's steps when the caller has them;
    otherwise the upstream steps are read in one query.
    """
    if by_node is None:
        sources = [src for src, _ in step.inputs.values()]
        by_node = {s.node_id: s for s in StepRun.objects.filter(run_id=step.run_id, node_id__in=sources)}
    return {port: by_node[src].outputs[src_port] for port, (src, src_port) in step.inputs.items()}


def _cache_lookup(run: Run, step: StepRun) -> StepRun | None:
    candidates = (
        StepRun.objects.filter(
            cache_key=step.cache_key, status=StepStatus.SUCCEEDED, run__workspace_id=run.workspace_id
        )
        .exclude(run_id=run.pk)
        .order_by("-finished_at")[:3]
    )
    store = artifact_store()
    for candidate in candidates:
        if all(store.exists(ref["sha256"]) for ref in candidate.outputs.values()):
            return candidate
    return None


def _copy_from_cache(step: StepRun, hit: StepRun, now) -> None:
    origin = hit.cached_from if hit.cache_hit and hit.cached_from_id else hit
    step.status = StepStatus.SUCCEEDED
    step.cache_hit = True
    step.cached_from_id = origin.pk
    step.outputs = hit.outputs
    step.summary = {**hit.summary, "cached_from_run": origin.run_id}
    step.logs = f"cached: reused the outputs of run {origin.run_id} (step '{origin.node_id}')"
    step.warnings = hit.warnings
    step.started_at = step.finished_at = now


def _skip_pending(steps: list[StepRun], *, reason: str) -> None:
    for step in steps:
        if step.status == StepStatus.PENDING:
            step.status = StepStatus.SKIPPED
            step.error = reason
            step.save(update_fields=["status", "error"])


def _headline(steps: list[StepRun]) -> dict | None:
    for step in steps:
        metrics = step.summary.get("metrics") if isinstance(step.summary, dict) else None
        if isinstance(metrics, dict) and isinstance(metrics.get("headline"), dict):
            return metrics["headline"]
    return None


def _enqueue(steps: list[StepRun], countdown: float | None = None) -> None:
    from ..tasks import step_execute

    for step in steps:
        timeout = step.timeout_seconds or settings.STEP_DEFAULT_TIMEOUT
        step_execute.apply_async(
            args=[step.pk],
            task_id=step.task_id,
            countdown=countdown,
            soft_time_limit=timeout,
            time_limit=timeout + 30,
        )


def run_cancel(*, run: Run) -> Run:
    """Cancel a queued or running run: pending steps are skipped, running ones terminated."""
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
        transaction.on_commit(lambda: _revoke(running))
    run.refresh_from_db()
    return run


def _revoke(task_ids: list[str]) -> None:
    from mlops_studio.celery import app

    for task_id in task_ids:
        if task_id:
            app.control.revoke(task_id, terminate=True, signal="SIGTERM")


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
