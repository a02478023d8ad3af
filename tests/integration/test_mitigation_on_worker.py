"""A multiclass model mitigated on a real worker, registered, deployed and asked twice; bad
training data for the mitigation fails its step with the reason."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from pipelines.graph.builder import GraphBuilder
from pipelines.serving.logbuffer import prediction_log_writer_stop
from pipelines.serving.state import caches_clear
from tests.conftest import wait_for_run
from tests.rai_tiers import TIERS, tiers_table

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_serving_caches():
    caches_clear()
    yield
    prediction_log_writer_stop()
    caches_clear()


def _mitigated_run(api: APIClient, table) -> dict:
    csv = table.to_csv(index=False).encode()
    upload = api.post(
        "/api/datasets/",
        {"file": SimpleUploadedFile("tiers.csv", csv, content_type="text/csv")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    graph = (
        GraphBuilder()
        .node("load", "dataset.upload", dataset=upload.json()["sha256"])
        .node("split", "data.split", test_size=0.3, stratify_column="tier", seed=0)
        .node("logreg", "sklearn.linear_model.LogisticRegression", max_iter=1000)
        .node("mitigate", "rai.mitigate", sensitive_column="group")
        .node("train", "model.train", target="tier")
        .node("evaluate", "model.evaluate")
        .edge("load.table", "split.table")
        .edge("logreg.estimator", "mitigate.estimator")
        .edge("mitigate.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )
    created = api.post("/api/pipelines/", {"name": "tiers", "graph": graph}, format="json")
    assert created.status_code == 201, created.content
    started = api.post(f"/api/pipelines/{created.json()['id']}/runs/", {}, format="json")
    assert started.status_code == 201, started.content
    return wait_for_run(api, started.json()["id"], timeout=240)


def test_a_mitigated_multiclass_model_is_served_and_answers_the_same_twice(
    owner_api, celery_worker_process
):
    table = tiers_table(600, seed=0)
    run = _mitigated_run(owner_api, table)
    assert run["status"] == "succeeded", run["error"]

    version = owner_api.post(
        "/api/models/", {"name": "tiers", "run": run["id"], "node": "train"}, format="json"
    )
    assert version.status_code == 201, version.content
    deployed = owner_api.post(
        "/api/deployments/", {"name": "tiers", "model_version": version.json()["id"]}, format="json"
    )
    assert deployed.status_code == 201, deployed.content
    key = owner_api.post("/api/deployments/tiers/keys/", {"name": "ci"}, format="json").json()[
        "key"
    ]
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    rows = table.drop(columns=["tier"]).head(40).to_dict("records")
    body = json.dumps({"instances": rows})

    answers = [
        caller.generic(
            "POST", "/api/deployments/tiers/predict", body, content_type="application/json"
        )
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [200, 200], answers[0].content
    first, second = (a.json() for a in answers)
    assert first["predictions"] == second["predictions"]
    assert set(first["predictions"]) <= set(TIERS) and len(set(first["predictions"])) > 1
    # The group is an input of the served model: the mitigation reads it at prediction time.
    without = caller.generic(
        "POST",
        "/api/deployments/tiers/predict",
        json.dumps({"instances": [{k: v for k, v in rows[0].items() if k != "group"}]}),
        content_type="application/json",
    )
    assert without.status_code == 422 and "group" in without.content.decode()


def test_a_group_with_one_row_fails_the_training_step_with_the_reason(
    owner_api, celery_worker_process
):
    table = tiers_table(600, seed=0)
    table.loc[table.index[0], "group"] = 7

    run = _mitigated_run(owner_api, table)

    assert run["status"] == "failed"
    step = next(s for s in run["steps"] if s["node_id"] == "train")
    assert step["status"] == "failed"
    assert "'7' (1 row(s))" in step["error"] and "at least 10 training rows" in step["error"]
