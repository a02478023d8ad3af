"""Recovery in seconds: a step whose worker is SIGKILLed is taken over by another worker.

Real processes only: Celery workers and beat on Redis and PostgreSQL, each with
a 2 s heartbeat. The shared test worker is paused (SIGSTOP) for the duration
so that only the workers started here take the steps.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from pipelines.models import StepRun
from tests.conftest import start_beat, start_worker, stop_worker, wait_for_run
from tests.integration.test_engine import _pipeline, _start, _wait_step, slow_graph

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HEARTBEAT = {"STEP_HEARTBEAT_SECONDS": "2"}
# Seconds the recovery may add: from the kill until the run is final, less the time the
# steps that ran after the kill spent running (the retried training and the evaluation).
# That work is not recovery: on a loaded machine the retried fit alone took longer than this.
RECOVERY_BOUND = 15.0


@pytest.fixture
def only_our_workers(celery_worker_process):
    os.killpg(celery_worker_process.pid, signal.SIGSTOP)
    yield
    os.killpg(celery_worker_process.pid, signal.SIGCONT)


def _parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def _kill_mid_training(owner_api, workers, *, whole_worker: bool):
    """Start a run and SIGKILL the worker (or only the pool child) that trains its model.

    Returns (the run id, the step as it was when killed, when the kill happened).
    """
    pipeline = _pipeline(owner_api, slow_graph(250))
    run_id = _start(owner_api, pipeline["id"], use_cache=False)
    step = _wait_step({"run_id": run_id, "node_id": "train"}, "running", timeout=60)
    time.sleep(0.3)  # inside the fit
    child = int(step.worker.rpartition(":")[2])
    if whole_worker:
        doomed = next(w for w in workers if w.pid == _parent_pid(child))
        os.killpg(doomed.pid, signal.SIGKILL)  # the machine dies: parent and pool child
        doomed.wait()
    else:
        os.kill(child, signal.SIGKILL)  # only the pool child
    killed_at = time.monotonic()
    step.killed_wall = time.time()
    assert StepRun.objects.get(pk=step.pk).status != "succeeded", "the step ended before the kill"
    return run_id, step, killed_at


def _timeline(step) -> str:
    """When the new attempt started and ended, in seconds after the kill (for failure messages)."""
    train = StepRun.objects.get(pk=step.pk)
    started = train.started_at.timestamp() - step.killed_wall if train.started_at else None
    finished = train.finished_at.timestamp() - step.killed_wall if train.finished_at else None
    return f"attempt {train.attempts} started at +{started:.1f} s, finished at +{finished:.1f} s"


def _recovery_seconds(step, elapsed: float) -> float:
    """``elapsed`` (kill → run final) less the time the steps run after the kill spent running."""
    after = StepRun.objects.filter(run_id=step.run_id, node_id__in=("train", "evaluate"))
    return elapsed - sum((s.finished_at - s.started_at).total_seconds() for s in after)


@pytest.fixture
def two_workers(only_our_workers, artifact_root, tmp_path):
    workers = [
        start_worker(tmp_path, artifact_root, name=f"w{i}", concurrency=1, env=HEARTBEAT) for i in range(2)
    ]
    yield workers
    for worker in workers:
        stop_worker(worker)


def test_a_killed_pool_child_is_taken_over_at_once_and_its_run_ends_within_the_bound(owner_api, two_workers):
    run_id, step, killed_at = _kill_mid_training(owner_api, two_workers, whole_worker=False)
    run = wait_for_run(owner_api, run_id, timeout=60)
    elapsed = time.monotonic() - killed_at

    assert run["status"] == "succeeded", run["error"]
    recovery = _recovery_seconds(step, elapsed)
    assert recovery <= RECOVERY_BOUND, (
        f"the run took {elapsed:.1f} s to finish after the kill, {recovery:.1f} s of it not running steps; "
        f"{_timeline(step)}"
    )
    train = StepRun.objects.get(pk=step.pk)
    assert train.attempts == 2
    assert train.worker != step.worker


def test_a_killed_worker_machine_is_recovered_by_another_worker_within_the_bound(
    owner_api, two_workers, artifact_root, tmp_path
):
    beat = start_beat(tmp_path, artifact_root, env=HEARTBEAT)
    try:
        run_id, step, killed_at = _kill_mid_training(owner_api, two_workers, whole_worker=True)
        run = wait_for_run(owner_api, run_id, timeout=60)
        elapsed = time.monotonic() - killed_at
    finally:
        beat.terminate()
        beat.wait(timeout=20)

    assert run["status"] == "succeeded", run["error"]
    recovery = _recovery_seconds(step, elapsed)
    assert recovery <= RECOVERY_BOUND, (
        f"the run took {elapsed:.1f} s to finish after the kill, {recovery:.1f} s of it not running steps; "
        f"{_timeline(step)}"
    )
    train = StepRun.objects.get(pk=step.pk)
    assert train.attempts == 2
    assert train.worker != step.worker
    # The dead attempt wrote nothing: one set of outputs, recorded by attempt 2.
    assert train.status == "succeeded" and train.outputs
