"""Machines that share no disk: web, two workers and beat meet only in PostgreSQL,
Redis and an S3-compatible store (moto's HTTP server on loopback).

Each process gets its own empty working folder, HOME, VAR_DIR and ARTIFACT_ROOT;
the test checks that no ARTIFACT_ROOT was ever created, that the bucket holds
the artifacts, and that each worker read them through its own cache. The web
process is a real gunicorn driven over HTTP: registering a model and answering
a prediction read the model from the bucket too. The shared test worker is
paused so that only these processes do the work.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from rest_framework.authtoken.models import Token

from mlops_studio.celery import app
from pipelines.demo import DEMO_PIPELINES, tuned_breast_cancer_graph
from pipelines.models import StepRun
from tests.conftest import ROOT, s3_env, start_beat, start_worker, stop_worker, worker_env
from tests.integration.test_engine import slow_graph
from tests.processes import die_with_parent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WEB_PORT = 8102  # 8100 + this suite's Redis database


def _free_port() -> int:
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", WEB_PORT)) != 0:
            return WEB_PORT
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Machine:
    """One process's private folders: working folder, HOME, VAR_DIR and an ARTIFACT_ROOT that must stay unused."""

    def __init__(self, base: Path, name: str, store: dict[str, str]):
        self.name = name
        self.folder = base / name
        self.home = self.folder / "home"
        self.home.mkdir(parents=True)
        self.artifact_root = self.folder / "artifacts"
        self.env = {
            **store, "HOME": str(self.home), "VAR_DIR": str(self.folder / "var"),
            "ARTIFACT_ROOT": str(self.artifact_root), "XDG_CACHE_HOME": "", "ARTIFACT_CACHE_DIR": "",
            "STEP_HEARTBEAT_SECONDS": "2",
        }

    @property
    def cache(self) -> Path:
        return self.home / ".cache" / "mlops-studio" / "artifacts"


def _start_web(machine: Machine, port: int) -> subprocess.Popen:
    log_path = machine.folder / "web.log"
    log = open(log_path, "w")  # noqa: SIM115 - gunicorn writes it until it stops
    env = {**worker_env(machine.artifact_root), "PYTHONPATH": str(ROOT), **machine.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "mlops_studio.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "4", "--timeout", "120"],
        cwd=machine.folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
    )
    proc.log_path = log_path
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/", timeout=2)
            return proc
        except urllib.error.HTTPError:
            return proc  # answering, whatever the status
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"web did not start:\n{log_path.read_text()}")
        time.sleep(0.3)


class Web:
    def __init__(self, port: int, token: str):
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={**self.headers, **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def ok(self, method: str, path: str, body: dict | None = None, **kwargs) -> dict:
        status, data = self.call(method, path, body, **kwargs)
        assert status in (200, 201), (status, data)
        return data

    def run(self, graph: dict, name: str, **body) -> int:
        pipeline = self.ok("POST", "/api/pipelines/", {"name": name, "graph": graph})
        return self.ok("POST", f"/api/pipelines/{pipeline['id']}/runs/", body)["id"]

    def wait(self, run_id: int, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.ok("GET", f"/api/runs/{run_id}/")
            if run["status"] in ("succeeded", "failed", "cancelled"):
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")
            time.sleep(0.3)


@pytest.fixture
def cluster(celery_worker_process, s3_server, s3_bucket, owner, tmp_path):
    """web (gunicorn), workers w1 and w2 (one process each) and beat, sharing no folder."""
    os.killpg(celery_worker_process.pid, signal.SIGSTOP)
    store = s3_env(s3_server, s3_bucket)
    machines = {name: Machine(tmp_path, name, store) for name in ("web", "w1", "w2", "beat")}
    processes = {}
    try:
        processes["web"] = _start_web(machines["web"], port := _free_port())
        for name in ("w1", "w2"):
            m = machines[name]
            processes[name] = start_worker(m.folder, m.artifact_root, name=name, concurrency=1, env=m.env, cwd=m.folder)
        m = machines["beat"]
        processes["beat"] = start_beat(m.folder, m.artifact_root, env=m.env, cwd=m.folder)
        token, _ = Token.objects.get_or_create(user=owner)
        yield {"web": Web(port, token.key), "machines": machines, "processes": processes, "bucket": s3_bucket,
               "endpoint": s3_server}
    finally:
        for proc in processes.values():
            stop_worker(proc)
        # What the cluster's beat queued would otherwise wake the session worker up in the
        # middle of the database flush that follows this test: its queries and the flush's
        # TRUNCATE then deadlock.
        app.control.purge()
        os.killpg(celery_worker_process.pid, signal.SIGCONT)


def _bucket_keys(cluster) -> list[str]:
    client = boto3.client("s3", endpoint_url=cluster["endpoint"])
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=cluster["bucket"])
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _step_workers(run_ids: list[int]) -> set[int]:
    """The pids of the Celery pool processes that ran these runs' steps (trials included)."""
    return {int(w.rpartition(":")[2]) for w in StepRun.objects.filter(run_id__in=run_ids).values_list("worker", flat=True) if w}


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_demo_pipelines_a_tuning_run_and_a_deploy_run_on_machines_that_share_only_the_bucket(cluster):
    web, machines, processes = cluster["web"], cluster["machines"], cluster["processes"]
    graphs = [(d["name"], d["graph"]()) for d in DEMO_PIPELINES if d.get("graph") and "dataset_name" not in d]
    graphs.append(("tuned", tuned_breast_cancer_graph()))
    run_ids = [web.run(graph, name) for name, graph in graphs]

    runs = [web.wait(run_id) for run_id in run_ids]

    assert [(r["status"], r["error"]) for r in runs] == [("succeeded", "")] * len(runs)
    pool_parents = {_parent(pid) for pid in _step_workers(run_ids) if os.path.exists(f"/proc/{pid}")}
    assert pool_parents == {processes["w1"].pid, processes["w2"].pid}, "both workers ran steps"
    keys = _bucket_keys(cluster)
    assert any(k.endswith(".sig") for k in keys) and all(k.startswith("artifacts/") for k in keys)
    for name in ("w1", "w2"):  # each worker read inputs through its own cache
        assert any(machines[name].cache.rglob("*.sig")), f"{name} cached nothing"

    first = runs[0]  # breast cancer: register, deploy and predict, the model read from the bucket by web
    version = web.ok("POST", "/api/models/", {"name": "bc", "run": first["id"], "node": "train"})
    web.ok("POST", "/api/deployments/", {"name": "bc-s3", "model_version": version["id"]})
    key = web.ok("POST", "/api/deployments/bc-s3/keys/", {"name": "ci"})["key"]
    status, answer = web.call(
        "POST", "/api/deployments/bc-s3/predict", {"inputs": [version["signature"]["example"]]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert status == 200, answer
    assert answer["predictions"][0] in (0, 1)

    for machine in machines.values():
        assert not machine.artifact_root.exists(), f"{machine.name} wrote under ARTIFACT_ROOT"


def test_a_worker_killed_mid_step_leaves_a_run_that_the_other_worker_finishes(cluster):
    web, processes = cluster["web"], cluster["processes"]
    run_id = web.run(slow_graph(250), "slow", use_cache=False)
    deadline = time.monotonic() + 90
    while not (step := StepRun.objects.filter(run_id=run_id, node_id="train", status="running").first()):
        assert time.monotonic() < deadline, "the training step never started"
        time.sleep(0.1)
    time.sleep(0.3)  # inside the fit
    doomed_pid = _parent(int(step.worker.rpartition(":")[2]))
    doomed = next(name for name in ("w1", "w2") if processes[name].pid == doomed_pid)
    os.killpg(doomed_pid, signal.SIGKILL)  # the machine dies with its cache
    processes[doomed].wait()

    run = web.wait(run_id, timeout=120)

    assert run["status"] == "succeeded", run["error"]
    train = StepRun.objects.get(run_id=run_id, node_id="train")
    survivor = "w2" if doomed == "w1" else "w1"
    assert train.attempts >= 2
    assert _parent(int(train.worker.rpartition(":")[2])) == processes[survivor].pid
