"""Runs through the API, executed by a real Celery worker on PostgreSQL and Redis."""

import pytest

from pipelines.demo import DEMO_PIPELINES
from pipelines.graph.builder import GraphBuilder
from tests.conftest import wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _create_pipeline(client, name, graph):
    response = client.post("/api/pipelines/", {"name": name, "graph": graph}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize("spec", DEMO_PIPELINES, ids=lambda s: s["name"].split(" ")[0].lower())
def test_every_demo_pipeline_runs_to_success(spec, owner_api, celery_worker_process):
    pipeline = _create_pipeline(owner_api, spec["name"], spec["graph"]())

    response = owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"
    run = wait_for_run(owner_api, response.json()["id"])

    assert run["status"] == "succeeded", run["error"]
    assert run["steps_done"] == run["steps_total"] == len(spec["graph"]()["nodes"])
    assert all(step["status"] == "succeeded" for step in run["steps"])
    assert run["headline"]["name"] in ("accuracy", "r2")


def test_logistic_regression_on_breast_cancer_reaches_95_percent_accuracy(
    owner_api, celery_worker_process
):
    pipeline = _create_pipeline(owner_api, "bc", DEMO_PIPELINES[0]["graph"]())

    run_id = owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"]
    run = wait_for_run(owner_api, run_id)

    evaluate = next(s for s in run["steps"] if s["node_id"] == "evaluate")
    assert evaluate["summary"]["metrics"]["accuracy"] >= 0.95
    assert run["headline"] == {"name": "accuracy", "value": evaluate["summary"]["metrics"]["accuracy"]}
    matrix = evaluate["summary"]["metrics"]["confusion_matrix"]["matrix"]
    assert sum(map(sum, matrix)) == evaluate["summary"]["metrics"]["n_samples"]


def test_a_failing_step_fails_the_run_with_a_readable_message(owner_api, celery_worker_process):
    csv = b"age,sex,target\n" + b"".join(
        f"{20 + i % 50},{'male' if i % 2 else 'female'},{i % 2}\n".encode() for i in range(60)
    )
    upload = owner_api.post(
        "/api/datasets/", {"file": _named_file("people.csv", csv)}, format="multipart"
    )
    assert upload.status_code == 201, upload.content
    graph = (
        GraphBuilder()
        .node("load", "dataset.upload", dataset=upload.json()["sha256"])
        .node("split", "data.split")
        .node("logreg", "sklearn.linear_model.LogisticRegression")
        .node("train", "model.train", target="target")
        .node("evaluate", "model.evaluate", target="target")
        .edge("load.table", "split.table")
        .edge("logreg.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )
    pipeline = _create_pipeline(owner_api, "text column", graph)

    run = wait_for_run(
        owner_api,
        owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"],
    )

    assert run["status"] == "failed"
    train = next(s for s in run["steps"] if s["node_id"] == "train")
    assert train["status"] == "failed"
    assert "sex" in train["error"] and "OneHotEncoder" in train["error"]
    assert "Traceback" in train["error_detail"]
    evaluate = next(s for s in run["steps"] if s["node_id"] == "evaluate")
    assert evaluate["status"] == "skipped"
    assert "train" in run["error"]


def test_rerunning_an_unchanged_pipeline_takes_every_step_from_the_cache(
    owner_api, celery_worker_process
):
    pipeline = _create_pipeline(owner_api, "bc", DEMO_PIPELINES[0]["graph"]())
    first = wait_for_run(
        owner_api, owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"]
    )

    second = wait_for_run(
        owner_api, owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"]
    )

    assert second["status"] == "succeeded"
    assert all(s["cache_hit"] for s in second["steps"])
    assert {s["cached_from_run"] for s in second["steps"]} <= {first["id"], None} | {
        s["cached_from_run"] for s in first["steps"]
    }
    assert second["headline"] == first["headline"]


def test_a_run_with_the_cache_bypassed_executes_every_step(owner_api, celery_worker_process):
    pipeline = _create_pipeline(owner_api, "bc", DEMO_PIPELINES[0]["graph"]())
    wait_for_run(
        owner_api, owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"]
    )

    run = wait_for_run(
        owner_api,
        owner_api.post(
            f"/api/pipelines/{pipeline['id']}/runs/", {"use_cache": False}, format="json"
        ).json()["id"],
    )

    assert run["status"] == "succeeded"
    assert not any(s["cache_hit"] for s in run["steps"])


def _named_file(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_warnings_of_a_step_are_captured_in_its_logs(owner_api, celery_worker_process):
    graph = DEMO_PIPELINES[0]["graph"]()
    logreg = next(n for n in graph["nodes"] if n["id"] == "logreg")
    logreg["params"].update(max_iter=2, solver="lbfgs")
    pipeline = _create_pipeline(owner_api, "few iterations", graph)

    run = wait_for_run(
        owner_api, owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"]
    )

    train = next(s for s in run["steps"] if s["node_id"] == "train")
    assert run["status"] == "succeeded"
    assert any(w.startswith("ConvergenceWarning") for w in train["warnings"])
    assert "ConvergenceWarning" in train["logs"]


def test_workers_recover_when_postgresql_drops_their_connections(owner_api, celery_worker_process):
    from django.db import connection

    pipeline = _create_pipeline(owner_api, "bc", DEMO_PIPELINES[0]["graph"]())
    first = wait_for_run(
        owner_api, owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"]
    )
    assert first["status"] == "succeeded"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1  # the worker's connections

    run = wait_for_run(
        owner_api,
        owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {"use_cache": False}, format="json").json()["id"],
    )

    assert run["status"] == "succeeded", run["error"]
