"""Shared set-up for benchmarks: a throwaway PostgreSQL database, Redis, real workers.

Each benchmark calls ``setup_django()`` first; it points Django at a fresh
database ``mlops_bench`` (dropped and re-created), migrates it, and sets the
artifact root to a temporary folder that the workers it starts share.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "mlops_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")


def setup_django() -> Path:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    artifacts = Path(tempfile.mkdtemp(prefix="bench-artifacts-"))
    os.environ.update(
        DATABASE_URL=f"{PG}/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        ARTIFACT_ROOT=str(artifacts),
        DJANGO_SETTINGS_MODULE="mlops_studio.settings",
        LOG_LEVEL="WARNING",
    )
    # The app refuses to start without a key; workers inherit this one.
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(40))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    return artifacts


def start_workers(count: int, *, concurrency: int = 1, loglevel: str = "INFO") -> list[subprocess.Popen]:
    """Start ``count`` workers and return once each answers a control ping.

    ``loglevel`` is the workers' log level; below INFO they do not log every task.
    """
    from mlops_studio.celery import app

    procs, logs, names = [], [], []
    for index in range(count):
        log = Path(tempfile.mkstemp(prefix=f"bench-worker-{index}-", suffix=".log")[1])
        logs.append(log)
        names.append(f"bench{index}-{os.getpid()}@{socket.gethostname()}")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "mlops_studio", "worker",
                    f"--concurrency={concurrency}", f"--loglevel={loglevel}", "--without-gossip",
                    "--without-mingle", f"--hostname={names[-1]}",
                ],
                cwd=ROOT, env=os.environ.copy(), stdout=log.open("w"), stderr=subprocess.STDOUT,
            )
        )
    deadline = time.monotonic() + 120
    for proc, log, name in zip(procs, logs, names, strict=True):
        while not app.control.ping(destination=[name], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{log.read_text()}")
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
