"""Shared fixtures: users, an API client per user, and a real Celery worker process.

Integration tests run on the real services: PostgreSQL (DATABASE_URL), Redis
(REDIS_URL) and a Celery worker subprocess that reads and writes the test
database. They use ``transactional_db`` so the worker sees committed rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.processes import die_with_parent

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def artifact_root(tmp_path_factory):
    """Every test session writes artifacts to a fresh folder the worker shares."""
    from pipelines.services import artifacts

    root = tmp_path_factory.mktemp("artifacts")
    settings.ARTIFACT_ROOT = root
    artifacts.artifact_store.cache_clear()
    yield root
    artifacts.artifact_store.cache_clear()


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    def make(username: str, password: str = "pass-12345"):
        return get_user_model().objects.create_user(username=username, password=password)

    return make


def api_client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def outsider(make_user):
    return make_user("outsider")


@pytest.fixture
def owner_api(owner):
    return api_client_for(owner)


@pytest.fixture
def outsider_api(outsider):
    return api_client_for(outsider)


def _flush_test_queue() -> None:
    import redis

    if settings.REDIS_URL:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()


def worker_env(artifact_root) -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "ARTIFACT_ROOT": str(artifact_root),
        "STEP_HEARTBEAT_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }


def start_worker(
    log_dir: Path, artifact_root, *, name: str, concurrency: int = 2, env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    queues: str | None = None,
) -> subprocess.Popen:
    """Start ``celery worker`` in its own process group and wait until it is ready.

    ``proc.log_path`` is its log. Kill the whole group (``os.killpg``) to
    simulate a machine dying: the pool's children die with the parent.
    ``env`` overrides variables of the worker's environment; ``cwd`` is its
    working folder (the code is found through PYTHONPATH when it is not ROOT); ``queues``
    is its ``-Q`` (without it the worker serves steps, trials, monitor and control).
    """
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "w")  # noqa: SIM115 - the worker writes it until it stops
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "mlops_studio", "worker",
            f"--concurrency={concurrency}", "--loglevel=INFO", "--without-gossip",
            "--without-mingle", f"--hostname={name}-{os.getpid()}@%h",
            *([f"--queues={queues}"] if queues else []),
        ],
        cwd=cwd, env={**worker_env(artifact_root), "PYTHONPATH": str(ROOT), **(env or {})}, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
    )
    proc.log_path = log_path
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_text():
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    return proc


def start_beat(
    log_dir: Path, artifact_root, *, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.Popen:
    """Start ``celery beat`` (the sweeper's clock) and wait until it has sent its first task."""
    log_path = log_dir / "beat.log"
    log = open(log_path, "w")  # noqa: SIM115 - beat writes it until it stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mlops_studio", "beat", "--loglevel=INFO",
         f"--schedule={log_dir / 'beat-schedule'}"],
        cwd=cwd, env={**worker_env(artifact_root), "PYTHONPATH": str(ROOT), **(env or {})}, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 60
    while "Sending due task" not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"celery beat did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, artifact_root, tmp_path_factory):
    """A real ``celery worker`` subprocess (2 processes) against the test database and Redis."""
    if not settings.REDIS_URL:
        pytest.skip("integration tests need REDIS_URL (make test sets it)")
    _flush_test_queue()
    proc = start_worker(tmp_path_factory.mktemp("worker"), artifact_root, name="test-worker")
    yield proc
    stop_worker(proc)


def wait_for_run(client: APIClient, run_id: int, timeout: float = 120) -> dict:
    """Poll the run until it is final and return its JSON."""
    deadline = time.monotonic() + timeout
    while True:
        data = client.get(f"/api/runs/{run_id}/").json()
        if data["status"] in ("succeeded", "failed", "cancelled"):
            return data
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {data['status']} after {timeout}s: {data}")
        time.sleep(0.2)


def run_async(coroutine):
    """``asyncio.run`` in a thread of its own.

    The session's Playwright browser (the e2e tests) keeps an event loop
    running in the main thread, where ``asyncio.run`` would refuse to start.
    """
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible HTTP server on loopback (moto's server mode), for the session.

    Yields its endpoint URL; the AWS credential variables it accepts are set in
    this process (and passed to subprocesses by ``s3_env``).
    """
    from moto.server import ThreadedMotoServer

    saved = {name: os.environ.get(name) for name in S3_CREDENTIALS}
    os.environ.update(S3_CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def s3_bucket(s3_server, request):
    """A fresh, empty bucket on the loopback S3 server; yields its name."""
    import re
    import uuid

    import boto3

    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-") + "-" + uuid.uuid4().hex[:8]
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=name)
    return name


def s3_env(endpoint: str, bucket: str, prefix: str = "artifacts") -> dict[str, str]:
    """The environment that points a process at ``bucket`` on the test S3 server."""
    return {**S3_CREDENTIALS, "ARTIFACT_STORAGE": f"s3://{bucket}/{prefix}", "AWS_ENDPOINT_URL": endpoint}
