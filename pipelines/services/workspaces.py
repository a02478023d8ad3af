from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from ..errors import ApplicationError, NotFound
from ..models import Membership, Role, Workspace
from .audit import audit_record

User = get_user_model()


def workspace_create_personal(*, user) -> Workspace:
    with transaction.atomic():
        workspace, _ = Workspace.objects.get_or_create(
            personal_owner=user, defaults={"name": f"{user.get_username()}'s workspace"}
        )
        Membership.objects.get_or_create(
            workspace=workspace, user=user, defaults={"role": Role.ADMIN}
        )
    return workspace


def workspace_create(*, name: str, user) -> Workspace:
    with transaction.atomic():
        workspace = Workspace.objects.create(name=name)
        Membership.objects.create(workspace=workspace, user=user, role=Role.ADMIN)
    return workspace


def membership_set(*, workspace: Workspace, username: str, role: Role, actor=None) -> Membership:
    """Add a member or change a member's role.

    The caller has resolved ``workspace`` with the admin role and validated
    ``role`` (``selectors.workspaces.workspace_get``, the API's serializer).
    """
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ApplicationError(f"no user named {username!r}", details={"field": "username"})
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            workspace=workspace, user=user, defaults={"role": role}
        )
        changed = created or membership.role != role
        if not created and membership.role != role:
            _refuse_removing_last_admin(workspace, membership)
            membership.role = role
            membership.save(update_fields=["role"])
        if changed:
            audit_record(workspace_id=workspace.pk, user=actor, action="member.set", target_type="user",
                         target_id=user.pk, details={"username": username, "role": role, "added": created})
    _memberships_changed()
    return membership


def membership_remove(*, workspace: Workspace, username: str, actor=None) -> None:
    """Remove a member; the caller has resolved ``workspace`` with the admin role."""
    membership = Membership.objects.filter(workspace=workspace, user__username=username).first()
    if membership is None:
        raise NotFound(f"{username!r} is not a member of this workspace")
    _refuse_removing_last_admin(workspace, membership)
    with transaction.atomic():
        membership.delete()
        audit_record(workspace_id=workspace.pk, user=actor, action="member.remove", target_type="user",
                     target_id=membership.user_id, details={"username": username, "role": membership.role})
    _memberships_changed()


def _memberships_changed() -> None:
    """Serving processes cache who may call which deployment: make them forget it at once.

    Not deferred to the commit: a needless cache refresh (if the transaction
    rolls back) costs nothing, a late one would let a removed member in.
    """
    from ..serving.state import serving_stamp_bump

    serving_stamp_bump()


def _refuse_removing_last_admin(workspace: Workspace, membership: Membership) -> None:
    if membership.role == Role.ADMIN and not workspace.memberships.filter(
        role=Role.ADMIN
    ).exclude(pk=membership.pk).exists():
        raise ApplicationError("a workspace needs at least one admin")
