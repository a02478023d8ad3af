"""Delivery: aliases of a registered model, promotion history, gate results, traffic changes.

- ``ModelAlias``: a named pointer (``champion``, ``challenger``, any name) from a
  registered model to one of its versions. Deployments that follow an alias
  (``Deployment.model`` + ``Deployment.alias``) serve whatever it points at.
- ``PromotionEvent``: one move of an alias — who, when, from which version to
  which, why, whether an admin overrode failing gates, and the gate results.
  Immutable: ``save`` refuses to update a stored event, and nothing deletes one
  except deleting the registered model.
- ``GateEvaluation``: the gate results of one promotion attempt of a version,
  refused ones included, so a version's page shows why it was (not) promoted.
- ``TrafficChange``: one change of a deployment's canary split or shadow, by a
  person or by the automatic rollback.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ModelAlias(models.Model):
    registered_model = models.ForeignKey(
        "pipelines.RegisteredModel", on_delete=models.CASCADE, related_name="aliases"
    )
    alias = models.CharField(max_length=50)
    # An alias without its version means nothing: it goes with it (deleting a version or
    # its model must not be blocked by the pointers to it).
    model_version = models.ForeignKey(
        "pipelines.ModelVersion", on_delete=models.CASCADE, related_name="aliases"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["alias"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "alias"], name="unique_model_alias")
        ]

    def __str__(self) -> str:
        return f"{self.registered_model_id}@{self.alias}"


class ImmutableError(Exception):
    pass


class PromotionEvent(models.Model):
    registered_model = models.ForeignKey(
        "pipelines.RegisteredModel", on_delete=models.CASCADE, related_name="promotions"
    )
    alias = models.CharField(max_length=50)
    from_version = models.ForeignKey(
        "pipelines.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_version = models.ForeignKey(
        "pipelines.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="promotions"
    )
    # Version numbers as they were, kept even if a version row goes away.
    from_number = models.PositiveIntegerField(null=True, blank=True)
    to_number = models.PositiveIntegerField()
    reason = models.TextField(blank=True)
    override = models.BooleanField(default=False)
    gates = models.JSONField(default=list)  # [{"kind", "blocking", "passed", "detail"}]
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.alias}: v{self.from_number} → v{self.to_number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ImmutableError("promotion events are immutable")
        super().save(*args, **kwargs)


class GateEvaluation(models.Model):
    model_version = models.ForeignKey(
        "pipelines.ModelVersion", on_delete=models.CASCADE, related_name="gate_evaluations"
    )
    alias = models.CharField(max_length=50)
    results = models.JSONField(default=list)  # [{"kind", "blocking", "passed", "detail"}]
    passed = models.BooleanField()  # every blocking gate passed
    promoted = models.BooleanField()  # the alias moved (passed, or overridden)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"gates of {self.model_version_id} for {self.alias}: {'passed' if self.passed else 'failed'}"


class TrafficChange(models.Model):
    deployment = models.ForeignKey(
        "pipelines.Deployment", on_delete=models.CASCADE, related_name="traffic_changes"
    )
    traffic = models.JSONField(default=dict)  # what was set: {} | {"split": …} | {"shadow": …}
    automatic = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.deployment_id}: {self.traffic or 'all to the alias'}"


class ShadowPrediction(models.Model):
    """The answer of a shadowed version to a mirrored request (never sent to the client).

    ``agreement``: the share of rows where it predicted what the answering version
    did. ``latency_ms``: this request's share of the batch the shadow predicted in
    on a worker (requests are mirrored in batches, off the serving process).
    """

    deployment = models.ForeignKey("pipelines.Deployment", on_delete=models.CASCADE, related_name="shadow_logs")
    model_version = models.ForeignKey("pipelines.ModelVersion", null=True, on_delete=models.SET_NULL,
                                      related_name="+")
    answered_by = models.ForeignKey("pipelines.ModelVersion", null=True, on_delete=models.SET_NULL,
                                    related_name="+")
    request_id = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=200)
    error = models.TextField(blank=True)
    n_rows = models.PositiveIntegerField(default=0)
    outputs = models.JSONField(null=True, blank=True)  # {"predictions": [...]}
    agreement = models.FloatField(null=True, blank=True)
    latency_ms = models.FloatField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["deployment", "-created_at"], name="shadow_deployment_time")]

    def __str__(self) -> str:
        return f"shadow {self.deployment_id}:{self.request_id}"
