"""Saved database connections for ``dataset.sql``: list, create (tested once), delete.

The password is write-only: it is in no output serializer, and a failed
connection test answers the driver's message, never the password.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import workspace_for
from ..inputs import MAX_ID, optional_id
from ..models import Connection, ConnectionKind, Role
from ..selectors.connections import connection_get, connection_list
from ..services.connections import connection_create, connection_delete
from .base import Paginated, paginate
from .schema import error_responses, id_query


class ConnectionOut(serializers.ModelSerializer):
    """A saved connection as every answer shows it: never with its password."""

    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = Connection
        fields = ["id", "workspace", "name", "kind", "host", "port", "database", "user", "created_by", "created_at"]
        read_only_fields = fields


class ConnectionListApi(APIView):
    pagination_class = Paginated

    class InputSerializer(serializers.Serializer):
        workspace = serializers.IntegerField(
            required=False, min_value=0, max_value=MAX_ID, help_text="default: your personal workspace"
        )
        name = serializers.CharField(max_length=200, help_text="unique in the workspace; dataset.sql nodes name it")
        kind = serializers.ChoiceField(choices=ConnectionKind.values, default=ConnectionKind.POSTGRESQL)
        host = serializers.CharField(max_length=255)
        port = serializers.IntegerField(min_value=1, max_value=65535, default=5432)
        database = serializers.CharField(max_length=200)
        user = serializers.CharField(max_length=200)
        password = serializers.CharField(
            max_length=1000, required=False, allow_blank=True, default="", write_only=True,
            trim_whitespace=False, style={"input_type": "password"},
            help_text="write-only: stored encrypted, never answered",
        )
        test = serializers.BooleanField(
            default=True, help_text="connect once before saving; a failure answers 400 with the driver's message"
        )

    @extend_schema(parameters=[id_query("workspace")], responses=ConnectionOut(many=True))
    def get(self, request):
        workspace = optional_id(request.query_params.get("workspace"), field="workspace")
        return paginate(self, connection_list(user=request.user, workspace_id=workspace), ConnectionOut)

    @extend_schema(request=InputSerializer, responses={201: ConnectionOut, **error_responses(404, 409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        workspace = workspace_for(request.user, values.get("workspace"), Role.EDITOR)
        connection = connection_create(
            workspace=workspace,
            user=request.user,
            name=values["name"],
            kind=values["kind"],
            host=values["host"],
            port=values["port"],
            database=values["database"],
            db_user=values["user"],
            password=values["password"],
            test=values["test"],
        )
        return Response(ConnectionOut(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetailApi(APIView):
    @extend_schema(responses=ConnectionOut)
    def get(self, request, connection_id: int):
        connection = connection_get(user=request.user, connection_id=connection_id)
        return Response(ConnectionOut(connection).data)

    @extend_schema(responses={204: None})
    def delete(self, request, connection_id: int):
        connection_delete(connection=connection_get(user=request.user, connection_id=connection_id, role=Role.EDITOR))
        return Response(status=status.HTTP_204_NO_CONTENT)
