import hashlib
import json
from functools import cache

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..blocks import catalogue
from ..blocks.base import PORT_TYPES


@cache
def _catalogue_payload() -> tuple[dict, str]:
    """The catalogue as served, and its ETag; both fixed for the life of the process."""
    payload = {"port_types": list(PORT_TYPES), "blocks": catalogue().as_list()}
    etag = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
    return payload, f'"{etag}"'


class PortOut(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    description = serializers.CharField(allow_blank=True)


class BlockOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField()
    version = serializers.CharField()
    curated = serializers.BooleanField(help_text="shown in the palette by default; others are found by search")
    tags = serializers.ListField(child=serializers.CharField())
    inputs = PortOut(many=True)
    outputs = PortOut(many=True)
    params_schema = serializers.DictField(help_text="JSON Schema of the parameters")
    column_params = serializers.ListField(child=serializers.CharField())


class BlockCatalogueOut(serializers.Serializer):
    port_types = serializers.ListField(child=serializers.CharField())
    blocks = BlockOut(many=True)


class BlockListApi(APIView):
    """The block catalogue the editor is generated from.

    It only changes when the code does, so it carries an ETag: a client that
    sends ``If-None-Match`` gets 304 and no 350 KB body.
    """

    @extend_schema(
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
        responses={200: BlockCatalogueOut, 304: None},
    )
    def get(self, request):
        payload, etag = _catalogue_payload()
        headers = {"ETag": etag, "Cache-Control": "private, max-age=300"}
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers=headers)
        return Response(payload, headers=headers)
