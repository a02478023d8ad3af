"""Pipeline as code: export a pipeline as YAML or JSON, import it as a new one, push it back.

- ``GET /api/pipelines/{id}/export/?format=yaml|json`` (viewer): the document.
- ``POST /api/pipelines/import/[?workspace=]`` (editor there), the document as the
  raw body (``application/yaml`` or ``application/json``): 201 with the new pipeline.
- ``POST /api/pipelines/{id}/import/`` (editor): replace the pipeline with the
  document, which carries the ``version`` it was exported at; a stale one is a 409.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import workspace_for
from ..errors import ApplicationError
from ..inputs import optional_id
from ..models import Role
from ..selectors.pipelines import pipeline_get
from ..services.pipeline_code import (
    document_dump,
    pipeline_document,
    pipeline_import,
    pipeline_push,
)
from .parsers import DepthLimitedJSONParser, LegacyYAMLParser, TextYAMLParser, YAMLParser
from .pipelines import GRAPH_SCHEMA
from .schema import error_responses, id_query
from .serializers import PipelineOut

FORMATS = {"yaml": "application/yaml; charset=utf-8", "json": "application/json"}
DOCUMENT_PARSERS = [YAMLParser, LegacyYAMLParser, TextYAMLParser, DepthLimitedJSONParser]
DOCUMENT_SCHEMA = {
    "type": "object",
    "description": "an exported pipeline document: kind, format, id, version, name, description, graph, "
    "schedules, triggers, gates ({registered model name: {checks: [...]}}: set on the models of those names)",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "version": {"type": "integer", "minimum": 0, "nullable": True,
                    "description": "the pipeline's version at export (a new pipeline needs none)"},
        "graph": GRAPH_SCHEMA,
    },
    "required": ["name", "graph"],
    "additionalProperties": {},
}


class PipelineImportedOut(PipelineOut):
    warnings = serializers.SerializerMethodField(help_text="what the import left out, e.g. webhook triggers")

    class Meta(PipelineOut.Meta):
        fields = PipelineOut.Meta.fields + ["warnings"]

    def get_warnings(self, obj) -> list[str]:
        return self.context.get("warnings", [])


class _FormatIsOurs(DefaultContentNegotiation):
    """DRF reads ``?format=`` as a renderer choice (and answers 404 for "yaml"); here it
    names the document's format, so errors are always rendered with the first renderer (JSON)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PipelineExportApi(APIView):
    content_negotiation_class = _FormatIsOurs

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(FORMATS), description="yaml (default) or json")],
        responses={
            (200, "application/yaml"): OpenApiResponse(DOCUMENT_SCHEMA, description="the document as YAML"),
            (200, "application/json"): OpenApiResponse(DOCUMENT_SCHEMA, description="the document as JSON"),
            **error_responses(400, 404),
        },
    )
    def get(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id)
        fmt = request.query_params.get("format", "yaml") or "yaml"
        if fmt not in FORMATS:
            raise ApplicationError("format must be yaml or json", field="format")
        text = document_dump(pipeline_document(pipeline=pipeline), fmt=fmt)
        response = HttpResponse(text, content_type=FORMATS[fmt])
        response["ETag"] = f'"{pipeline.version}"'
        return response


class PipelineImportApi(APIView):
    parser_classes = DOCUMENT_PARSERS

    @extend_schema(
        operation_id="pipelines_import",
        request={"application/yaml": DOCUMENT_SCHEMA, "application/json": DOCUMENT_SCHEMA},
        parameters=[id_query("workspace", description="import into this workspace (default: your personal one)")],
        responses={201: PipelineImportedOut, **error_responses(400, 403, 404, 413, 415)},
    )
    def post(self, request):
        workspace_id = optional_id(request.query_params.get("workspace"), field="workspace")
        workspace = workspace_for(request.user, workspace_id, Role.EDITOR)
        pipeline, warnings = pipeline_import(workspace=workspace, user=request.user, document=request.data)
        out = PipelineImportedOut(pipeline, context={"warnings": warnings})
        return Response(out.data, status=status.HTTP_201_CREATED)


class PipelinePushApi(APIView):
    parser_classes = DOCUMENT_PARSERS

    @extend_schema(
        operation_id="pipelines_push",
        request={"application/yaml": DOCUMENT_SCHEMA, "application/json": DOCUMENT_SCHEMA},
        responses={200: PipelineOut, **error_responses(400, 403, 404, 409, 413, 415)},
    )
    def post(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=Role.EDITOR)
        pipeline = pipeline_push(pipeline=pipeline, user=request.user, document=request.data)
        return Response(PipelineOut(pipeline).data, headers={"ETag": f'"{pipeline.version}"'})
