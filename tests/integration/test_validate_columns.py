"""Validation knows an uploaded dataset's columns and names a column param it lacks."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Pipeline, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline(owner):
    workspace = Workspace.objects.get(personal_owner=owner)
    return Pipeline.objects.create(workspace=workspace, name="churn", graph={})


def upload(api, data: bytes) -> str:
    response = api.post(
        "/api/datasets/",
        {"file": SimpleUploadedFile("d.csv", data, content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 201
    return response.json()["sha256"]


def training_graph(sha: str, **train_params):
    return (
        GraphBuilder()
        .node("load", "dataset.upload", dataset=sha)
        .node("split", "data.split")
        .node("scale", "sklearn.preprocessing.StandardScaler")
        .node("train", "model.train", **train_params)
        .edge("load.table", "split.table")
        .edge("scale.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .build()
    )


def validate(api, pipeline, graph):
    response = api.post(f"/api/pipelines/{pipeline.pk}/validate/", {"graph": graph}, format="json")
    assert response.status_code == 200
    return response.json()


def test_the_default_target_is_refused_before_the_run_when_the_upload_lacks_it(owner_api, pipeline):
    sha = upload(owner_api, b"a,b,churned\n1,2,0\n3,4,1\n")
    body = validate(owner_api, pipeline, training_graph(sha))
    assert body["errors"] == {
        "train": ["target: column 'target' is not in the table (columns: a, b, churned)"]
    }
    assert validate(owner_api, pipeline, training_graph(sha, target="churned"))["valid"] is True


def test_starting_a_run_with_a_missing_target_is_a_400_naming_the_node(owner_api, pipeline):
    sha = upload(owner_api, b"a,churned\n1,0\n3,1\n")
    owner_api.patch(
        f"/api/pipelines/{pipeline.pk}/",
        {"version": 1, "graph": training_graph(sha)},
        format="json",
    )
    response = owner_api.post(f"/api/pipelines/{pipeline.pk}/runs/", {}, format="json")
    assert response.status_code == 400
    assert "column 'target' is not in the table" in response.json()["errors"]["train"][0]
    assert pipeline.runs.count() == 0
