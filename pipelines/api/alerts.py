"""Alert rules of a deployment, the alerts inbox, and the retrain policy: one view per operation.

Reading needs the viewer role in the deployment's workspace; changing rules,
acknowledging alerts and setting the retrain policy need the editor role.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import ApplicationError, NotFound
from ..inputs import MAX_ID, refuse_nul
from ..models import (
    Alert,
    AlertDelivery,
    AlertRule,
    AlertStatus,
    DeliveryKind,
    RetrainRun,
    Role,
    Signal,
)
from ..selectors.alerts import (
    alert_get,
    alert_list,
    alert_rule_get,
    alert_rule_list,
    retrain_policy_get,
    retrain_run_list,
)
from ..selectors.pipelines import pipeline_get
from ..selectors.registry import deployment_get
from ..services.alerts import (
    alert_acknowledge,
    alert_rule_create,
    alert_rule_delete,
    alert_rule_update,
)
from ..services.retrain import RETRAIN_ON, retrain_policy_delete, retrain_policy_set
from .base import Paginated, paginate
from .fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from .schema import choice_query, error_responses
from .serializers import UserField

MAX_COOLDOWN_MINUTES = 30 * 24 * 60


class StrictFloatField(serializers.FloatField):
    """A JSON number (not a string, not a boolean); its range is checked per signal by the service."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- rules ---------------------------------------------------------------------------


class ChannelSerializer(serializers.Serializer):
    kind = StrictChoiceField(choices=DeliveryKind.choices)
    target = StrictCharField(min_length=1, max_length=500,
                             help_text="an email address, or an http(s) URL for a webhook")


class RuleOut(serializers.ModelSerializer):
    deployment = serializers.CharField(source="deployment.name")
    channels = ChannelSerializer(many=True)
    has_webhook_secret = serializers.SerializerMethodField()

    class Meta:
        model = AlertRule
        fields = ["id", "deployment", "signal", "threshold", "consecutive", "cooldown_minutes", "channels",
                  "enabled", "is_default", "has_webhook_secret", "streak", "last_value", "last_window_start",
                  "created_at", "updated_at"]

    def get_has_webhook_secret(self, obj) -> bool:
        return bool(obj.webhook_secret)


class RuleIn(serializers.Serializer):
    signal = StrictChoiceField(choices=Signal.choices)
    threshold = StrictFloatField(help_text="drift_share, error_rate, quality: (0, 1]; feature_drift: a count "
                                 "≥ 1; latency_p95_ms: milliseconds > 0; performance: fires below it")
    consecutive = StrictIntegerField(min_value=1, max_value=100, default=1)
    cooldown_minutes = StrictIntegerField(min_value=0, max_value=MAX_COOLDOWN_MINUTES, default=60)
    channels = ChannelSerializer(many=True, required=False, default=list, max_length=10)
    enabled = StrictBooleanField(required=False, default=True)


class RuleChangeIn(RuleIn):
    rotate_secret = StrictBooleanField(required=False, default=False,
                                       help_text="make a new webhook secret (answered once in webhook_secret)")


def _rule_answer(rule: AlertRule, secret: str | None) -> dict:
    body = RuleOut(rule).data
    if secret is not None:
        body["webhook_secret"] = secret  # shown this once; sign-checking receivers need it
    return body


class AlertRuleListApi(APIView):
    @extend_schema(responses=RuleOut(many=True))
    def get(self, request, name: str):
        deployment = deployment_get(user=request.user, name=name)
        return Response(RuleOut(alert_rule_list(deployment=deployment), many=True).data)

    @extend_schema(request=RuleIn, responses={201: RuleOut})
    def post(self, request, name: str):
        data = RuleIn(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        rule, secret = alert_rule_create(deployment=deployment, user=request.user, **data.validated_data)
        return Response(_rule_answer(rule, secret), status=status.HTTP_201_CREATED)


class AlertRuleDetailApi(APIView):
    @extend_schema(responses=RuleOut)
    def get(self, request, name: str, rule_id: int):
        deployment = deployment_get(user=request.user, name=name)
        return Response(RuleOut(alert_rule_get(deployment=deployment, rule_id=rule_id)).data)

    def _change(self, request, name: str, rule_id: int, *, partial: bool):
        data = RuleChangeIn(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        rule = alert_rule_get(deployment=deployment, rule_id=rule_id)
        changes = dict(data.validated_data)
        rotate = changes.pop("rotate_secret", False)
        rule, secret = alert_rule_update(rule=rule, changes=changes, rotate_secret=rotate)
        return Response(_rule_answer(rule, secret))

    @extend_schema(request=RuleChangeIn, responses=RuleOut)
    def put(self, request, name: str, rule_id: int):
        return self._change(request, name, rule_id, partial=False)

    @extend_schema(request=RuleChangeIn, responses=RuleOut)
    def patch(self, request, name: str, rule_id: int):
        return self._change(request, name, rule_id, partial=True)

    @extend_schema(responses={204: None})
    def delete(self, request, name: str, rule_id: int):
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        alert_rule_delete(rule=alert_rule_get(deployment=deployment, rule_id=rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- alerts --------------------------------------------------------------------------


class AlertOut(serializers.ModelSerializer):
    deployment = serializers.CharField(source="deployment.name")
    rule = serializers.IntegerField(source="rule_id")
    acknowledged_by = UserField()
    retrain_runs = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["id", "deployment", "rule", "signal", "status", "value", "threshold", "detail", "window",
                  "first_window", "windows", "fired_at", "acknowledged_at", "acknowledged_by", "resolved_at",
                  "retrain_runs"]

    def get_retrain_runs(self, obj) -> list[int]:
        return [r.run_id for r in obj.retrain_runs.all()]


class DeliveryOut(serializers.ModelSerializer):
    class Meta:
        model = AlertDelivery
        fields = ["id", "event", "kind", "target", "status", "attempts", "response_code", "error", "created_at",
                  "sent_at"]


class AlertListApi(APIView):
    pagination_class = Paginated

    @extend_schema(
        parameters=[OpenApiParameter("deployment", str, description="a deployment name"),
                    choice_query("status", AlertStatus.values)],
        responses=AlertOut(many=True),
    )
    def get(self, request):
        deployment = request.query_params.get("deployment") or None
        refuse_nul(deployment, field="deployment")
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in AlertStatus.values:
            raise ApplicationError(f"status must be one of {', '.join(AlertStatus.values)}", field="status")
        return paginate(self, alert_list(user=request.user, deployment=deployment, status=wanted), AlertOut)


class AlertDetailApi(APIView):
    @extend_schema(responses=AlertOut)
    def get(self, request, alert_id: int):
        alert = alert_get(user=request.user, alert_id=alert_id)
        body = AlertOut(alert).data
        body["deliveries"] = DeliveryOut(alert.deliveries.all(), many=True).data
        return Response(body)


class AlertAckApi(APIView):
    @extend_schema(request=None, responses={200: AlertOut, **error_responses(409)})
    def post(self, request, alert_id: int):
        alert = alert_get(user=request.user, alert_id=alert_id, role=Role.EDITOR)
        return Response(AlertOut(alert_acknowledge(alert=alert, user=request.user)).data)


# --- retrain policy --------------------------------------------------------------------


class RetrainIn(serializers.Serializer):
    pipeline = StrictIntegerField(min_value=1, max_value=MAX_ID)
    on = serializers.ListField(child=StrictChoiceField(choices=RETRAIN_ON), min_length=1, max_length=2,
                               default=lambda: list(RETRAIN_ON))
    consecutive = StrictIntegerField(min_value=1, max_value=100, default=2)
    cooldown_hours = StrictFloatField(min_value=0, max_value=24 * 365, default=24)
    auto_champion = StrictBooleanField(
        default=False,
        help_text="also promote the retrained challenger to champion when every gate of the model passes "
        "(warn-only ones too); never on a failing gate, never for a model without gates",
    )


class RetrainRunOut(serializers.ModelSerializer):
    run_status = serializers.CharField(source="run.status")
    model_version = serializers.SerializerMethodField()

    class Meta:
        model = RetrainRun
        fields = ["run", "run_status", "trigger", "alert", "done", "model_version", "error", "created_at"]

    def get_model_version(self, obj) -> dict | None:
        v = obj.model_version
        return {"id": v.pk, "name": v.registered_model.name, "version": v.number} if v else None


class RetrainPolicyOut(serializers.Serializer):
    pipeline = serializers.IntegerField(source="pipeline_id", allow_null=True,
                                        help_text="null when no policy is set; the other policy fields are then absent")
    on = serializers.ListField(child=serializers.CharField(), required=False)
    consecutive = serializers.IntegerField(required=False)
    cooldown_hours = serializers.FloatField(required=False)
    auto_champion = serializers.BooleanField(required=False)
    user = serializers.CharField(source="user.username", allow_null=True, required=False,
                                 help_text="runs are started as this user")
    last_error = serializers.CharField(required=False)
    updated_at = serializers.DateTimeField(required=False)


class RetrainOut(RetrainPolicyOut):
    """The answer: the policy (``{"pipeline": null}`` alone when none is set) and the runs it started."""

    runs = RetrainRunOut(many=True, help_text="the latest 20 runs retraining started, newest first")


def _retrain_answer(deployment) -> dict:
    policy = retrain_policy_get(deployment=deployment)
    body = RetrainPolicyOut(policy).data if policy else {"pipeline": None}
    body["runs"] = RetrainRunOut(retrain_run_list(deployment=deployment), many=True).data
    return body


class RetrainPolicyApi(APIView):
    @extend_schema(responses=RetrainOut)
    def get(self, request, name: str):
        return Response(_retrain_answer(deployment_get(user=request.user, name=name)))

    @extend_schema(request=RetrainIn, responses=RetrainOut)
    def put(self, request, name: str):
        data = RetrainIn(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = deployment_get(user=request.user, name=name, role=Role.EDITOR)
        values = data.validated_data
        try:
            pipeline = pipeline_get(user=request.user, pipeline_id=values["pipeline"])
        except NotFound:
            # A body field, not the URL: 400 naming it, as for any other bad field.
            raise ApplicationError(f"pipeline {values['pipeline']} not found", field="pipeline") from None
        retrain_policy_set(
            deployment=deployment, user=request.user, pipeline=pipeline, on=values["on"],
            consecutive=values["consecutive"], cooldown_hours=values["cooldown_hours"],
            auto_champion=values["auto_champion"],
        )
        return Response(_retrain_answer(deployment))

    @extend_schema(responses={204: None})
    def delete(self, request, name: str):
        retrain_policy_delete(deployment=deployment_get(user=request.user, name=name, role=Role.EDITOR))
        return Response(status=status.HTTP_204_NO_CONTENT)
