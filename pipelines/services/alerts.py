"""Alert rules and the alert lifecycle: firing → acknowledged → resolved.

``alert_rules_evaluate(deployment, window)`` is called by monitoring with each
computed window (the API's window dict). For every enabled rule of the
deployment it reads the rule's signal (``alert_signals``):

- no verdict (too few rows or labels): nothing changes;
- a breach: the rule's streak grows; once it reaches ``consecutive`` and the
  rule's last alert fired more than ``cooldown_minutes`` ago, an alert fires
  (in the inbox, and a delivery per channel). An open alert is updated instead
  of firing a second one (at most one open alert per rule, also enforced by a
  unique index);
- an OK window: the streak is reset and an open alert is resolved (its channels
  are told).

Idempotent per (rule, window): a rule remembers the start of the last window it
counted, and a window that does not start later is skipped, so evaluating the
same window twice (a retried task, an explicit recompute) changes nothing.

Every deployment gets default rules when its first revision is stored
(``alert_rules_create_defaults``, from ``pipelines.signals``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..errors import ApplicationError, Conflict
from ..models import (
    Alert,
    AlertDelivery,
    AlertRule,
    AlertStatus,
    Deployment,
    ModelVersion,
    RetrainPolicy,
)
from ..models.alerts import ALERT_OPEN
from . import dispatch
from .alert_channels import channel_check, webhook_secret_new
from .alert_signals import (
    PERFORMANCE_DEFAULT_DROP,
    SIGNALS,
    breaches,
    signal_value,
    threshold_problem,
)
from .connections import password_encrypt

logger = logging.getLogger(__name__)

HIGHER_IS_BETTER = {"accuracy", "balanced_accuracy", "f1", "f1_macro", "f1_weighted", "roc_auc", "precision",
                    "recall", "r2"}
DEFAULT_COOLDOWN_MINUTES = 60


# --- rules -----------------------------------------------------------------------------


def _headline(version: ModelVersion | None) -> dict | None:
    for values in ((version.metrics if version else None) or {}).values():
        headline = values.get("headline") if isinstance(values, dict) else None
        if isinstance(headline, dict) and isinstance(headline.get("value"), int | float):
            return headline
    return None


def default_rules(version: ModelVersion | None) -> list[dict[str, Any]]:
    """The rules a new deployment starts with (a performance rule only when the model
    has a validation metric to compare with: fires 0.05 below it)."""
    rules = [
        {"signal": s, "threshold": spec.default, "consecutive": spec.default_consecutive}
        for s, spec in SIGNALS.items()
        if spec.default is not None
    ]
    headline = _headline(version)
    if headline and headline.get("name") in HIGHER_IS_BETTER:
        threshold = round(float(headline["value"]) - PERFORMANCE_DEFAULT_DROP, 4)
        rules.insert(1, {"signal": "performance", "threshold": threshold, "consecutive": 1})
    return rules


def alert_rules_create_defaults(*, deployment: Deployment, version: ModelVersion | None = None) -> list[AlertRule]:
    """Give ``deployment`` the default rules, unless it has rules already."""
    if AlertRule.objects.filter(deployment=deployment).exists():
        return []
    rules = [
        AlertRule(deployment=deployment, is_default=True, cooldown_minutes=DEFAULT_COOLDOWN_MINUTES, **spec)
        for spec in default_rules(version)
    ]
    return AlertRule.objects.bulk_create(rules)


def _check(signal: str, threshold: Any, channels: list[dict]) -> list[dict[str, str]]:
    problem = threshold_problem(signal, threshold)
    if problem:
        raise ApplicationError(problem, field="threshold")
    return [channel_check(c, field=f"channels[{i}]") for i, c in enumerate(channels)]


def _secret_for(rule: AlertRule, channels: list[dict], rotate: bool) -> str | None:
    """A new webhook secret when the rule gets its first webhook (or on request); stored
    encrypted, answered once."""
    has_webhook = any(c["kind"] == "webhook" for c in channels)
    if rotate or (has_webhook and not rule.webhook_secret):
        plain = webhook_secret_new()
        rule.webhook_secret = password_encrypt(plain)
        return plain
    return None


def alert_rule_create(
    *, deployment: Deployment, user, signal: str, threshold: float, consecutive: int = 1,
    cooldown_minutes: int = DEFAULT_COOLDOWN_MINUTES, channels: list[dict] | None = None, enabled: bool = True,
) -> tuple[AlertRule, str | None]:
    """A new rule; answers it and its webhook secret (None unless it has a webhook)."""
    checked = _check(signal, threshold, channels or [])
    rule = AlertRule(
        deployment=deployment, signal=signal, threshold=float(threshold), consecutive=consecutive,
        cooldown_minutes=cooldown_minutes, channels=checked, enabled=enabled, created_by=user,
    )
    secret = _secret_for(rule, checked, rotate=False)
    rule.save()
    return rule, secret


def alert_rule_update(*, rule: AlertRule, changes: dict[str, Any], rotate_secret: bool = False) -> tuple[AlertRule, str | None]:
    """Change some of signal, threshold, consecutive, cooldown_minutes, channels, enabled.

    A changed signal or threshold starts counting afresh (the streak is reset).
    """
    signal = changes.get("signal", rule.signal)
    threshold = changes.get("threshold", rule.threshold)
    channels = _check(signal, threshold, changes["channels"]) if "channels" in changes else None
    if channels is None:
        _check(signal, threshold, [])
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().get(pk=rule.pk)
        if signal != rule.signal or float(threshold) != rule.threshold:
            rule.streak = 0
        rule.signal, rule.threshold = signal, float(threshold)
        for name in ("consecutive", "cooldown_minutes", "enabled"):
            if name in changes:
                setattr(rule, name, changes[name])
        if channels is not None:
            rule.channels = channels
        secret = _secret_for(rule, rule.channels, rotate=rotate_secret)
        rule.is_default = False
        rule.save()
    return rule, secret


def alert_rule_delete(*, rule: AlertRule) -> None:
    """Delete a rule and its alerts."""
    rule.delete()


# --- evaluation ------------------------------------------------------------------------


def _instant(value: Any, field: str) -> datetime:
    moment = value if isinstance(value, datetime) else parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise ApplicationError(f"the window's {field} is not an ISO 8601 time", field=f"window.{field}")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alert_rules_evaluate(deployment: Deployment, window: dict[str, Any]) -> list[Alert]:
    """Evaluate every enabled rule of ``deployment`` on ``window``; the alerts that fired,
    changed or resolved. Channels are sent to after the transaction commits."""
    from .retrain import retrain_consider, retrain_runs_collect

    start, end = _instant(window.get("start"), "start"), _instant(window.get("end"), "end")
    ref = {"start": _iso(start), "end": _iso(end)}
    retrain_runs_collect(deployment=deployment)  # the monitoring tick also registers finished candidates
    now = timezone.now()
    touched: list[Alert] = []
    deliveries: list[AlertDelivery] = []
    with transaction.atomic():
        rules = list(AlertRule.objects.select_for_update().filter(deployment=deployment, enabled=True))
        if not rules:
            return []
        open_alerts = {a.rule_id: a for a in Alert.objects.filter(rule__in=rules, status__in=ALERT_OPEN)}
        last_fired = dict(
            Alert.objects.filter(rule__in=rules).values("rule_id").annotate(at=Max("fired_at"))
            .order_by().values_list("rule_id", "at")
        )
        policy = RetrainPolicy.objects.filter(deployment=deployment).first()
        for rule in rules:
            if rule.last_window_start is not None and start <= rule.last_window_start:
                continue  # counted already (or older than what was counted)
            value, detail = signal_value(rule.signal, window)
            if value is None:
                continue
            rule.last_window_start, rule.last_value = start, value
            alert = open_alerts.get(rule.pk)
            if breaches(rule.signal, value, rule.threshold):
                rule.streak += 1
                if alert is not None:
                    alert.value, alert.window, alert.detail = value, ref, detail[:500]
                    alert.windows += 1
                    alert.save(update_fields=["value", "window", "detail", "windows"])
                    touched.append(alert)
                elif rule.streak >= rule.consecutive and not _cooling(rule, last_fired.get(rule.pk), now):
                    alert = Alert.objects.create(
                        rule=rule, deployment=deployment, signal=rule.signal, status=AlertStatus.FIRING,
                        value=value, threshold=rule.threshold, detail=detail[:500], window=ref,
                        first_window=ref, windows=rule.streak, fired_at=now,
                    )
                    deliveries += _deliveries(rule, alert, AlertStatus.FIRING)
                    touched.append(alert)
                if alert is not None and policy is not None:
                    retrain_consider(policy=policy, rule=rule, alert=alert)
            else:
                rule.streak = 0
                if alert is not None:
                    alert.status, alert.resolved_at = AlertStatus.RESOLVED, now
                    alert.save(update_fields=["status", "resolved_at"])
                    deliveries += _deliveries(rule, alert, AlertStatus.RESOLVED)
                    touched.append(alert)
            rule.save(update_fields=["streak", "last_window_start", "last_value"])
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: dispatch.enqueue_alert_deliveries(ids))
    return touched


def _cooling(rule: AlertRule, last_fired: datetime | None, now: datetime) -> bool:
    return last_fired is not None and now - last_fired < timedelta(minutes=rule.cooldown_minutes)


def _deliveries(rule: AlertRule, alert: Alert, event: str) -> list[AlertDelivery]:
    return [
        AlertDelivery.objects.create(alert=alert, event=event, kind=c["kind"], target=c["target"])
        for c in dict((c["kind"] + c["target"], c) for c in rule.channels).values()
    ]


# --- the inbox ---------------------------------------------------------------------------


def alert_acknowledge(*, alert: Alert, user) -> Alert:
    """firing → acknowledged (again: no change). A resolved alert cannot be acknowledged (409)."""
    updated = Alert.objects.filter(pk=alert.pk, status=AlertStatus.FIRING).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_at=timezone.now(), acknowledged_by=user
    )
    alert.refresh_from_db()
    if not updated and alert.status == AlertStatus.RESOLVED:
        raise Conflict(f"alert #{alert.pk} is already resolved", field="status")
    return alert
