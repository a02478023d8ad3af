from django.conf import settings
from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


RUN_FINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its inputs
    QUEUED = "queued", "Queued"  # handed to the broker
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"  # an upstream step failed or the run was cancelled
    CANCELLED = "cancelled", "Cancelled"


STEP_FINAL = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED)


class Trigger(models.TextChoices):
    MANUAL = "manual", "Manual"
    API = "api", "API"
    RETRY = "retry", "Retry"
    SCHEDULE = "schedule", "Schedule"
    DATASET = "dataset", "New dataset version"
    PIPELINE = "pipeline", "Upstream pipeline"
    WEBHOOK = "webhook", "Webhook"
    DRIFT = "drift", "Drift alert"
    PERFORMANCE = "performance", "Performance alert"


class Run(models.Model):
    """One execution of a PipelineVersion."""

    workspace = models.ForeignKey(
        "pipelines.Workspace", on_delete=models.CASCADE, related_name="runs"
    )
    pipeline = models.ForeignKey("pipelines.Pipeline", on_delete=models.CASCADE, related_name="runs")
    # RESTRICT: a version with runs is kept, unless its runs go in the same delete
    # (a workspace or user being deleted).
    pipeline_version = models.ForeignKey(
        "pipelines.PipelineVersion", on_delete=models.RESTRICT, related_name="runs"
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    # What caused an automatic run, in words a user reads in history: "drift alert #12",
    # "schedule every 1 hour", "dataset churn v3".
    trigger_detail = models.CharField(max_length=200, blank=True)
    use_cache = models.BooleanField(default=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    steps_total = models.PositiveIntegerField(default=0)
    # Counters moved by the conditional update that makes a step final, so a
    # run is closed by the step that completes it without reloading every step.
    steps_done = models.PositiveIntegerField(default=0)
    steps_failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # The first evaluate step's headline metric, copied here so history lists
    # show it without loading steps: {"name": "accuracy", "value": 0.97}.
    headline = models.JSONField(null=True, blank=True)
    # The node whose metrics become the headline: the first step in plan order
    # whose block outputs metrics (fixed when the run is created).
    headline_node = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["pipeline", "-created_at"]),
            models.Index(fields=["pipeline", "status", "-created_at"]),
            models.Index(fields=["workspace", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.pipeline_id}"

    @property
    def is_final(self) -> bool:
        return self.status in RUN_FINAL

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def progress(self) -> float:
        return self.steps_done / self.steps_total if self.steps_total else 0.0


class StepRun(models.Model):
    """One node of a run."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    node_id = models.CharField(max_length=100)
    block_key = models.CharField(max_length=200)
    block_version = models.CharField(max_length=50)
    position = models.PositiveIntegerField(default=0)  # index in the compiled plan
    params = models.JSONField(default=dict)  # with defaults filled in
    inputs = models.JSONField(default=dict)  # {input_port: [source_node, source_port]}
    children = models.JSONField(default=list)  # node ids that consume this step's outputs
    # {input_port: {"sha256", "kind"}}: the upstream artifacts, resolved when the step is queued
    input_refs = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING)
    always_rerun = models.BooleanField(default=False)
    timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    # The node's "queue" option: blank sends the step to "steps" (and its trials to "trials").
    queue = models.CharField(max_length=64, blank=True, default="")
    cache_key = models.CharField(max_length=64, blank=True, db_index=True)
    cache_hit = models.BooleanField(default=False)
    cached_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # {output_port: {"sha256": …, "kind": …}}
    outputs = models.JSONField(default=dict)
    # {"metrics": {...}, "tables": {port: preview}, ...}: what the UI shows.
    summary = models.JSONField(default=dict)
    logs = models.TextField(blank=True)
    warnings = models.JSONField(default=list)
    error = models.TextField(blank=True)  # for people
    error_detail = models.TextField(blank=True)  # the traceback, for experts
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=100, blank=True)  # the Celery task, to revoke it
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["run", "node_id"], name="unique_step_node")]
        indexes = [
            models.Index(fields=["cache_key", "status"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} of run {self.run_id}"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class StepTrial(models.Model):
    """One trial of a fanned-out step (e.g. one candidate × fold of model.tune).

    Keyed by the step's attempt, so trials of an abandoned attempt (a requeued
    step) never mix with the current one; the unique key makes a duplicate
    delivery write nothing new.
    """

    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="trials")
    attempt = models.PositiveIntegerField()
    index = models.PositiveIntegerField()
    result = models.JSONField()
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "attempt", "index"], name="unique_step_trial")
        ]

    def __str__(self) -> str:
        return f"trial {self.index} of step {self.step_id} (attempt {self.attempt})"
