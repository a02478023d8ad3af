"""Worker metrics: a real ``celery worker`` (prefork, 2 children) with WORKER_METRICS_PORT set
serves what its children counted. The shared test worker is paused (SIGSTOP) so only
the worker started here takes the steps.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipelines.graph.builder import GraphBuilder
from tests.conftest import start_worker, stop_worker, wait_for_run
from tests.integration.test_engine import _pipeline, _start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample of the worker's /metrics, keyed by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _reloading_graph() -> dict:
    # The dataset is loaded again on every run (always_rerun) and yields the same bytes,
    # so the steps after it are looked up in the cache by the worker that moves the run on.
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris", options={"cache": "always_rerun"})
        .node("split", "data.split", seed=0)
        .node("logreg", "sklearn.linear_model.LogisticRegression", max_iter=500)
        .node("train", "model.train")
        .edge("load.table", "split.table")
        .edge("logreg.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .build()
    )


@pytest.fixture
def metrics_worker(celery_worker_process, artifact_root, tmp_path):
    os.killpg(celery_worker_process.pid, signal.SIGSTOP)
    time.sleep(1.5)  # a blocking pop the paused worker had open times out on the server
    port = _free_port()
    worker = start_worker(tmp_path, artifact_root, name="metrics", concurrency=2,
                          env={"WORKER_METRICS_PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": ""})
    try:
        yield worker, port
    finally:
        stop_worker(worker)
        os.killpg(celery_worker_process.pid, signal.SIGCONT)


def test_a_worker_serves_its_childrens_step_durations_cache_lookups_and_artifact_bytes(
    metrics_worker, owner_api
):
    worker, port = metrics_worker
    before = _scrape(port)
    pipeline = _pipeline(owner_api, _reloading_graph())

    first = wait_for_run(owner_api, _start(owner_api, pipeline["id"]))
    assert first["status"] == "succeeded", first
    after_first = _scrape(port)
    second = wait_for_run(owner_api, _start(owner_api, pipeline["id"]))
    assert second["status"] == "succeeded", second
    after_second = _scrape(port)

    load_runs = [_value(s, "mlops_worker_step_seconds_count", block="dataset.builtin", status="succeeded")
                 for s in (before, after_first, after_second)]
    assert load_runs[0] < load_runs[1] < load_runs[2]  # executed on each run, counted by a pool child
    assert _value(after_second, "mlops_worker_step_seconds_bucket", block="dataset.builtin", status="succeeded",
                  le="+Inf") == load_runs[2]
    assert _value(after_first, "mlops_worker_step_seconds_count", block="model.train", status="succeeded") == 1

    cached = {step["node_id"] for step in second["steps"] if step["cache_hit"]}
    assert {"split", "train"} <= cached
    hits = [_value(s, "mlops_worker_step_cache_lookups_total", result="hit") for s in (after_first, after_second)]
    assert hits[1] - hits[0] >= 2  # split, then train: found by the worker as the reloaded table came in
    assert _value(after_second, "mlops_worker_step_seconds_count", block="model.train", status="succeeded") == 1

    written = _value(after_first, "mlops_worker_artifact_bytes_total", direction="written", source="store")
    read = _value(after_first, "mlops_worker_artifact_bytes_total", direction="read", source="store")
    assert written > 0 and read > 0
    assert _value(after_first, "mlops_worker_artifact_reads_total", source="store") >= 3  # split, train inputs
    # The worker's pool children did the counting; the main process only serves.
    assert worker.poll() is None


def test_a_worker_with_a_bad_metrics_port_refuses_to_start(artifact_root, tmp_path):
    with pytest.raises(RuntimeError, match="WORKER_METRICS_PORT must be a TCP port number"):
        start_worker(tmp_path, artifact_root, name="bad-metrics", env={"WORKER_METRICS_PORT": "ninety"})
