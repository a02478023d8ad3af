"""The audit trail of a workspace: list (filter, CSV export) and verify. Admins only."""

from __future__ import annotations

import csv
import io
import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import require_role
from ..errors import ApplicationError
from ..inputs import parse_moment
from ..models import AuditEvent, Role
from ..selectors.audit import audit_events
from ..services.audit import ACTIONS, audit_verify
from .base import Paginated, paginate
from .schema import error_responses

CSV_MAX_ROWS = 100_000


class FormatParamNegotiation(DefaultContentNegotiation):
    """``?format=`` names this view's export format, not a DRF renderer: answer JSON by default."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AuditEventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name")

    class Meta:
        model = AuditEvent
        fields = ["id", "seq", "created_at", "actor", "action", "target_type", "target_id", "details",
                  "prev_hash", "hash"]


def _choice(value: str | None, choices, field: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in choices:
        raise ApplicationError(f"{field} must be one of {', '.join(choices)}", field=field)
    return value


# What ?action= takes: an audited action, or the prefix of a family of them ("model.").
ACTION_FILTERS = [*ACTIONS, *sorted({a.split(".")[0] + "." for a in ACTIONS})]


def _action(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if value not in ACTION_FILTERS:
        raise ApplicationError(
            f"action must be one of {', '.join(ACTIONS)} (or a prefix such as 'model.')", field="action"
        )
    return value


class AuditListApi(APIView):
    pagination_class = Paginated
    content_negotiation_class = FormatParamNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("actor", str, description="username"),
            OpenApiParameter("action", str, enum=ACTION_FILTERS,
                             description="an action (model.register) or a prefix (model.)"),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="ISO 8601; events at or after it"),
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv: every matching event"),
        ],
        responses={(200, "application/json"): AuditEventOut(many=True), (200, "text/csv"): OpenApiTypes.STR,
                   **error_responses(400, 403, 404)},
    )
    def get(self, request, workspace_id: int):
        params = request.query_params
        fmt = _choice(params.get("format"), ("json", "csv"), "format") or "json"
        since = parse_moment(params["since"], field="since", clamp=True) if "since" in params else None
        actor = params.get("actor") or None
        if actor is not None and (len(actor) > 150 or "\x00" in actor):
            raise ApplicationError("actor is a username of at most 150 characters", field="actor")
        events = audit_events(user=request.user, workspace_id=workspace_id, actor=actor,
                              action=_action(params.get("action")), since=since)
        if fmt == "csv":
            return _csv(events, workspace_id)
        return paginate(self, events, AuditEventOut)


def _csv(events, workspace_id: int) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "created_at", "actor", "action", "target_type", "target_id", "details",
                     "prev_hash", "hash"])
    for e in events[:CSV_MAX_ROWS].iterator(chunk_size=2000):
        writer.writerow([e.seq, e.created_at.isoformat(), e.actor_name, e.action, e.target_type, e.target_id,
                         json.dumps(e.details, sort_keys=True), e.prev_hash, e.hash])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-workspace-{workspace_id}.csv"'
    return response


class AuditVerifyApi(APIView):
    @extend_schema(
        responses={
            200: inline_serializer("AuditVerifyOut", {
                "ok": serializers.BooleanField(),
                "events": serializers.IntegerField(),
                "broken": serializers.DictField(required=False),
            }),
            **error_responses(403, 404),
        },
    )
    def get(self, request, workspace_id: int):
        require_role(request.user, workspace_id, Role.ADMIN, what="workspace")
        return Response(audit_verify(workspace_id=workspace_id))
