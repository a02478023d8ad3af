"""Deployment monitoring: stored windows (GET), computing one window now (POST), and the
reference windows are compared with (GET, PUT)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import ApplicationError
from ..inputs import parse_moment, refuse_nul
from ..models import ReferenceKind, Role, WindowSize
from ..selectors.monitoring import monitoring_reference_get, monitoring_window_list
from ..selectors.registry import deployment_get
from ..services.monitoring import SIZES, iso, monitoring_window_compute, window_floor
from ..services.monitoring_reference import monitoring_reference_set, reference_describe
from .fields import StrictCharField, StrictChoiceField, StrictIntegerField
from .schema import choice_query, error_responses

DEFAULT_SPAN = {WindowSize.HOUR: timedelta(hours=48), WindowSize.DAY: timedelta(days=30),
                WindowSize.WEEK: timedelta(weeks=26)}
MAX_SPAN = timedelta(days=3660)
DATE_TIME = {"type": "string", "format": "date-time"}


def _bounds(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ApplicationError("end must be after start", field="end")
    if end - start > MAX_SPAN:
        raise ApplicationError("start and end may be at most 10 years apart", field="start")


def monitoring_payload(windows, *, start: datetime, end: datetime, size: str | None) -> dict:
    reports = [w.report for w in windows]
    return {
        "status": reports[-1]["status"] if reports else "insufficient_data",
        "start": iso(start), "end": iso(end), "window": size,
        "windows": reports,
    }


_MonitoringOut = inline_serializer("MonitoringOut", {
    "status": serializers.ChoiceField(["ok", "warning", "alert", "insufficient_data"]),
    "start": serializers.DateTimeField(),
    "end": serializers.DateTimeField(),
    "window": serializers.CharField(allow_null=True),
    "windows": serializers.ListField(child=serializers.DictField()),
})


class MonitoringApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("start", DATE_TIME, description="ISO 8601 (UTC without an offset); "
                             "default: 30 days, 48 hours or 26 weeks before end"),
            OpenApiParameter("end", DATE_TIME, description="ISO 8601 (UTC without an offset); default: now"),
            choice_query("window", [WindowSize.HOUR, WindowSize.DAY, WindowSize.WEEK],
                         description="the windows to list (and windows computed on request); default: all"),
        ],
        responses={200: _MonitoringOut, **error_responses(400, 404)},
    )
    def get(self, request, name: str):
        """The deployment's stored windows in [start, end), oldest first; ``status`` is the latest's."""
        deployment = deployment_get(user=request.user, name=name)
        params = request.query_params
        size = params.get("window")  # present but empty is as wrong as any other text
        if size is not None and size not in SIZES:
            refuse_nul(size, field="window")
            raise ApplicationError("window must be hour, day or week", field="window")
        end = parse_moment(params["end"], field="end") if "end" in params else datetime.now(UTC)
        start = (
            parse_moment(params["start"], field="start") if "start" in params
            else window_floor(end - DEFAULT_SPAN[size or WindowSize.DAY], size or WindowSize.DAY)
        )
        _bounds(start, end)
        sizes = [size, WindowSize.CUSTOM] if size else None
        windows = monitoring_window_list(deployment=deployment, start=start, end=end, sizes=sizes)
        return Response(monitoring_payload(windows, start=start, end=end, size=size))


@extend_schema_field(DATE_TIME)
class MomentField(StrictCharField):
    """An ISO 8601 date or date-time as text; ``parse_moment`` reads it (and names the field)."""


class MonitoringRunIn(serializers.Serializer):
    start = MomentField(max_length=64)
    end = MomentField(max_length=64)


class MonitoringRunApi(APIView):
    @extend_schema(request=MonitoringRunIn, responses={200: _MonitoringOut, **error_responses(400, 403, 404)})
    def post(self, request, name: str):
        """Compute exactly one window covering [start, end) now, store it and answer it."""
        data = MonitoringRunIn(data=request.data)
        data.is_valid(raise_exception=True)
        start = parse_moment(data.validated_data["start"], field="start")
        end = parse_moment(data.validated_data["end"], field="end")
        _bounds(start, end)
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        window = monitoring_window_compute(deployment=deployment, start=start, end=end)
        return Response(monitoring_payload([window], start=start, end=end, size=window.size))


# --- the reference ------------------------------------------------------------------------


class MonitoringReferenceIn(serializers.Serializer):
    kind = StrictChoiceField(choices=ReferenceKind.choices)
    dataset = StrictCharField(required=False, allow_null=True, max_length=200,
                              help_text="kind dataset: the dataset's name in the deployment's workspace")
    version = StrictIntegerField(required=False, allow_null=True, min_value=1,
                                 help_text="kind dataset: the version; default: its latest version now (pinned)")
    start = MomentField(required=False, allow_null=True, max_length=64, help_text="kind window: ISO 8601 UTC")
    end = MomentField(required=False, allow_null=True, max_length=64,
                      help_text="kind window: ISO 8601 UTC, not in the future (the span is [start, end))")


class MonitoringReferenceOut(serializers.Serializer):
    kind = serializers.ChoiceField(ReferenceKind.choices)
    dataset = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True)
    dataset_id = serializers.IntegerField(allow_null=True)
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True)
    label = serializers.CharField(help_text='how pages name it, e.g. "dataset loans v2"')


class MonitoringReferenceApi(APIView):
    @extend_schema(responses={200: MonitoringReferenceOut, **error_responses(404)})
    def get(self, request, name: str):
        """What the deployment's next windows are compared with (default: the model's training data)."""
        deployment = deployment_get(user=request.user, name=name)
        return Response(reference_describe(monitoring_reference_get(deployment=deployment)))

    @extend_schema(request=MonitoringReferenceIn,
                   responses={200: MonitoringReferenceOut, **error_responses(400, 403, 404)})
    def put(self, request, name: str):
        """Choose the reference: ``training``, a ``dataset`` (+ ``version``) of the deployment's workspace, or a
        production ``window`` [start, end) of its own logged predictions. Stored windows keep the one they used."""
        data = MonitoringReferenceIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # start/end are read whenever they are sent, so a malformed one is a 400 for any kind.
        moments = {
            key: parse_moment(values[key], field=key) if values.get(key) is not None else None
            for key in ("start", "end")
        }
        window = moments if values["kind"] == ReferenceKind.WINDOW else {}
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        reference = monitoring_reference_set(
            deployment=deployment, user=request.user, kind=values["kind"], dataset=values.get("dataset"),
            version=values.get("version"), **window,
        )
        return Response(reference_describe(reference))
