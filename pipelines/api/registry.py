"""Model registry, deployments and deployment keys: one view per operation."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import require_gate_override
from ..inputs import MAX_ID, optional_id, refuse_nul
from ..models import Deployment, DeploymentKey, DeploymentRevision, ModelVersion, Role
from ..selectors.registry import (
    deployment_get,
    deployment_list,
    deployment_revisions,
    deployment_stats,
    model_version_deployments,
    model_version_get,
    model_version_list,
)
from ..selectors.runs import run_get
from ..services.deployments import (
    deployment_deploy,
    deployment_key_create,
    deployment_key_revoke,
    deployment_rollback,
)
from ..services.registry import NAME_RE, model_register
from .base import Paginated, paginate
from .fields import StrictBooleanField, StrictCharField, StrictIntegerField
from .schema import error_responses, id_query
from .serializers import UserField

# --- output ---------------------------------------------------------------------------


class ModelVersionOut(serializers.ModelSerializer):
    name = serializers.CharField(source="registered_model.name")
    workspace = serializers.IntegerField(source="registered_model.workspace_id")
    version = serializers.IntegerField(source="number")
    created_by = UserField()
    lineage = serializers.SerializerMethodField()
    model_card = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id", "name", "version", "workspace", "task", "classes", "signature", "metrics",
            "lineage", "library_versions", "model_card", "created_by", "created_at",
        ]

    def get_lineage(self, obj) -> dict:
        return {
            "run": obj.run_id,
            "node": obj.node_id,
            "step": obj.step_id,
            "pipeline": obj.run.pipeline_id if obj.run else None,
            "pipeline_version": obj.pipeline_version_id,
            "artifact_sha256": obj.artifact_sha256,
            "training_data_sha256": obj.training_data_sha256,
            "training_rows": obj.training_rows,
        }

    def get_model_card(self, obj) -> dict:
        return {
            "description": obj.description,
            "intended_use": obj.intended_use,
            "limitations": obj.limitations,
            "steps": obj.steps,
        }


class RevisionOut(serializers.ModelSerializer):
    revision = serializers.IntegerField(source="number")
    model_version = serializers.IntegerField(source="model_version_id")
    model = serializers.CharField(source="model_version.registered_model.name")
    version = serializers.IntegerField(source="model_version.number")
    restores = serializers.SerializerMethodField()
    created_by = UserField()

    class Meta:
        model = DeploymentRevision
        fields = ["revision", "action", "model_version", "model", "version", "restores", "created_by", "created_at"]

    def get_restores(self, obj) -> int | None:
        return obj.restores.number if obj.restores_id else None


def endpoints_for(request, name: str) -> dict[str, str]:
    base = request.build_absolute_uri("/").rstrip("/")
    return {
        "predict": f"{base}/api/deployments/{name}/predict",
        "feedback": f"{base}/api/deployments/{name}/feedback",
        "v2_metadata": f"{base}/v2/models/{name}",
        "v2_ready": f"{base}/v2/models/{name}/ready",
        "v2_infer": f"{base}/v2/models/{name}/infer",
    }


class DeploymentOut(serializers.ModelSerializer):
    revision = serializers.SerializerMethodField()
    model_version = serializers.SerializerMethodField()
    endpoints = serializers.SerializerMethodField()
    created_by = UserField()

    class Meta:
        model = Deployment
        fields = ["id", "name", "workspace", "revision", "model_version", "alias", "traffic", "endpoints",
                  "created_by", "created_at", "updated_at"]

    alias = serializers.SerializerMethodField()
    traffic = serializers.JSONField(read_only=True)

    def get_alias(self, obj) -> str | None:
        """The alias of ``model_version.name`` this deployment follows (None: a pinned version)."""
        return obj.alias or None

    def get_revision(self, obj) -> int | None:
        return obj.current_revision.number if obj.current_revision_id else None

    def get_model_version(self, obj) -> dict | None:
        if not obj.current_revision_id:
            return None
        v = obj.current_revision.model_version
        return {"id": v.pk, "name": v.registered_model.name, "version": v.number}

    def get_endpoints(self, obj) -> dict:
        return endpoints_for(self.context["request"], obj.name)


class KeyOut(serializers.ModelSerializer):
    created_by = UserField()
    active = serializers.BooleanField()

    class Meta:
        model = DeploymentKey
        fields = ["id", "name", "prefix", "active", "created_by", "created_at", "revoked_at"]


def deployment_payload(request, deployment: Deployment) -> dict:
    data = DeploymentOut(deployment, context={"request": request}).data
    data["revisions"] = RevisionOut(deployment_revisions(deployment=deployment), many=True).data
    data["signature"] = (
        deployment.current_revision.model_version.signature if deployment.current_revision_id else None
    )
    data["stats"] = deployment_stats(deployment=deployment)
    return data


# --- models ---------------------------------------------------------------------------


@extend_schema_field({"type": "string", "pattern": NAME_RE.pattern, "maxLength": 100})
class NameField(StrictCharField):
    """A model or deployment name: 1–100 letters, digits, '.', '_' or '-'."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not NAME_RE.match(value):
            raise serializers.ValidationError(
                "a name is 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value


@extend_schema_field({"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_-]{0,49}$", "maxLength": 50})
class AliasField(StrictCharField):
    """An alias of a registered model: champion, challenger or any name (letters, digits, '_', '-')."""


class ModelRegisterIn(serializers.Serializer):
    name = NameField(max_length=100)
    run = StrictIntegerField(min_value=1, max_value=MAX_ID)
    node = StrictCharField(max_length=100)


class ModelListApi(APIView):
    pagination_class = Paginated

    @extend_schema(
        parameters=[OpenApiParameter("name", str), id_query("workspace")],
        responses=ModelVersionOut(many=True),
    )
    def get(self, request):
        workspace = optional_id(request.query_params.get("workspace"), field="workspace")
        name = request.query_params.get("name")
        refuse_nul(name, field="name")
        versions = model_version_list(user=request.user, name=name, workspace_id=workspace)
        return paginate(self, versions, ModelVersionOut)

    @extend_schema(request=ModelRegisterIn, responses={201: ModelVersionOut, **error_responses(404, 409)})
    def post(self, request):
        data = ModelRegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        run = run_get(user=request.user, run_id=data.validated_data["run"], role=Role.EDITOR, field="run")
        version = model_register(
            user=request.user, name=data.validated_data["name"], run=run, node_id=data.validated_data["node"]
        )
        version = model_version_get(user=request.user, version_id=version.pk)
        return Response(ModelVersionOut(version).data, status=status.HTTP_201_CREATED)


class ModelDetailApi(APIView):
    @extend_schema(responses=ModelVersionOut)
    def get(self, request, version_id: int):
        version = model_version_get(user=request.user, version_id=version_id)
        data = ModelVersionOut(version).data
        data["deployments"] = [d.name for d in model_version_deployments(version=version)]
        return Response(data)


# --- deployments ----------------------------------------------------------------------


class DeployIn(serializers.Serializer):
    """Pin a version (``model_version``) or follow an alias (``model`` + ``alias``)."""

    name = NameField(max_length=100)
    model_version = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False)
    model = NameField(max_length=100, required=False)
    alias = AliasField(max_length=50, required=False)
    # The model's gates apply to a pinned deploy too; admins may override them with a reason.
    override = StrictBooleanField(required=False, default=False)
    reason = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if "model_version" in attrs and ("model" in attrs or "alias" in attrs):
            raise serializers.ValidationError({"model_version": "send model_version, or model and alias, not both"})
        if "model_version" not in attrs:
            if "model" not in attrs:
                raise serializers.ValidationError(
                    {"model_version": "send model_version, or model and alias to follow an alias"}
                )
            if "alias" not in attrs:
                raise serializers.ValidationError({"alias": "a deployment of a model follows an alias, e.g. champion"})
        return attrs


class DeploymentListApi(APIView):
    pagination_class = Paginated

    @extend_schema(responses=DeploymentOut(many=True))
    def get(self, request):
        return paginate(self, deployment_list(user=request.user), DeploymentOut, context={"request": request})

    @extend_schema(
        request=DeployIn,
        responses={201: DeploymentOut, 200: DeploymentOut, **error_responses(404, 409, 422)},
    )
    def post(self, request):
        data = DeployIn(data=request.data)
        data.is_valid(raise_exception=True)
        if "model_version" in data.validated_data:
            from ..services.promotion import deploy_gates_check

            version = model_version_get(user=request.user, version_id=data.validated_data["model_version"],
                                        role=Role.EDITOR, field="model_version")
            if data.validated_data["override"]:
                require_gate_override(request.user, version.registered_model.workspace_id)
            results = deploy_gates_check(user=request.user, version=version, name=data.validated_data["name"],
                                         override=data.validated_data["override"], reason=data.validated_data["reason"])
            overridden = any(r["blocking"] and not r["passed"] for r in results)
            deployment, created = deployment_deploy(
                user=request.user, name=data.validated_data["name"], version=version,
                override_reason=data.validated_data["reason"] if overridden else None,
            )
        else:
            from ..selectors.delivery import registered_model_get
            from ..services.promotion import deployment_follow

            workspace = optional_id(request.query_params.get("workspace"), field="workspace")
            model = registered_model_get(user=request.user, name=data.validated_data["model"], role=Role.EDITOR,
                                         workspace_id=workspace, field="model")
            deployment, created = deployment_follow(
                user=request.user, name=data.validated_data["name"], registered_model=model,
                alias=data.validated_data["alias"],
            )
        deployment = deployment_get(user=request.user, name=deployment.name)
        return Response(
            deployment_payload(request, deployment),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DeploymentDetailApi(APIView):
    @extend_schema(responses=DeploymentOut)
    def get(self, request, name: str):
        return Response(deployment_payload(request, deployment_get(user=request.user, name=name)))


class RollbackIn(serializers.Serializer):
    revision = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False)


class DeploymentRollbackApi(APIView):
    @extend_schema(request=RollbackIn, responses={200: DeploymentOut, **error_responses(409)})
    def post(self, request, name: str):
        data = RollbackIn(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        deployment_rollback(user=request.user, deployment=deployment, revision_number=data.validated_data.get("revision"))
        return Response(deployment_payload(request, deployment_get(user=request.user, name=name)))


class KeyCreateIn(serializers.Serializer):
    name = StrictCharField(max_length=100, required=False, allow_blank=True, default="")


class DeploymentKeyListApi(APIView):
    @extend_schema(responses=KeyOut(many=True))
    def get(self, request, name: str):
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        return Response(KeyOut(deployment.keys.select_related("created_by"), many=True).data)

    @extend_schema(request=KeyCreateIn, responses={201: KeyOut})
    def post(self, request, name: str):
        data = KeyCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        key, plain = deployment_key_create(user=request.user, deployment=deployment, name=data.validated_data["name"])
        body = KeyOut(key).data
        body["key"] = plain  # shown this once; only its hash is stored
        return Response(body, status=status.HTTP_201_CREATED)


class DeploymentKeyDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, name: str, key_id: int):
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        deployment_key_revoke(user=request.user, deployment=deployment, key_id=key_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
