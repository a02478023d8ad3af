"""The audit trail and model card revisions.

- ``AuditEvent``: who did what, when, in a workspace. Append-only and
  hash-chained per workspace: each event's ``hash`` is
  sha256(``prev_hash`` + canonical JSON of the event), so an edited, removed or
  reordered row breaks the chain at that row (``services.audit.audit_verify``).
  ``save`` refuses to update a stored event and ``delete`` refuses outright;
  only deleting the workspace removes its trail.
- ``AuditHead``: the last ``seq`` and ``hash`` of a workspace's chain. Writers
  lock this row (``SELECT … FOR UPDATE``) before appending, so two concurrent
  writers cannot both extend the same predecessor (no fork).
- ``ModelCardRevision``: one edit of a model version's card (intended use,
  limitations, ethical considerations). The generated text at registration is
  revision 0 (it lives on the ``ModelVersion``); each edit is a new row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .delivery import ImmutableError

# The workspace references carry no database constraint (Django still cascades deletes): an
# insert under a foreign key takes a share lock on the workspace row, so appending an event
# would wait for (and queue behind) writers that lock the workspace row; without it, an
# append takes no lock but the head's.


class AuditHead(models.Model):
    workspace = models.OneToOneField(
        "pipelines.Workspace", on_delete=models.CASCADE, related_name="audit_head", primary_key=True,
        db_constraint=False,
    )
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"{self.workspace_id}@{self.seq}"


class AuditEvent(models.Model):
    workspace = models.ForeignKey(
        "pipelines.Workspace", on_delete=models.CASCADE, related_name="audit_events", db_constraint=False
    )
    seq = models.PositiveBigIntegerField()  # 1, 2, … per workspace
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(max_length=150, blank=True)  # kept when the user is deleted
    action = models.CharField(max_length=50)  # "model.register", "deployment.deploy", …
    target_type = models.CharField(max_length=50, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "seq"], name="unique_audit_seq"),
        ]
        indexes = [
            models.Index(fields=["workspace", "action", "-seq"], name="audit_action"),
            models.Index(fields=["workspace", "created_at"], name="audit_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_name or '—'}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ImmutableError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("audit events are append-only")


class ModelCardRevision(models.Model):
    model_version = models.ForeignKey(
        "pipelines.ModelVersion", on_delete=models.CASCADE, related_name="card_revisions"
    )
    number = models.PositiveIntegerField()  # 1, 2, … (0 is the generated card)
    intended_use = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    ethical_considerations = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "number"], name="unique_card_revision"),
        ]

    def __str__(self) -> str:
        return f"{self.model_version_id} card r{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ImmutableError("card revisions are immutable; add a new one")
        super().save(*args, **kwargs)
