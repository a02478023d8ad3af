from django.conf import settings
from django.db import models


class Artifact(models.Model):
    """An immutable, content-addressed file produced by a step or an upload.

    The bytes live in the artifact store (pipelines.execution.artifacts) under
    their sha256; this row records what they are. A signature file beside the
    bytes guards every pickled artifact against tampering.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    kind = models.CharField(max_length=20)  # table | object | json
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind}:{self.sha256[:12]}"


class Dataset(models.Model):
    """One version of an uploaded table (CSV or Parquet), stored as a Parquet table artifact.

    Uploading under a name the workspace already has makes the next ``version``
    of that name (1, 2, …); a ``dataset.upload`` node pins one or follows the latest.
    """

    workspace = models.ForeignKey(
        "pipelines.Workspace", on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=300, blank=True)
    n_rows = models.PositiveIntegerField()
    columns = models.JSONField()  # [{"name", "dtype"}]
    preview = models.JSONField(default=dict)
    # How the file was read: {"format": "csv"|"parquet", and for CSV "delimiter", "decimal", "encoding", "short_lines"}.
    read_options = models.JSONField(default=dict)
    # Per column statistics computed once at upload (services.dataset_profile); {} for older uploads.
    profile = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name", "version"], name="dataset_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
