from django.conf import settings
from django.db import models


class ConnectionKind(models.TextChoices):
    POSTGRESQL = "postgresql", "PostgreSQL"


class Connection(models.Model):
    """A saved database connection a ``dataset.sql`` node reads from.

    ``password_encrypted`` holds the password encrypted with Fernet (see
    ``services.connections``); the plain password is never stored, never
    answered by the API, the admin or a page, and never put into step params:
    a run pins the connection's id and the worker decrypts it when the step runs.
    """

    workspace = models.ForeignKey(
        "pipelines.Workspace", on_delete=models.CASCADE, related_name="connections"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ConnectionKind.choices, default=ConnectionKind.POSTGRESQL)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=5432)
    database = models.CharField(max_length=200)
    user = models.CharField(max_length=200)
    password_encrypted = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_connection_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind} {self.user}@{self.host}:{self.port}/{self.database})"
