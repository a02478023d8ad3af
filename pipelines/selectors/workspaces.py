"""Read queries for workspaces as the signed-in user sees them."""

from __future__ import annotations

from ..access import member_roles, require_role, role_allows, workspace_ids_for
from ..models import Membership, Role, Workspace


def workspace_list(*, user, role: str = Role.VIEWER) -> list[Workspace]:
    """The workspaces where ``user`` has at least ``role``: the personal one first, then by name."""
    ids = [i for i, actual in member_roles(user).items() if role_allows(actual, role)]
    return list(Workspace.objects.filter(pk__in=ids).order_by("-personal_owner", "name"))


def workspace_list_oldest_first(*, user) -> list[Workspace]:
    """Every workspace ``user`` is a member of, in the order they were created (the API's list)."""
    return list(Workspace.objects.filter(pk__in=workspace_ids_for(user)).order_by("pk"))


def workspace_get(*, user, workspace_id: int, role: str = Role.VIEWER) -> Workspace:
    """The workspace, if ``user`` has ``role`` in it; a non-member gets NotFound, a lower role PermissionDenied."""
    require_role(user, workspace_id, role, what="workspace")
    return Workspace.objects.get(pk=workspace_id)


def workspace_members(*, workspace: Workspace) -> list[Membership]:
    """The workspace's memberships by username (access already checked)."""
    return list(workspace.memberships.select_related("user").order_by("user__username"))
