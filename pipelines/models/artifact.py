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
    """A CSV uploaded to a workspace, stored as a Parquet table artifact."""

    workspace = models.ForeignKey(
        "pipelines.Workspace", on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=300, blank=True)
    n_rows = models.PositiveIntegerField()
    columns = models.JSONField()  # [{"name", "dtype"}]
    preview = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name
