"""TRAINING_BACKEND=dask://host:port: estimators' n_jobs and model.tune's in-step search
run on a real local Dask cluster of 2 worker processes, through joblib's dask backend."""

from __future__ import annotations

import pandas as pd
import pytest
from distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from pipelines.blocks import catalogue
from pipelines.execution.artifacts import ArtifactStore
from pipelines.execution.executor import StepExecutor
from pipelines.services import training

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster, Client(cluster) as observer:
        yield cluster, observer


@pytest.fixture
def on_dask(cluster, settings):
    local, observer = cluster
    settings.TRAINING_BACKEND = local.scheduler_address.replace("tcp://", "dask://")
    training._client.cache_clear()
    yield observer
    training._client.cache_clear()


@pytest.fixture
def store(tmp_path):
    return ArtifactStore(tmp_path / "artifacts", "test-signing-key")


def _table() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    return frame.sample(300, random_state=0).reset_index(drop=True)


def _pipe(estimator) -> list:
    """What an estimator port carries: the (name, estimator) steps of a pipeline to be."""
    return [("model", estimator)]


def _workers_used(stream) -> set[str]:
    return {task["worker"] for task in stream.data}


def test_an_estimators_n_jobs_runs_on_both_dask_workers(on_dask, store):
    executor = StepExecutor(store, parallelism=training.training_backend)
    table, forest = store.put_table(_table()), store.put_object(_pipe(RandomForestClassifier(n_estimators=64)))
    with get_task_stream(on_dask) as stream:
        outcome = executor.execute(
            catalogue().get("model.train"), {"target": "target"},
            {"table": table.as_ref(), "estimator": forest.as_ref()},
        )
    assert outcome.ok, outcome.error_detail
    assert len(_workers_used(stream)) == 2, stream.data


def test_model_tune_in_step_search_runs_on_the_cluster(on_dask, store):
    executor = StepExecutor(store, parallelism=training.training_backend)
    table, logreg = store.put_table(_table()), store.put_object(_pipe(LogisticRegression(max_iter=500)))
    with get_task_stream(on_dask) as stream:
        outcome = executor.execute(
            catalogue().get("model.tune"),
            {"target": "target", "parameters": {"C": [0.01, 0.1, 1, 10]}, "folds": 3},
            {"table": table.as_ref(), "estimator": logreg.as_ref()},
        )
    assert outcome.ok, outcome.error_detail
    assert len(stream.data) >= 1 and len(_workers_used(stream)) == 2, stream.data


def test_without_a_backend_nothing_reaches_the_cluster(cluster, store, settings):
    _, observer = cluster
    settings.TRAINING_BACKEND = ""
    executor = StepExecutor(store, parallelism=training.training_backend)
    table, forest = store.put_table(_table()), store.put_object(_pipe(RandomForestClassifier(n_estimators=16)))
    with get_task_stream(observer) as stream:
        outcome = executor.execute(
            catalogue().get("model.train"), {"target": "target"},
            {"table": table.as_ref(), "estimator": forest.as_ref()},
        )
    assert outcome.ok
    assert stream.data == []


def test_an_unreachable_cluster_is_the_steps_error(settings, store):
    settings.TRAINING_BACKEND = "dask://127.0.0.1:1"
    training._client.cache_clear()
    executor = StepExecutor(store, parallelism=training.training_backend)
    table, forest = store.put_table(_table()), store.put_object(_pipe(RandomForestClassifier(n_estimators=4)))
    outcome = executor.execute(
        catalogue().get("model.train"), {"target": "target"}, {"table": table.as_ref(), "estimator": forest.as_ref()}
    )
    training._client.cache_clear()
    assert not outcome.ok
    assert "127.0.0.1:1" in outcome.error + outcome.error_detail
