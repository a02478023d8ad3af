from django.urls import path

from . import (
    auth,
    automation,
    blocks,
    connections,
    datasets,
    pipeline_code,
    pipelines,
    runs,
    workspaces,
)
from . import delivery as delivery_api
from . import registry as registry_api
from . import serving as serving_api

urlpatterns = [
    path("auth/token/", auth.TokenCreateApi.as_view(), name="api-token"),
    path("workspaces/", workspaces.WorkspaceListApi.as_view(), name="api-workspaces"),
    path("workspaces/<int:workspace_id>/members/", workspaces.MemberListApi.as_view(), name="api-members"),
    path(
        "workspaces/<int:workspace_id>/members/<str:username>/",
        workspaces.MemberDetailApi.as_view(),
        name="api-member",
    ),
    path("blocks/", blocks.BlockListApi.as_view(), name="api-blocks"),
    path("datasets/", datasets.DatasetListApi.as_view(), name="api-datasets"),
    path("datasets/<int:dataset_id>/", datasets.DatasetDetailApi.as_view(), name="api-dataset"),
    path("datasets/<int:dataset_id>/duplicate/", datasets.DatasetDuplicateApi.as_view(), name="api-dataset-duplicate"),
    path("connections/", connections.ConnectionListApi.as_view(), name="api-connections"),
    path("connections/<int:connection_id>/", connections.ConnectionDetailApi.as_view(), name="api-connection"),
    path("pipelines/", pipelines.PipelineListApi.as_view(), name="api-pipelines"),
    path("pipelines/<int:pipeline_id>/", pipelines.PipelineDetailApi.as_view(), name="api-pipeline"),
    path(
        "pipelines/<int:pipeline_id>/duplicate/",
        pipelines.PipelineDuplicateApi.as_view(),
        name="api-pipeline-duplicate",
    ),
    path(
        "pipelines/<int:pipeline_id>/validate/",
        pipelines.PipelineValidateApi.as_view(),
        name="api-pipeline-validate",
    ),
    path("pipelines/<int:pipeline_id>/runs/", pipelines.PipelineRunListApi.as_view(), name="api-pipeline-runs"),
    path(
        "pipelines/<int:pipeline_id>/versions/",
        pipelines.PipelineVersionListApi.as_view(),
        name="api-pipeline-versions",
    ),
    path(
        "pipelines/<int:pipeline_id>/versions/<int:number>/",
        pipelines.PipelineVersionDetailApi.as_view(),
        name="api-pipeline-version",
    ),
    path("runs/", runs.RunListApi.as_view(), name="api-runs"),
    path("runs/<int:run_id>/", runs.RunDetailApi.as_view(), name="api-run"),
    path("runs/<int:run_id>/cancel/", runs.RunCancelApi.as_view(), name="api-run-cancel"),
    path("runs/<int:run_id>/retry/", runs.RunRetryApi.as_view(), name="api-run-retry"),
    path("runs/<int:run_id>/compare/", runs.RunCompareApi.as_view(), name="api-run-compare"),
    # Model registry, deployments and prediction (issue 5)
    path("models/", registry_api.ModelListApi.as_view(), name="api-models"),
    path("models/<int:version_id>/", registry_api.ModelDetailApi.as_view(), name="api-model"),
    path("deployments/", registry_api.DeploymentListApi.as_view(), name="api-deployments"),
    path("deployments/<str:name>/", registry_api.DeploymentDetailApi.as_view(), name="api-deployment"),
    path("deployments/<str:name>/rollback/", registry_api.DeploymentRollbackApi.as_view(), name="api-deployment-rollback"),
    path("deployments/<str:name>/keys/", registry_api.DeploymentKeyListApi.as_view(), name="api-deployment-keys"),
    path("deployments/<str:name>/keys/<int:key_id>/", registry_api.DeploymentKeyDetailApi.as_view(), name="api-deployment-key"),
    path("deployments/<str:name>/predict", serving_api.predict, name="api-deployment-predict"),
    path("deployments/<str:name>/predict/", serving_api.predict),
    path("deployments/<str:name>/feedback", serving_api.feedback, name="api-deployment-feedback"),
    path("deployments/<str:name>/feedback/", serving_api.feedback),
    # Delivery: registered models by name, gates, promotion, history, traffic (issue 10)
    path("registered-models/<str:name>/", delivery_api.RegisteredModelDetailApi.as_view(), name="api-registered-model"),
    path("registered-models/<str:name>/gates/", delivery_api.GatesApi.as_view(), name="api-registered-model-gates"),
    path("registered-models/<str:name>/versions/<int:number>/promote/", delivery_api.PromoteApi.as_view(),
         name="api-registered-model-promote"),
    path("registered-models/<str:name>/history/", delivery_api.HistoryApi.as_view(),
         name="api-registered-model-history"),
    path("deployments/<str:name>/traffic/", delivery_api.TrafficApi.as_view(), name="api-deployment-traffic"),
    # Schedules, triggers and the webhook that starts a run (issue 10)
    path("pipelines/<int:pipeline_id>/schedules/", automation.ScheduleListApi.as_view(), name="api-schedules"),
    path(
        "pipelines/<int:pipeline_id>/schedules/<int:schedule_id>/",
        automation.ScheduleDetailApi.as_view(),
        name="api-schedule",
    ),
    path(
        "pipelines/<int:pipeline_id>/schedules/<int:schedule_id>/run/",
        automation.ScheduleRunNowApi.as_view(),
        name="api-schedule-run",
    ),
    path("pipelines/<int:pipeline_id>/triggers/", automation.TriggerListApi.as_view(), name="api-triggers"),
    path(
        "pipelines/<int:pipeline_id>/triggers/<int:trigger_id>/",
        automation.TriggerDetailApi.as_view(),
        name="api-trigger",
    ),
    path("hooks/<str:secret>/", automation.WebhookApi.as_view(), name="api-webhook"),
    # Pipeline as code (issue 10)
    path("pipelines/import/", pipeline_code.PipelineImportApi.as_view(), name="api-pipeline-import"),
    path("pipelines/<int:pipeline_id>/export/", pipeline_code.PipelineExportApi.as_view(), name="api-pipeline-export"),
    path("pipelines/<int:pipeline_id>/import/", pipeline_code.PipelinePushApi.as_view(), name="api-pipeline-push"),
]

# Alerts, channels and retraining (issue 9)
from . import alerts as alerts_api  # noqa: E402

urlpatterns += [
    path("deployments/<str:name>/alert-rules/", alerts_api.AlertRuleListApi.as_view(), name="api-alert-rules"),
    path(
        "deployments/<str:name>/alert-rules/<int:rule_id>/",
        alerts_api.AlertRuleDetailApi.as_view(),
        name="api-alert-rule",
    ),
    path("deployments/<str:name>/retrain/", alerts_api.RetrainPolicyApi.as_view(), name="api-deployment-retrain"),
    path("alerts/", alerts_api.AlertListApi.as_view(), name="api-alerts"),
    path("alerts/<int:alert_id>/", alerts_api.AlertDetailApi.as_view(), name="api-alert"),
    path("alerts/<int:alert_id>/ack/", alerts_api.AlertAckApi.as_view(), name="api-alert-ack"),
]

# Monitoring (issue 9)
from . import monitoring as monitoring_api  # noqa: E402

urlpatterns += [
    path("deployments/<str:name>/monitoring/", monitoring_api.MonitoringApi.as_view(), name="api-deployment-monitoring"),
    path("deployments/<str:name>/monitoring/run/", monitoring_api.MonitoringRunApi.as_view(),
         name="api-deployment-monitoring-run"),
    path("deployments/<str:name>/monitoring/reference/", monitoring_api.MonitoringReferenceApi.as_view(),
         name="api-deployment-monitoring-reference"),
]

# Audit trail and model cards (issue 11)
from . import audit as audit_api  # noqa: E402

urlpatterns += [
    path("workspaces/<int:workspace_id>/audit/", audit_api.AuditListApi.as_view(), name="api-workspace-audit"),
    path("workspaces/<int:workspace_id>/audit/verify/", audit_api.AuditVerifyApi.as_view(),
         name="api-workspace-audit-verify"),
]

from . import cards as cards_api  # noqa: E402

urlpatterns += [
    path("registered-models/<str:name>/versions/<int:number>/card/", cards_api.CardApi.as_view(),
         name="api-registered-model-card"),
    path("registered-models/<str:name>/versions/<int:number>/card/revisions/", cards_api.CardRevisionListApi.as_view(),
         name="api-registered-model-card-revisions"),
    path("registered-models/<str:name>/versions/<int:number>/card/diff/", cards_api.CardDiffApi.as_view(),
         name="api-registered-model-card-diff"),
]
