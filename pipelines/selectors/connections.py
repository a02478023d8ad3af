"""Read queries for saved database connections (never their passwords)."""

from __future__ import annotations

from django.db.models import QuerySet

from ..access import require_role, workspace_ids_for
from ..errors import NotFound
from ..models import Connection, Role


def connection_list(*, user, workspace_id: int | None = None) -> QuerySet[Connection]:
    """Connections of every workspace ``user`` is a member of (or of ``workspace_id`` only),
    by workspace then name."""
    connections = Connection.objects.filter(workspace_id__in=workspace_ids_for(user))
    if workspace_id is not None:
        connections = connections.filter(workspace_id=workspace_id)
    return (
        connections.select_related("workspace", "created_by")
        .defer("password_encrypted")
        .order_by("workspace_id", "name")
    )


def connection_get(*, user, connection_id: int, role: str = Role.VIEWER) -> Connection:
    """One connection; NotFound when it does not exist or ``user`` is not a member of its workspace."""
    connection = Connection.objects.select_related("created_by").filter(pk=connection_id).first()
    if connection is None:
        raise NotFound("connection not found")
    require_role(user, connection.workspace_id, role, what="connection")
    return connection
