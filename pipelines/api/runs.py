from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import ApplicationError
from ..inputs import is_id, optional_id
from ..models import Role, RunStatus
from ..selectors.runs import run_compare, run_get, run_list, run_queue_position, run_steps
from ..services.runs import run_cancel, run_retry
from .base import Paginated, paginate, run_status_param
from .schema import GraphErrorOut, choice_query, error_responses, id_query
from .serializers import RunListOut, RunOut


def run_payload(run) -> dict:
    return RunOut(
        run, context={"steps": run_steps(run=run), "queue_position": run_queue_position(run=run)}
    ).data


class RunListApi(APIView):
    pagination_class = Paginated

    @extend_schema(
        parameters=[id_query("pipeline"), choice_query("status", RunStatus.values)],
        responses=RunListOut(many=True),
    )
    def get(self, request):
        pipeline = optional_id(request.query_params.get("pipeline"), field="pipeline")
        status_filter = run_status_param(request)
        runs = run_list(
            user=request.user, pipeline_id=pipeline, status=status_filter
        )
        return paginate(self, runs, RunListOut)


class RunDetailApi(APIView):
    @extend_schema(responses=RunOut)
    def get(self, request, run_id: int):
        return Response(run_payload(run_get(user=request.user, run_id=run_id)))


class RunCancelApi(APIView):
    @extend_schema(request=None, responses={200: RunOut, **error_responses(409)})
    def post(self, request, run_id: int):
        run = run_cancel(run=run_get(user=request.user, run_id=run_id, role=Role.EDITOR), user=request.user)
        return Response(run_payload(run))


class RunRetryApi(APIView):
    @extend_schema(
        request=None,
        responses={201: RunOut, **error_responses(400, schema=GraphErrorOut), **error_responses(409)},
    )
    def post(self, request, run_id: int):
        run = run_retry(run=run_get(user=request.user, run_id=run_id, role=Role.EDITOR), user=request.user)
        run.refresh_from_db()
        return Response(run_payload(run), status=status.HTTP_201_CREATED)


class RunCompareApi(APIView):
    """Graph, parameter and metric differences between two runs."""

    @extend_schema(
        parameters=[id_query("other", required=True, description="the run to compare with")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, run_id: int):
        other = request.query_params.get("other", "")
        if not is_id(other):
            raise ApplicationError("say which run to compare with: ?other=<run id>", details={"field": "other"})
        left = run_get(user=request.user, run_id=run_id)
        right = run_get(user=request.user, run_id=int(other))
        return Response(run_compare(left=left, right=right))
