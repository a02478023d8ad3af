"""The audit page: a workspace's trail for its admins, filtered, with verify and CSV export."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.utils.dateparse import parse_date

from ..access import member_roles
from ..models import Role, Workspace
from ..selectors.audit import audit_events
from ..services.audit import ACTIONS, audit_verify
from .common import page

PER_PAGE = 100


@page
def audit_page(request):
    admin_of = sorted(w for w, role in member_roles(request.user).items() if role == Role.ADMIN)
    workspaces = list(Workspace.objects.filter(pk__in=admin_of).order_by("pk"))
    raw = request.GET.get("workspace", "")
    workspace_id = int(raw) if raw.isdigit() and len(raw) < 12 else None
    if workspace_id is None:
        personal = next((w for w in workspaces if w.personal_owner_id == request.user.pk), None)
        workspace_id = (personal or (workspaces[0] if workspaces else None)).pk if workspaces else None
    context = {"nav": "audit", "workspaces": workspaces, "workspace_id": workspace_id, "actions": ACTIONS,
               "actor": request.GET.get("actor", "")[:150], "action": request.GET.get("action", ""),
               "since": request.GET.get("since", "")[:10]}
    if workspace_id is None:
        return render(request, "pages/audit.html", {**context, "page": None})
    try:
        since_day = parse_date(context["since"]) if context["since"] else None
    except ValueError:  # well-formed but not a date (2026-02-31): no filter, like an empty field
        since_day = None
    events = audit_events(
        user=request.user, workspace_id=workspace_id, actor=context["actor"] or None,
        action=context["action"] if context["action"] in ACTIONS else None,
        since=None if since_day is None else f"{since_day.isoformat()}T00:00:00Z",
    )
    number = request.GET.get("page", "1")
    listing = Paginator(events, PER_PAGE).get_page(number if number.isdigit() else 1)
    for event in listing.object_list:
        event.details_text = json.dumps(event.details, sort_keys=True, ensure_ascii=False)
    verified = audit_verify(workspace_id=workspace_id) if request.GET.get("verify") else None
    return render(request, "pages/audit.html", {**context, "page": listing, "verified": verified})


urlpatterns = [path("audit/", audit_page, name="page-audit")]
