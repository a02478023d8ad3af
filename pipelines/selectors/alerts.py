"""Read queries for alert rules, alerts (the inbox) and retrain policies."""

from __future__ import annotations

from django.db.models import QuerySet

from ..access import require_role, workspace_ids_for
from ..errors import NotFound
from ..models import Alert, AlertRule, AlertStatus, Deployment, RetrainPolicy, RetrainRun, Role


def alert_rule_list(*, deployment: Deployment) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(deployment=deployment).select_related("deployment").order_by("id")


def alert_rule_get(*, deployment: Deployment, rule_id: int) -> AlertRule:
    rule = alert_rule_list(deployment=deployment).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"deployment {deployment.name!r} has no alert rule {rule_id}")
    return rule


def alert_list(*, user, deployment: str | None = None, status: str | None = None) -> QuerySet[Alert]:
    """The alerts of every deployment the user can see, newest first; open ones first when unfiltered."""
    alerts = Alert.objects.filter(deployment__workspace_id__in=workspace_ids_for(user))
    if deployment:
        alerts = alerts.filter(deployment__name=deployment)
    if status:
        alerts = alerts.filter(status=status)
    return alerts.select_related("deployment", "acknowledged_by").prefetch_related("retrain_runs").order_by(
        "-fired_at", "-id"
    )


def alert_get(*, user, alert_id: int, role: str = Role.VIEWER) -> Alert:
    alert = Alert.objects.select_related("deployment", "acknowledged_by").filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    require_role(user, alert.deployment.workspace_id, role, what="alert")
    return alert


def alert_firing_count(*, user) -> int:
    """Firing (not yet acknowledged) alerts of the user's workspaces: the nav badge."""
    if not user.is_authenticated:
        return 0
    return Alert.objects.filter(
        deployment__workspace_id__in=workspace_ids_for(user), status=AlertStatus.FIRING
    ).count()


def retrain_policy_get(*, deployment: Deployment) -> RetrainPolicy | None:
    return RetrainPolicy.objects.filter(deployment=deployment).first()


def retrain_run_list(*, deployment: Deployment, limit: int = 20) -> list[RetrainRun]:
    return list(
        RetrainRun.objects.filter(deployment=deployment)
        .select_related("run", "model_version__registered_model")
        .order_by("-created_at", "-id")[:limit]
    )
