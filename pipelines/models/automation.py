"""What starts runs without a person clicking: schedules and triggers.

A **Schedule** fires a pipeline on a cron expression or every N seconds; its
``next_run_at`` is claimed with a conditional update, so two beats (or a task
delivered twice) start one run per due time. A **PipelineTrigger** starts a
pipeline when a dataset gets a new version, when another pipeline's run
succeeds, or when its secret webhook URL is called. Each automatic start of a
dataset or pipeline trigger is a **TriggerFiring** keyed by what caused it
(``dataset:<id>``, ``run:<id>``): the unique key is what makes it exactly once.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Schedule(models.Model):
    pipeline = models.ForeignKey("pipelines.Pipeline", on_delete=models.CASCADE, related_name="schedules")
    # Exactly one of the two: a five-field cron expression (UTC) or an interval.
    cron = models.CharField(max_length=100, blank=True)
    every_seconds = models.PositiveIntegerField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    # Runs are started as this user; they must still be an editor of the workspace.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey("pipelines.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Why the last due time started nothing (invalid graph, owner lost the role); "" when it did.
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["paused", "next_run_at"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(cron="") & Q(every_seconds__isnull=False))
                | (~Q(cron="") & Q(every_seconds__isnull=True)),
                name="schedule_cron_xor_interval",
            ),
        ]

    def __str__(self) -> str:
        return f"schedule {self.pk} of pipeline {self.pipeline_id}"


class TriggerKind(models.TextChoices):
    DATASET = "dataset", "New dataset version"
    PIPELINE = "pipeline", "Upstream pipeline succeeded"
    WEBHOOK = "webhook", "Webhook"


class PipelineTrigger(models.Model):
    pipeline = models.ForeignKey("pipelines.Pipeline", on_delete=models.CASCADE, related_name="triggers")
    kind = models.CharField(max_length=10, choices=TriggerKind.choices)
    # kind=dataset: every new version of this name in the pipeline's workspace.
    dataset_name = models.CharField(max_length=200, blank=True)
    # kind=pipeline: each successful run of this pipeline (same workspace).
    source_pipeline = models.ForeignKey(
        "pipelines.Pipeline", null=True, blank=True, on_delete=models.CASCADE, related_name="downstream_triggers"
    )
    # kind=webhook: sha256 of the secret in the URL; the secret itself is shown once.
    secret_hash = models.CharField(max_length=64, blank=True, db_index=True)
    paused = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["kind", "paused"])]

    def __str__(self) -> str:
        return f"{self.kind} trigger {self.pk} of pipeline {self.pipeline_id}"


class TriggerFiring(models.Model):
    trigger = models.ForeignKey(PipelineTrigger, on_delete=models.CASCADE, related_name="firings")
    key = models.CharField(max_length=100)  # "dataset:<id>" or "run:<id>": what caused it
    run = models.ForeignKey("pipelines.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # kind=pipeline: the upstream run, so a chain of triggers can be walked back (loop protection).
    source_run = models.ForeignKey(
        "pipelines.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skipped = models.CharField(max_length=300, blank=True)  # why nothing started, if so
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trigger", "key"], name="trigger_firing_once")]
        indexes = [models.Index(fields=["run"])]

    def __str__(self) -> str:
        return f"{self.key} → run {self.run_id}"
