"""A deployed model without a Celery worker: a run whose ``train`` step stored a real,
signed scikit-learn Pipeline (ORM + the real artifact store), registered, deployed and
given a key through the real API. Features ``a`` and ``b`` (floats), label ``target``."""

from __future__ import annotations

import json

import pandas as pd
from rest_framework.test import APIClient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline

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
from tests.conftest import run_async

ROW = {"a": 1.0, "b": 0.0}


def trained_run(user) -> Run:
    workspace = Workspace.objects.get(personal_owner=user)
    pipeline = Pipeline.objects.create(workspace=workspace, name="p", graph={"nodes": [], "edges": []},
                                       created_by=user)
    version = PipelineVersion.objects.create(pipeline=pipeline, number=1, graph=pipeline.graph, graph_hash="h")
    run = Run.objects.create(workspace=workspace, pipeline=pipeline, pipeline_version=version,
                             status=RunStatus.SUCCEEDED, created_by=user, steps_total=2, steps_done=2)
    table = pd.DataFrame({"a": [0.0, 1, 2, 3], "b": [1.0, 0, 1, 0], "target": [0, 1, 0, 1]})
    model = SkPipeline([("lr", LogisticRegression())]).fit(table[["a", "b"]], table["target"])
    store = artifact_store()
    table_ref, model_ref = store.put_table(table), store.put_object(model)
    artifacts_record([table_ref, model_ref])
    StepRun.objects.create(run=run, node_id="load", block_key="dataset.builtin", block_version="1",
                           position=0, status=StepStatus.SUCCEEDED, outputs={"table": table_ref.as_ref()})
    StepRun.objects.create(run=run, node_id="train", block_key="model.train", block_version="1", position=1,
                           status=StepStatus.SUCCEEDED, inputs={"table": ["load", "table"]},
                           params={"target": "target"}, outputs={"model": model_ref.as_ref()})
    return run


def register(client: APIClient, run: Run, name: str) -> dict:
    response = client.post("/api/models/", {"name": name, "run": run.pk, "node": "train"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def deploy_with_key(client: APIClient, user, name: str) -> str:
    """Deploy a fresh model of ``user`` as ``name``; returns a new key for it."""
    version = register(client, trained_run(user), f"model-of-{name}")
    deployment = client.post("/api/deployments/", {"name": name, "model_version": version["id"]}, format="json")
    assert deployment.status_code == 201, deployment.content
    key = client.post(f"/api/deployments/{name}/keys/", {"name": "ci"}, format="json")
    assert key.status_code == 201, key.content
    return key.json()["key"]


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def asgi_request(method: str, path: str, *, headers: dict[str, str] | None = None,
                 body: bytes = b"") -> tuple[int, dict, dict]:
    """One request through ``pipelines.serving.asgi.application`` in this process:
    (status, JSON body, headers)."""
    from pipelines.serving.asgi import application

    path, _, query = path.partition("?")
    scope = {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        + [(b"content-length", str(len(body)).encode())],
        "http_version": "1.1", "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    sent: list[dict] = []
    incoming = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    run_async(application(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(payload), {k.decode(): v.decode() for k, v in start["headers"]}
