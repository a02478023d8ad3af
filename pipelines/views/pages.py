"""Server-rendered pages: pipelines list, run history, run detail, compare, downloads.

Every page needs a login. Objects of a workspace the user is not a member of
answer 404 (never 403), like the API: the selectors raise ``NotFound`` and
``_page`` turns the domain errors into Django's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from ..access import has_role, workspace_ids_for
from ..errors import NotFound, PermissionDenied
from ..inputs import is_id
from ..models import Role, Run, RunStatus, StepRun
from ..models.run import RUN_FINAL
from ..selectors.pipelines import pipeline_get, pipeline_list
from ..selectors.runs import run_compare, run_get, run_list, run_queue_position, run_steps
from .editor import vite_assets
from .graph_svg import block_label, graph_svg
from .run_graph import RUN_GRAPH_ENTRY, run_graph_data, run_graph_height

RUNS_PER_PAGE = 25
# Metrics where a smaller number is the better one (the compare page colours deltas).
LOWER_IS_BETTER = frozenset({"mae", "mse", "rmse", "log_loss", "loss", "error", "mape"})
NEUTRAL_METRICS = frozenset({"n_samples"})


def _page(view):
    """Login required; NotFound → a 404 page, PermissionDenied → a 403 page, in our layout."""

    @wraps(view)
    @login_required
    @require_GET
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (NotFound, Http404) as exc:
            message = exc.message if isinstance(exc, NotFound) else (str(exc) or "not found")
            return _error_page(request, 404, "Not found", message)
        except (PermissionDenied, HttpForbidden) as exc:
            message = getattr(exc, "message", "") or "you may not see this"
            return _error_page(request, 403, "Not allowed", message)

    return wrapper


def _error_page(request, status: int, title: str, message: str):
    return render(
        request,
        "pages/error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )


class _CountedPaginator(Paginator):
    """A Paginator told its total up front, so it does not run its own COUNT(*)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


# --- pipelines -------------------------------------------------------------


@_page
def pipeline_list_page(request):
    pipelines = list(pipeline_list(user=request.user))
    for pipeline in pipelines:
        graph = pipeline.graph if isinstance(pipeline.graph, dict) else {}
        pipeline.node_count = len(graph.get("nodes", []))
    workspaces = {p.workspace_id for p in pipelines}
    return render(
        request,
        "pages/pipeline_list.html",
        {"nav": "pipelines", "pipelines": pipelines, "show_workspace": len(workspaces) > 1},
    )


# --- run history -----------------------------------------------------------


TREND_W, TREND_H, TREND_PAD = 1100, 110, 16


def _headline_trend(runs) -> dict | None:
    """The headline metric of the shown runs, oldest first, as points of a small SVG chart.

    None unless at least two runs share one headline metric name.
    """
    points = [
        (run.pk, run.headline["name"], run.headline["value"])
        for run in reversed(list(runs))
        if isinstance(run.headline, dict) and isinstance(run.headline.get("value"), int | float)
    ]
    names = {name for _, name, _ in points}
    if len(points) < 2 or len(names) != 1:
        return None
    values = [v for _, _, v in points]
    low, high = min(values), max(values)
    span = (high - low) or abs(high) or 1.0
    low, high = low - span * 0.1, high + span * 0.1
    step = (TREND_W - 2 * TREND_PAD) / (len(points) - 1)
    coords = [
        {
            "run": run_id,
            "value": value,
            "x": round(TREND_PAD + i * step, 1),
            "y": round(TREND_H - TREND_PAD - (value - low) / (high - low) * (TREND_H - 2 * TREND_PAD), 1),
        }
        for i, (run_id, _, value) in enumerate(points)
    ]
    return {
        "name": names.pop(),
        "points": coords,
        "polyline": " ".join(f"{c['x']},{c['y']}" for c in coords),
        "min": min(values),
        "max": max(values),
        "width": TREND_W,
        "height": TREND_H,
    }


def _history_context(request, runs, counted) -> dict[str, Any]:
    """Status tabs with counts, the current page of ``runs`` (already filtered)."""
    counts = dict(counted.order_by().values_list("status").annotate(n=Count("id")))
    total = sum(counts.values())
    status = request.GET.get("status", "")
    if status not in RunStatus.values:
        status = ""
    tabs = [{"value": "", "label": "All", "count": total}] + [
        {"value": value, "label": label, "count": counts.get(value, 0)}
        for value, label in RunStatus.choices
    ]
    paginator = _CountedPaginator(
        runs.filter(status=status) if status else runs,
        RUNS_PER_PAGE,
        count=counts.get(status, 0) if status else total,
    )
    page = paginator.get_page(request.GET.get("page"))
    now = timezone.now()
    for run in page.object_list:
        run.elapsed = run.duration_seconds
        if run.elapsed is None and run.started_at and run.status == RunStatus.RUNNING:
            run.elapsed = (now - run.started_at).total_seconds()
    return {
        "page": page,
        "trend": _headline_trend(page.object_list),
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "status": status,
        "tabs": tabs,
        "total": total,
    }


@_page
def pipeline_runs_page(request, pipeline_id: int):
    pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id)
    runs = run_list(user=request.user, pipeline_id=pipeline.pk)
    context = _history_context(request, runs, Run.objects.filter(pipeline=pipeline))
    context.update(
        nav="pipelines",
        pipeline=pipeline,
        can_edit=_can_edit(request.user, pipeline.workspace_id),
    )
    return render(request, "pages/run_history.html", context)


@_page
def run_list_page(request):
    runs = run_list(user=request.user)
    counted = Run.objects.filter(workspace_id__in=workspace_ids_for(request.user))
    context = _history_context(request, runs, counted)
    context.update(nav="runs", pipeline=None, show_pipeline=True)
    return render(request, "pages/run_history.html", context)


@login_required
@require_GET
def run_compare_pick(request):
    """The history page's compare form: ``?run=A&run=B`` → the compare page, older run left."""
    ids = sorted({int(v) for v in request.GET.getlist("run") if is_id(v)})
    if len(ids) != 2:
        messages.info(request, "Tick exactly two runs to compare them.")
        return redirect(request.META.get("HTTP_REFERER") or "/runs/")
    return redirect("page-run-compare", run_id=ids[0], other_id=ids[1])


# --- run detail ------------------------------------------------------------


def _can_edit(user, workspace_id: int) -> bool:
    return has_role(user, workspace_id, Role.EDITOR)


@dataclass
class StepView:
    """What the run detail page shows of one step."""

    step: StepRun
    label: str
    cached_from_run: int | None
    scalars: list[tuple[str, Any]] = field(default_factory=list)
    headline: dict | None = None
    confusion: dict | None = None
    tables: list[dict] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)
    downloads: list[dict] = field(default_factory=list)
    tuning: dict | None = None
    fanout: dict | None = None
    # Steps that trained a model can register it; these are its registered versions.
    registrable: bool = False
    registered: list[dict] = field(default_factory=list)

    @property
    def has_details(self) -> bool:
        s = self.step
        return bool(
            self.tuning
            or self.fanout
            or self.scalars
            or self.confusion
            or self.tables
            or self.objects
            or self.downloads
            or s.logs
            or s.warnings
            or s.error
        )


def _confusion(cm: Any) -> dict | None:
    """``{"labels", "matrix"}`` → rows of cells with a 0..1 shade for the colour."""
    if not isinstance(cm, dict):
        return None
    labels, matrix = cm.get("labels"), cm.get("matrix")
    if not isinstance(labels, list) or not isinstance(matrix, list) or not matrix:
        return None
    peak = max((v for row in matrix for v in row if isinstance(v, int | float)), default=0) or 1
    rows = []
    for i, row in enumerate(matrix):
        cells = [
            {
                "value": v,
                "shade": round(v / peak, 3) if isinstance(v, int | float) else 0,
                "diagonal": i == j,
                "dark": isinstance(v, int | float) and v / peak > 0.55,
            }
            for j, v in enumerate(row)
        ]
        rows.append({"label": labels[i] if i < len(labels) else i, "cells": cells})
    return {"labels": labels, "rows": rows}


def _tuning(report: dict) -> dict:
    """Ranked candidates with bar geometry for the chart: mean score ± std, best first."""
    rows = [r for r in report.get("results") or [] if isinstance(r, dict)]
    scored = [r for r in rows if isinstance(r.get("mean_score"), int | float)]
    low = min((r["mean_score"] - (r.get("std_score") or 0) for r in scored), default=0)
    high = max((r["mean_score"] + (r.get("std_score") or 0) for r in scored), default=1)
    low = min(low, high - 1e-9)
    # Start the axis a little below the worst score so differences stay visible.
    floor = max(0.0, low - (high - low) * 0.25) if low >= 0 else low

    def pct(value: float) -> float:
        return round(100 * (value - floor) / (high - floor), 2)

    table = []
    for r in rows:
        mean, std = r.get("mean_score"), r.get("std_score") or 0
        params = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items())
        entry = {"rank": r.get("rank"), "params": params, "mean": mean, "std": std,
                 "seconds": r.get("fit_seconds"), "error": r.get("error")}
        if isinstance(mean, int | float):
            entry.update(bar=pct(mean), lo=pct(mean - std), hi=pct(mean + std))
        table.append(entry)
    return {
        "scoring": report.get("scoring"),
        "folds": report.get("folds"),
        "candidates": report.get("candidates"),
        "best_params": ", ".join(f"{k}={v}" for k, v in (report.get("best_params") or {}).items()),
        "best_score": report.get("best_score"),
        "axis": {"low": floor, "high": high},
        "rows": table,
    }


_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_EXTENSIONS = {"table": "csv", "object": "joblib", "json": "json"}


def _download_name(run_id: int, node_id: str, port: str, kind: str) -> str:
    stem = _SAFE_NAME.sub("_", f"run{run_id}-{node_id}-{port}")
    return f"{stem}.{_EXTENSIONS.get(kind, 'bin')}"


def _step_view(run: Run, step: StepRun) -> StepView:
    summary = step.summary if isinstance(step.summary, dict) else {}
    cached_from = step.cached_from.run_id if step.cached_from_id and step.cached_from else None
    view = StepView(
        step=step,
        label=block_label(step.block_key),
        cached_from_run=cached_from or summary.get("cached_from_run"),
    )
    metrics = summary.get("metrics")
    if isinstance(metrics, dict):
        view.headline = (
            metrics.get("headline") if isinstance(metrics.get("headline"), dict) else None
        )
        view.confusion = _confusion(metrics.get("confusion_matrix"))
        view.scalars = [
            (name, value)
            for name, value in metrics.items()
            if name not in {"headline", "confusion_matrix"} and not isinstance(value, dict | list)
        ]
    fanout = summary.get("fanout")
    if isinstance(fanout, dict) and step.status == "running" and fanout.get("total"):
        view.fanout = {**fanout, "percent": round(100 * fanout.get("done", 0) / fanout["total"])}
    outputs = summary.get("outputs") if isinstance(summary.get("outputs"), dict) else {}
    for port, out in outputs.items():
        if not isinstance(out, dict):
            continue
        if out.get("kind") == "tuning":
            view.tuning = _tuning(out)
            view.headline = view.headline or out.get("headline")
        elif out.get("type") == "table":
            view.tables.append(
                {
                    "port": port,
                    "rows": out.get("rows"),
                    "columns": out.get("columns") or [],
                    "preview": (out.get("preview") or [])[:10],
                }
            )
        elif out.get("steps"):
            view.objects.append(
                {
                    "port": port,
                    "type": out.get("type"),
                    "steps": out.get("steps"),
                    "classes": out.get("classes"),
                    "features": out.get("features"),
                }
            )
    for port, ref in (step.outputs or {}).items():
        if isinstance(ref, dict) and ref.get("sha256"):
            kind = ref.get("kind", "")
            try:
                url = reverse(
                    "page-step-output",
                    kwargs={"run_id": run.pk, "node_id": step.node_id, "port": port},
                )
            except NoReverseMatch:  # an id with a "/" cannot be a path segment
                continue
            view.downloads.append(
                {
                    "port": port,
                    "kind": kind,
                    "name": _download_name(run.pk, step.node_id, port, kind),
                    "ext": _EXTENSIONS.get(kind, "bin"),
                    "url": url,
                }
            )
    return view


def _poll_signature(status: str, steps_done: int, steps: list) -> str:
    """Must match the script in run_detail.html: it reloads when this changes."""
    states = sorted(f"{s.node_id}={s.status}" for s in steps)
    return f"{status}|{steps_done}|{','.join(states)}"


@_page
def run_detail_page(request, run_id: int):
    run = run_get(user=request.user, run_id=run_id)
    steps = run_steps(run=run)
    by_node = {s.node_id: s for s in steps}
    views = [_step_view(run, s) for s in steps]
    _add_registry(run, views)
    graph = run.pipeline_version.graph or {}
    assets = vite_assets(RUN_GRAPH_ENTRY)
    now = timezone.now()
    elapsed = run.duration_seconds
    if elapsed is None and run.started_at and not run.is_final:
        elapsed = (now - run.started_at).total_seconds()
    return render(
        request,
        "pages/run_detail.html",
        {
            "nav": "runs",
            "run": run,
            "pipeline": run.pipeline,
            "elapsed": elapsed,
            "final": run.status in RUN_FINAL,
            "can_edit": _can_edit(request.user, run.workspace_id),
            "can_retry": run.status in (RunStatus.FAILED, RunStatus.CANCELLED),
            "queue_position": run_queue_position(run=run),
            "graph_svg": graph_svg(graph, by_node),
            "graph_assets": assets,
            "graph_data": run_graph_data(run, views) if assets else None,
            "graph_height": run_graph_height(graph),
            "steps": views,
            "register_name": _model_name(run.pipeline.name),
            "poll_signature": _poll_signature(run.status, run.steps_done, steps),
        },
    )


def _model_name(pipeline_name: str) -> str:
    """A registry name suggested from the pipeline's: letters, digits, '.', '_', '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", pipeline_name).strip("-._").lower()[:100]
    return name or "model"


def _add_registry(run: Run, views: list[StepView]) -> None:
    """Mark steps whose model can be registered, and list the versions already made (one query)."""
    from ..models import ModelVersion

    registered: dict[str, list[dict]] = {}
    for version in ModelVersion.objects.filter(run=run).select_related("registered_model").order_by("pk"):
        registered.setdefault(version.node_id, []).append(
            {"id": version.pk, "name": version.registered_model.name, "number": version.number}
        )
    for view in views:
        step = view.step
        view.registered = registered.get(step.node_id, [])
        view.registrable = step.status == "succeeded" and "model" in (step.outputs or {})


# --- compare ---------------------------------------------------------------


def _metric_rows(metrics: list[dict]) -> list[dict]:
    rows = []
    for m in metrics:
        delta = m.get("delta")
        name = str(m.get("metric", ""))
        tone = "neutral"
        if isinstance(delta, int | float) and delta != 0 and name not in NEUTRAL_METRICS:
            better = delta < 0 if name in LOWER_IS_BETTER else delta > 0
            tone = "better" if better else "worse"
        rows.append({**m, "tone": tone, "bars": _pair_bars(m.get("left"), m.get("right"))})
    return rows


def _pair_bars(left: Any, right: Any) -> dict | None:
    """Bar widths (percent) for two values side by side; scores in [0, 1] share a 0–1 axis."""
    values = [v for v in (left, right) if isinstance(v, int | float) and not isinstance(v, bool)]
    if not values or any(v < 0 for v in values):
        return None
    scale = 1.0 if all(v <= 1 for v in values) else max(values)
    if scale <= 0:
        return None

    def width(v: Any) -> float | None:
        return round(100 * v / scale, 2) if isinstance(v, int | float) and not isinstance(v, bool) else None

    return {"left": width(left), "right": width(right)}


@_page
def run_compare_page(request, run_id: int, other_id: int):
    from ..graph import GraphError

    left = run_get(user=request.user, run_id=run_id)
    right = run_get(user=request.user, run_id=other_id)
    graph_error = None
    try:
        comparison = run_compare(left=left, right=right)
    except GraphError as exc:
        comparison, graph_error = {"graph": None, "metrics": []}, str(exc)
    return render(
        request,
        "pages/run_compare.html",
        {
            "nav": "runs",
            "left": left,
            "right": right,
            "diff": comparison.get("graph"),
            "graph_error": graph_error,
            "metrics": _metric_rows(comparison.get("metrics") or []),
            "same_version": left.pipeline_version_id == right.pipeline_version_id,
        },
    )


# --- artifact downloads ----------------------------------------------------


@_page
def step_output_download(request, run_id: int, node_id: str, port: str):
    """One output of one step. Only artifacts the step's outputs name are served."""
    from ..execution.artifacts import ArtifactError
    from ..services.artifacts import artifact_store

    run = run_get(user=request.user, run_id=run_id)
    step = run.steps.filter(node_id=node_id).first()
    ref = (step.outputs or {}).get(port) if step is not None else None
    if not isinstance(ref, dict) or not ref.get("sha256"):
        raise Http404("this step has no such output")
    sha, kind = str(ref["sha256"]), str(ref.get("kind", ""))
    filename = _download_name(run.pk, node_id, port, kind)
    store = artifact_store()
    try:
        if kind == "table":
            frame = store.load(sha, "table")
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            frame.to_csv(response, index=False)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        file_path = store.path(sha)
        handle = open(file_path, "rb")  # noqa: SIM115 — FileResponse closes it
    except (ArtifactError, FileNotFoundError) as exc:
        raise Http404(f"the artifact is not available: {exc}") from exc
    content_type = "application/json" if kind == "json" else "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)


urlpatterns = [
    path("pipelines/", pipeline_list_page, name="page-pipelines"),
    path("pipelines/<int:pipeline_id>/runs/", pipeline_runs_page, name="page-pipeline-runs"),
    path("runs/", run_list_page, name="page-runs"),
    path("runs/compare/", run_compare_pick, name="page-run-compare-pick"),
    path("runs/<int:run_id>/", run_detail_page, name="page-run"),
    path("runs/<int:run_id>/compare/<int:other_id>/", run_compare_page, name="page-run-compare"),
    path(
        "runs/<int:run_id>/steps/<str:node_id>/outputs/<str:port>/",
        step_output_download,
        name="page-step-output",
    ),
]
