"""Factories and request helpers for the tests that share the ``world`` fixture."""

from __future__ import annotations

import json

import pandas as pd
from django.db import transaction
from rest_framework.test import APIClient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline

from pipelines.graph.builder import GraphBuilder
from pipelines.models import (
    Pipeline,
    PipelineVersion,
    Run,
    RunStatus,
    StepRun,
    StepStatus,
    Workspace,
)
from pipelines.services.artifacts import artifact_store, artifacts_record

BIG = "99999999999999999999"  # > 2**64
SECRET_NAME = "Owner-Secret-Pipeline"


def personal(user) -> Workspace:
    return Workspace.objects.get(personal_owner=user)


def trained_run(user, *, name: str = SECRET_NAME, status: str = RunStatus.SUCCEEDED) -> Run:
    """A run whose ``train`` step produced a real, signed model artifact."""
    workspace = personal(user)
    pipeline = Pipeline.objects.create(
        workspace=workspace, name=name, graph=GraphBuilder().build(), created_by=user
    )
    version = PipelineVersion.objects.create(
        pipeline=pipeline, number=1, graph=pipeline.graph, graph_hash="h1"
    )
    run = Run.objects.create(
        workspace=workspace,
        pipeline=pipeline,
        pipeline_version=version,
        status=status,
        created_by=user,
        steps_total=2,
        steps_done=2,
    )
    table = pd.DataFrame({"a": [0.0, 1, 2, 3], "b": [1.0, 0, 1, 0], "target": [0, 1, 0, 1]})
    model = SkPipeline([("lr", LogisticRegression())]).fit(table[["a", "b"]], table["target"])
    store = artifact_store()
    table_ref, model_ref = store.put_table(table), store.put_object(model)
    artifacts_record([table_ref, model_ref])
    StepRun.objects.create(
        run=run,
        node_id="load",
        block_key="dataset.builtin",
        block_version="1",
        position=0,
        status=StepStatus.SUCCEEDED,
        outputs={"table": table_ref.as_ref()},
    )
    StepRun.objects.create(
        run=run,
        node_id="train",
        block_key="model.train",
        block_version="1",
        position=1,
        status=StepStatus.SUCCEEDED,
        inputs={"table": ["load", "table"]},
        params={"target": "target"},
        outputs={"model": model_ref.as_ref()},
    )
    return run


def deploy(client, run: Run, name: str) -> dict:
    """Register ``run``'s trained model, deploy it as ``name`` and make a key for it."""
    version = client.post(
        "/api/models/", {"name": f"model-of-{name}", "run": run.pk, "node": "train"}, format="json"
    )
    assert version.status_code == 201, version.content
    deployment = client.post(
        "/api/deployments/", {"name": name, "model_version": version.json()["id"]}, format="json"
    )
    assert deployment.status_code == 201, deployment.content
    key = client.post(f"/api/deployments/{name}/keys/", {"name": "ci"}, format="json")
    assert key.status_code == 201, key.content
    return {"version": version.json(), "deployment": deployment.json(), "key": key.json()}


def predict(client, name: str = "dep", body=None):
    body = body if body is not None else {"instances": [{"a": 1.0, "b": 0.0}]}
    return client.post(
        f"/api/deployments/{name}/predict", json.dumps(body), content_type="application/json"
    )


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


class _ServerError(Exception):
    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


def call(client, method: str, *args, **kwargs):
    """One request in a savepoint, a 500 returned as a response (not raised), so that a
    database error does not poison the test's transaction and a loop reports every case."""
    client.raise_request_exception = False
    try:
        with transaction.atomic():
            response = getattr(client, method)(*args, **kwargs)
            if response.status_code >= 500:
                raise _ServerError(response)
    except _ServerError as exc:
        return exc.response
    return response


def ids(world) -> dict:
    """The ids of the world's objects, to fill in URL templates."""
    return {
        "pipeline": world["pipeline"].pk,
        "run": world["run"].pk,
        "queued": world["queued"].pk,
        "failed": world["failed"].pk,
        "outsider_run": world["outsider_run"].pk,
        "dataset": world["dataset"]["id"],
        "workspace": world["workspace"].pk,
        "version": world["version"]["id"],
        "key": world["key"]["id"],
    }
