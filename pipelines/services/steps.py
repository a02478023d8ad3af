"""Executing one step on a worker, taking over steps of dead workers, and sweeping.

A step is claimed with one conditional update (``queued`` → ``running``, the
attempt number moves). Everything that ends an attempt afterwards — success,
failure, a transient retry, a heartbeat — is conditional on that attempt
number, so an attempt whose worker was presumed dead and replaced can no
longer write anything: a step's outputs are recorded once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from .. import worker_metrics
from ..blocks import catalogue
from ..execution.executor import StepExecutor, StepOutcome
from ..execution.scheduler import Ready
from ..models import Artifact, Run, RunStatus, StepRun, StepStatus
from ..models.run import RUN_FINAL
from . import dispatch
from .advance import (
    RunRef,
    offer_headline,
    run_lookup,
    run_reconcile,
    run_step_finished,
    step_input_refs,
    successors_ready,
)
from .artifacts import artifact_store, artifacts_record, worker_name
from .connections import connection_opener
from .fanout import fanout_start
from .training import training_backend

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# What advancing needs of a step's children; read with the claim (PostgreSQL).
CHILD_COLUMNS = ("id", "run_id", "node_id", "status", "block_key", "block_version", "params", "inputs",
                 "children", "always_rerun", "attempts", "timeout_seconds", "queue", "position")


class _Heartbeats:
    """Touch ``heartbeat_at`` of the steps this process is running, so the sweeper knows it lives.

    One daemon thread per process, started with the first step and kept: a step
    only registers and unregisters itself (``beating``), which costs nothing,
    where starting and stopping a thread per step cost a few thread switches.
    Each beat is conditional on the attempt, so a beat that comes just after
    its step ended changes nothing.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._steps: dict[int, int] = {}  # step id → attempt
        self._thread: threading.Thread | None = None
        self._pid = 0

    @contextmanager
    def beating(self, step: StepRun):
        with self._lock:
            self._steps[step.pk] = step.attempts
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                # (A forked pool process inherits the object but not the thread.)
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, daemon=True, name="step-heartbeat")
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._steps.pop(step.pk, None)

    def _run(self) -> None:
        while True:
            time.sleep(settings.STEP_HEARTBEAT_SECONDS)
            with self._lock:
                beating = list(self._steps.items())
            if not beating:
                continue
            try:
                for step_id, attempt in beating:
                    StepRun.objects.filter(pk=step_id, status=StepStatus.RUNNING, attempts=attempt).update(
                        heartbeat_at=timezone.now()
                    )
            except Exception:  # noqa: BLE001 - a missed beat is not worth crashing for
                logger.exception("heartbeat for steps %s failed", [step_id for step_id, _ in beating])
            finally:
                # This thread's connection: beats are seconds apart, and an idle
                # connection would outlive the steps (and hold a test database open).
                connection.close()


_heartbeats = _Heartbeats()


def step_execute(*, step_id: int, timeout_errors: tuple[type[BaseException], ...] = ()) -> None:
    """Claim step ``step_id`` and run it. Safe to call twice: only one call claims it.

    A call that finds the step running on a worker that is proven dead (its
    process is gone from this machine, or its heartbeat stopped) takes it over
    as the next attempt; a call that finds it running on a live worker does
    nothing.
    """
    step = _claim(step_id)
    if step is None:
        step = _take_over(step_id)
        if step is None:
            logger.info("step %s is not queued (duplicate delivery or cancelled); skipping", step_id)
            return
    if step.run_status == RunStatus.QUEUED:
        Run.objects.filter(pk=step.run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=step.started_at
        )
    run = RunRef(step.run_id, step.run_workspace_id, step.run_use_cache, step.run_headline_node)
    block = catalogue().get(step.block_key)
    input_refs = step_input_refs(step)

    if block is None:
        error = f"block {step.block_key!r} is not installed on worker {socket.gethostname()}"
        step_finish(step=step, outcome=StepOutcome(ok=False, error=error), run=run)
        return
    if block.fanout is not None:
        error = fanout_start(step=step, block=block, input_refs=input_refs)
        if error:
            step_finish(step=step, outcome=StepOutcome(ok=False, error=error), run=run)
        return

    with _heartbeats.beating(step):
        outcome = StepExecutor(artifact_store(), parallelism=training_backend).execute(
            block,
            step.params,
            input_refs,
            timeout_errors=timeout_errors,
            timeout_seconds=step.timeout_seconds or settings.STEP_DEFAULT_TIMEOUT,
            node_id=step.node_id,
            # Credentials are read here, for the run's workspace only, never from params.
            connection=connection_opener(workspace_id=step.run_workspace_id),
        )
    worker_metrics.step_observed(block=step.block_key, ok=outcome.ok, seconds=outcome.seconds)
    step_finish(step=step, outcome=outcome, run=run)


def _claiming(condition: str, params: list) -> StepRun | None:
    """Run a conditional update that makes the step this worker's next attempt.

    One round trip; the returned row carries ``run_status``, ``run_workspace_id``,
    ``run_use_cache`` and ``run_headline_node`` of its run besides the step's
    own fields. On PostgreSQL the same statement marks a queued run running and
    reads the step's children (``children_rows``), which advancing needs later.

    On PostgreSQL the claim commits without waiting for its WAL flush
    (``synchronous_commit`` off, when the claim is a transaction of its own): a claim that a
    database crash loses leaves the step as it was before the message came,
    which the task's retry or the sweeper sends again, and nothing outside this
    worker acts on a claim before the step's result, whose commit is synchronous
    (and flushes the claim with it).
    """
    table = connection.ops.quote_name(StepRun._meta.db_table)
    runs = connection.ops.quote_name(Run._meta.db_table)
    now = timezone.now()
    claim = f"""
        UPDATE {table} SET status = %s, started_at = %s, heartbeat_at = %s,
               attempts = attempts + 1, worker = %s
        WHERE {condition}
    """
    claim_params = [StepStatus.RUNNING.value, now, now, worker_name(), *params]

    def of_run(row: str, column: str) -> str:
        return f"(SELECT r.{column} FROM {runs} r WHERE r.id = {row}.run_id) AS run_{column}"

    run_columns = ", ".join(of_run("{row}", c) for c in ("status", "workspace_id", "use_cache", "headline_node"))
    if connection.vendor == "postgresql":
        # Only when the claim is its own transaction, never for a caller's.
        no_flush_wait = (
            "" if connection.in_atomic_block
            else ", (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait"
        )
        children = f"""(SELECT json_agg(json_build_object({", ".join(f"'{c}', c.{c}" for c in CHILD_COLUMNS)}))
                        FROM {table} c WHERE c.run_id = claimed.run_id
                        AND c.node_id IN (SELECT jsonb_array_elements_text(claimed.children)))"""
        sql = f"""
            WITH claimed AS ({claim} RETURNING *),
            started AS (
                UPDATE {runs} SET status = %s, started_at = %s
                WHERE id IN (SELECT run_id FROM claimed) AND status = %s
            )
            SELECT claimed.*, {run_columns.format(row="claimed")}, {children} AS children_rows
            FROM claimed{no_flush_wait}
        """
        rows = list(StepRun.objects.raw(
            sql, [*claim_params, RunStatus.RUNNING.value, now, RunStatus.QUEUED.value]
        ))
    else:
        sql = f"{claim} RETURNING *, {run_columns.format(row=table)}, NULL AS children_rows"
        rows = list(StepRun.objects.raw(sql, claim_params))
    if not rows:
        return None
    step = rows[0]
    step.run_use_cache = bool(step.run_use_cache)
    snapshot = step.children_rows
    if isinstance(snapshot, str):
        snapshot = json.loads(snapshot)
    step.children_rows = [StepRun(**row) for row in snapshot] if snapshot is not None else None
    if connection.vendor == "postgresql":
        step.run_status = RunStatus.RUNNING  # the statement started the run if it was queued
    return step


def _claim(step_id: int) -> StepRun | None:
    return _claiming("id = %s AND status = %s", [step_id, StepStatus.QUEUED.value])


def _take_over(step_id: int) -> StepRun | None:
    """Take over a running step whose worker is proven dead; None if it is not.

    Proof is either a heartbeat older than ``STEP_HEARTBEAT_TIMEOUT`` or, for a
    worker on this machine, its process being gone (a killed pool child whose
    task Celery redelivered at once). The update is conditional on the attempt
    seen, so of two redeliveries only one takes over.
    """
    seen = (
        StepRun.objects.filter(pk=step_id, status=StepStatus.RUNNING)
        .exclude(run__status__in=RUN_FINAL)
        .values("attempts", "worker", "heartbeat_at")
        .first()
    )
    if seen is None or seen["attempts"] >= MAX_ATTEMPTS:
        return None
    stale = timezone.now() - timedelta(seconds=settings.STEP_HEARTBEAT_TIMEOUT)
    dead = _process_gone(seen["worker"]) or (seen["heartbeat_at"] is not None and seen["heartbeat_at"] < stale)
    if not dead:
        return None
    step = _claiming(
        "id = %s AND status = %s AND attempts = %s",
        [step_id, StepStatus.RUNNING.value, seen["attempts"]],
    )
    if step is not None:
        logger.warning("step %s: worker %s is gone; taking it over (attempt %s)", step_id, seen["worker"], step.attempts)
        StepRun.objects.filter(pk=step_id, attempts=step.attempts).update(
            task_id=dispatch.step_task_id(step, step.attempts)
        )
    return step


def _process_gone(worker: str) -> bool:
    """True if ``worker`` ("host:pid") names a process of this machine that no longer runs."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # A killed child not yet reaped is a zombie: it runs nothing.
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:
        return False


def step_finish(*, step: StepRun, outcome: StepOutcome, run: RunRef | None = None) -> None:
    """Record what an attempt of a running step produced and move its run forward.

    Nothing is recorded if the step is no longer this attempt's (cancelled, or
    taken over after its worker was presumed dead).
    """
    if run is None:
        run = RunRef.load(step.run_id)
    if outcome.ok:
        fields = dict(
            status=StepStatus.SUCCEEDED,
            outputs={port: a.as_ref() for port, a in outcome.outputs.items()},
            summary={**outcome.summary, "seconds": round(outcome.seconds, 4)},
            logs=outcome.logs,
            warnings=outcome.warnings,
        )
    elif not outcome.permanent and step.attempts < MAX_ATTEMPTS:
        # A transient error (lost file system or connection): queue it again.
        task_id = dispatch.step_task_id(step, step.attempts + 1)
        if _this_attempt(step).update(
            status=StepStatus.QUEUED, logs=outcome.logs, error_detail=outcome.error_detail,
            task_id=task_id, queued_at=timezone.now(),
        ):
            step.task_id = task_id
            dispatch.enqueue_steps([step], countdown=2 ** step.attempts)
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
    fields.update(finished_at=finished, heartbeat_at=finished)
    if outcome.ok:
        # Before the step is recorded, so before the step that closes the run can
        # close it: a reader never sees a succeeded run without its headline.
        offer_headline(
            step, outcome.summary, run,
            held=Q(steps__pk=step.pk, steps__status=StepStatus.RUNNING, steps__attempts=step.attempts),
        )
    counted, queued, lookup = False, [], None
    children = getattr(step, "children_rows", None)
    if outcome.ok and connection.vendor == "postgresql":
        lookup = run_lookup(run)
        ready = successors_ready(step=step, outputs=fields["outputs"], run=run, children=children or [],
                                 lookup=lookup)
        held, counted, queued = _record_success(step, fields, list(outcome.outputs.values()), ready)
    else:
        if outcome.ok:
            artifacts_record(list(outcome.outputs.values()))
        held = _this_attempt(step).update(**fields)
    if not held:
        logger.info("step %s attempt %s no longer holds the step; its result is dropped", step.pk, step.attempts)
        return
    for name, value in fields.items():
        setattr(step, name, value)
    run_step_finished(
        step=step, run=run, failed=not outcome.ok, error=outcome.error, counted=counted,
        children=children, queued=queued, lookup=lookup,
    )


def _this_attempt(step: StepRun):
    """The step's row, only while this attempt still holds it (running, same attempt number)."""
    return StepRun.objects.filter(pk=step.pk, status=StepStatus.RUNNING, attempts=step.attempts)


def _record_success(
    step: StepRun, fields: dict, stored: list, ready: list[tuple[StepRun, Ready]]
) -> tuple[bool, bool, list[StepRun]]:
    """PostgreSQL: the artifact rows, the step's success, its run's counter and the
    queueing of the children it made ready (``successors_ready``), in one statement.

    Returns (the attempt still held the step, the run's counter moved, the
    children queued). The same as ``artifacts_record`` + a conditional update +
    ``advance._count`` + one conditional update per child, in one round trip and
    one commit: a step's success and its successors' queueing are never seen apart.
    """
    from .advance import count_sql

    table = connection.ops.quote_name(StepRun._meta.db_table)
    artifacts = connection.ops.quote_name(Artifact._meta.db_table)
    columns = list(fields)
    assignments = ", ".join(
        f"{c} = %s::jsonb" if c in ("outputs", "summary", "warnings") else f"{c} = %s" for c in columns
    )
    values = [json.dumps(fields[c]) if c in ("outputs", "summary", "warnings") else fields[c] for c in columns]
    art_rows = ", ".join(["(%s, %s, %s, %s)"] * len(stored)) or None
    art_params = [v for a in stored for v in (a.sha256, a.kind, a.size, fields["finished_at"])]
    counter, counter_params = count_sql(run_id_sql="(SELECT run_id FROM held)", done=1, failed=0,
                                        now=fields["finished_at"])
    queue_sql, queue_params, changes = _queue_children_sql(table, ready, fields["finished_at"])
    sql = f"""
        WITH {f"art AS (INSERT INTO {artifacts} (sha256, kind, size, created_at) VALUES {art_rows} ON CONFLICT DO NOTHING)," if art_rows else ""}
        held AS (UPDATE {table} SET {assignments} WHERE id = %s AND status = %s AND attempts = %s RETURNING run_id),
        counted AS ({counter}),
        queued AS ({queue_sql})
        SELECT (SELECT count(*) FROM held), (SELECT count(*) FROM counted), (SELECT status FROM counted),
               (SELECT array_agg(id) FROM queued)
    """
    params = [*art_params, *values, step.pk, StepStatus.RUNNING.value, step.attempts, *counter_params,
              *queue_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        held, counted, status, queued_ids = cursor.fetchone()
    queued = []
    for child_id in queued_ids or ():
        child, changed = changes[child_id]
        for name, value in changed.items():
            setattr(child, name, value)
        queued.append(child)
    return bool(held), bool(counted), queued


def _queue_children_sql(table: str, ready: list[tuple[StepRun, Ready]], now) -> tuple[str, list, dict]:
    """The ``queued`` part of ``_record_success``: each ready child, still pending, becomes
    queued (the fields ``advance._apply`` sets) if the step's own update matched.

    Returns the SQL, its parameters and {child id: (child, the fields it sets)}.
    """
    if not ready:
        return f"SELECT id FROM {table} WHERE false", [], {}
    rows, params, changes = [], [], {}
    for child, found in ready:
        task_id = dispatch.step_task_id(child, child.attempts + 1)
        changes[child.pk] = (child, dict(status=StepStatus.QUEUED, cache_key=found.cache_key,
                                         input_refs=found.input_refs, task_id=task_id, queued_at=now))
        rows.append("(%s, %s, %s, %s)")
        params += [child.pk, found.cache_key, json.dumps(found.input_refs), task_id]
    sql = f"""
        UPDATE {table} AS q SET status = %s, cache_key = v.cache_key, input_refs = v.input_refs::jsonb,
               task_id = v.task_id, queued_at = %s
        FROM (VALUES {", ".join(rows)}) AS v (id, cache_key, input_refs, task_id)
        WHERE q.id = v.id::bigint AND q.status = %s AND EXISTS (SELECT 1 FROM held)
        RETURNING q.id
    """
    return sql, [StepStatus.QUEUED.value, now, *params, StepStatus.PENDING.value], changes


def steps_sweep_stale() -> int:
    """Requeue or fail steps whose worker stopped beating; finish runs left hanging.

    Returns how many steps or runs were touched. Celery beat runs it every
    ``STEP_HEARTBEAT_SECONDS``.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.STEP_HEARTBEAT_TIMEOUT)
    touched = 0
    running = StepRun.objects.filter(status=StepStatus.RUNNING).exclude(run__status__in=RUN_FINAL)
    for step in running.only(
        "id", "run_id", "position", "attempts", "worker", "heartbeat_at", "timeout_seconds", "queue"
    ):
        # Lost: silent for too long, or (on this machine) its process is gone.
        if not (step.heartbeat_at is not None and step.heartbeat_at < cutoff) and not _process_gone(step.worker):
            continue
        lost = _this_attempt(step)
        if step.attempts < MAX_ATTEMPTS:
            new_task = dispatch.step_task_id(step, step.attempts + 1)
            if lost.update(status=StepStatus.QUEUED, task_id=new_task, queued_at=timezone.now()):
                step.task_id = new_task
                logger.warning("step %s lost its worker; requeued", step.pk)
                dispatch.enqueue_steps([step])
                touched += 1
            continue
        error = f"worker lost: the worker running this step stopped responding ({step.attempts} attempts)"
        if lost.update(status=StepStatus.FAILED, finished_at=timezone.now(), error=error):
            run_step_finished(
                step=step,
                run=RunRef.load(step.run_id),
                failed=True,
                error=error,
            )
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
            dispatch.enqueue_steps([step])
            touched += 1
    # Runs with nothing queued or running that are still open (e.g. a crash
    # between a step's update and its run's advance, or a broker that was down
    # when the run started): look at all their steps once.
    for run in Run.objects.exclude(status__in=RUN_FINAL).exclude(
        steps__status__in=[StepStatus.QUEUED, StepStatus.RUNNING]
    ).filter(created_at__lt=cutoff)[:100]:
        run_reconcile(run=run)
        touched += 1
    return touched
