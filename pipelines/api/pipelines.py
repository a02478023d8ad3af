from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import workspace_for
from ..errors import ApplicationError
from ..inputs import MAX_ID, is_id, optional_id
from ..models import Role, RunStatus, Trigger
from ..selectors.pipelines import (
    pipeline_get,
    pipeline_list,
    pipeline_version_get,
    pipeline_versions,
)
from ..selectors.runs import run_list
from ..services.graphs import MAX_EDGES, MAX_NODES, graph_validate
from ..services.pipelines import (
    pipeline_create,
    pipeline_delete,
    pipeline_duplicate,
    pipeline_update,
)
from ..services.runs import run_start
from .base import Paginated, bool_param, paginate, run_status_param
from .fields import StrictBooleanField, StrictCharField, StrictIntegerField
from .schema import GraphErrorOut, choice_query, error_responses, id_query
from .serializers import PipelineListOut, PipelineOut, PipelineVersionOut, RunListOut, RunOut

_NAME = {"type": "string", "minLength": 1}
GRAPH_SCHEMA = {
    "type": "object",
    "description": 'a graph {"nodes": [...], "edges": [...]}; node ids are unique in the graph',
    "properties": {
        "nodes": {
            "type": "array",
            "maxItems": MAX_NODES,
            "items": {
                "type": "object",
                "properties": {
                    "id": _NAME,
                    "block": _NAME,
                    "params": {"type": "object", "additionalProperties": {}},
                    "position": {"type": "object", "nullable": True, "additionalProperties": {}},
                },
                "required": ["id", "block"],
                "additionalProperties": {},
            },
        },
        "edges": {
            "type": "array",
            "maxItems": MAX_EDGES,
            "items": {
                "type": "object",
                "properties": {k: _NAME for k in ("source", "source_port", "target", "target_port")},
                "required": ["source", "source_port", "target", "target_port"],
                "additionalProperties": {},
            },
        },
    },
    "additionalProperties": {},
}


@extend_schema_field(GRAPH_SCHEMA)
class GraphField(serializers.JSONField):
    """A graph object; its structure is checked by the service."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError('must be an object {"nodes": [...], "edges": [...]}')
        return data


class ValidationOut(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="node id → messages"
    )
    graph_errors = serializers.ListField(child=serializers.CharField())


class PipelineListApi(APIView):
    pagination_class = Paginated

    class InputSerializer(serializers.Serializer):
        workspace = StrictIntegerField(required=False, min_value=0, max_value=MAX_ID)
        name = StrictCharField(max_length=200)
        description = StrictCharField(required=False, allow_blank=True, default="")
        graph = GraphField(required=False)

    @extend_schema(
        parameters=[id_query("workspace")], responses=PipelineListOut(many=True)
    )
    def get(self, request):
        workspace = optional_id(request.query_params.get("workspace"), field="workspace")
        pipelines = pipeline_list(user=request.user, workspace_id=workspace)
        return paginate(self, pipelines, PipelineListOut)

    @extend_schema(request=InputSerializer, responses={201: PipelineOut, **error_responses(404)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        workspace = workspace_for(request.user, values.pop("workspace", None), Role.EDITOR)
        pipeline = pipeline_create(workspace=workspace, user=request.user, **values)
        return Response(PipelineOut(pipeline).data, status=status.HTTP_201_CREATED)


IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER,
    description='the version you edited, e.g. "3" (instead of "version" in the body)',
)


class PipelineDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        version = StrictIntegerField(
            required=False, min_value=0, max_value=MAX_ID,
            help_text="the version you edited; a stale one gets 409",
        )
        name = StrictCharField(max_length=200, required=False)
        description = StrictCharField(required=False, allow_blank=True)
        graph = GraphField(required=False)

    @extend_schema(responses=PipelineOut)
    def get(self, request, pipeline_id: int):
        return Response(PipelineOut(pipeline_get(user=request.user, pipeline_id=pipeline_id)).data)

    def _update(self, request, pipeline_id: int, *, partial: bool):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=Role.EDITOR)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        expected = values.pop("version", None)
        if expected is None:
            expected = _if_match_version(request)
        if expected is None:
            raise ApplicationError(
                "say which version you edited: send \"version\" in the body or an If-Match header",
                status=428,
                details={"field": "version", "current_version": pipeline.version},
            )
        if not partial:
            missing = [f for f in ("name", "graph") if f not in values]
            if missing:
                raise ApplicationError(
                    f"PUT replaces the pipeline and needs {', '.join(missing)}; use PATCH to change part of it",
                    details={"field": missing[0]},
                )
        pipeline = pipeline_update(pipeline=pipeline, user=request.user, expected_version=expected, **values)
        return Response(PipelineOut(pipeline).data, headers={"ETag": f'"{pipeline.version}"'})

    @extend_schema(
        request=InputSerializer,
        parameters=[IF_MATCH],
        responses={200: PipelineOut, **error_responses(409, 412, 428)},
    )
    def put(self, request, pipeline_id: int):
        return self._update(request, pipeline_id, partial=False)

    @extend_schema(
        request=InputSerializer,
        parameters=[IF_MATCH],
        responses={200: PipelineOut, **error_responses(409, 412, 428)},
    )
    def patch(self, request, pipeline_id: int):
        return self._update(request, pipeline_id, partial=True)

    @extend_schema(responses={204: None, **error_responses(409)})
    def delete(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=Role.EDITOR)
        pipeline_delete(pipeline=pipeline, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PipelineDuplicateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = StrictCharField(
            max_length=200, required=False, help_text='default: "<name> (copy)"; must be free in the workspace'
        )

    @extend_schema(request=InputSerializer, responses={201: PipelineOut, **error_responses(403, 404, 409)})
    def post(self, request, pipeline_id: int):
        """A new pipeline (version 1, no runs) with this one's draft graph, in the same workspace."""
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=Role.EDITOR)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        copy = pipeline_duplicate(pipeline=pipeline, user=request.user, name=data.validated_data.get("name"))
        return Response(PipelineOut(copy).data, status=status.HTTP_201_CREATED)


def _if_match_version(request) -> int | None:
    header = request.headers.get("If-Match", "").strip().strip('W/').strip('"')
    if not header:
        return None
    if not is_id(header):
        raise ApplicationError("If-Match must carry the pipeline version, e.g. \"3\"", status=412)
    return int(header)


@extend_schema_field({"type": "object", "additionalProperties": {}})
class AnyGraphField(GraphField):
    """Any object: what is wrong with it is the validation result, not a 400."""


class PipelineValidateApi(APIView):
    class InputSerializer(serializers.Serializer):
        graph = AnyGraphField(required=False, help_text="validate this graph instead of the saved draft")

    @extend_schema(request=InputSerializer, responses=ValidationOut)
    def post(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        graph = data.validated_data.get("graph", pipeline.graph)
        result = graph_validate(graph=graph, workspace=pipeline.workspace)
        return Response(result.as_dict())


class PipelineRunListApi(APIView):
    pagination_class = Paginated

    class InputSerializer(serializers.Serializer):
        use_cache = StrictBooleanField(default=True)

    @extend_schema(
        parameters=[choice_query("status", RunStatus.values)], responses=RunListOut(many=True)
    )
    def get(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id)
        status_filter = run_status_param(request)
        runs = run_list(user=request.user, pipeline_id=pipeline.pk, status=status_filter)
        return paginate(self, runs, RunListOut)

    @extend_schema(
        request=InputSerializer,
        parameters=[
            OpenApiParameter("use_cache", bool, description="overrides use_cache in the body")
        ],
        responses={201: RunOut, **error_responses(400, schema=GraphErrorOut)},
    )
    def post(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=Role.EDITOR)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        use_cache = bool_param(
            request.query_params.get("use_cache"), data.validated_data["use_cache"], field="use_cache"
        )
        trigger = Trigger.MANUAL if request.auth is None else Trigger.API
        # The run as created: "queued"; a worker picks it up from here.
        run = run_start(pipeline=pipeline, user=request.user, trigger=trigger, use_cache=use_cache)
        steps = list(run.steps.order_by("position"))
        return Response(RunOut(run, context={"steps": steps}).data, status=status.HTTP_201_CREATED)


class PipelineVersionListApi(APIView):
    pagination_class = Paginated

    @extend_schema(responses=PipelineVersionOut(many=True))
    def get(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id)
        return paginate(self, pipeline_versions(pipeline=pipeline), PipelineVersionOut)


class PipelineVersionDetailApi(APIView):
    @extend_schema(responses=PipelineVersionOut)
    def get(self, request, pipeline_id: int, number: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id)
        return Response(PipelineVersionOut(pipeline_version_get(pipeline=pipeline, number=number)).data)
