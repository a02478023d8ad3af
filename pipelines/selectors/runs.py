from __future__ import annotations

from django.db.models import Count, QuerySet

from ..access import member_role, require_role, workspace_ids_for
from ..errors import NotFound
from ..graph import graph_diff
from ..models import Role, Run, RunStatus, StepRun, StepStatus


def run_list(
    *, user, pipeline_id: int | None = None, status: str | None = None
) -> QuerySet[Run]:
    runs = Run.objects.filter(workspace_id__in=workspace_ids_for(user))
    if pipeline_id is not None:
        runs = runs.filter(pipeline_id=pipeline_id)
    if status:
        runs = runs.filter(status=status)
    return runs.select_related("pipeline_version", "created_by", "pipeline").order_by(
        "-created_at", "-id"
    )


def run_status_counts(*, user, pipeline_id: int | None = None) -> dict[str, int]:
    """{status: number of runs} over the runs ``run_list`` shows (one grouped query)."""
    runs = Run.objects.filter(workspace_id__in=workspace_ids_for(user))
    if pipeline_id is not None:
        runs = runs.filter(pipeline_id=pipeline_id)
    return dict(runs.order_by().values_list("status").annotate(n=Count("id")))


def run_get(*, user, run_id: int, role: str = Role.VIEWER, field: str | None = None) -> Run:
    """The run, if ``user`` has ``role`` in its workspace.

    A run of a workspace the user is not in answers exactly like a missing one
    (NotFound); ``field`` names the request field that held the id, if any.
    """
    run = (
        Run.objects.select_related("pipeline", "pipeline_version", "created_by", "workspace")
        .filter(pk=run_id)
        .first()
    )
    details = {"field": field} if field else None
    if run is None or member_role(user, run.workspace_id) is None:
        raise NotFound(f"run {run_id} not found", details=details)
    require_role(user, run.workspace_id, role, what="run")
    return run


def run_steps(*, run: Run) -> list[StepRun]:
    return list(run.steps.select_related("cached_from").order_by("position"))


def run_step_get(*, run: Run, node_id: str) -> StepRun | None:
    """The step of ``run`` for node ``node_id``; None when the run has no such node."""
    return run.steps.filter(node_id=node_id).first()


def run_queue_position(*, run: Run) -> int | None:
    """1 + how many queued runs were created before this one; None once it started."""
    if run.status != RunStatus.QUEUED:
        return None
    return (
        Run.objects.filter(status=RunStatus.QUEUED, created_at__lt=run.created_at).count() + 1
    )


def run_compare(*, left: Run, right: Run) -> dict:
    """Graph and parameter differences and metric differences (right − left) of two runs."""
    left_steps = {s.node_id: s for s in run_steps(run=left)}
    right_steps = {s.node_id: s for s in run_steps(run=right)}
    metrics = []
    for node_id in sorted(set(left_steps) | set(right_steps)):
        a = (left_steps.get(node_id).summary or {}).get("metrics") if node_id in left_steps else None
        b = (right_steps.get(node_id).summary or {}).get("metrics") if node_id in right_steps else None
        if not isinstance(a, dict) and not isinstance(b, dict):
            continue
        a, b = a or {}, b or {}
        for name in sorted(set(a) | set(b)):
            va, vb = a.get(name), b.get(name)
            if isinstance(va, int | float) or isinstance(vb, int | float):
                delta = vb - va if isinstance(va, int | float) and isinstance(vb, int | float) else None
                metrics.append({"node": node_id, "metric": name, "left": va, "right": vb, "delta": delta})
    return {
        "left": left.pk,
        "right": right.pk,
        "graph": graph_diff(left.pipeline_version.graph, right.pipeline_version.graph),
        "metrics": metrics,
    }


def steps_downstream(steps: dict[str, StepRun], node_id: str) -> set[str]:
    """Node ids of ``steps`` (by node id) whose inputs come, transitively, from ``node_id``."""
    children: dict[str, set[str]] = {}
    for step in steps.values():
        for ref in (step.inputs or {}).values():
            if isinstance(ref, list) and ref:
                children.setdefault(ref[0], set()).add(step.node_id)
    seen, todo = set(), [node_id]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def model_fairness_reports(*, run_id: int | None, model_node: str) -> list[tuple[StepRun, dict]]:
    """The reports of the run's succeeded ``rai.fairness`` steps that judged the model
    ``model_node`` trained (steps downstream of it), in plan order."""
    if run_id is None:
        return []
    steps = {s.node_id: s for s in StepRun.objects.filter(run_id=run_id).only(
        "node_id", "inputs", "block_key", "status", "summary", "params", "position", "run_id"
    )}
    after = steps_downstream(steps, model_node)
    out = []
    for step in sorted(steps.values(), key=lambda s: s.position):
        if step.block_key != "rai.fairness" or step.status != StepStatus.SUCCEEDED or step.node_id not in after:
            continue
        report = ((step.summary or {}).get("outputs") or {}).get("report")
        if isinstance(report, dict):
            out.append((step, report))
    return out

