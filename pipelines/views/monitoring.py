"""Monitoring pages: one deployment's windows as charts, and every deployment's health.

The pages read stored windows (``selectors.monitoring``); computing a window now
goes through the JSON API (``POST …/monitoring/run/``) from a small script, with
the session and its CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.shortcuts import render
from django.urls import path

from ..models import WindowSize
from ..monitoring import charts
from ..selectors.datasets import dataset_list
from ..selectors.monitoring import (
    monitoring_overview,
    monitoring_reference_get,
    monitoring_window_list,
)
from ..selectors.registry import deployment_get, deployment_revisions
from ..services.monitoring import SIZES, iso, window_floor
from ..services.monitoring_reference import reference_describe
from .common import can_edit, page

SPAN_WINDOWS = 30  # how many windows of the chosen size the page shows
PICKER_DATASETS = 200  # the newest dataset versions the reference picker offers
STATUS = {  # status → (label, badge tone)
    "ok": ("OK", "succeeded"),
    "warning": ("Warning", "cancelled"),
    "alert": ("Alert", "failed"),
    "insufficient_data": ("Not enough data", "queued"),
}


def status_badge(status: str | None) -> dict[str, str]:
    label, tone = STATUS.get(status or "insufficient_data", STATUS["insufficient_data"])
    return {"status": status or "insufficient_data", "label": label, "tone": tone}


def _markers(deployment) -> list[dict]:
    return [
        {"at": iso(r.created_at), "action": r.action,
         "label": f"r{r.number} {r.get_action_display().lower()}: "
                  f"{r.model_version.registered_model.name} v{r.model_version.number}"}
        for r in deployment_revisions(deployment=deployment)
    ]


def _charts(reports: list[dict], markers: list[dict]) -> list[dict]:
    rows = charts.timeline_rows(reports)
    validation = next(((r.get("performance") or {}).get("validation") for r in reversed(reports)
                       if (r.get("performance") or {}).get("validation")), None)
    metric = next(((r.get("performance") or {}).get("metric") for r in reports), None) or "performance"
    specs = [
        charts.signal_timeline(rows, markers, signal="drift_share", title="Share of drifted features",
                               unit="share", rule=0.5, rule_label="dataset drift", fmt="~%"),
        charts.signal_timeline(rows, markers, signal="performance", title=f"Performance ({metric}) from feedback",
                               unit=metric, band=("ci_low", "ci_high"),
                               rule=validation["value"] if validation else None,
                               rule_label=f"validation {validation['metric']}" if validation else ""),
        charts.signal_timeline(rows, markers, signal="prediction_psi", title="Prediction drift (PSI)",
                               unit="PSI", rule=0.25, rule_label="significant shift"),
        charts.signal_timeline(rows, markers, signal="quality_issues", title="Data-quality issues", unit="issues"),
        charts.request_rate_chart(reports, markers),
        charts.signal_timeline(rows, markers, signal="latency_p95", title="Latency p95", unit="ms"),
        charts.signal_timeline(rows, markers, signal="error_rate", title="Error rate", unit="share of requests",
                               fmt="~%"),
    ]
    return [{"title": s["title"], "description": s["description"], "spec": s} for s in specs]


def _picker_datasets(user, deployment) -> list[dict]:
    """Dataset versions of the deployment's workspace for the reference picker, by name then newest version."""
    datasets = dataset_list(user=user, workspace_id=deployment.workspace_id)
    rows = list(datasets.values("id", "name", "version", "n_rows")[:PICKER_DATASETS])
    return sorted(rows, key=lambda d: (d["name"].lower(), -d["version"]))


@page
def deployment_monitoring_page(request, name: str):
    deployment = deployment_get(user=request.user, name=name)
    size = request.GET.get("window")
    size = size if size in SIZES else WindowSize.DAY
    now = datetime.now(UTC)
    current = window_floor(now, size)
    start = current - SIZES[size] * SPAN_WINDOWS
    windows = monitoring_window_list(deployment=deployment, start=start, end=current + SIZES[size],
                                     sizes=[size, WindowSize.CUSTOM])
    reports = [w.report for w in windows]
    latest = reports[-1] if reports else None
    judged = [r for r in reports if (r.get("drift") or {}).get("features")]
    latest_drift = judged[-1] if judged else None
    quality_window = next((r for r in reversed(reports) if (r.get("quality") or {}).get("columns")), None)
    performance_window = next((r for r in reversed(reports) if (r.get("performance") or {}).get("value") is not None),
                              None)
    markers = _markers(deployment)
    editable = can_edit(request.user, deployment.workspace_id)
    context = {
        "nav": "monitoring",
        "deployment": deployment,
        "version": deployment.current_revision.model_version if deployment.current_revision_id else None,
        "size": size,
        "sizes": list(SIZES),
        "badge": status_badge(latest["status"] if latest else None),
        "latest": latest,
        "windows": list(reversed(reports)),
        "timelines": _charts(reports, markers) if reports else [],
        "heatmap": {"title": "Feature drift by window", "description": "", "spec": charts.drift_heatmap(judged)}
        if judged else None,
        "distribution": {"title": "Reference vs current", "description": "",
                         "spec": charts.distribution_overlay(latest_drift, latest_drift["drift"]["features"])}
        if latest_drift else None,
        "latest_drift": latest_drift,
        "quality_window": quality_window,
        "performance_window": performance_window,
        "markers": markers,
        "can_edit": editable,
        "reference": reference_describe(monitoring_reference_get(deployment=deployment)),
        "reference_rows": settings.MONITORING_REFERENCE_ROWS,
        "datasets": _picker_datasets(request.user, deployment) if editable else [],
        "run_start": iso(current),
        "run_end": iso(current + SIZES[size]),
    }
    return render(request, "monitoring/deployment.html", context)


@page
def monitoring_overview_page(request):
    """Every deployment of the user's workspaces with its latest window's health (fixed query count)."""
    rows = []
    for row in monitoring_overview(user=request.user):
        window = row["window"]
        report = window.report if window is not None else None
        rows.append({**row, "badge": status_badge(window.status if window else None), "report": report})
    counts = {key: sum(1 for r in rows if r["badge"]["status"] == key) for key in STATUS}
    return render(request, "monitoring/overview.html",
                  {"nav": "monitoring", "rows": rows, "counts": counts, "labels": STATUS})


urlpatterns = [
    path("monitoring/", monitoring_overview_page, name="page-monitoring"),
    path("deployments/<str:name>/monitoring/", deployment_monitoring_page, name="page-deployment-monitoring"),
]
