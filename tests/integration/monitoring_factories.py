"""A deployment worth monitoring, and prediction logs placed at chosen times.

The model is trained on 5,000 rows of three features: ``a`` and ``b`` (standard
normal floats) and ``city`` (paris, rome or oslo), label ``target``; it is
registered and deployed through the real API. Logs are written with the ORM so a
test can put them in any window; their predictions are the model's own.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import OneHotEncoder

from pipelines.models import (
    Deployment,
    Pipeline,
    PipelineVersion,
    PredictionLog,
    Run,
    RunStatus,
    StepRun,
    StepStatus,
    Workspace,
)
from pipelines.services.artifacts import artifact_store, artifacts_record
from pipelines.services.prediction_logs import prediction_records_write, records_decode
from pipelines.serving.logbuffer import LogEntry, record_encode

CITIES = ["paris", "rome", "oslo"]
FEATURES = ["a", "b", "city"]


def traffic(rows: int, *, seed: int, shift: tuple[str, ...] = (), cities: list[str] | None = None) -> pd.DataFrame:
    """Rows like the training data; columns in ``shift`` moved by one standard deviation."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "a": rng.normal(0, 1, rows), "b": rng.normal(0, 1, rows),
        "city": rng.choice(cities or CITIES, rows),
    })
    for column in shift:
        frame[column] += 1.0
    return frame


def training_table(rows: int = 5000) -> pd.DataFrame:
    frame = traffic(rows, seed=42)
    frame["target"] = ((frame["a"] + frame["b"]) > 0).astype(int)
    return frame


def monitored_run(user) -> Run:
    workspace = Workspace.objects.get(personal_owner=user)
    pipeline = Pipeline.objects.create(workspace=workspace, name="monitored", graph={"nodes": [], "edges": []},
                                       created_by=user)
    version = PipelineVersion.objects.create(pipeline=pipeline, number=1, graph=pipeline.graph, graph_hash="m")
    run = Run.objects.create(workspace=workspace, pipeline=pipeline, pipeline_version=version,
                             status=RunStatus.SUCCEEDED, created_by=user, steps_total=3, steps_done=3)
    table = training_table()
    model = SkPipeline([
        ("prep", ColumnTransformer([("city", OneHotEncoder(handle_unknown="ignore"), ["city"])],
                                   remainder="passthrough")),
        ("lr", LogisticRegression()),
    ]).fit(table[FEATURES], table["target"])
    store = artifact_store()
    table_ref, model_ref = store.put_table(table), store.put_object(model)
    artifacts_record([table_ref, model_ref])
    StepRun.objects.create(run=run, node_id="load", block_key="dataset.builtin", block_version="1",
                           position=0, status=StepStatus.SUCCEEDED, outputs={"table": table_ref.as_ref()})
    StepRun.objects.create(run=run, node_id="train", block_key="model.train", block_version="1", position=1,
                           status=StepStatus.SUCCEEDED, inputs={"table": ["load", "table"]},
                           params={"target": "target"}, outputs={"model": model_ref.as_ref()})
    StepRun.objects.create(run=run, node_id="evaluate", block_key="model.evaluate", block_version="1",
                           position=2, status=StepStatus.SUCCEEDED, inputs={"model": ["train", "model"]},
                           summary={"metrics": {"accuracy": 0.97, "headline": {"name": "accuracy", "value": 0.97}}})
    return run


def deploy_monitored(client, user, name: str = "watched") -> Deployment:
    run = monitored_run(user)
    version = client.post("/api/models/", {"name": f"model-{name}", "run": run.pk, "node": "train"}, format="json")
    assert version.status_code == 201, version.content
    response = client.post("/api/deployments/", {"name": name, "model_version": version.json()["id"]},
                           format="json")
    assert response.status_code == 201, response.content
    return Deployment.objects.select_related("current_revision").get(name=name)


def log_traffic(deployment: Deployment, frame: pd.DataFrame, *, at: datetime, rows_per_request: int = 10,
                spread: timedelta = timedelta(minutes=50)) -> list[str]:
    """Log ``frame`` as requests of ``rows_per_request`` rows from ``at`` on (spread over
    ``spread``), predicted by the deployed model; returns the request ids in order."""
    version = deployment.current_revision.model_version
    model = artifact_store().load(version.artifact_sha256, "object")
    predictions = model.predict(frame[FEATURES]).tolist()
    records = frame.astype(object).to_dict("records")
    chunks = range(0, len(records), rows_per_request)
    step = spread / max(len(chunks), 1)
    logs, ids = [], []
    for i, first in enumerate(chunks):
        request_id = uuid.uuid4().hex
        ids.append(request_id)
        part = records[first:first + rows_per_request]
        logs.append(PredictionLog(
            deployment=deployment, model_version=version, request_id=request_id, status=200, n_rows=len(part),
            inputs=part, outputs={"predictions": predictions[first:first + rows_per_request]},
            latency_ms=2.0 + i % 5, created_at=at + step * i,
        ))
    PredictionLog.objects.bulk_create(logs)
    return ids


def upload_dataset(client, frame: pd.DataFrame, name: str, workspace: int | None = None) -> dict:
    """Upload ``frame`` as a CSV through the API (the next version of ``name``); returns the dataset."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {"file": SimpleUploadedFile(f"{name}.csv", frame.to_csv(index=False).encode(), "text/csv"), "name": name}
    if workspace is not None:
        body["workspace"] = workspace
    response = client.post("/api/datasets/", body, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def write_traffic(deployment: Deployment, frame: pd.DataFrame, *, at: datetime, rows_per_request: int = 10,
                  requests_per_batch: int | None = None, sent: pd.DataFrame | None = None) -> None:
    """Log ``frame`` the way serving does, requests 3 s apart from ``at`` on: records
    through the one writer the drainer and the in-process writer use (the Parquet copy,
    then the rows), ``requests_per_batch`` at a time (all at once by default).
    ``sent``: the inputs as logged, when clients sent them otherwise than the model
    read them (text for numbers); ``frame`` is what is predicted."""
    version = deployment.current_revision.model_version
    predictions = artifact_store().load(version.artifact_sha256, "object").predict(frame[FEATURES]).tolist()
    logged = frame if sent is None else sent
    encoded = []
    for i, first in enumerate(range(0, len(frame), rows_per_request)):
        part = logged.iloc[first:first + rows_per_request].reset_index(drop=True)
        encoded.append(record_encode(LogEntry(
            deployment_id=deployment.pk, model_version_id=version.pk, request_id=uuid.uuid4().hex,
            protocol="json", status=200, error="", n_rows=len(part), inputs=part,
            outputs={"predictions": predictions[first:first + rows_per_request]}, latency_ms=2.0 + i % 5,
            created_at=at + timedelta(seconds=3 * i),
        )))
    size = requests_per_batch or len(encoded)
    for first in range(0, len(encoded), size):
        prediction_records_write(records_decode(encoded[first:first + size]), name=f"test-{uuid.uuid4().hex}")
