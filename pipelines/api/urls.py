from django.urls import path

from . import auth, blocks, datasets, pipelines, runs, workspaces

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
    path("pipelines/", pipelines.PipelineListApi.as_view(), name="api-pipelines"),
    path("pipelines/<int:pipeline_id>/", pipelines.PipelineDetailApi.as_view(), name="api-pipeline"),
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
]
