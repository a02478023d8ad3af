"""Run history pages: all runs (``/runs/``) and one pipeline's (``/pipelines/{id}/runs/``).

Status tabs with counts, 25 runs a page, and a small chart of the headline
metric. The query count does not grow with the number of runs.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from ..models import Run, RunStatus
from ..selectors.automation import pipeline_schedules, pipeline_triggers, trigger_choices
from ..selectors.pipelines import pipeline_get
from ..selectors.runs import run_list, run_status_counts
from .common import can_edit, page

RUNS_PER_PAGE = 25
TREND_W, TREND_H, TREND_PAD = 1100, 110, 16


class _CountedPaginator(Paginator):
    """A Paginator told its total up front, so it does not run its own COUNT(*)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def headline_trend(runs) -> dict | None:
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


def history_context(
    *, runs: QuerySet[Run], counts: dict[str, int], status: str, page_number: str | None
) -> dict[str, Any]:
    """Status tabs with ``counts``, the current page of ``runs`` (filtered to ``status``, "" for all).

    An unknown ``status`` shows every run.
    """
    total = sum(counts.values())
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
    current = paginator.get_page(page_number)
    now = timezone.now()
    for run in current.object_list:
        run.elapsed = run.duration_seconds
        if run.elapsed is None and run.started_at and run.status == RunStatus.RUNNING:
            run.elapsed = (now - run.started_at).total_seconds()
    return {
        "page": current,
        "trend": headline_trend(current.object_list),
        "page_range": paginator.get_elided_page_range(current.number, on_each_side=2, on_ends=1),
        "status": status,
        "tabs": tabs,
        "total": total,
    }


@page
def pipeline_runs_page(request, pipeline_id: int):
    pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id)
    context = history_context(
        runs=run_list(user=request.user, pipeline_id=pipeline.pk),
        counts=run_status_counts(user=request.user, pipeline_id=pipeline.pk),
        status=request.GET.get("status", ""),
        page_number=request.GET.get("page"),
    )
    editable = can_edit(request.user, pipeline.workspace_id)
    context.update(
        nav="pipelines",
        pipeline=pipeline,
        can_edit=editable,
        schedules=pipeline_schedules(pipeline=pipeline),
        triggers=pipeline_triggers(pipeline=pipeline),
        trigger_choices=trigger_choices(pipeline=pipeline) if editable else None,
    )
    return render(request, "pages/run_history.html", context)


@page
def run_list_page(request):
    context = history_context(
        runs=run_list(user=request.user),
        counts=run_status_counts(user=request.user),
        status=request.GET.get("status", ""),
        page_number=request.GET.get("page"),
    )
    context.update(nav="runs", pipeline=None, show_pipeline=True)
    return render(request, "pages/run_history.html", context)


urlpatterns = [
    path("pipelines/<int:pipeline_id>/runs/", pipeline_runs_page, name="page-pipeline-runs"),
    path("runs/", run_list_page, name="page-runs"),
]
