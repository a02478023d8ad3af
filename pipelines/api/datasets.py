from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import workspace_for
from ..inputs import MAX_ID, optional_id
from ..models import Role
from ..selectors.datasets import dataset_get, dataset_list
from ..services.dataset_manage import dataset_delete, dataset_duplicate, dataset_rename
from ..services.datasets import (
    DECIMALS,
    DELIMITERS,
    ENCODINGS,
    SHORT_LINES,
    dataset_check_size,
    dataset_upload,
)
from .base import Paginated, paginate
from .fields import StrictCharField
from .schema import error_responses, id_query
from .serializers import DatasetDetailOut, DatasetOut


class DatasetListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = Paginated

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="a CSV file, or a Parquet file (recognised by its PAR1 magic bytes)")
        name = serializers.CharField(max_length=200, required=False, allow_blank=True)
        workspace = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID)
        delimiter = serializers.ChoiceField(
            choices=list(DELIMITERS),
            default="auto",
            help_text="auto detects it from the head of the file; any other choice is used as given",
        )
        decimal = serializers.ChoiceField(
            choices=list(DECIMALS),
            default="auto",
            help_text="auto reads text columns of decimal-comma numbers (1,5) as numbers when the delimiter is not a comma",
        )
        encoding = serializers.ChoiceField(
            choices=list(ENCODINGS),
            default="auto",
            help_text="auto: a byte-order mark, else UTF-8 when the bytes are valid UTF-8, else cp1252",
        )
        short_lines = serializers.ChoiceField(
            choices=list(SHORT_LINES),
            default="refuse",
            help_text="a line with fewer fields than the header is refused with its number, or read with the rest empty",
        )

    @extend_schema(parameters=[id_query("workspace")], responses=DatasetOut(many=True))
    def get(self, request):
        workspace = optional_id(request.query_params.get("workspace"), field="workspace")
        return paginate(self, dataset_list(user=request.user, workspace_id=workspace), DatasetOut)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: DatasetDetailOut, **error_responses(404)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        workspace = workspace_for(request.user, values.get("workspace"), Role.EDITOR)
        upload = values["file"]
        # Django's upload handlers spooled a large file to disk; its size is
        # known before anything reads it into memory.
        dataset_check_size(size=upload.size)
        dataset = dataset_upload(
            workspace=workspace,
            user=request.user,
            name=values.get("name") or upload.name.rsplit(".", 1)[0],
            filename=upload.name,
            data=upload.file,  # read in chunks by the parser, never whole
            delimiter=values["delimiter"],
            decimal=values["decimal"],
            encoding=values["encoding"],
            short_lines=values["short_lines"],
        )
        return Response(DatasetDetailOut(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = StrictCharField(
            max_length=200, help_text="the new name of the dataset (all its versions); free in the workspace"
        )

    @extend_schema(responses=DatasetDetailOut)
    def get(self, request, dataset_id: int):
        return Response(DatasetDetailOut(dataset_get(user=request.user, dataset_id=dataset_id)).data)

    @extend_schema(request=InputSerializer, responses={200: DatasetDetailOut, **error_responses(403, 404, 409)})
    def patch(self, request, dataset_id: int):
        """Rename the dataset: every version, and the ``dataset.upload`` nodes of the workspace's drafts that name it."""
        dataset = dataset_get(user=request.user, dataset_id=dataset_id, role=Role.EDITOR)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset, _ = dataset_rename(dataset=dataset, name=data.validated_data["name"])
        return Response(DatasetDetailOut(dataset).data)

    @extend_schema(responses={204: None, **error_responses(403, 404, 409)})
    def delete(self, request, dataset_id: int):
        """Delete this version; 409 naming the pipelines and registered models that still need it."""
        dataset_delete(dataset=dataset_get(user=request.user, dataset_id=dataset_id, role=Role.EDITOR))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DatasetDuplicateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = StrictCharField(
            max_length=200, required=False, help_text='default: "<name> (copy)"; must be free in the workspace'
        )

    @extend_schema(request=InputSerializer, responses={201: DatasetDetailOut, **error_responses(403, 404, 409)})
    def post(self, request, dataset_id: int):
        """A new dataset (version 1) holding this version's table."""
        dataset = dataset_get(user=request.user, dataset_id=dataset_id, role=Role.EDITOR)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        copy = dataset_duplicate(dataset=dataset, user=request.user, name=data.validated_data.get("name"))
        return Response(DatasetDetailOut(copy).data, status=status.HTTP_201_CREATED)
