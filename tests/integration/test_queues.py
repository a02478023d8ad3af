"""Queues: a node's ``queue`` option, and control work that never waits behind a step.

Real processes only: Celery workers started with and without ``-Q`` on Redis and
PostgreSQL. The shared test worker is paused (SIGSTOP) so only the workers started
here take messages.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from pipelines.demo import tuned_breast_cancer_graph
from pipelines.graph.builder import GraphBuilder
from pipelines.models import StepRun, StepTrial
from tests.conftest import start_worker, stop_worker, wait_for_run
from tests.integration.test_engine import _pipeline, _start, _wait_step, slow_graph

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def only_our_workers(celery_worker_process):
    os.killpg(celery_worker_process.pid, signal.SIGSTOP)
    time.sleep(1.5)  # a blocking pop the paused worker had open times out on the server
    yield
    os.killpg(celery_worker_process.pid, signal.SIGCONT)


def _parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def _ran_on(step: StepRun) -> int:
    """The pid of the Celery worker (parent of the pool child) that ran ``step``."""
    return _parent_pid(int(step.worker.rpartition(":")[2]))


def highmem_graph() -> dict:
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris")
        .node("split", "data.split")
        .node("forest", "sklearn.ensemble.RandomForestClassifier", n_estimators=20)
        .node("train", "model.train", options={"queue": "highmem"})
        .node("evaluate", "model.evaluate")
        .edge("load.table", "split.table")
        .edge("forest.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


def test_a_node_with_queue_highmem_waits_for_and_runs_only_on_the_worker_serving_highmem(
    owner_api, only_our_workers, artifact_root, tmp_path
):
    default = start_worker(tmp_path, artifact_root, name="default", concurrency=1)
    highmem = None
    try:
        run_id = _start(owner_api, _pipeline(owner_api, highmem_graph())["id"], use_cache=False)
        _wait_step({"run_id": run_id, "node_id": "split"}, "succeeded")
        _wait_step({"run_id": run_id, "node_id": "forest"}, "succeeded")
        time.sleep(3)  # the default worker is idle: it does not take the highmem step
        assert StepRun.objects.get(run_id=run_id, node_id="train").status == "queued"

        highmem = start_worker(tmp_path, artifact_root, name="highmem", concurrency=1, queues="highmem")
        run = wait_for_run(owner_api, run_id, timeout=60)
        assert run["status"] == "succeeded", run
        steps = {s.node_id: s for s in StepRun.objects.filter(run_id=run_id)}
        assert steps["train"].queue == "highmem"
        assert _ran_on(steps["train"]) == highmem.pid
        assert {_ran_on(steps[n]) for n in ("load", "split", "forest", "evaluate")} == {default.pid}
    finally:
        stop_worker(default)
        if highmem is not None:
            stop_worker(highmem)


def test_a_runs_progress_goes_on_while_a_long_step_blocks_the_steps_queue(
    owner_api, only_our_workers, artifact_root, tmp_path
):
    """One process serves ``steps``, another ``trials`` and ``control``: while a long
    training step holds the steps process, a tuning step's trials, their gathering and
    the run's advance still happen."""
    steps_worker = start_worker(tmp_path, artifact_root, name="steps", concurrency=1, queues="steps")
    rest = start_worker(tmp_path, artifact_root, name="rest", concurrency=1, queues="trials,control,monitor")
    try:
        graph = tuned_breast_cancer_graph()
        tune_node = next(n for n in graph["nodes"] if n["id"] == "tune")
        tune_node["params"].update(parameters={"C": [0.01, 0.1, 1, 10]}, folds=5)
        tuned = _start(owner_api, _pipeline(owner_api, graph, name="tuned")["id"], use_cache=False)
        _wait_step({"run_id": tuned, "node_id": "tune"}, "running")
        slow = _start(owner_api, _pipeline(owner_api, slow_graph(5000), name="slow")["id"], use_cache=False)
        train = _wait_step({"run_id": slow, "node_id": "train"}, "running", timeout=60)

        tune = _wait_step({"run_id": tuned, "node_id": "tune"}, "succeeded", timeout=120)
        train.refresh_from_db()
        assert train.status == "running", "the long step ended before the tuning step: nothing was shown"
        assert tune.finished_at > train.started_at
        trial_workers = set(StepTrial.objects.filter(step_id=tune.pk).values_list("worker", flat=True))
        assert {_parent_pid(int(w.rpartition(":")[2])) for w in trial_workers} == {rest.pid}
        assert wait_for_run(owner_api, tuned, timeout=180)["status"] == "succeeded"
        assert wait_for_run(owner_api, slow, timeout=180)["status"] == "succeeded"
        train.refresh_from_db()
        print(f"long step ran {(train.finished_at - train.started_at).total_seconds():.1f} s; "
              f"tuning step finished {(tune.finished_at - train.started_at).total_seconds():.1f} s into it")
    finally:
        stop_worker(steps_worker)
        stop_worker(rest)
