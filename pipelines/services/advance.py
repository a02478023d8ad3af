"""Moving a run forward: load what an event touches, ask the scheduler, apply its answer.

The decisions are made by ``execution.scheduler`` (plain Python); this module
only loads step rows, applies the actions with conditional updates and sends
the queued steps. Two entry points:

- ``run_step_finished``: a step just succeeded or failed. It loads only that
  step's children and their other parents, so the cost of one step does not
  grow with the size of the run. On PostgreSQL the children that the step alone
  feeds (``successors_ready``) are already queued by the statement that
  recorded its success (``steps._record_success``): one statement, one commit.
- ``run_reconcile``: looks at every step of a run (a new run, a retry, or a run
  the sweeper found stalled) and recounts its progress from scratch.

No row locks: every transition is a conditional update (``status=PENDING`` →
…), so when two finishing parents race to queue the same child, exactly one
update matches, and only the writer whose update matched sends the task and
counts the step. The run's counters move by exactly the transitions made, and
the update that brings ``steps_done`` to ``steps_total`` closes the run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .. import worker_metrics
from ..execution.scheduler import (
    Actions,
    CacheLookup,
    Hit,
    Ready,
    Scheduler,
    StepState,
    run_outcome,
)
from ..models import Run, RunStatus, StepRun, StepStatus
from ..models.run import RUN_FINAL
from . import dispatch
from .artifacts import artifact_store

logger = logging.getLogger(__name__)

FINAL_COUNTED = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED)


@dataclass(frozen=True)
class RunRef:
    """What advancing needs of a run, without loading its row."""

    id: int
    workspace_id: int
    use_cache: bool
    headline_node: str = ""

    @classmethod
    def of(cls, run: Run) -> RunRef:
        return cls(run.pk, run.workspace_id, run.use_cache, run.headline_node)

    @classmethod
    def load(cls, run_id: int) -> RunRef:
        return cls(*Run.objects.filter(pk=run_id).values_list("pk", "workspace_id", "use_cache", "headline_node").get())


def run_step_finished(
    *,
    step: StepRun,
    run: RunRef,
    failed: bool,
    error: str = "",
    counted: bool = False,
    children: list[StepRun] | None = None,
    queued: Sequence[StepRun] = (),
    lookup: CacheLookup | None = None,
) -> None:
    """``step`` was just made final (its conditional update matched): move its run on.

    On success its children whose inputs are now all done start (or come from
    the cache, and so on down); on failure every pending step of the run is
    skipped. Either way the run's counters move and the last step closes it.
    ``counted``: the step's own success was already counted (in the statement
    that recorded it); ``children``: its children's rows, if the caller has them;
    ``queued``: those of them the same statement already queued (sent here);
    ``lookup``: the cache lookup the caller used (``run_lookup``), so no key is looked up twice.
    """
    now = timezone.now()
    if failed:
        skipped = _skip_pending(run.id, f"skipped: step '{step.node_id}' failed")
        _count(run.id, done=1 + skipped, failed=1, error=f"step '{step.node_id}' failed: {error}", now=now)
        return
    rows = {step.node_id: step, **{child.node_id: child for child in children or ()}}
    scheduler = Scheduler(
        [_state(row) for row in rows.values()], use_cache=run.use_cache, lookup=lookup or run_lookup(run)
    )
    done, to_send = (0 if counted else 1), list(queued)
    frontier = [step.node_id]
    while frontier:
        _load_children(run.id, frontier, scheduler, rows)
        actions = Actions()
        for node_id in frontier:
            found = scheduler.step_succeeded(node_id)
            actions.from_cache.update(found.from_cache)
            actions.enqueue.update(found.enqueue)
        applied, sent, frontier = _apply(actions, rows, now, run)
        done += applied
        to_send += sent
    if done:
        _count(run.id, done=done, failed=0, now=now)
    transaction.on_commit(lambda: dispatch.enqueue_steps(to_send))


def run_reconcile(*, run: Run, steps: Sequence[StepRun] | None = None) -> None:
    """Start or repair a run from the states of all its steps.

    Queues what is ready, copies cache hits, skips what a failure left pending,
    recounts progress and closes the run if every step is final. Safe to call
    at any time; sends tasks only after the caller's transaction commits.
    """
    if steps is None:
        steps = list(StepRun.objects.filter(run_id=run.pk))
    rows = {s.node_id: s for s in steps}
    states = {s.node_id: _state(s) for s in steps}
    ref = RunRef.of(run)
    scheduler = Scheduler(states, use_cache=run.use_cache, lookup=_lookup(ref))
    now = timezone.now()
    actions = scheduler.start()
    if actions.skip:
        failed = next((s for s in steps if s.status == StepStatus.FAILED), None)
        reason = f"skipped: step '{failed.node_id}' failed" if failed else "skipped"
        StepRun.objects.filter(pk__in=[rows[n].pk for n in actions.skip], status=StepStatus.PENDING).update(
            status=StepStatus.SKIPPED, error=reason
        )
    _, to_send, _ = _apply(actions, rows, now, ref)
    statuses = list(StepRun.objects.filter(run_id=run.pk).values_list("status", "node_id", "error"))
    done = sum(1 for status, _, _ in statuses if status in FINAL_COUNTED)
    failed_steps = [(node, error) for status, node, error in statuses if status == StepStatus.FAILED]
    outcome = run_outcome(status for status, _, _ in statuses)
    fields = {"steps_done": done, "steps_failed": len(failed_steps)}
    if done or any(status == StepStatus.RUNNING for status, _, _ in statuses):
        fields.update(status=RunStatus.RUNNING, started_at=run.started_at or now)
    if outcome is not None:
        fields.update(status=outcome, started_at=run.started_at or now, finished_at=now)
        if failed_steps:
            node, error = failed_steps[0]
            fields["error"] = f"step '{node}' failed: {error}"
    Run.objects.filter(pk=run.pk).exclude(status__in=RUN_FINAL).update(**fields)
    transaction.on_commit(lambda: dispatch.enqueue_steps(to_send))


def successors_ready(
    *, step: StepRun, outputs: dict, run: RunRef, children: Sequence[StepRun], lookup: CacheLookup
) -> list[tuple[StepRun, Ready]]:
    """The children that ``step`` succeeding with ``outputs`` makes ready to execute,
    decided before its success is stored, so that one statement stores both.

    Only children whose every input comes from ``step``: nothing else can make them
    ready or change their inputs. A child with another parent is left to
    ``run_step_finished``, which reads that parent after the success is committed
    (of two parents finishing at once, the later one must see both done); so is
    a child found in the cache (it counts as done and its own children follow).
    """
    if not children:
        return []
    done = _state(step)
    done.status, done.outputs = StepStatus.SUCCEEDED, outputs
    only_parent = [c for c in children if {src[0] for src in c.inputs.values()} == {step.node_id}]
    scheduler = Scheduler([done, *(_state(c) for c in only_parent)], use_cache=run.use_cache, lookup=lookup)
    enqueue = scheduler.step_succeeded(step.node_id).enqueue
    return [(child, enqueue[child.node_id]) for child in only_parent if child.node_id in enqueue]


# --- loading --------------------------------------------------------------


def step_input_refs(step: StepRun) -> dict[str, dict[str, str]]:
    """{input port: {"sha256", "kind"}} of the upstream outputs wired into ``step``.

    Stored on the step when it is queued; steps queued before that column
    existed read their upstream steps (one query).
    """
    if step.input_refs or not step.inputs:
        return step.input_refs
    sources = [src for src, _ in step.inputs.values()]
    by_node = {s.node_id: s for s in StepRun.objects.filter(run_id=step.run_id, node_id__in=sources)}
    return {port: by_node[src].outputs[src_port] for port, (src, src_port) in step.inputs.items()}


def _state(step: StepRun) -> StepState:
    return StepState(
        node_id=step.node_id,
        status=step.status,
        block_key=step.block_key,
        block_version=step.block_version,
        params=step.params,
        inputs={port: (src[0], src[1]) for port, src in step.inputs.items()},
        children=step.children,
        outputs=step.outputs,
        always_rerun=step.always_rerun,
    )


def _load_children(run_id: int, nodes: Iterable[str], scheduler: Scheduler, rows: dict) -> None:
    """Add the children of ``nodes`` and those children's parents to the scheduler's view."""
    all_children = {child for node in nodes for child in rows[node].children}
    wanted = all_children - rows.keys()
    children = list(StepRun.objects.filter(run_id=run_id, node_id__in=wanted)) if wanted else []
    known = [rows[child] for child in all_children - wanted]
    # Other parents are read now, after this step's update committed: of two
    # parents finishing at once, at least the later one sees both done.
    parents = {src[0] for child in children + known for src in child.inputs.values()} - rows.keys() - wanted
    others = list(StepRun.objects.filter(run_id=run_id, node_id__in=parents)) if parents else []
    if not children and not others:
        return
    for row in children + others:
        rows[row.node_id] = row
    scheduler.know(_state(row) for row in children + others)


def run_lookup(run: RunRef) -> CacheLookup:
    """The cache lookup for ``run``'s steps; a key is looked up once per lookup object."""
    found: dict[str, Hit | None] = {}
    stored = _lookup(run)

    def remembered(keys: Sequence[str]) -> dict[str, Hit]:
        missing = [key for key in keys if key not in found]
        if missing:
            hits = stored(missing)
            found.update({key: hits.get(key) for key in missing})
        return {key: found[key] for key in keys if found[key] is not None}

    return remembered


def _lookup(run: RunRef):
    def lookup(keys: Sequence[str]) -> dict[str, Hit]:
        """Stored results of earlier runs in the same workspace whose artifacts still exist."""
        candidates = (
            StepRun.objects.filter(
                cache_key__in=keys, status=StepStatus.SUCCEEDED, run__workspace_id=run.workspace_id
            )
            .exclude(run_id=run.id)
            .order_by("cache_hit", "-finished_at")
            .only("id", "run_id", "node_id", "cache_key", "outputs", "summary", "warnings",
                  "cache_hit", "cached_from_id")[: 3 * len(keys)]
        )
        store = artifact_store()
        hits: dict[str, Hit] = {}
        for candidate in candidates:
            if candidate.cache_key in hits:
                continue
            if all(store.exists(ref["sha256"]) for ref in candidate.outputs.values()):
                hits[candidate.cache_key] = Hit(outputs=candidate.outputs, origin=candidate)
        worker_metrics.cache_looked_up(hits=len(hits), misses=len(set(keys)) - len(hits))
        return hits

    return lookup


# --- applying -------------------------------------------------------------


def _apply(actions: Actions, rows: dict[str, StepRun], now, run: RunRef) -> tuple[int, list[StepRun], list[str]]:
    """Apply cache copies and queueing. Returns (steps made final, steps to send, cached nodes)."""
    final, to_send, cached = 0, [], []
    for node_id, (key, hit) in actions.from_cache.items():
        step = rows[node_id]
        fields = _cache_copy(key, hit, now)
        if StepRun.objects.filter(pk=step.pk, status=StepStatus.PENDING).update(**fields):
            for name, value in fields.items():
                setattr(step, name, value)
            offer_headline(step, step.summary, run)
            final += 1
            cached.append(node_id)
    for node_id, ready in actions.enqueue.items():
        step = rows[node_id]
        task_id = dispatch.step_task_id(step, step.attempts + 1)
        if StepRun.objects.filter(pk=step.pk, status=StepStatus.PENDING).update(
            status=StepStatus.QUEUED, cache_key=ready.cache_key, input_refs=ready.input_refs,
            task_id=task_id, queued_at=now,
        ):
            step.status, step.task_id = StepStatus.QUEUED, task_id
            to_send.append(step)
    return final, to_send, cached


def _cache_copy(key: str, hit: Hit, now) -> dict:
    """The fields of a step that reuses ``hit`` (a stored StepRun) instead of executing."""
    row = hit.origin
    origin_id = row.cached_from_id if row.cache_hit and row.cached_from_id else row.pk
    origin_run = row.summary.get("cached_from_run", row.run_id) if row.cache_hit else row.run_id
    return dict(
        status=StepStatus.SUCCEEDED,
        cache_key=key,
        cache_hit=True,
        cached_from_id=origin_id,
        outputs=row.outputs,
        summary={**row.summary, "cached_from_run": origin_run},
        logs=f"cached: reused the outputs of run {origin_run} (step '{row.node_id}')",
        warnings=row.warnings,
        started_at=now,
        finished_at=now,
    )


def run_prepare(*, run: Run, steps: list[StepRun]) -> list[StepRun]:
    """Decide, before anything is stored, what a new run does first.

    Fills in the unsaved ``steps`` (queued with their input artifacts, or copied
    from the cache, with their own children as far as hits reach) and the
    unsaved ``run``'s progress, so that storing them takes one insert each and
    no update. ``run`` must have its pk (the task ids carry it). Returns the
    steps to send once the transaction commits.
    """
    rows = {s.node_id: s for s in steps}
    ref = RunRef(run.pk, run.workspace_id, run.use_cache, run.headline_node)
    actions = Scheduler([_state(s) for s in steps], use_cache=run.use_cache, lookup=_lookup(ref)).start()
    now = timezone.now()
    for node_id, (key, hit) in actions.from_cache.items():
        step = rows[node_id]
        for name, value in _cache_copy(key, hit, now).items():
            setattr(step, name, value)
        run.headline = _headline_of(step, step.summary, ref) or run.headline
    for node_id, ready in actions.enqueue.items():
        step = rows[node_id]
        step.status, step.cache_key, step.input_refs = StepStatus.QUEUED, ready.cache_key, ready.input_refs
        step.queued_at, step.task_id = now, dispatch.step_task_id(step, 1)
    run.steps_done = len(actions.from_cache)
    if run.steps_done:
        run.status, run.started_at = RunStatus.RUNNING, now
    if run.steps_done == run.steps_total:
        run.status, run.finished_at = RunStatus.SUCCEEDED, now
    return [rows[node_id] for node_id in actions.enqueue]


def _skip_pending(run_id: int, reason: str) -> int:
    return StepRun.objects.filter(run_id=run_id, status=StepStatus.PENDING).update(
        status=StepStatus.SKIPPED, error=reason
    )


def _count(run_id: int, *, done: int, failed: int, now, error: str = "") -> None:
    """Move the run's counters by the steps just made final; the last one closes the run.

    One statement, so two steps finishing at once both count and exactly one of
    them sees the total reached. A run already final (cancelled) is left alone.
    """
    sql, params = count_sql(run_id_sql="%s", done=done, failed=failed, now=now, error=error)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, run_id])
        cursor.fetchone()


def count_sql(*, run_id_sql: str, done: int, failed: int, now, error: str = "") -> tuple[str, list]:
    """``_count``'s statement for the run ``run_id_sql``, and its parameters.

    ``run_id_sql`` is the last placeholder (``"%s"``, whose value the caller
    appends) or a subquery: PostgreSQL's finish statement embeds this one.
    """
    table = connection.ops.quote_name(Run._meta.db_table)
    sql = f"""
        UPDATE {table} SET
          steps_done = steps_done + %s,
          steps_failed = steps_failed + %s,
          error = CASE WHEN %s > 0 AND error = '' THEN %s ELSE error END,
          started_at = COALESCE(started_at, %s),
          status = CASE WHEN steps_done + %s < steps_total THEN %s
                        WHEN steps_failed + %s > 0 THEN %s ELSE %s END,
          finished_at = CASE WHEN steps_done + %s >= steps_total THEN %s ELSE finished_at END
        WHERE status NOT IN (%s, %s, %s) AND id = {run_id_sql}
        RETURNING status
    """
    params = [
        done, failed, failed, error, now,
        done, str(RunStatus.RUNNING), failed, str(RunStatus.FAILED), str(RunStatus.SUCCEEDED),
        done, now, *(str(s) for s in RUN_FINAL),
    ]
    return sql, params


def offer_headline(step: StepRun, summary: dict, run: RunRef, *, held: Q | None = None) -> None:
    """Copy the headline metric of the run's headline step onto the run, for history lists.

    ``held`` adds a condition on the step (its attempt still holds it).
    """
    headline = _headline_of(step, summary, run)
    if headline is not None:
        Run.objects.filter(pk=run.id).filter(held or Q()).update(headline=headline)


def _headline_of(step: StepRun, summary: dict, run: RunRef) -> dict | None:
    """The headline metric in ``summary`` if ``step`` is its run's headline step."""
    if step.node_id != run.headline_node:
        return None
    metrics = summary.get("metrics") if isinstance(summary, dict) else None
    headline = metrics.get("headline") if isinstance(metrics, dict) else None
    return headline if isinstance(headline, dict) else None
