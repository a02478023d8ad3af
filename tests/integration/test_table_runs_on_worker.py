"""Table blocks, DuckDB included, run by a real Celery worker."""

import pytest

from pipelines.graph.builder import GraphBuilder
from tests.conftest import wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def start(client, graph) -> dict:
    created = client.post("/api/pipelines/", {"name": "tables", "graph": graph}, format="json")
    assert created.status_code == 201, created.content
    response = client.post(f"/api/pipelines/{created.json()['id']}/runs/", {}, format="json")
    assert response.status_code == 201, response.content
    return wait_for_run(client, response.json()["id"])


def prepared(query: str):
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris")
        .node(
            "filter",
            "table.filter_rows",
            conditions=[{"column": "target", "op": "in", "value": [0, 1]}],
        )
        .node("sql", "table.sql", query=query)
        .node("sample", "table.sample", n=None, fraction=0.8, stratify_column="target")
        .node("split", "data.split", stratify_column="target")
        .node("logreg", "sklearn.linear_model.LogisticRegression")
        .node("train", "model.train")
        .node("evaluate", "model.evaluate")
        .edge("load.table", "filter.table")
        .edge("filter.table", "sql.t1")
        .edge("sql.table", "sample.table")
        .edge("sample.table", "split.table")
        .edge("logreg.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


def test_a_pipeline_of_table_blocks_and_sql_trains_on_the_prepared_rows(
    owner_api, celery_worker_process
):
    run = start(owner_api, prepared('SELECT * FROM t1 WHERE "petal length (cm)" > 1.2'))

    assert run["status"] == "succeeded", run["error"]
    evaluate = next(s for s in run["steps"] if s["node_id"] == "evaluate")
    # 100 rows of classes 0 and 1, minus the few with short petals, 80 % sampled, 25 % held out.
    assert 15 <= evaluate["summary"]["metrics"]["n_samples"] <= 20


def test_a_query_naming_a_missing_column_fails_its_step_with_duckdbs_message(
    owner_api, celery_worker_process
):
    run = start(owner_api, prepared("SELECT petal_size FROM t1"))

    assert run["status"] == "failed"
    sql = next(s for s in run["steps"] if s["node_id"] == "sql")
    assert sql["status"] == "failed"
    assert 'column "petal_size" not found' in sql["error"] and "LINE 1:" in sql["error"]
