from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import forget_roles, member_roles
from ..errors import NotFound
from ..inputs import has_nul
from ..models import Membership, Role
from ..selectors.workspaces import workspace_get, workspace_list_oldest_first, workspace_members
from ..services.workspaces import membership_remove, membership_set, workspace_create
from .fields import StrictCharField, StrictChoiceField
from .schema import error_responses
from .serializers import WorkspaceOut


class WorkspaceListApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = StrictCharField(max_length=200)

    @extend_schema(responses=WorkspaceOut(many=True))
    def get(self, request):
        workspaces = workspace_list_oldest_first(user=request.user)
        return Response(WorkspaceOut(workspaces, many=True, context={"roles": member_roles(request.user)}).data)

    @extend_schema(request=InputSerializer, responses={201: WorkspaceOut})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = workspace_create(name=data.validated_data["name"], user=request.user)
        forget_roles(request.user)
        return Response(
            WorkspaceOut(workspace, context={"roles": member_roles(request.user)}).data,
            status=status.HTTP_201_CREATED,
        )


class MembershipOut(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]


class MemberListApi(APIView):
    """Members of a workspace: any member reads, admins add, change and remove."""

    class InputSerializer(serializers.Serializer):
        username = StrictCharField()
        role = StrictChoiceField(choices=Role.choices, default=Role.VIEWER)

    @extend_schema(responses=MembershipOut(many=True))
    def get(self, request, workspace_id: int):
        workspace = workspace_get(user=request.user, workspace_id=workspace_id)
        return Response(MembershipOut(workspace_members(workspace=workspace), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: MembershipOut})
    def post(self, request, workspace_id: int):
        workspace = workspace_get(user=request.user, workspace_id=workspace_id, role=Role.ADMIN)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_set(workspace=workspace, actor=request.user, **data.validated_data)
        return Response(MembershipOut(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    @extend_schema(responses={204: None, **error_responses(400)})
    def delete(self, request, workspace_id: int, username: str):
        workspace = workspace_get(user=request.user, workspace_id=workspace_id, role=Role.ADMIN)
        if has_nul(username):  # no user has it; PostgreSQL cannot even compare it
            raise NotFound(f"{username!r} is not a member of this workspace")
        membership_remove(workspace=workspace, username=username, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
