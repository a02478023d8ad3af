"""Delivery API: registered models by name, gates, promotion, history, traffic. One view per operation.

A registered model is addressed by its name among the caller's workspaces;
``?workspace=<id>`` picks one when two of them use the same name.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import require_gate_override
from ..errors import ApplicationError
from ..inputs import MAX_ID, optional_id
from ..models import PromotionEvent, Role
from ..selectors.delivery import (
    following_deployments,
    model_aliases,
    model_versions,
    promotion_history,
    registered_model_get,
    traffic_changes,
)
from ..selectors.registry import deployment_get
from ..services.promotion import model_promote, registered_model_gates_set
from ..services.rollout import rollout_compare, traffic_set
from .base import Paginated, paginate
from .fields import StrictBooleanField, StrictCharField
from .registry import AliasField, ModelVersionOut
from .schema import error_responses, id_query
from .serializers import UserField


def _model(request, name: str, role: str = Role.VIEWER):
    workspace = optional_id(request.query_params.get("workspace"), field="workspace")
    return registered_model_get(user=request.user, name=name, role=role, workspace_id=workspace)


class GateResultOut(serializers.Serializer):
    kind = serializers.CharField()
    blocking = serializers.BooleanField()
    passed = serializers.BooleanField()
    detail = serializers.CharField()


class GatesOut(serializers.Serializer):
    checks = serializers.ListField(child=serializers.DictField())


class RegisteredModelOut(serializers.Serializer):
    name = serializers.CharField()
    workspace = serializers.IntegerField()
    description = serializers.CharField()
    gates = GatesOut()
    aliases = serializers.DictField(child=serializers.IntegerField(), help_text="{alias: version number}")
    versions = ModelVersionOut(many=True)
    deployments = serializers.ListField(child=serializers.DictField(), help_text="deployments following an alias")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def registered_model_payload(model) -> dict:
    versions = model_versions(registered_model=model)
    for version in versions:
        version.registered_model = model  # the serializer reads its name: no query per version
    return RegisteredModelOut({
        "name": model.name,
        "workspace": model.workspace_id,
        "description": model.description,
        "gates": {"checks": model.gates or []},
        "aliases": {a.alias: a.model_version.number for a in model_aliases(registered_model=model)},
        "versions": versions,
        "deployments": [
            {"name": d.name, "alias": d.alias,
             "version": d.current_revision.model_version.number if d.current_revision_id else None,
             "traffic": d.traffic or {}}
            for d in following_deployments(registered_model=model)
        ],
        "created_at": model.created_at,
        "updated_at": model.updated_at,
    }).data


class RegisteredModelDetailApi(APIView):
    @extend_schema(parameters=[id_query("workspace")], responses={200: RegisteredModelOut, **error_responses(404)})
    def get(self, request, name: str):
        return Response(registered_model_payload(_model(request, name)))


class GatesApi(APIView):
    @extend_schema(parameters=[id_query("workspace")], responses={200: GatesOut, **error_responses(404)})
    def get(self, request, name: str):
        return Response({"checks": _model(request, name).gates or []})

    @extend_schema(parameters=[id_query("workspace")], request=GatesOut,
                   responses={200: GatesOut, **error_responses(400, 403, 404)})
    def put(self, request, name: str):
        model = _model(request, name, Role.EDITOR)
        if not isinstance(request.data, dict) or "checks" not in request.data:
            raise ApplicationError('send {"checks": [{"kind", "blocking", …}]}', field="checks")
        extra = [k for k in request.data if k != "checks"]
        if extra:
            raise ApplicationError(f"unknown key {extra[0]!r}", field=str(extra[0]))
        gates = registered_model_gates_set(user=request.user, registered_model=model, checks=request.data["checks"])
        return Response({"checks": gates})


class PromoteIn(serializers.Serializer):
    alias = AliasField(max_length=50)
    reason = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    override = StrictBooleanField(required=False, default=False)


class PromoteOut(serializers.Serializer):
    alias = serializers.CharField()
    version = serializers.IntegerField()
    from_version = serializers.IntegerField(allow_null=True)
    override = serializers.BooleanField()
    gates = GateResultOut(many=True)


class PromoteApi(APIView):
    @extend_schema(parameters=[id_query("workspace")], request=PromoteIn,
                   responses={200: PromoteOut, **error_responses(400, 403, 404, 422)})
    def post(self, request, name: str, number: int):
        data = PromoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        model = _model(request, name, Role.EDITOR)
        if number > MAX_ID:
            raise ApplicationError(f"model {name!r} has no version {number}", status=404, field="version")
        if data.validated_data["override"]:
            require_gate_override(request.user, model.workspace_id)
        event, results = model_promote(
            user=request.user, registered_model=model, number=number, **data.validated_data
        )
        return Response({"alias": event.alias, "version": event.to_number, "from_version": event.from_number,
                         "override": event.override, "gates": results})


class PromotionEventOut(serializers.ModelSerializer):
    who = UserField(source="created_by")
    when = serializers.DateTimeField(source="created_at")
    from_version = serializers.IntegerField(source="from_number", allow_null=True)
    to_version = serializers.IntegerField(source="to_number")
    gates = GateResultOut(many=True)

    class Meta:
        model = PromotionEvent
        fields = ["id", "who", "when", "alias", "from_version", "to_version", "reason", "override", "gates"]


class HistoryApi(APIView):
    pagination_class = Paginated

    @extend_schema(parameters=[id_query("workspace")], responses=PromotionEventOut(many=True))
    def get(self, request, name: str):
        return paginate(self, promotion_history(registered_model=_model(request, name)), PromotionEventOut)


TrafficIn = inline_serializer(
    "TrafficIn",
    {
        "split": serializers.DictField(child=serializers.IntegerField(), required=False),
        "shadow": serializers.CharField(required=False),
    },
)


class TrafficApi(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, name: str):
        deployment = deployment_get(user=request.user, name=name)
        return Response(_traffic_payload(deployment))

    @extend_schema(request=TrafficIn, responses={200: dict, **error_responses(400, 403, 404)})
    def put(self, request, name: str):
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        traffic_set(user=request.user, deployment=deployment, body=request.data)
        return Response(_traffic_payload(deployment_get(user=request.user, name=name)))


def _traffic_payload(deployment) -> dict:
    traffic = deployment.traffic or {}
    return {
        "deployment": deployment.name,
        "model": deployment.model.name if deployment.model_id else None,
        "alias": deployment.alias or None,
        **({"split": traffic["split"]} if "split" in traffic else {}),
        **({"shadow": traffic["shadow"]} if "shadow" in traffic else {}),
        "observed": rollout_compare(deployment=deployment),
        "changes": [
            {"traffic": c.traffic, "automatic": c.automatic, "reason": c.reason,
             "who": c.created_by.get_username() if c.created_by else None, "when": c.created_at}
            for c in traffic_changes(deployment=deployment)
        ],
    }

