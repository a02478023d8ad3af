"""The alerts inbox (``/alerts/``): every alert of the user's deployments, firing first.

Status tabs with counts, a deployment filter, a chart of alerts fired per day by
signal (Vega-Lite, drawn by ``frontend/src/charts.ts``) and an "Acknowledge"
button for editors, which posts to ``/api/alerts/{id}/ack/`` with the session.
The query count does not grow with the number of alerts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Value, When
from django.db.models.functions import TruncDay
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..access import member_roles, role_allows
from ..models import Alert, AlertStatus, Pipeline, Role, Signal
from ..models.alerts import ALERT_OPEN
from ..selectors.alerts import alert_list, alert_rule_list, retrain_policy_get, retrain_run_list
from ..selectors.registry import deployment_get, deployment_list
from ..services.alert_signals import SIGNALS
from ..services.retrain import RETRAIN_ON
from .common import page
from .outputs import chart_view

ALERTS_PER_PAGE = 50
CHART_DAYS = 30


def _chart(alerts) -> dict[str, Any] | None:
    """Alerts fired per day over the last ``CHART_DAYS`` days, stacked by signal (one query)."""
    since = timezone.now() - timedelta(days=CHART_DAYS)
    rows = (
        alerts.filter(fired_at__gte=since).order_by().annotate(day=TruncDay("fired_at"))
        .values("day", "signal").annotate(n=Count("id"))
    )
    labels = dict(Signal.choices)
    values = [{"day": r["day"].date().isoformat(), "signal": labels.get(r["signal"], r["signal"]), "alerts": r["n"]}
              for r in rows]
    if not values:
        return None
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"Alerts fired per day (last {CHART_DAYS} days)",
        "description": "Bars stacked by signal.",
        "width": "container",
        "height": 140,
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "day", "type": "temporal", "timeUnit": "yearmonthdate", "title": None,
                  "scale": {"domain": [(since + timedelta(days=1)).date().isoformat(),
                                       (timezone.now() + timedelta(days=1)).date().isoformat()]}},
            "y": {"field": "alerts", "type": "quantitative", "aggregate": "sum", "title": "alerts",
                  "axis": {"tickMinStep": 1}},
            "color": {"field": "signal", "type": "nominal", "title": "Signal"},
        },
    }
    return chart_view(spec)


@page
def alerts_page(request):
    status = request.GET.get("status", "")
    status = status if status in AlertStatus.values else ""
    deployments = list(deployment_list(user=request.user).order_by("name").values_list("name", flat=True))
    deployment = request.GET.get("deployment", "")
    deployment = deployment if deployment in deployments else ""
    alerts = alert_list(user=request.user, deployment=deployment or None)
    counts = dict(alerts.order_by().values_list("status").annotate(n=Count("id")))
    tabs = [{"value": "", "label": "All", "count": sum(counts.values())}] + [
        {"value": value, "label": label, "count": counts.get(value, 0)} for value, label in AlertStatus.choices
    ]
    shown = alerts.filter(status=status) if status else alerts
    open_first = Case(When(status=AlertStatus.FIRING, then=Value(0)), When(status=AlertStatus.ACKNOWLEDGED,
                      then=Value(1)), default=Value(2), output_field=IntegerField())
    current = Paginator(shown.order_by(open_first, "-fired_at", "-id"), ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    roles = member_roles(request.user)
    for alert in current.object_list:
        alert.can_ack = alert.status == AlertStatus.FIRING and role_allows(
            roles.get(alert.deployment.workspace_id), Role.EDITOR)
        alert.fires_below = alert.signal == "performance"
        alert.runs = [r.run_id for r in alert.retrain_runs.all()]
        alert.window_start = parse_datetime(str((alert.window or {}).get("start") or ""))
        alert.window_end = parse_datetime(str((alert.window or {}).get("end") or ""))
    return render(request, "pages/alerts.html", {
        "nav": "alerts", "tabs": tabs, "status": status, "deployments": deployments, "deployment": deployment,
        "page": current, "chart": _chart(alerts),
    })


@page
def deployment_alerts_page(request, name: str):
    """One deployment's alert rules (add, change, switch off, delete) and its retrain policy."""
    deployment = deployment_get(user=request.user, name=name)
    can_edit = role_allows(member_roles(request.user).get(deployment.workspace_id), Role.EDITOR)
    rules = list(alert_rule_list(deployment=deployment))
    open_alerts = dict(
        Alert.objects.filter(rule__in=rules, status__in=ALERT_OPEN).values_list("rule_id", "pk")
    )
    for rule in rules:
        spec = SIGNALS[rule.signal]
        rule.compare = "<" if spec.fires_below else "≥"
        rule.open_alert = open_alerts.get(rule.pk)
        rule.label = Signal(rule.signal).label
    policy = retrain_policy_get(deployment=deployment)
    pipelines = (
        list(Pipeline.objects.filter(workspace_id=deployment.workspace_id).order_by("name").values("id", "name")[:500])
        if can_edit else []
    )
    signals = [
        {"value": key, "label": Signal(key).label, "compare": "<" if spec.fires_below else "≥",
         "help": ("fires when the metric falls below it" if spec.fires_below else f"{spec.range_text()}"),
         "default": spec.default if spec.default is not None else (1 if key == "feature_drift" else 0.8),
         "step": "1" if key in ("feature_drift", "latency_p95_ms") else "0.01"}
        for key, spec in SIGNALS.items()
    ]
    return render(request, "pages/deployment_alerts.html", {
        "nav": "alerts", "deployment": deployment, "rules": rules, "can_edit": can_edit, "policy": policy,
        "retrain_runs": retrain_run_list(deployment=deployment, limit=10), "pipelines": pipelines,
        "signals": signals, "retrain_on": RETRAIN_ON,
    })


urlpatterns = [
    path("alerts/", alerts_page, name="page-alerts"),
    path("deployments/<str:name>/alerts/", deployment_alerts_page, name="page-deployment-alerts"),
]
