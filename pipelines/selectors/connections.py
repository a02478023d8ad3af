"""Read queries for saved database connections (never their passwords)."""

from __future__ import annotations

from django.db.models import QuerySet

from ..access import workspace_ids_for
from ..models import Connection


def connection_list(*, user) -> QuerySet[Connection]:
    """Connections of every workspace ``user`` is a member of, by workspace then name."""
    return (
        Connection.objects.filter(workspace_id__in=workspace_ids_for(user))
        .select_related("workspace")
        .defer("password_encrypted")
        .order_by("workspace_id", "name")
    )
