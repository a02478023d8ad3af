"""Who may do what in which workspace.

A workspace's objects are invisible to non-members: every lookup for a
non-member answers "not found", never "forbidden", so ids do not leak. A member
whose role is too low gets "forbidden" with the role that is needed.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from .errors import NotFound, PermissionDenied
from .models import Membership, Role, Workspace
from .models.workspace import ROLE_RANK


def member_roles(user: AbstractBaseUser) -> dict[int, str]:
    """{workspace id: role} of the user, read once per request (cached on the user object)."""
    if not user.is_authenticated:
        return {}
    cache = getattr(user, "_workspace_roles", None)
    if cache is None:
        cache = dict(Membership.objects.filter(user=user).values_list("workspace_id", "role"))
        user._workspace_roles = cache
    return cache


def forget_roles(user: AbstractBaseUser) -> None:
    """Drop the cached roles after the user's memberships changed in this request."""
    user.__dict__.pop("_workspace_roles", None)


def member_role(user: AbstractBaseUser, workspace_id: int) -> str | None:
    return member_roles(user).get(workspace_id)


def role_allows(role: str | None, needed: str) -> bool:
    """Whether ``role`` (None: not a member) includes everything ``needed`` may do."""
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(needed)]


def has_role(user: AbstractBaseUser, workspace_id: int, needed: str) -> bool:
    return role_allows(member_role(user, workspace_id), needed)


def require_role(user: AbstractBaseUser, workspace_id: int, role: str, *, what: str = "object") -> str:
    """Return the user's role in the workspace, or raise NotFound / PermissionDenied."""
    actual = member_role(user, workspace_id)
    if actual is None:
        raise NotFound(f"{what} not found")
    if not role_allows(actual, role):
        raise PermissionDenied(
            f"your role in this workspace is {actual}; this needs {role} or higher",
            details={"required_role": role, "your_role": actual},
        )
    return actual


def require_gate_override(user: AbstractBaseUser, workspace_id: int) -> None:
    """Overriding failing gates (a promotion or a pinned deploy) is for admins: 403 naming
    ``override`` otherwise. The caller has already resolved the model with the editor role."""
    role = member_role(user, workspace_id)
    if not role_allows(role, Role.ADMIN):
        raise PermissionDenied(
            f"overriding failing gates needs the admin role (yours is {role})", field="override",
            details={"required_role": Role.ADMIN, "your_role": role},
        )


def workspace_ids_for(user: AbstractBaseUser) -> list[int]:
    return list(member_roles(user))


def workspace_for(user: AbstractBaseUser, workspace_id: int | None, role: str) -> Workspace:
    """The workspace named by id (default: the user's personal one), checked for ``role``."""
    if workspace_id is None:
        workspace = Workspace.objects.filter(personal_owner=user).first()
        if workspace is None:
            raise NotFound("you have no personal workspace")
    else:
        require_role(user, workspace_id, Role.VIEWER, what="workspace")
        workspace = Workspace.objects.get(pk=workspace_id)
    require_role(user, workspace.pk, role, what="workspace")
    return workspace
