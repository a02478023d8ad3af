from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ..blocks import catalogue


class BlockListApi(APIView):
    """The block catalogue the editor is generated from."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response({"port_types": ["table", "estimator", "model", "metrics", "report"],
                         "blocks": catalogue().as_list()})
