"""Overload on the ASGI prediction path answers fast 503s with Retry-After, never other
5xx, and the server's memory stays flat: a real uvicorn process on loopback with a tiny
SERVING_MAX_INFLIGHT, hit by bursts of concurrent requests (a fixed number of them)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.serving.state import caches_clear
from tests.conftest import ROOT, run_async, worker_env
from tests.integration.serving_factories import deploy_with_key
from tests.processes import die_with_parent

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 150
BURSTS = 6
ROWS = 300  # enough work per request that a burst outruns the process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def server(artifact_root, tmp_path):
    caches_clear()
    port = _free_port()
    env = {**worker_env(artifact_root), "SERVING_MAX_INFLIGHT": "2", "SERVING_MAX_WAIT_MS": "0",
           "SERVING_LOG_PREDICTIONS": "0"}
    log = open(tmp_path / "uvicorn.log", "w")  # noqa: SIM115 - the server writes it until it stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pipelines.serving.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--backlog", "2048"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/live", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "uvicorn.log").read_text()) from None
                time.sleep(0.2)
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        caches_clear()


async def _request(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes, float]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=60)
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body, time.perf_counter() - started


async def _burst(port: int, raw: bytes) -> list[tuple[int, dict[str, str], bytes, float]]:
    return await asyncio.gather(*(_request(port, raw) for _ in range(BURST)))


def test_a_burst_past_capacity_gets_fast_503s_with_retry_after_and_memory_stays_flat(
    server, owner, owner_api
):
    proc, port = server
    key = deploy_with_key(owner_api, owner, "busy")
    body = json.dumps({"instances": [{"a": float(i % 4), "b": 1.0} for i in range(ROWS)]}).encode()
    raw = (
        f"POST /api/deployments/busy/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body

    run_async(_burst(port, raw))  # warm-up: model loaded, allocator settled
    rss_before = _rss_kb(proc.pid)
    results = [r for _ in range(BURSTS) for r in run_async(_burst(port, raw))]
    rss_after = _rss_kb(proc.pid)

    statuses = [status for status, *_ in results]
    refused = [(headers, json.loads(payload), took) for status, headers, payload, took in results if status == 503]
    served = [took for status, _, _, took in results if status == 200]
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert refused and served
    for headers, payload, _ in refused:
        assert headers["retry-after"] == "1"
        assert payload == {"detail": "the server is at capacity (2 predictions in progress); retry in a second"}
    assert max(took for *_, took in refused) < 5.0
    assert rss_after - rss_before < 30_000, (rss_before, rss_after)  # KiB
    assert proc.poll() is None


def test_within_capacity_every_prediction_is_answered(server, owner, owner_api):
    _, port = server
    key = deploy_with_key(owner_api, owner, "calm")
    raw = (
        f"POST /v2/models/calm/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
    ).encode()
    infer = json.dumps({"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 0.0]}]})
    raw += f"Content-Length: {len(infer)}\r\n\r\n{infer}".encode()

    async def sequential():
        return [await _request(port, raw) for _ in range(20)]

    assert [status for status, *_ in run_async(sequential())] == [200] * 20
