"""The API takes what its schema documents and refuses the rest with a 400 naming the field."""

from __future__ import annotations

import pytest

from pipelines.demo import breast_cancer_graph
from pipelines.models import Pipeline, PipelineVersion, Run, RunStatus, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline(owner):
    workspace = Workspace.objects.get(personal_owner=owner)
    return Pipeline.objects.create(workspace=workspace, name="bc", graph=breast_cancer_graph())


def test_a_body_value_of_the_wrong_json_type_is_refused_naming_the_field(owner_api, pipeline):
    cases = [
        ("/api/workspaces/", {"name": 0}, "name"),
        ("/api/pipelines/", {"name": "p", "workspace": "1"}, "workspace"),
        (f"/api/pipelines/{pipeline.pk}/runs/", {"use_cache": "no"}, "use_cache"),
        ("/api/deployments/", {"name": "d", "model_version": 1.5}, "model_version"),
    ]
    for url, body, field in cases:
        response = owner_api.post(url, body, format="json")
        assert response.status_code == 400, (url, response.content)
        assert field in response.json()["fields"], url


def test_a_json_null_body_is_refused_rather_than_read_as_empty(owner_api, pipeline):
    response = owner_api.post(f"/api/pipelines/{pipeline.pk}/runs/", "null", content_type="application/json")
    assert response.status_code == 400
    assert not Run.objects.filter(pipeline=pipeline).exists()


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=501", "offset=-1", "offset=1.5", "limit=", "offset="])
def test_a_page_parameter_out_of_range_is_a_400_naming_it(owner_api, query):
    response = owner_api.get(f"/api/pipelines/?{query}")
    assert response.status_code == 400
    assert response.json()["field"] == query.split("=")[0]


def test_use_cache_in_the_query_takes_only_true_or_false_spellings(owner_api, pipeline):
    response = owner_api.post(f"/api/pipelines/{pipeline.pk}/runs/?use_cache=maybe", {}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "use_cache"


def test_a_pipeline_with_runs_can_be_deleted_with_its_runs(owner, owner_api, pipeline):
    version = PipelineVersion.objects.create(pipeline=pipeline, number=1, graph=pipeline.graph, graph_hash="h")
    Run.objects.create(
        workspace=pipeline.workspace, pipeline=pipeline, pipeline_version=version,
        status=RunStatus.SUCCEEDED, created_by=owner,
    )
    response = owner_api.delete(f"/api/pipelines/{pipeline.pk}/")
    assert response.status_code == 204, response.content
    assert not Pipeline.objects.filter(pk=pipeline.pk).exists()
    assert not Run.objects.filter(pipeline_id=pipeline.pk).exists()
