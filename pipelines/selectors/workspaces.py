"""Read queries for workspaces as the signed-in user sees them."""

from __future__ import annotations

from ..access import member_roles, role_allows
from ..models import Role, Workspace


def workspace_list(*, user, role: str = Role.VIEWER) -> list[Workspace]:
    """The workspaces where ``user`` has at least ``role``: the personal one first, then by name."""
    ids = [i for i, actual in member_roles(user).items() if role_allows(actual, role)]
    return list(Workspace.objects.filter(pk__in=ids).order_by("-personal_owner", "name"))
