"""Monitoring windows: what a deployment's traffic looked like over one span of time.

A ``MonitoringWindow`` stores the computed report of [start, end) in the API's
shape (``report``), so a page or a later GET reads it without recomputing. At
most one row per (deployment, start, end): the scheduled computation inserts
and skips an existing row; an explicit recompute replaces it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class WindowSize(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"
    WEEK = "week", "Week"
    CUSTOM = "custom", "Custom"  # [start, end) chosen by a caller (POST …/monitoring/run/)


class WindowStatus(models.TextChoices):
    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    ALERT = "alert", "Alert"
    INSUFFICIENT_DATA = "insufficient_data", "Not enough data"


class ReferenceKind(models.TextChoices):
    TRAINING = "training", "Training data"  # the model version's training table, through lineage
    DATASET = "dataset", "Dataset"  # one uploaded dataset version of the deployment's workspace
    WINDOW = "window", "Production window"  # the deployment's own predictions in [start, end)


class MonitoringReference(models.Model):
    """What a deployment's windows are compared with, when it is not the training data.

    No row means the default (``training``). A ``dataset`` reference pins one uploaded
    version; deleting that version deletes this row, so monitoring falls back to the
    training data rather than to nothing. A ``window`` reference is a closed span of the
    deployment's own logged predictions. Stored windows keep, in their report, the
    reference they were computed with; changing it changes only later windows.
    """

    deployment = models.OneToOneField(
        "pipelines.Deployment", on_delete=models.CASCADE, related_name="monitoring_reference"
    )
    kind = models.CharField(max_length=10, choices=ReferenceKind.choices, default=ReferenceKind.TRAINING)
    dataset = models.ForeignKey("pipelines.Dataset", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.deployment_id}:{self.kind}"


class MonitoringWindow(models.Model):
    deployment = models.ForeignKey(
        "pipelines.Deployment", on_delete=models.CASCADE, related_name="monitoring_windows"
    )
    size = models.CharField(max_length=10, choices=WindowSize.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=20, choices=WindowStatus.choices)
    n = models.PositiveIntegerField(default=0)  # rows predicted in the window (before sampling)
    # The model version the reference came from (the one serving at the window's end).
    model_version = models.ForeignKey(
        "pipelines.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    report = models.JSONField()  # one element of the API's "windows" list
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "end"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "start", "end"], name="unique_monitoring_window"),
        ]
        indexes = [models.Index(fields=["deployment", "size", "start"], name="monwindow_deployment_start")]

    def __str__(self) -> str:
        return f"{self.deployment_id}:{self.start:%Y-%m-%dT%H:%M}–{self.end:%Y-%m-%dT%H:%M}"
