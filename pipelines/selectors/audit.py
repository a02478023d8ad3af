"""Read queries for the audit trail (admins of the workspace only)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from ..access import require_role
from ..models import AuditEvent, Role


def audit_events(*, user, workspace_id: int, actor: str | None = None, action: str | None = None,
                 since: datetime | None = None) -> QuerySet[AuditEvent]:
    """The workspace's events, newest first. ``action`` matches exactly, or a prefix ending
    in ``.`` (``model.`` → every model action)."""
    require_role(user, workspace_id, Role.ADMIN, what="workspace")
    events = AuditEvent.objects.filter(workspace_id=workspace_id)
    if actor:
        events = events.filter(actor_name=actor)
    if action:
        events = events.filter(action__startswith=action) if action.endswith(".") else events.filter(action=action)
    if since is not None:
        events = events.filter(created_at__gte=since)
    return events.order_by("-seq")
