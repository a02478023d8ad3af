import hashlib
import json
from functools import cache

from drf_spectacular.utils import extend_schema
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


class BlockListApi(APIView):
    """The block catalogue the editor is generated from.

    It only changes when the code does, so it carries an ETag: a client that
    sends ``If-None-Match`` gets 304 and no 350 KB body.
    """

    @extend_schema(responses={200: dict})
    def get(self, request):
        payload, etag = _catalogue_payload()
        headers = {"ETag": etag, "Cache-Control": "private, max-age=300"}
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers=headers)
        return Response(payload, headers=headers)
