"""Shared set-up for benchmarks: a throwaway PostgreSQL database, Redis, real workers.

Each benchmark calls ``setup_django()`` first; it points Django at a fresh
database ``mlops_bench`` (dropped and re-created), migrates it, and sets the
artifact root to a temporary folder that the workers it starts share.
"""

from __future__ import annotations

import os
import secrets
import shutil
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
WRK = shutil.which("wrk") or "/usr/bin/wrk"  # Debian's wrk


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


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ms(text: str) -> float:
    """wrk's '2.91ms' / '850.00us' / '1.02s' in milliseconds."""
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def wrk(port: int, path: str, body: bytes, headers: dict, *, seconds: float, connections: int, cpu: int) -> dict:
    """``wrk -t1 -c<connections>`` pinned to CPU ``cpu``, POSTing ``body`` as JSON with ``headers``
    to ``path`` for ``seconds`` (rounded: wrk takes whole seconds): req/s (``rps``), ``p50`` and
    ``p99`` in ms, completed requests (``n``) and non-2xx/3xx answers (``errors``)."""
    script = Path(tempfile.mkstemp(prefix="wrk-", suffix=".lua")[1])
    script.write_text("\n".join([
        'wrk.method = "POST"',
        f"wrk.body = {_lua_string(body.decode())}",
        'wrk.headers["Content-Type"] = "application/json"',
        *(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()),
    ]) + "\n")
    try:
        out = subprocess.run(
            ["taskset", "-c", str(cpu), WRK, "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency",
             "-s", str(script), f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        script.unlink()
    result = {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "n": 0, "errors": 0}
    in_distribution = False
    for line in out.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(words[1])
        elif "requests in" in line:
            result["n"] = int(words[0])
        elif line.startswith("  Non-2xx"):
            result["errors"] = int(words[-1])
        elif line.startswith("  Latency Distribution"):
            in_distribution = True
        elif in_distribution and len(words) == 2 and words[0].endswith("%"):
            if words[0] == "50%":
                result["p50"] = _ms(words[1])
            elif words[0] == "99%":
                result["p99"] = _ms(words[1])
    return result
