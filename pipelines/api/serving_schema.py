"""OpenAPI documentation of the prediction, feedback and Open Inference Protocol endpoints.

Those endpoints are plain Django views (``pipelines.api.serving``) on the hot path, so
drf-spectacular cannot see them. Each gets a documentation-only ``APIView`` here,
decorated like any other view, and ``add_serving_endpoints`` (a drf-spectacular
preprocessing hook) lists them under the real routes. The classes never serve a request.

The columns a prediction takes come from the deployment's signature
(``GET /v2/models/{name}`` lists them), so the request schemas describe the body forms,
not the columns.
"""

from __future__ import annotations

import re

from django.urls import URLPattern, get_resolver
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiTypes,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from .schema import error_responses

# Either a deployment key or a member's API token.
SERVING_AUTH = [{"deploymentKey": []}, {"tokenAuth": []}]


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "nullable": True})
class CellField(serializers.JSONField):
    """One value of a feature column."""


class PredictRecordsIn(serializers.Serializer):
    instances = serializers.ListField(
        child=serializers.DictField(child=CellField()), min_length=1,
        help_text="one object {column: value} per row",
    )
    params = serializers.DictField(required=False)


class PredictRowsIn(serializers.Serializer):
    instances = serializers.ListField(
        child=serializers.ListField(child=CellField()), min_length=1,
        help_text="one list of values per row, in the signature's column order",
    )
    params = serializers.DictField(required=False)


class DataframeSplit(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    data = serializers.ListField(child=serializers.ListField(child=CellField()), min_length=1)
    index = serializers.ListField(child=serializers.JSONField(), required=False)


class PredictSplitIn(serializers.Serializer):
    dataframe_split = DataframeSplit(help_text="MLflow's pandas 'split' orientation")
    params = serializers.DictField(required=False)


class PredictDataframeRecordsIn(serializers.Serializer):
    dataframe_records = serializers.ListField(
        child=serializers.DictField(child=CellField()), min_length=1, help_text="MLflow's records orientation"
    )
    params = serializers.DictField(required=False)


class PredictInputsIn(serializers.Serializer):
    inputs = serializers.JSONField(
        help_text="MLflow's 'inputs': a list of records or rows, or an object {column: [values]}"
    )
    params = serializers.DictField(required=False)


PredictIn = PolymorphicProxySerializer(
    component_name="PredictIn",
    serializers=[PredictRecordsIn, PredictRowsIn, PredictSplitIn, PredictDataframeRecordsIn, PredictInputsIn],
    resource_type_field_name=None,
)


class PredictOut(serializers.Serializer):
    predictions = serializers.ListField(child=CellField(), help_text="one per row")
    probabilities = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()), required=False,
        help_text="classifiers: one list per row, in the order of classes",
    )
    classes = serializers.ListField(child=CellField(), required=False, allow_null=True)
    deployment = serializers.CharField()
    revision = serializers.IntegerField()
    model = serializers.CharField()
    model_version = serializers.IntegerField(help_text="the version that answered")
    request_id = serializers.CharField(help_text="quote it when posting feedback")


class PredictErrorOut(serializers.Serializer):
    detail = serializers.CharField()
    field = serializers.CharField(required=False)
    row = serializers.IntegerField(required=False)
    request_id = serializers.CharField(required=False)


_FEEDBACK_ITEM = {
    "type": "object",
    "properties": {
        "request_id": {"type": "string", "minLength": 1, "description": "the request_id a prediction returned"},
        "label": {"description": "the true value, or a list with one per row of that request"},
    },
    "required": ["request_id", "label"],
    "additionalProperties": False,
}
# One item or a non-empty list of them; more than 10 000 is a 413.
FeedbackIn = {
    "oneOf": [_FEEDBACK_ITEM, {"type": "array", "items": _FEEDBACK_ITEM, "minItems": 1}]
}


class FeedbackOut(serializers.Serializer):
    updated = serializers.IntegerField(help_text="how many predictions got their ground truth")


class V2ErrorOut(PredictErrorOut):
    error = serializers.CharField(help_text="the Open Inference Protocol's error message")
    id = serializers.CharField(required=False)


class V2TensorIn(serializers.Serializer):
    name = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField(min_value=0))
    datatype = serializers.ChoiceField(
        choices=["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
                 "FP16", "FP32", "FP64", "BYTES"]
    )
    data = serializers.ListField(child=serializers.JSONField())
    parameters = serializers.DictField(required=False)


class V2RequestedOutput(serializers.Serializer):
    name = serializers.CharField()
    parameters = serializers.DictField(required=False)


class V2InferIn(serializers.Serializer):
    id = serializers.CharField(required=False)
    inputs = V2TensorIn(many=True, help_text="one tensor per feature column, or one [n, n_features] tensor")
    outputs = V2RequestedOutput(many=True, required=False)
    parameters = serializers.DictField(required=False)


class V2TensorOut(serializers.Serializer):
    name = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField())
    datatype = serializers.CharField()
    data = serializers.ListField(child=serializers.JSONField())


class V2InferOut(serializers.Serializer):
    model_name = serializers.CharField()
    model_version = serializers.CharField()
    id = serializers.CharField()
    parameters = serializers.DictField()
    outputs = V2TensorOut(many=True)


class V2TensorMetadata(serializers.Serializer):
    name = serializers.CharField()
    datatype = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField())


class V2ModelOut(serializers.Serializer):
    name = serializers.CharField()
    versions = serializers.ListField(child=serializers.CharField())
    platform = serializers.CharField()
    inputs = V2TensorMetadata(many=True)
    outputs = V2TensorMetadata(many=True)
    parameters = serializers.DictField()


class V2ServerOut(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    extensions = serializers.ListField(child=serializers.CharField())


class V2LiveOut(serializers.Serializer):
    live = serializers.BooleanField()


class V2ReadyOut(serializers.Serializer):
    ready = serializers.BooleanField()
    error = serializers.CharField(required=False)


class V2ModelReadyOut(serializers.Serializer):
    name = serializers.CharField()
    ready = serializers.BooleanField()


REQUEST_ID_HEADER = OpenApiParameter(
    "X-Request-ID", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="your id for this request (letters, digits, . _ : -; at most 64); a new one otherwise",
)


class _DocView(APIView):
    """Documentation only: never routed."""

    permission_classes = [AllowAny]  # auth is stated per operation (SERVING_AUTH)
    authentication_classes: list = []
    errors_declared = True  # the plain Django views answer no DRF 400/413/415 of their own


class PredictDoc(_DocView):
    @extend_schema(
        operation_id="deployments_predict",
        tags=["serving"],
        auth=SERVING_AUTH,
        parameters=[REQUEST_ID_HEADER],
        request=PredictIn,
        responses={
            200: PredictOut,
            **error_responses(400, 401, 403, 404, 413, 422, 503, schema=PredictErrorOut),
        },
        description="Predict with the deployment's current model. Every response names the "
        "`model_version` that answered and a `request_id` for feedback.",
    )
    def post(self, request, name: str):
        raise NotImplementedError


class FeedbackDoc(_DocView):
    @extend_schema(
        operation_id="deployments_feedback",
        tags=["serving"],
        auth=SERVING_AUTH,
        request={"application/json": FeedbackIn},
        responses={200: FeedbackOut, **error_responses(400, 401, 403, 404, 413)},
        description="Ground truth for earlier predictions, by request id (editor role or the deployment's key).",
    )
    def post(self, request, name: str):
        raise NotImplementedError


class V2ServerDoc(_DocView):
    @extend_schema(operation_id="v2_server", tags=["v2"], auth=[], responses={200: V2ServerOut})
    def get(self, request):
        raise NotImplementedError


class V2LiveDoc(_DocView):
    @extend_schema(operation_id="v2_live", tags=["v2"], auth=[], responses={200: V2LiveOut})
    def get(self, request):
        raise NotImplementedError


class V2ReadyDoc(_DocView):
    @extend_schema(
        operation_id="v2_ready", tags=["v2"], auth=[], responses={200: V2ReadyOut, 503: V2ReadyOut}
    )
    def get(self, request):
        raise NotImplementedError


_V2_ERRORS = error_responses(401, 403, 404, 503, schema=V2ErrorOut)


class V2ModelDoc(_DocView):
    @extend_schema(
        operation_id="v2_model", tags=["v2"], auth=SERVING_AUTH, responses={200: V2ModelOut, **_V2_ERRORS}
    )
    def get(self, request, name: str):
        raise NotImplementedError


class V2ModelReadyDoc(_DocView):
    @extend_schema(
        operation_id="v2_model_ready", tags=["v2"], auth=SERVING_AUTH,
        responses={200: V2ModelReadyOut, **_V2_ERRORS},
    )
    def get(self, request, name: str):
        raise NotImplementedError


class V2InferDoc(_DocView):
    @extend_schema(
        operation_id="v2_infer",
        tags=["v2"],
        auth=SERVING_AUTH,
        parameters=[REQUEST_ID_HEADER],
        request=V2InferIn,
        responses={200: V2InferOut, **error_responses(400, 401, 403, 404, 413, 422, 503, schema=V2ErrorOut)},
    )
    def post(self, request, name: str):
        raise NotImplementedError


# URL name → (documentation view, method)
_DOCUMENTED = {
    "api-deployment-predict": (PredictDoc, "POST"),
    "api-deployment-feedback": (FeedbackDoc, "POST"),
    "v2-server": (V2ServerDoc, "GET"),
    "v2-live": (V2LiveDoc, "GET"),
    "v2-ready": (V2ReadyDoc, "GET"),
    "v2-model": (V2ModelDoc, "GET"),
    "v2-model-ready": (V2ModelReadyDoc, "GET"),
    "v2-infer": (V2InferDoc, "POST"),
}


def _named_routes(resolver, prefix: str = ""):
    """(path with {params}, URL name) of every named route."""
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLPattern):
            if pattern.name:
                yield route, pattern.name
        else:
            yield from _named_routes(pattern, route)


def add_serving_endpoints(endpoints):
    """drf-spectacular preprocessing hook: document the plain-Django serving views."""
    for route, name in _named_routes(get_resolver()):
        if name not in _DOCUMENTED:
            continue
        view, method = _DOCUMENTED[name]
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        regex = "^" + re.sub(r"<(?:\w+:)?(\w+)>", r"(?P<\1>[^/]+)", route) + "$"
        endpoints.append((path, regex, method, view.as_view()))
    return endpoints
