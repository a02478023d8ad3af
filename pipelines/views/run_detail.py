"""The run detail page: the run's graph, its steps and each step's outputs, live while it runs.

Every output is drawn by the renderer of its declared kind (``outputs.py``);
this module only gathers what the page needs (``RunDetailView``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from ..models import Run, RunStatus, StepRun, StepStatus
from ..models.run import RUN_FINAL
from ..selectors.registry import model_versions_by_node
from ..selectors.runs import run_get, run_queue_position, run_steps
from .common import can_edit, page
from .downloads import Download, step_downloads
from .editor import vite_assets
from .graph_svg import block_label, graph_svg
from .outputs import RenderedOutput, render_step_outputs
from .run_graph import RUN_GRAPH_ENTRY, run_graph_data, run_graph_height


@dataclass
class StepView:
    """What the run detail page shows of one step."""

    step: StepRun
    label: str
    cached_from_run: int | None
    outputs: list[RenderedOutput] = field(default_factory=list)
    headline: dict | None = None
    downloads: list[Download] = field(default_factory=list)
    fanout: dict | None = None
    # Steps that trained a model can register it; these are its registered versions.
    registrable: bool = False
    registered: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.step.status == StepStatus.FAILED

    @property
    def waiting(self) -> bool:
        return self.step.status in (StepStatus.PENDING, StepStatus.QUEUED)

    @property
    def running(self) -> bool:
        return self.step.status == StepStatus.RUNNING

    @property
    def has_details(self) -> bool:
        s = self.step
        return bool(
            self.fanout
            or any(o.has_content for o in self.outputs)
            or self.downloads
            or s.logs
            or s.warnings
            or s.error
        )


def step_view(run: Run, step: StepRun) -> StepView:
    summary = step.summary if isinstance(step.summary, dict) else {}
    cached_from = step.cached_from.run_id if step.cached_from_id and step.cached_from else None
    outputs = render_step_outputs(summary)
    view = StepView(
        step=step,
        label=block_label(step.block_key),
        cached_from_run=cached_from or summary.get("cached_from_run"),
        outputs=outputs,
        headline=next((o.headline for o in outputs if o.headline), None),
        downloads=step_downloads(run.pk, step),
    )
    fanout = summary.get("fanout")
    if isinstance(fanout, dict) and step.status == StepStatus.RUNNING and fanout.get("total"):
        view.fanout = {**fanout, "percent": round(100 * fanout.get("done", 0) / fanout["total"])}
    return view


def add_registry(run: Run, views: list[StepView]) -> None:
    """Mark steps whose model can be registered, and list the versions already made (one query)."""
    by_node = model_versions_by_node(run=run)
    for view in views:
        step = view.step
        view.registered = [
            {"id": v.pk, "name": v.registered_model.name, "number": v.number}
            for v in by_node.get(step.node_id, [])
        ]
        view.registrable = step.status == StepStatus.SUCCEEDED and "model" in (step.outputs or {})


def model_name(pipeline_name: str) -> str:
    """A registry name suggested from the pipeline's: letters, digits, '.', '_', '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", pipeline_name).strip("-._").lower()[:100]
    return name or "model"


def poll_signature(status: str, steps_done: int, steps: list[StepRun]) -> str:
    """Must match the script in run_detail.html: it reloads when this changes."""
    states = sorted(f"{s.node_id}={s.status}" for s in steps)
    return f"{status}|{steps_done}|{','.join(states)}"


def run_detail_context(run: Run, steps: list[StepRun], *, user) -> dict[str, Any]:
    """Context of ``pages/run_detail.html``."""
    views = [step_view(run, s) for s in steps]
    add_registry(run, views)
    graph = run.pipeline_version.graph or {}
    assets = vite_assets(RUN_GRAPH_ENTRY)
    elapsed = run.duration_seconds
    if elapsed is None and run.started_at and not run.is_final:
        elapsed = (timezone.now() - run.started_at).total_seconds()
    return {
        "nav": "runs",
        "run": run,
        "pipeline": run.pipeline,
        "elapsed": elapsed,
        "final": run.status in RUN_FINAL,
        "final_statuses": [str(s) for s in RUN_FINAL],
        "run_failed": run.status == RunStatus.FAILED,
        "run_cancelled": run.status == RunStatus.CANCELLED,
        "can_edit": can_edit(user, run.workspace_id),
        "can_retry": run.status in (RunStatus.FAILED, RunStatus.CANCELLED),
        "queue_position": run_queue_position(run=run),
        "graph_svg": graph_svg(graph, {s.node_id: s for s in steps}),
        "graph_assets": assets,
        "graph_data": run_graph_data(run, views) if assets else None,
        "graph_height": run_graph_height(graph),
        "steps": views,
        "register_name": model_name(run.pipeline.name),
        "poll_signature": poll_signature(run.status, run.steps_done, steps),
    }


@page
def run_detail_page(request, run_id: int):
    run = run_get(user=request.user, run_id=run_id)
    context = run_detail_context(run, run_steps(run=run), user=request.user)
    return render(request, "pages/run_detail.html", context)


urlpatterns = [
    path("runs/<int:run_id>/", run_detail_page, name="page-run"),
]
