"""Alert rules, alerts, their deliveries, and the retrain policy of a deployment.

An ``AlertRule`` watches one signal of a deployment's monitoring windows
(``services.alerts.alert_rules_evaluate``). It keeps the state that makes
evaluation idempotent and "consecutive" meaningful: ``streak`` (breaching windows
in a row) and ``last_window_start`` (a window at or before it was already
counted). An ``Alert`` moves firing → acknowledged → resolved; at most one alert
per rule is open (firing or acknowledged), enforced by a partial unique index, so
two evaluations racing cannot both fire. An ``AlertDelivery`` is one message to
one channel (email or webhook) about one alert event, sent by a Celery task.

A ``RetrainPolicy`` links a deployment to a pipeline: a drift or performance
alert that persists starts a run of it (``services.retrain``); each such run is
a ``RetrainRun``, whose model is registered as a candidate version once the run
has succeeded.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Signal(models.TextChoices):
    DRIFT_SHARE = "drift_share", "Share of drifted features"
    FEATURE_DRIFT = "feature_drift", "Drifted features"
    PERFORMANCE = "performance", "Performance"
    LATENCY_P95_MS = "latency_p95_ms", "p95 latency (ms)"
    ERROR_RATE = "error_rate", "Error rate"
    QUALITY = "quality", "Data quality"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


ALERT_OPEN = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED)


class AlertRule(models.Model):
    """``signal`` compared with ``threshold`` on each window; fires after ``consecutive``
    breaching windows in a row, at most once per ``cooldown_minutes``.

    ``channels``: ``[{"kind": "email"|"webhook", "target"}]`` besides the in-app inbox.
    ``webhook_secret``: the HMAC key of this rule's webhooks (Fernet-encrypted; shown
    to the user once, in the answer that first gives the rule a webhook).
    """

    deployment = models.ForeignKey("pipelines.Deployment", on_delete=models.CASCADE, related_name="alert_rules")
    signal = models.CharField(max_length=20, choices=Signal.choices)
    threshold = models.FloatField()
    consecutive = models.PositiveSmallIntegerField(default=1)
    cooldown_minutes = models.PositiveIntegerField(default=60)
    channels = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)  # created with the deployment
    webhook_secret = models.TextField(blank=True)
    # Evaluation state
    streak = models.PositiveIntegerField(default=0)
    last_window_start = models.DateTimeField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deployment_id", "id"]

    def __str__(self) -> str:
        return f"{self.signal} rule {self.pk} of deployment {self.deployment_id}"


class Alert(models.Model):
    """One episode of a rule's signal being out of bounds, from firing to resolved.

    ``value`` and ``window`` are the latest breaching window's; ``first_window``
    is the window it fired on. ``windows``: how many breaching windows it has seen.
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    deployment = models.ForeignKey("pipelines.Deployment", on_delete=models.CASCADE, related_name="alerts")
    signal = models.CharField(max_length=20, choices=Signal.choices)
    status = models.CharField(max_length=20, choices=AlertStatus.choices, default=AlertStatus.FIRING)
    value = models.FloatField()
    threshold = models.FloatField()
    detail = models.CharField(max_length=500, blank=True)
    window = models.JSONField(default=dict)  # {"start", "end"} of the latest breaching window
    first_window = models.JSONField(default=dict)
    windows = models.PositiveIntegerField(default=1)
    fired_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"], condition=Q(status__in=["firing", "acknowledged"]), name="one_open_alert_per_rule"
            )
        ]
        indexes = [
            models.Index(fields=["deployment", "status", "-fired_at"], name="alert_deployment_status"),
            models.Index(fields=["status", "-fired_at"], name="alert_status_time"),
        ]

    def __str__(self) -> str:
        return f"alert #{self.pk} ({self.signal}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in ALERT_OPEN


class DeliveryKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class AlertDelivery(models.Model):
    """One message about one alert event (``firing`` or ``resolved``) to one channel target.

    Unique per (alert, event, kind, target), so evaluating a window twice sends nothing twice.
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20)  # the alert's status the message announces
    kind = models.CharField(max_length=10, choices=DeliveryKind.choices)
    target = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "event", "kind", "target"], name="unique_alert_delivery")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event} of alert {self.alert_id} → {self.target}"


class RetrainPolicy(models.Model):
    """Retrain ``pipeline`` when a drift or performance alert of the deployment persists.

    ``on``: the alert kinds that start a run (``drift``: drift_share and
    feature_drift rules; ``performance``). A run starts when such a rule has
    breached ``consecutive`` windows in a row, no retrain run of this deployment
    is active, and none started in the last ``cooldown_hours``. Runs are started as
    ``user`` (who set the policy; they must still be an editor of the workspace).
    ``auto_champion``: the retrained candidate, once it is the challenger, is also
    promoted to ``champion`` when every gate of the model (blocking and warn-only)
    passed on it; never on a failing gate, never by override.
    """

    deployment = models.OneToOneField("pipelines.Deployment", on_delete=models.CASCADE, related_name="retrain_policy")
    pipeline = models.ForeignKey("pipelines.Pipeline", on_delete=models.CASCADE, related_name="+")
    on = models.JSONField(default=list)
    consecutive = models.PositiveSmallIntegerField(default=2)
    cooldown_hours = models.FloatField(default=24)
    auto_champion = models.BooleanField(default=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"retrain policy of deployment {self.deployment_id}"


class RetrainRun(models.Model):
    """A run a retrain policy started, and the candidate model version it produced.

    ``registered``: None until the run ended; then the candidate's version, or
    ``error`` says why there is none (the run failed, no training step …).
    """

    deployment = models.ForeignKey("pipelines.Deployment", on_delete=models.CASCADE, related_name="retrain_runs")
    run = models.OneToOneField("pipelines.Run", on_delete=models.CASCADE, related_name="retrain")
    alert = models.ForeignKey(Alert, null=True, on_delete=models.SET_NULL, related_name="retrain_runs")
    trigger = models.CharField(max_length=20)  # drift | performance
    done = models.BooleanField(default=False)  # the run ended and its outcome was collected
    model_version = models.ForeignKey(
        "pipelines.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["done"], name="retrainrun_done")]

    def __str__(self) -> str:
        return f"retrain run {self.run_id} of deployment {self.deployment_id}"
