"""The compare page: two runs' graph and parameter differences and metric deltas."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET

from ..graph import GraphError
from ..inputs import is_id
from ..models import Run
from ..selectors.runs import run_compare, run_get
from .common import page

# Metrics where a smaller number is the better one (the compare page colours deltas).
LOWER_IS_BETTER = frozenset({"mae", "mse", "rmse", "log_loss", "loss", "error", "mape"})
NEUTRAL_METRICS = frozenset({"n_samples"})


def metric_rows(metrics: list[dict]) -> list[dict]:
    """Each metric difference with a tone (better, worse, neutral) and paired bar widths."""
    rows = []
    for m in metrics:
        delta = m.get("delta")
        name = str(m.get("metric", ""))
        tone = "neutral"
        if isinstance(delta, int | float) and delta != 0 and name not in NEUTRAL_METRICS:
            better = delta < 0 if name in LOWER_IS_BETTER else delta > 0
            tone = "better" if better else "worse"
        rows.append({**m, "tone": tone, "bars": pair_bars(m.get("left"), m.get("right"))})
    return rows


def pair_bars(left: Any, right: Any) -> dict | None:
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


def compare_context(left: Run, right: Run) -> dict[str, Any]:
    """Context of ``pages/run_compare.html``; graphs that cannot be diffed say why."""
    graph_error = None
    try:
        comparison = run_compare(left=left, right=right)
    except GraphError as exc:
        comparison, graph_error = {"graph": None, "metrics": []}, str(exc)
    return {
        "nav": "runs",
        "left": left,
        "right": right,
        "diff": comparison.get("graph"),
        "graph_error": graph_error,
        "metrics": metric_rows(comparison.get("metrics") or []),
        "same_version": left.pipeline_version_id == right.pipeline_version_id,
    }


@page
def run_compare_page(request, run_id: int, other_id: int):
    left = run_get(user=request.user, run_id=run_id)
    right = run_get(user=request.user, run_id=other_id)
    return render(request, "pages/run_compare.html", compare_context(left, right))


@login_required
@require_GET
def run_compare_pick(request):
    """The history page's compare form: ``?run=A&run=B`` → the compare page, older run left."""
    ids = sorted({int(v) for v in request.GET.getlist("run") if is_id(v)})
    if len(ids) != 2:
        messages.info(request, "Tick exactly two runs to compare them.")
        return redirect(request.META.get("HTTP_REFERER") or "/runs/")
    return redirect("page-run-compare", run_id=ids[0], other_id=ids[1])


urlpatterns = [
    path("runs/compare/", run_compare_pick, name="page-run-compare-pick"),
    path("runs/<int:run_id>/compare/<int:other_id>/", run_compare_page, name="page-run-compare"),
]
