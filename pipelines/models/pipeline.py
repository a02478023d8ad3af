from django.conf import settings
from django.db import models


def empty_graph() -> dict:
    return {"nodes": [], "edges": []}


class Pipeline(models.Model):
    """A graph being edited (the draft).

    ``version`` counts saves; every write names the version it edits and a
    stale one is refused (optimistic concurrency, see services.pipeline_update).
    """

    workspace = models.ForeignKey(
        "pipelines.Workspace", on_delete=models.CASCADE, related_name="pipelines"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    graph = models.JSONField(default=empty_graph)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["workspace", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class PipelineVersion(models.Model):
    """An immutable snapshot of a pipeline's graph. Every run pins one."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    graph_hash = models.CharField(max_length=64)
    message = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "number"], name="unique_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.pipeline} v{self.number}"
