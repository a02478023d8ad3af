"""Model registry, deployments and the prediction log.

A ``ModelVersion`` is an immutable record of one trained ``model.train`` step:
the model artifact, the input signature inferred from the training table, the
task, metrics of the evaluate steps that scored it and its lineage. A
``Deployment`` is a named endpoint; each deploy or rollback appends a
``DeploymentRevision`` and points ``current_revision`` at it, so the history
says who served what and when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Task(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    REGRESSION = "regression", "Regression"
    OTHER = "other", "Other"


class RegisteredModel(models.Model):
    """A name under which model versions are registered, unique in a workspace."""

    workspace = models.ForeignKey(
        "pipelines.Workspace", on_delete=models.CASCADE, related_name="registered_models"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # The checks every promotion runs: [{"kind", "blocking", …params}] (services.gates).
    gates = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_model_name")
        ]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    """One registered, immutable trained model.

    ``signature`` is ``{"inputs": [{"name", "dtype", "nullable"}], "example": {column: value},
    "target": str, "allow_nan": bool}``: the feature columns in training order
    (excluded and dropped columns left out); ``nullable``: the model predicts with
    a blank there (older signatures lack it and follow ``allow_nan``).
    ``metrics`` maps an evaluate node id to the metrics it computed.
    """

    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    artifact_sha256 = models.CharField(max_length=64)  # the fitted Pipeline, kind "object"
    task = models.CharField(max_length=20, choices=Task.choices)
    classes = models.JSONField(null=True, blank=True)
    signature = models.JSONField()
    metrics = models.JSONField(default=dict)
    # Lineage
    run = models.ForeignKey("pipelines.Run", null=True, on_delete=models.SET_NULL, related_name="+")
    step = models.ForeignKey(
        "pipelines.StepRun", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    pipeline_version = models.ForeignKey(
        "pipelines.PipelineVersion", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    node_id = models.CharField(max_length=100)
    training_data_sha256 = models.CharField(max_length=64, blank=True)
    training_rows = models.PositiveIntegerField(default=0)
    library_versions = models.JSONField(default=dict)
    # Model card: generated at registration; description and the rest can be edited later.
    steps = models.JSONField(default=list)  # [{"name", "class", "params"}]
    description = models.TextField(blank=True)
    intended_use = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model", "number"], name="unique_model_version_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.number}"

    @property
    def feature_names(self) -> list[str]:
        return [c["name"] for c in self.signature.get("inputs", [])]


class Deployment(models.Model):
    """A named prediction endpoint; the name is global because it is in the URL."""

    workspace = models.ForeignKey(
        "pipelines.Workspace", on_delete=models.CASCADE, related_name="deployments"
    )
    name = models.CharField(max_length=100, unique=True)
    current_revision = models.ForeignKey(
        "DeploymentRevision", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Following an alias: promotions of ``model`` to ``alias`` become new revisions.
    # Both empty: the deployment serves the version its last deploy pinned.
    model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments"
    )
    alias = models.CharField(max_length=50, blank=True)
    # Rollout: {} | {"split": {alias: percent}} | {"shadow": alias} (services.rollout).
    traffic = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RevisionAction(models.TextChoices):
    DEPLOY = "deploy", "Deploy"
    ROLLBACK = "rollback", "Rollback"
    PROMOTE = "promote", "Promotion"


class DeploymentRevision(models.Model):
    """One change of what a deployment serves: who, when, which model version."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    # RESTRICT, not PROTECT: a served version cannot be deleted on its own, but deleting
    # the workspace (which cascades to both ends) must work.
    model_version = models.ForeignKey(ModelVersion, on_delete=models.RESTRICT, related_name="revisions")
    action = models.CharField(max_length=10, choices=RevisionAction.choices, default=RevisionAction.DEPLOY)
    # For a rollback: the revision whose model it restored.
    restores = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "number"], name="unique_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.deployment.name} r{self.number}"


class DeploymentKey(models.Model):
    """An API key for one deployment. Only its SHA-256 is stored; the prefix is shown."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.deployment.name})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class PredictionLog(models.Model):
    """One prediction request (rows in, predictions out), written in batches off the hot path.

    Refused requests are logged too (``status`` ≥ 400, ``error`` says why) so the
    error rate is known. ``label`` holds ground truth posted later by request id:
    one value per input row.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="logs")
    model_version = models.ForeignKey(
        ModelVersion, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_id = models.CharField(max_length=64)
    protocol = models.CharField(max_length=10, default="json")  # json | v2
    status = models.PositiveSmallIntegerField(default=200)
    error = models.TextField(blank=True)
    n_rows = models.PositiveIntegerField(default=0)
    inputs = models.JSONField(null=True, blank=True)  # [{column: value}]
    outputs = models.JSONField(null=True, blank=True)  # {"predictions": [...], "probabilities"?: [...]}
    latency_ms = models.FloatField()
    label = models.JSONField(null=True, blank=True)  # [value per row]
    labeled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["deployment", "-created_at"], name="predlog_deployment_time"),
            models.Index(fields=["request_id"], name="predlog_request_id"),
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id}:{self.request_id}"


class PredictionLogHour(models.Model):
    """A deployment-hour of the Parquet copy of the logs, for compaction (``services.log_compaction``).

    ``pending``: a batch was written after the last compaction claimed the hour (set
    by the writer, after the batch's file is in the store). ``claimed_until``: a
    compaction holds the hour until then; a claim left behind by a worker that died
    expires, and the hour is compacted again.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()  # its start, UTC
    pending = models.BooleanField(default=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    compacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deployment", "hour"], name="predhour_unique")]
        indexes = [
            models.Index(
                fields=["hour"], name="predhour_due",
                condition=models.Q(pending=True) | models.Q(claimed_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id}:{self.hour:%Y-%m-%dT%H}"
