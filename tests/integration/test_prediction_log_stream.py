"""Prediction logs through the Redis stream: a real uvicorn server appends, a real Celery
worker (with beat) drains into PostgreSQL and Parquet; feedback, crashes, clean stops."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from django.conf import settings

from pipelines.models import Deployment, PredictionLog
from pipelines.selectors.predictions import prediction_frame
from pipelines.services.artifacts import artifact_store
from pipelines.services.prediction_logs import (
    GROUP,
    prediction_logs_drain,
    prediction_records_write,
    redis_client,
)
from pipelines.serving import columnar, handler, logbuffer
from pipelines.serving.logbuffer import (
    LogEntry,
    prediction_log_enqueue,
    prediction_log_writer_stop,
    record_encode,
)
from pipelines.serving.logstream import STREAM_KEY
from pipelines.serving.state import caches_clear, served_get
from tests.conftest import (
    ROOT,
    api_client_for,
    run_async,
    start_beat,
    start_worker,
    stop_worker,
    worker_env,
)
from tests.integration.serving_factories import deploy_with_key
from tests.processes import die_with_parent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_stream():
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    caches_clear()
    client = redis_client()
    client.delete(STREAM_KEY, *client.keys("mlops:predlog:*"))  # the test database reuses deployment ids
    yield
    prediction_log_writer_stop()
    caches_clear()


@pytest.fixture
def private_stream(monkeypatch):
    """A stream of this test's own: a Celery worker of another test (the session's) may
    still run a drain task sent by an earlier beat, and would take entries from the
    shared one. (The tests with server and worker processes use the shared stream.)"""
    from pipelines.services import prediction_logs
    from pipelines.serving import logstream

    key = f"{STREAM_KEY}:test-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setattr(logstream, "STREAM_KEY", key)
    monkeypatch.setattr(prediction_logs, "STREAM_KEY", key)
    monkeypatch.setattr(prediction_logs, "_group_ready", False)
    # A publisher made by an earlier test keeps that test's Redis (and its "down for 5 s"
    # state): this test's predictions get a publisher of their own.
    monkeypatch.setattr(logstream, "_publisher", None)
    from pipelines.serving import logbuffer

    monkeypatch.setattr(logbuffer, "_transport", None)  # chosen again, with Redis set
    # Playwright's sync API (the browser tests, earlier in the session) leaves an event loop
    # marked running in this thread; these predictions are sent as Django's views send
    # them, with a blocking XADD, not held for a loop that never runs again.
    monkeypatch.setattr(logstream, "_running_loop", _no_running_loop)
    yield key
    prediction_log_writer_stop()
    redis_client().delete(key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _uvicorn(artifact_root, log_path, *, workers: int = 1, env: dict | None = None) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pipelines.serving.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--workers", str(workers)],
        cwd=ROOT, env={**worker_env(artifact_root), **(env or {})}, stdout=open(log_path, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/live", timeout=1)
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(log_path.read_text()) from None
            time.sleep(0.2)


async def _client(port: int, requests: list[bytes]) -> list[tuple[int, dict]]:
    """Send ``requests`` one after the other on one keep-alive connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    try:
        for raw in requests:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            answers.append((status, json.loads(await reader.readexactly(length))))
    finally:
        writer.close()
    return answers


def _predict_raw(name: str, key: str, body: dict) -> bytes:
    payload = json.dumps(body).encode()
    return (f"POST /api/deployments/{name}/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload


def _traffic(name: str, key: str, connections: int, each: int) -> list[list[bytes]]:
    """Per connection: ``each`` requests of 1–3 rows, every tenth one refused (no rows)."""
    rng = np.random.default_rng(7)
    out = []
    for c in range(connections):
        requests = []
        for i in range(each):
            if i % 10 == 9:
                requests.append(_predict_raw(name, key, {"instances": []}))
            else:
                rows = [{"a": float(rng.normal()), "b": float(rng.integers(0, 2))} for _ in range(1 + (c + i) % 3)]
                requests.append(_predict_raw(name, key, {"instances": rows}))
        out.append(requests)
    return out


async def _send_all(port: int, traffic: list[list[bytes]]) -> list[tuple[int, dict]]:
    answers = await asyncio.gather(*(_client(port, requests) for requests in traffic))
    return [a for per_connection in answers for a in per_connection]


def _wait_for_rows(n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while PredictionLog.objects.count() < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"{PredictionLog.objects.count()} of {n} log rows after {timeout}s")
        time.sleep(0.2)


def test_two_serving_processes_stream_their_logs_and_a_worker_drains_every_one_into_the_database_and_parquet(
    artifact_root, tmp_path, owner, owner_api
):
    key = deploy_with_key(owner_api, owner, "streamed")
    started = datetime.now(UTC)
    # The servers hold every record until they stop (a send delay longer than the test).
    server, port = _uvicorn(artifact_root, tmp_path / "uvicorn.log", workers=2,
                            env={"SERVING_LOG_SEND_MS": "600000"})
    try:
        answers = run_async(_send_all(port, _traffic("streamed", key, connections=8, each=40)))
        assert redis_client().xlen(STREAM_KEY) == 0
    finally:
        server.send_signal(signal.SIGTERM)  # a clean stop: what is held is sent before exit
        server.wait(timeout=30)
    assert len(answers) == 320 and sorted({status for status, _ in answers}) == [200, 400]
    assert redis_client().xlen(STREAM_KEY) >= 1  # sent at the stop, not before
    worker = start_worker(tmp_path, artifact_root, name="drainer", concurrency=1,
                          env={"PREDICTION_LOG_DRAIN_SECONDS": "0.3"})
    beat = start_beat(tmp_path, artifact_root, env={"PREDICTION_LOG_DRAIN_SECONDS": "0.3"})
    try:
        _wait_for_rows(len(answers))
        time.sleep(1.0)  # a further drain would show a duplicate
    finally:
        stop_worker(beat)
        stop_worker(worker)
        # Drain tasks beat sent that no worker took yet: the session's worker must not
        # run them during later tests.
        client = redis_client()
        for message in client.lrange("celery", 0, -1):
            if b"pipelines.prediction_logs_drain" in message:
                client.lrem("celery", 0, message)

    logs = {log.request_id: log for log in PredictionLog.objects.all()}
    assert len(logs) == PredictionLog.objects.count() == 320
    answered = {body["request_id"]: body for status, body in answers if status == 200}
    assert len(answered) == 288
    for rid, body in answered.items():
        assert logs[rid].outputs["predictions"] == body["predictions"]
        assert logs[rid].n_rows == len(body["predictions"])
    assert sum(1 for log in logs.values() if log.status == 400) == 32

    # /metrics counts both serving processes' requests (the drainer kept the counters).
    staff = owner.__class__.objects.create_user("ops", password="pass-12345", is_staff=True)
    scraped = api_client_for(staff).get("/metrics").content.decode()
    assert 'mlops_prediction_requests_total{deployment="streamed"} 320.0' in scraped
    assert 'mlops_prediction_errors_total{deployment="streamed"} 32.0' in scraped
    assert 'mlops_prediction_latency_seconds_count{deployment="streamed"} 320.0' in scraped

    frame = prediction_frame(Deployment.objects.get(name="streamed"), started, datetime.now(UTC))
    ok = frame[frame["status"] == 200]
    assert len(ok) == sum(len(b["predictions"]) for b in answered.values())
    assert (frame["status"] == 400).sum() == 32
    for rid, rows in ok.groupby("request_id"):
        assert rows.sort_values("row")["prediction"].tolist() == answered[rid]["predictions"]
        assert rows.sort_values("row")[["a", "b"]].to_dict("records") == logs[rid].inputs


def test_feedback_posted_right_after_a_prediction_served_by_another_process_finds_it(
    artifact_root, tmp_path, owner, owner_api
):
    key = deploy_with_key(owner_api, owner, "quick")
    server, port = _uvicorn(artifact_root, tmp_path / "uvicorn.log")
    try:
        [(status, body)] = run_async(_client(port, [_predict_raw("quick", key, {"instances": [{"a": 1, "b": 0}]})]))
        feedback = owner_api.post("/api/deployments/quick/feedback",
                                  {"request_id": body["request_id"], "label": 1}, format="json")
        unknown = owner_api.post("/api/deployments/quick/feedback", {"request_id": "never-made", "label": 1},
                                 format="json")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert status == 200
    assert (feedback.status_code, feedback.json()) == (200, {"updated": 1})
    assert PredictionLog.objects.get(request_id=body["request_id"]).label == [1]
    assert unknown.status_code == 404 and unknown.json()["field"] == "request_id"


def _predict_here(name: str, rows: list[dict]) -> dict:
    """A prediction through the serving code in this process (no event loop: the
    record is sent to the stream by a blocking XADD, as in Django's views)."""
    from pipelines.serving.state import model_get

    served = served_get(name)
    status, body, _ = handler.predict_json(served, model_get(served.artifact_sha256),
                                           json.dumps({"instances": rows}).encode())
    return body


def test_a_drainer_that_dies_mid_batch_leaves_its_entries_to_another_and_nothing_is_written_twice(
    owner, owner_api, private_stream
):
    stream = private_stream
    deploy_with_key(owner_api, owner, "crashy")
    client = redis_client()
    prediction_logs_drain()  # makes the consumer group
    first = [_predict_here("crashy", [{"a": float(i), "b": 1.0}]) for i in range(30)]
    # A drainer reads the batch and dies before writing anything.
    client.xreadgroup(GROUP, "dead-before-writing", {stream: ">"}, count=100)
    assert prediction_logs_drain(reclaim_after=60) == 0  # not idle long enough to be taken over
    assert PredictionLog.objects.count() == 0
    assert prediction_logs_drain(reclaim_after=0) == 30
    # Another one writes its batch and dies before acknowledging it.
    second = [_predict_here("crashy", [{"a": float(i), "b": 0.0}]) for i in range(20)]
    [(_, entries)] = client.xreadgroup(GROUP, "dead-before-ack", {stream: ">"}, count=100)
    records = [r for _, fields in entries for r in json.loads(fields[b"r"])]
    name = f"{entries[0][0].decode()}_{entries[-1][0].decode()}"
    assert len(prediction_records_write(records, name=name)) == 20
    assert prediction_logs_drain(reclaim_after=0) == 0  # taken over, found written, acknowledged

    assert client.xlen(stream) == 0 and client.xpending(stream, GROUP)["pending"] == 0
    ids = sorted(PredictionLog.objects.values_list("request_id", flat=True))
    assert ids == sorted(b["request_id"] for b in first + second)
    frame = prediction_frame(Deployment.objects.get(name="crashy"), datetime.now(UTC) - timedelta(hours=1),
                             datetime.now(UTC) + timedelta(seconds=1))
    assert sorted(frame["request_id"]) == ids


class Died(BaseException):
    """The drainer's process ends here: nothing after this point runs, no handler catches it."""


def test_a_drainer_that_dies_between_its_parquet_file_and_its_commit_leaves_each_row_once_in_parquet(
    owner, owner_api, private_stream, monkeypatch
):
    from pipelines.models import PredictionLogHour
    from pipelines.services import prediction_logs
    from pipelines.services.log_compaction import prediction_hour_compact

    stream = private_stream
    deploy_with_key(owner_api, owner, "halfway")
    deployment = Deployment.objects.get(name="halfway")
    client = redis_client()
    prediction_logs_drain()  # makes the consumer group
    start = datetime.now(UTC)
    bodies = [_predict_here("halfway", [{"a": float(i), "b": 1.0}, {"a": 0.5, "b": 2.0}]) for i in range(12)]
    # A drainer claims the twelve entries, writes their Parquet file and dies before its commit.
    rows_write = prediction_logs._rows_write

    def dies(records):
        raise Died

    monkeypatch.setattr(prediction_logs, "_rows_write", dies)
    with pytest.raises(Died):
        prediction_logs_drain()
    monkeypatch.setattr(prediction_logs, "_rows_write", rows_write)
    assert PredictionLog.objects.count() == 0 and client.xpending(stream, GROUP)["pending"] == 12
    # Another claims them again, five entries at a time: other batches than the first's.
    monkeypatch.setattr(prediction_logs, "DRAIN_ENTRIES", 5)
    assert prediction_logs_drain(reclaim_after=0) == 12
    end = datetime.now(UTC) + timedelta(seconds=1)

    assert client.xlen(stream) == 0 and client.xpending(stream, GROUP)["pending"] == 0
    expected = sorted((b["request_id"], row) for b in bodies for row in (0, 1))
    frame = prediction_frame(deployment, start, end)
    assert sorted(zip(frame["request_id"], frame["row"], strict=True)) == expected
    window = columnar.frame_table(artifact_store().backend, deployment.pk, start, end,
                                  meta=("request_id", "row", "status"), ordered=False)
    assert sorted(zip(window["request_id"].to_pylist(), window["row"].to_pylist(), strict=True)) == expected
    for hour in PredictionLogHour.objects.filter(deployment=deployment).values_list("hour", flat=True):
        prediction_hour_compact(deployment_id=deployment.pk, hour=hour)
    frame = prediction_frame(deployment, start, end)
    assert sorted(zip(frame["request_id"], frame["row"], strict=True)) == expected


def test_a_window_of_many_requests_is_read_from_parquet_and_equals_what_was_logged(owner, owner_api, private_stream):
    deploy_with_key(owner_api, owner, "wide")
    deployment = Deployment.objects.get(name="wide")
    rng = np.random.default_rng(3)
    start = datetime.now(UTC)
    for i in range(400):
        rows = [{"a": float(rng.normal()), "b": float(rng.normal())} for _ in range(1 + i % 5)]
        _predict_here("wide", rows)
    prediction_log_writer_stop()
    end = datetime.now(UTC)

    expected = []
    for log in PredictionLog.objects.order_by("created_at", "request_id"):
        for r, (inputs, prediction, proba) in enumerate(zip(log.inputs, log.outputs["predictions"],
                                                             log.outputs["probabilities"], strict=True)):
            expected.append({"request_id": log.request_id, "row": r, "created_at": log.created_at,
                             "latency_ms": log.latency_ms, "status": log.status, **inputs,
                             "prediction": prediction, "probabilities": proba})
    expected = pd.DataFrame(expected)
    assert len(expected) == sum(1 + i % 5 for i in range(400))
    PredictionLog.objects.all().delete()  # what follows can only come from the Parquet files

    frame = prediction_frame(deployment, start, end)
    assert list(frame.columns[:7]) == ["request_id", "row", "created_at", "model_version_id", "model_version",
                                       "latency_ms", "status"]
    assert (frame["model_version"] == deployment.current_revision.model_version.number).all()
    got = frame[expected.columns.drop("probabilities")].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got, expected.drop(columns="probabilities"), check_dtype=False, check_index_type=False
    )
    assert [list(p) for p in frame["probabilities"]] == expected["probabilities"].tolist()

    only_a = prediction_frame(deployment, start, end, columns=["a"], limit=25)
    assert "a" in only_a and "b" not in only_a and len(only_a) == 25
    assert only_a["request_id"].tolist() == expected["request_id"].head(25).tolist()
    assert prediction_frame(deployment, end, end + timedelta(hours=2)).empty


def test_logs_are_filed_by_hour_and_a_window_reads_only_its_own(owner, owner_api, artifact_root, private_stream):
    deploy_with_key(owner_api, owner, "hourly")
    served = served_get("hourly")
    moments = [datetime(2026, 1, 1, 10, 59, 59, 900000, tzinfo=UTC), datetime(2026, 1, 1, 11, 0, 0, 100000, tzinfo=UTC)]
    for i, moment in enumerate(moments):
        prediction_log_enqueue(LogEntry(
            deployment_id=served.deployment_id, model_version_id=served.model_version_id, request_id=f"h{i}",
            protocol="json", status=200, error="", n_rows=1, inputs=pd.DataFrame({"a": [1.0 * i], "b": [0.0]}),
            outputs={"predictions": [i]}, latency_ms=1.0, created_at=moment,
        ))
    prediction_log_writer_stop()
    folder = artifact_root / "predictions" / str(served.deployment_id)
    assert sorted(p.name for p in folder.iterdir()) == ["2026-01-01T10", "2026-01-01T11"]
    ten = prediction_frame(served.deployment_id, datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 11))
    assert ten["request_id"].tolist() == ["h0"]
    assert ten["created_at"].iloc[0] == pd.Timestamp(moments[0])
    both = prediction_frame(served.deployment_id, datetime(2026, 1, 1, 10, 59, 59, 950000), datetime(2026, 1, 1, 12))
    assert both["request_id"].tolist() == ["h1"]


def test_without_redis_the_serving_process_writes_its_own_logs_and_parquet(
    owner, owner_api, monkeypatch, private_stream
):
    """``make run`` (no Redis): the in-process writer thread, and the same Parquet copy."""
    deploy_with_key(owner_api, owner, "local")
    monkeypatch.setattr(logbuffer, "_transport", "thread")
    start = datetime.now(UTC)
    bodies = [_predict_here("local", [{"a": float(i), "b": 1.0}]) for i in range(5)]
    assert redis_client().xlen(private_stream) == 0
    logbuffer.prediction_logs_close()
    assert sorted(PredictionLog.objects.values_list("request_id", flat=True)) == sorted(b["request_id"] for b in bodies)
    frame = prediction_frame(Deployment.objects.get(name="local"), start, datetime.now(UTC))
    assert frame["a"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_a_local_batch_retried_after_a_failed_commit_leaves_each_row_once_in_parquet(
    owner, owner_api, monkeypatch, private_stream
):
    from django.db import OperationalError

    from pipelines.services import prediction_logs

    deploy_with_key(owner_api, owner, "retried")
    monkeypatch.setattr(logbuffer, "_transport", "thread")
    rows_write = prediction_logs._rows_write
    failures = []

    def fails_once(records):
        if not failures:
            failures.append(len(records))
            raise OperationalError("the database went away after the Parquet file was written")
        rows_write(records)

    monkeypatch.setattr(prediction_logs, "_rows_write", fails_once)
    start = datetime.now(UTC)
    bodies = [_predict_here("retried", [{"a": float(i), "b": 1.0}]) for i in range(5)]
    deadline = time.monotonic() + 10
    while not failures:  # the writer thread's first write fails; it tries again a second later
        assert time.monotonic() < deadline
        time.sleep(0.05)
    logbuffer.prediction_logs_close()

    assert failures
    ids = sorted(b["request_id"] for b in bodies)
    assert sorted(PredictionLog.objects.values_list("request_id", flat=True)) == ids
    frame = prediction_frame(Deployment.objects.get(name="retried"), start, datetime.now(UTC))
    assert sorted(frame["request_id"]) == ids


def test_when_redis_refuses_the_records_the_serving_process_writes_them_itself(
    owner, owner_api, monkeypatch, private_stream
):
    from pipelines.serving import logstream

    deploy_with_key(owner_api, owner, "outage")
    unreachable = logstream.Publisher(f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there
    monkeypatch.setattr(logstream, "_publisher", unreachable)
    monkeypatch.setattr(logstream, "_publisher_pid", os.getpid())
    monkeypatch.setattr(logbuffer, "_transport", "redis")
    started = time.monotonic()
    bodies = [_predict_here("outage", [{"a": float(i), "b": 1.0}]) for i in range(4)]
    assert time.monotonic() - started < 5  # one refused connection, then straight to the local writer
    assert all("predictions" in b for b in bodies)
    logbuffer.prediction_logs_close()
    assert sorted(PredictionLog.objects.values_list("request_id", flat=True)) == sorted(b["request_id"] for b in bodies)


def test_a_batch_that_cannot_be_written_is_set_aside_and_later_batches_still_land(
    owner, owner_api, private_stream
):
    from pipelines.services.prediction_logs import DEAD_LETTER_KEY

    deploy_with_key(owner_api, owner, "poison")
    client = redis_client()
    client.delete(DEAD_LETTER_KEY)
    prediction_logs_drain()
    broken = json.dumps([{"d": served_get("poison").deployment_id, "id": "broken"}]).encode()
    client.xadd(private_stream, {"r": broken})  # no time, no status …
    good = [_predict_here("poison", [{"a": 1.0, "b": 0.0}]) for _ in range(3)]

    assert prediction_logs_drain() == 3
    assert sorted(PredictionLog.objects.values_list("request_id", flat=True)) == sorted(b["request_id"] for b in good)
    set_aside = [fields[b"r"] for _, fields in client.xrange(DEAD_LETTER_KEY)]
    assert [r for r in set_aside if b'"broken"' in r] == [broken]
    assert client.xlen(private_stream) == 0 and client.xpending(private_stream, GROUP)["pending"] == 0


def _no_running_loop():
    raise RuntimeError("no running event loop")


def test_a_local_batch_holding_a_record_the_database_refuses_sets_it_aside_and_writes_the_others(
    owner, owner_api, monkeypatch, private_stream, caplog
):
    """PostgreSQL cannot store a NUL character (here in a prediction: the label of a model
    trained on data holding one). The in-process writer sets that record aside as the
    drainer does, instead of retrying its batch for ever and losing every record after it."""
    from pipelines.services.prediction_logs import DEAD_LETTER_KEY

    deploy_with_key(owner_api, owner, "refused")
    monkeypatch.setattr(logbuffer, "_transport", "thread")
    monkeypatch.setattr(logbuffer, "set_aside", 0)
    client = redis_client()
    client.delete(DEAD_LETTER_KEY)
    served = served_get("refused")
    before = [_predict_here("refused", [{"a": float(i), "b": 1.0}]) for i in range(3)]
    refused = record_encode(LogEntry(
        deployment_id=served.deployment_id, model_version_id=served.model_version_id, request_id="nul-label",
        protocol="json", status=200, error="", n_rows=1, inputs=pd.DataFrame({"a": [1.0], "b": [0.0]}),
        outputs={"predictions": ["yes\x00"]}, latency_ms=1.0, created_at=datetime.now(UTC),
    ))
    logbuffer.records_enqueue([refused])
    after = [_predict_here("refused", [{"a": float(i), "b": 0.0}]) for i in range(3)]

    logbuffer.prediction_logs_close()

    ids = sorted(b["request_id"] for b in before + after)
    assert sorted(PredictionLog.objects.values_list("request_id", flat=True)) == ids
    assert logbuffer.pending() == 0 and logbuffer.set_aside == 1
    assert [fields[b"r"] for _, fields in client.xrange(DEAD_LETTER_KEY)] == [b"[" + refused + b"]"]
    assert "set aside" in caplog.text and "nul-label" in caplog.text


def test_a_last_flush_of_the_writer_thread_that_fails_is_left_to_the_close_and_loses_nothing(
    owner, owner_api, monkeypatch, private_stream
):
    """The database drops the writer thread's connection (a restart, an idle-session
    timeout), so its last flush at shutdown fails: ``prediction_logs_close`` writes the
    records itself, and no exception escapes the thread."""
    from django.db import connection

    deploy_with_key(owner_api, owner, "dropped")
    monkeypatch.setattr(logbuffer, "_transport", "thread")
    escaped = []
    monkeypatch.setattr(threading, "excepthook", escaped.append)
    writer_pid = []  # the backend of the connection the writer thread writes with
    records_write = logbuffer._records_write

    def records_write_noting_the_connection(*args, **kwargs):
        written = records_write(*args, **kwargs)
        writer_pid.append(connection.connection.info.backend_pid)  # this thread's own connection
        return written

    monkeypatch.setattr(logbuffer, "_records_write", records_write_noting_the_connection)
    first = _predict_here("dropped", [{"a": 1.0, "b": 1.0}])
    _wait_for_rows(1, timeout=10)  # the writer thread wrote it and keeps its connection
    monkeypatch.setattr(logbuffer, "FLUSH_SECONDS", 60.0)
    time.sleep(1.0)  # the thread is back to waiting, now until it is stopped
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), pg_terminate_backend(%s)", [writer_pid[-1]])
        own_pid, terminated = cursor.fetchone()
    assert terminated and own_pid != writer_pid[-1]
    rest = [_predict_here("dropped", [{"a": float(i), "b": 0.0}]) for i in range(4)]

    logbuffer.prediction_logs_close()

    ids = sorted(b["request_id"] for b in [first, *rest])
    assert sorted(PredictionLog.objects.values_list("request_id", flat=True)) == ids
    assert escaped == []
