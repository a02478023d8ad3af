"""Schedules and triggers of a pipeline, and the webhook that starts one.

Members read them; editors make, pause and delete them. A webhook's URL (with
its secret) is answered once, when the trigger is made.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import NotFound
from ..inputs import MAX_ID
from ..models import Pipeline, PipelineTrigger, Role, Schedule, TriggerKind
from ..selectors.automation import schedule_get, trigger_get
from ..selectors.pipelines import pipeline_get
from ..services import schedules as schedule_services
from ..services import triggers as trigger_services
from .fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from .schema import error_responses
from .serializers import RunListOut, UserField


class ScheduleOut(serializers.ModelSerializer):
    description = serializers.SerializerMethodField(help_text='the timing in plain words, e.g. "every 5 minutes"')
    created_by = UserField()
    cron = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = [
            "id", "pipeline", "cron", "every_seconds", "description", "paused", "next_run_at",
            "last_run_at", "last_run", "last_error", "created_by", "created_at",
        ]

    def get_description(self, obj) -> str:
        return schedule_services.schedule_describe(obj)

    def get_cron(self, obj) -> str | None:
        return obj.cron or None


class TriggerOut(serializers.ModelSerializer):
    dataset = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    created_by = UserField()
    source_pipeline = serializers.SerializerMethodField(help_text="kind=pipeline: the upstream pipeline's id")

    class Meta:
        model = PipelineTrigger
        fields = [
            "id", "kind", "dataset", "source_pipeline", "description", "paused", "last_fired_at",
            "last_error", "created_by", "created_at",
        ]

    def get_dataset(self, obj) -> str | None:
        return obj.dataset_name or None

    def get_source_pipeline(self, obj) -> int | None:
        return obj.source_pipeline_id

    def get_description(self, obj) -> str:
        return trigger_services.trigger_describe(obj)


class TriggerCreatedOut(TriggerOut):
    url = serializers.SerializerMethodField(help_text="kind=webhook: POST here to start a run (shown once)")

    class Meta(TriggerOut.Meta):
        fields = TriggerOut.Meta.fields + ["url"]

    def get_url(self, obj) -> str | None:
        secret = self.context.get("secret")
        if not secret:
            return None
        return self.context["request"].build_absolute_uri(f"/api/hooks/{secret}/")


@extend_schema_field({"oneOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 0, "maximum": MAX_ID}]})
class DatasetRefField(serializers.Field):
    """A dataset's name, or the id of one of its versions."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError("must be a dataset name or id")
        if isinstance(data, int) and not 0 <= data <= MAX_ID:
            raise serializers.ValidationError("dataset id out of range")
        if isinstance(data, str) and not data.strip():
            raise serializers.ValidationError("must be a dataset name or id, not blank")
        return data


def _schedule_of(request, pipeline_id: int, schedule_id: int, role: str) -> Schedule:
    pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=role)
    return schedule_get(pipeline=pipeline, schedule_id=schedule_id)


def _trigger_of(request, pipeline_id: int, trigger_id: int, role: str) -> PipelineTrigger:
    pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=role)
    return trigger_get(pipeline=pipeline, trigger_id=trigger_id)


class ScheduleListApi(APIView):
    class InputSerializer(serializers.Serializer):
        cron = StrictCharField(required=False, max_length=100, help_text='five fields, UTC, e.g. "*/15 * * * *"')
        every_seconds = StrictIntegerField(required=False, min_value=0, max_value=MAX_ID, help_text="at least 5")
        paused = StrictBooleanField(required=False, default=False)

    @extend_schema(responses=ScheduleOut(many=True))
    def get(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id)
        schedules = pipeline.schedules.select_related("created_by")
        return Response(ScheduleOut(schedules, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ScheduleOut, **error_responses(400, 403, 404)})
    def post(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=Role.EDITOR)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = schedule_services.schedule_create(pipeline=pipeline, user=request.user, **data.validated_data)
        return Response(ScheduleOut(schedule).data, status=status.HTTP_201_CREATED)


class ScheduleDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        paused = StrictBooleanField(required=False, help_text="pause or resume; absent: unchanged")

    @extend_schema(responses=ScheduleOut)
    def get(self, request, pipeline_id: int, schedule_id: int):
        return Response(ScheduleOut(_schedule_of(request, pipeline_id, schedule_id, Role.VIEWER)).data)

    @extend_schema(request=InputSerializer, responses={200: ScheduleOut, **error_responses(400, 403, 404)})
    def patch(self, request, pipeline_id: int, schedule_id: int):
        schedule = _schedule_of(request, pipeline_id, schedule_id, Role.EDITOR)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "paused" in data.validated_data:
            schedule = schedule_services.schedule_set_paused(schedule=schedule, paused=data.validated_data["paused"])
        return Response(ScheduleOut(schedule).data)

    @extend_schema(responses={204: None, **error_responses(403, 404)})
    def delete(self, request, pipeline_id: int, schedule_id: int):
        schedule = _schedule_of(request, pipeline_id, schedule_id, Role.EDITOR)
        schedule_services.schedule_delete(schedule=schedule)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScheduleRunNowApi(APIView):
    @extend_schema(request=None, responses={201: RunListOut, **error_responses(400, 403, 404)})
    def post(self, request, pipeline_id: int, schedule_id: int):
        schedule = _schedule_of(request, pipeline_id, schedule_id, Role.EDITOR)
        run = schedule_services.schedule_run_now(schedule=schedule, user=request.user)
        return Response(RunListOut(run).data, status=status.HTTP_201_CREATED)


class TriggerListApi(APIView):
    class InputSerializer(serializers.Serializer):
        kind = StrictChoiceField(choices=TriggerKind.values)
        dataset = DatasetRefField(required=False, help_text="kind=dataset: a dataset name or id")
        pipeline = StrictIntegerField(
            required=False, min_value=0, max_value=MAX_ID, help_text="kind=pipeline: the upstream pipeline's id"
        )

    @extend_schema(responses=TriggerOut(many=True))
    def get(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id)
        triggers = pipeline.triggers.select_related("source_pipeline", "created_by")
        return Response(TriggerOut(triggers, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: TriggerCreatedOut, **error_responses(400, 403, 404)})
    def post(self, request, pipeline_id: int):
        pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=Role.EDITOR)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        dataset = values.get("dataset")
        source = None
        if values["kind"] == TriggerKind.PIPELINE and "pipeline" in values:
            source = _source_pipeline(request, values["pipeline"])
        trigger, secret = trigger_services.trigger_create(
            pipeline=pipeline, user=request.user, kind=values["kind"], dataset=dataset, source=source
        )
        out = TriggerCreatedOut(trigger, context={"request": request, "secret": secret})
        return Response(out.data, status=status.HTTP_201_CREATED)


def _source_pipeline(request, pipeline_id: int) -> Pipeline:
    try:
        return pipeline_get(user=request.user, pipeline_id=pipeline_id)
    except NotFound as exc:
        raise NotFound("upstream pipeline not found", field="pipeline") from exc


class TriggerDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        paused = StrictBooleanField(required=False, help_text="pause or resume; absent: unchanged")

    @extend_schema(responses=TriggerOut)
    def get(self, request, pipeline_id: int, trigger_id: int):
        return Response(TriggerOut(_trigger_of(request, pipeline_id, trigger_id, Role.VIEWER)).data)

    @extend_schema(request=InputSerializer, responses={200: TriggerOut, **error_responses(400, 403, 404)})
    def patch(self, request, pipeline_id: int, trigger_id: int):
        trigger = _trigger_of(request, pipeline_id, trigger_id, Role.EDITOR)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "paused" in data.validated_data:
            trigger = trigger_services.trigger_set_paused(trigger=trigger, paused=data.validated_data["paused"])
        return Response(TriggerOut(trigger).data)

    @extend_schema(responses={204: None, **error_responses(403, 404)})
    def delete(self, request, pipeline_id: int, trigger_id: int):
        trigger = _trigger_of(request, pipeline_id, trigger_id, Role.EDITOR)
        trigger_services.trigger_delete(trigger=trigger)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookOut(serializers.Serializer):
    run = serializers.IntegerField()
    status = serializers.CharField()
    trigger = serializers.CharField()


class WebhookApi(APIView):
    """The secret URL of a webhook trigger: a POST starts a run (body ignored).

    No credentials: the secret in the URL is the credential. A wrong secret
    answers 404, exactly like a URL that never existed.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={201: WebhookOut, **error_responses(404, 409)})
    def post(self, request, secret: str):
        run = trigger_services.webhook_fire(secret=secret)
        out = WebhookOut({"run": run.pk, "status": run.status, "trigger": run.trigger})
        return Response(out.data, status=status.HTTP_201_CREATED)
