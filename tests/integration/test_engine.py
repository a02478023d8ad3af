"""The engine under real conditions: caching, retry, parallel branches, cancel,
timeouts, duplicate delivery and dead workers — real worker processes on Redis
and PostgreSQL."""

import os
import signal
import socket
import time
from collections import Counter

import pytest

from pipelines.demo import breast_cancer_graph, tuned_breast_cancer_graph
from pipelines.graph.builder import GraphBuilder
from pipelines.models import StepRun
from tests.conftest import start_worker, stop_worker, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def slow_graph_builder(trees: int = 4000, *, timeout: int | None = None) -> GraphBuilder:
    """digits → split → a big random forest → train → evaluate: the training step takes seconds."""
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", name="digits")
        .node("split", "data.split")
        .node("forest", "sklearn.ensemble.RandomForestClassifier", n_estimators=trees)
        .node("train", "model.train", options={"timeout_seconds": timeout} if timeout else None)
        .node("evaluate", "model.evaluate")
        .edge("load.table", "split.table")
        .edge("forest.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
    )


def slow_graph(trees: int = 4000, *, timeout: int | None = None) -> dict:
    return slow_graph_builder(trees, timeout=timeout).build()


def _pipeline(client, graph, name="p"):
    response = client.post("/api/pipelines/", {"name": name, "graph": graph}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _start(client, pipeline_id, **body):
    response = client.post(f"/api/pipelines/{pipeline_id}/runs/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _patch_graph(client, pipeline_id, graph):
    current = client.get(f"/api/pipelines/{pipeline_id}/").json()["version"]
    response = client.patch(f"/api/pipelines/{pipeline_id}/", {"version": current, "graph": graph}, format="json")
    assert response.status_code == 200, response.content


def _wait_step(step_filter, status, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step = StepRun.objects.filter(**step_filter).first()
        if step is not None and step.status == status:
            return step
        time.sleep(0.1)
    raise AssertionError(f"step {step_filter} never reached {status}")


def _executed(run):
    return {s["node_id"] for s in run["steps"] if not s["cache_hit"]}


def test_changing_one_parameter_reruns_only_that_step_and_what_depends_on_it(owner_api, celery_worker_process):
    pipeline = _pipeline(owner_api, breast_cancer_graph())
    wait_for_run(owner_api, _start(owner_api, pipeline["id"]))
    graph = breast_cancer_graph()
    next(n for n in graph["nodes"] if n["id"] == "logreg")["params"]["C"] = 0.5
    _patch_graph(owner_api, pipeline["id"], graph)

    run = wait_for_run(owner_api, _start(owner_api, pipeline["id"]))

    assert run["status"] == "succeeded"
    assert _executed(run) == {"logreg", "train", "evaluate"}
    cached = {s["node_id"]: s["cached_from_run"] for s in run["steps"] if s["cache_hit"]}
    assert set(cached) == {"load", "split", "scale"} and all(cached.values())


def test_a_node_marked_always_rerun_is_executed_even_when_cached(owner_api, celery_worker_process):
    graph = breast_cancer_graph()
    next(n for n in graph["nodes"] if n["id"] == "split")["cache"] = "always_rerun"
    pipeline = _pipeline(owner_api, graph)
    wait_for_run(owner_api, _start(owner_api, pipeline["id"]))

    run = wait_for_run(owner_api, _start(owner_api, pipeline["id"]))

    # split re-runs; its outputs are byte-identical, so everything below is a cache hit.
    assert _executed(run) == {"split"}


def test_retry_reuses_the_steps_that_succeeded_and_reexecutes_from_the_failure(owner_api, celery_worker_process):
    graph = breast_cancer_graph()
    logreg = next(n for n in graph["nodes"] if n["id"] == "logreg")
    # Valid parameter by parameter, so validation lets it through; fitting refuses it.
    logreg["params"]["l1_ratio"] = 0.5
    pipeline = _pipeline(owner_api, graph)
    failed = wait_for_run(owner_api, _start(owner_api, pipeline["id"], use_cache=False))
    assert failed["status"] == "failed"
    assert "penalty" in next(s for s in failed["steps"] if s["node_id"] == "train")["error"]

    response = owner_api.post(f"/api/runs/{failed['id']}/retry/")
    assert response.status_code == 201
    retried = wait_for_run(owner_api, response.json()["id"])

    assert retried["trigger"] == "retry" and retried["retry_of"] == failed["id"]
    assert _executed(retried) == {"train", "evaluate"}
    assert {s["node_id"] for s in retried["steps"] if s["cache_hit"]} == {"load", "split", "scale", "logreg"}
    assert all(s["cached_from_run"] == failed["id"] for s in retried["steps"] if s["cache_hit"])


def test_independent_branches_run_at_the_same_time_on_two_worker_processes(owner_api, celery_worker_process):
    graph = (
        slow_graph_builder(1500)
        .node("forest2", "sklearn.ensemble.ExtraTreesClassifier", n_estimators=1500)
        .node("train2", "model.train")
        .edge("forest2.estimator", "train2.estimator")
        .edge("split.train", "train2.table")
        .build()
    )
    pipeline = _pipeline(owner_api, graph)

    run = wait_for_run(owner_api, _start(owner_api, pipeline["id"], use_cache=False))

    assert run["status"] == "succeeded"
    steps = {s.node_id: s for s in StepRun.objects.filter(run_id=run["id"])}
    a, b = steps["train"], steps["train2"]
    overlap = min(a.finished_at, b.finished_at) - max(a.started_at, b.started_at)
    assert overlap.total_seconds() > 0, "the two training branches did not overlap"
    assert a.worker and b.worker


def test_cancelling_a_running_run_stops_the_step_and_skips_the_rest(owner_api, celery_worker_process):
    pipeline = _pipeline(owner_api, slow_graph(20000))
    run_id = _start(owner_api, pipeline["id"], use_cache=False)
    _wait_step({"run_id": run_id, "node_id": "train"}, "running")

    response = owner_api.post(f"/api/runs/{run_id}/cancel/")

    assert response.status_code == 200
    run = response.json()
    assert run["status"] == "cancelled"
    by_node = {s["node_id"]: s["status"] for s in run["steps"]}
    assert by_node["train"] == "cancelled" and by_node["evaluate"] == "skipped"
    # The worker process was terminated and is free again: a small run completes.
    quick = _pipeline(owner_api, breast_cancer_graph(), name="quick")
    assert wait_for_run(owner_api, _start(owner_api, quick["id"]), timeout=60)["status"] == "succeeded"


def test_cancelling_a_finished_run_is_a_409(owner_api, celery_worker_process):
    pipeline = _pipeline(owner_api, breast_cancer_graph())
    run = wait_for_run(owner_api, _start(owner_api, pipeline["id"]))
    assert owner_api.post(f"/api/runs/{run['id']}/cancel/").status_code == 409


def test_a_step_over_its_timeout_fails_with_a_clear_message(owner_api, celery_worker_process):
    pipeline = _pipeline(owner_api, slow_graph(20000, timeout=2))

    run = wait_for_run(owner_api, _start(owner_api, pipeline["id"], use_cache=False), timeout=90)

    assert run["status"] == "failed"
    train = next(s for s in run["steps"] if s["node_id"] == "train")
    assert "time limit of 2 s" in train["error"]


def test_a_step_delivered_twice_executes_once(owner_api, celery_worker_process):
    from pipelines.tasks import step_execute

    pipeline = _pipeline(owner_api, slow_graph(600))
    run_id = _start(owner_api, pipeline["id"], use_cache=False)
    train = StepRun.objects.get(run_id=run_id, node_id="train")
    # Deliver the training step's task twice more as soon as it is queued.
    deadline = time.monotonic() + 30
    while StepRun.objects.get(pk=train.pk).status == "pending" and time.monotonic() < deadline:
        time.sleep(0.01)
    step_execute.apply_async(args=[train.pk])
    step_execute.apply_async(args=[train.pk])

    run = wait_for_run(owner_api, run_id)

    assert run["status"] == "succeeded", run["error"]
    train.refresh_from_db()
    assert train.attempts == 1


def test_a_worker_killed_mid_step_is_recovered_on_another_worker(
    owner_api, celery_worker_process, artifact_root, tmp_path, settings
):
    from pipelines.services.steps import steps_sweep_stale

    # Only the doomed worker listens while the step starts: pause the shared one.
    shared = celery_worker_process
    os.killpg(shared.pid, signal.SIGSTOP)
    try:
        doomed = start_worker(tmp_path, artifact_root, name="doomed", concurrency=1)
        # The step is killed as soon as it is seen running, so a fit of a second or so (idle
        # machine) is long enough; the retry redoes only that much (a 6000-tree retry took
        # 107 s of the 120 s wait at load 15).
        pipeline = _pipeline(owner_api, slow_graph(250))
        run_id = _start(owner_api, pipeline["id"], use_cache=False)
        step = _wait_step({"run_id": run_id, "node_id": "train"}, "running", timeout=60)
        assert step.worker
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
    finally:
        os.killpg(shared.pid, signal.SIGCONT)
    assert StepRun.objects.get(pk=step.pk).status == "running", "the step ended before the kill"

    # The sweeper (Celery beat runs it every 30 s) notices the silent heartbeat.
    settings.STEP_HEARTBEAT_TIMEOUT = 3
    time.sleep(4)
    assert steps_sweep_stale() >= 1
    step.refresh_from_db()
    assert step.status in ("queued", "running", "succeeded")

    run = wait_for_run(owner_api, run_id, timeout=120)
    assert run["status"] == "succeeded", run["error"]
    train = next(s for s in run["steps"] if s["node_id"] == "train")
    assert train["attempts"] == 2
    stop_worker(doomed)


def test_fifty_runs_submitted_at_once_all_reach_a_final_state(owner_api, celery_worker_process):
    pipeline = _pipeline(owner_api, breast_cancer_graph())
    run_ids = [_start(owner_api, pipeline["id"], use_cache=(i % 2 == 0)) for i in range(50)]

    finals = [wait_for_run(owner_api, run_id, timeout=300)["status"] for run_id in run_ids]

    assert finals == ["succeeded"] * 50


def tune_graph(values) -> dict:
    """The tuned demo pipeline, searching C over ``values`` with 4 folds."""
    graph = tuned_breast_cancer_graph()
    tune = next(n for n in graph["nodes"] if n["id"] == "tune")
    tune["params"].update(parameters={"C": values}, folds=4)
    return graph


def _wait_until_idle(timeout: float = 120) -> None:
    """Wait until the test worker runs and holds no task.

    An earlier test's work still running in one pool process leaves only the other
    free for every trial; the spread is only a claim about processes that are free.
    """
    from mlops_studio.celery import app

    worker = [f"test-worker-{os.getpid()}@{socket.gethostname()}"]
    deadline = time.monotonic() + timeout
    while True:
        inspect = app.control.inspect(destination=worker, limit=1, timeout=5)
        active, reserved = inspect.active(), inspect.reserved()
        if active and reserved and not any(active.values()) and not any(reserved.values()):
            return
        assert time.monotonic() < deadline, f"the worker is still busy: {active}, {reserved}"
        time.sleep(0.5)


def test_tuning_fans_trials_out_over_the_worker_processes_and_keeps_the_best_model(
    owner_api, celery_worker_process
):
    from pipelines.models import StepTrial

    _wait_until_idle()
    pipeline = _pipeline(owner_api, tune_graph([0.001, 0.01, 0.1, 1, 10]))

    run = wait_for_run(owner_api, _start(owner_api, pipeline["id"], use_cache=False), timeout=180)

    assert run["status"] == "succeeded", run["error"]
    tune = next(s for s in run["steps"] if s["node_id"] == "tune")
    report = tune["summary"]["outputs"]["report"]
    assert report["candidates"] == 5 and report["folds"] == 4
    assert [r["rank"] for r in report["results"]] == [1, 2, 3, 4, 5]
    assert report["best_params"]["C"] == report["results"][0]["params"]["C"]
    trials = StepTrial.objects.filter(step_id=tune["id"])
    assert trials.count() == 20
    by_process = Counter(trials.values_list("worker", flat=True))
    assert len(by_process) == 2, f"trials did not spread over both processes: {dict(by_process)}"
    evaluate = next(s for s in run["steps"] if s["node_id"] == "evaluate")
    assert evaluate["summary"]["metrics"]["accuracy"] > 0.9


def test_a_tuning_step_with_a_bad_search_space_fails_with_the_reason(owner_api, celery_worker_process):
    graph = tune_graph([1])
    next(n for n in graph["nodes"] if n["id"] == "tune")["params"]["parameters"] = {"gamma": [1, 2]}
    pipeline = _pipeline(owner_api, graph)

    run = wait_for_run(owner_api, _start(owner_api, pipeline["id"], use_cache=False))

    tune = next(s for s in run["steps"] if s["node_id"] == "tune")
    assert run["status"] == "failed"
    assert "no parameter 'gamma'" in tune["error"]


def test_the_best_model_of_a_tuning_step_can_be_registered(owner_api, celery_worker_process):
    pipeline = _pipeline(owner_api, tune_graph([0.1, 1]))
    run = wait_for_run(owner_api, _start(owner_api, pipeline["id"]), timeout=180)

    response = owner_api.post("/api/models/", {"name": "tuned", "run": run["id"], "node": "tune"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["metrics"]["tune (cross-validation)"]["best_params"]["C"] in (0.1, 1)
    assert body["metrics"]["evaluate"]["accuracy"] > 0.9
