from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import require_role, workspace_for, workspace_ids_for
from ..errors import NotFound
from ..inputs import MAX_ID, optional_id
from ..models import Dataset, Role
from ..services.datasets import (
    DECIMALS,
    DELIMITERS,
    ENCODINGS,
    SHORT_LINES,
    dataset_check_size,
    dataset_upload,
)
from .base import Paginated, paginate
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
        datasets = Dataset.objects.filter(workspace_id__in=workspace_ids_for(request.user))
        workspace = optional_id(request.query_params.get("workspace"), field="workspace")
        if workspace is not None:
            datasets = datasets.filter(workspace_id=workspace)
        return paginate(self, datasets.select_related("created_by").defer("profile"), DatasetOut)

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
    @extend_schema(responses=DatasetDetailOut)
    def get(self, request, dataset_id: int):
        dataset = Dataset.objects.filter(pk=dataset_id).first()
        if dataset is None:
            raise NotFound("dataset not found")
        require_role(request.user, dataset.workspace_id, Role.VIEWER, what="dataset")
        return Response(DatasetDetailOut(dataset).data)
