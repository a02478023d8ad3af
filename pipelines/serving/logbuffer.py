"""Prediction logging off the hot path.

A request appends a small tuple to an in-process deque (no I/O, no JSON); a
daemon thread wakes every ``SERVING_LOG_FLUSH_SECONDS`` (or when a batch is
full), turns the entries into ``PredictionLog`` rows and writes them with one
``bulk_create``. The queue is bounded: if the database cannot keep up, the
oldest entries are dropped and counted rather than growing memory without end.
``prediction_logs_flush()`` writes what is queued now, in the calling thread
(tests, feedback, process exit).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)

FLUSH_SECONDS = float(os.environ.get("SERVING_LOG_FLUSH_SECONDS", "0.5"))
BATCH_SIZE = int(os.environ.get("SERVING_LOG_BATCH_SIZE", "500"))
MAX_QUEUED = int(os.environ.get("SERVING_LOG_MAX_QUEUED", "100000"))


@dataclass(slots=True)
class LogEntry:
    deployment_id: int
    model_version_id: int | None
    request_id: str
    protocol: str
    status: int
    error: str
    n_rows: int
    inputs: Any  # a DataFrame (converted to records when written) or None
    outputs: dict | None
    latency_ms: float
    created_at: datetime


_queue: deque[LogEntry] = deque()
_wake = threading.Event()
_flush_lock = threading.Lock()
_thread: threading.Thread | None = None
_thread_pid: int | None = None
_stop = threading.Event()
dropped = 0


def prediction_log_enqueue(entry: LogEntry) -> None:
    global dropped
    if len(_queue) >= MAX_QUEUED:
        _queue.popleft()
        dropped += 1
    _queue.append(entry)
    if _thread is None or _thread_pid != os.getpid():
        _start()
    if len(_queue) >= BATCH_SIZE:
        _wake.set()


def prediction_logs_flush() -> int:
    """Write every queued entry now; returns how many rows were written."""
    written = 0
    with _flush_lock:
        while _queue:
            batch = []
            while _queue and len(batch) < BATCH_SIZE:
                batch.append(_queue.popleft())
            written += _write(batch)
    return written


def pending() -> int:
    return len(_queue)


def _start() -> None:
    global _thread, _thread_pid
    with _flush_lock:
        if _thread is not None and _thread_pid == os.getpid():
            return
        _thread = threading.Thread(target=_loop, name="prediction-log-writer", daemon=True)
        _thread_pid = os.getpid()  # a forked child starts its own writer
        _thread.start()


def prediction_log_writer_stop(timeout: float = 5.0) -> None:
    """Write what is queued, stop the writer thread and close its database connection.

    The next prediction starts a new writer. For tests and orderly shutdown.
    """
    global _thread
    thread = _thread
    if thread is not None and thread.is_alive():
        _stop.set()
        _wake.set()
        thread.join(timeout)
    _stop.clear()
    _thread = None
    prediction_logs_flush()


def _loop() -> None:
    from django.db import close_old_connections, connections

    while True:
        _wake.wait(FLUSH_SECONDS)
        _wake.clear()
        if _stop.is_set():
            try:
                prediction_logs_flush()
            finally:
                connections.close_all()
            return
        if not _queue:
            continue
        try:
            close_old_connections()
            prediction_logs_flush()
        except Exception:  # noqa: BLE001 - the writer must survive a database outage
            logger.exception("writing prediction logs failed; will retry")
            time.sleep(1.0)


def _records(frame) -> list[dict] | None:
    """A DataFrame as JSON records, cheaply: all-float frames go through one ``tolist``."""
    if frame is None:
        return None
    import numpy as np

    from ..execution.summaries import json_safe

    columns = [str(c) for c in frame.columns]
    array = frame.to_numpy()  # one float block → a view; mixed dtypes → object
    if array.dtype.kind == "f":
        rows = array.tolist()
        if not np.isfinite(array).all():  # JSON has no NaN: missing values become null
            rows = [[v if v == v and abs(v) != float("inf") else None for v in row] for row in rows]
        return [dict(zip(columns, row, strict=True)) for row in rows]
    return json_safe(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))


def _outputs(outputs: dict | None) -> dict | None:
    if outputs is None:
        return None
    from ..execution.summaries import json_safe

    predictions = outputs.get("predictions")
    if predictions and isinstance(predictions[0], int | str | bool) and "probabilities" in outputs:
        return outputs  # plain JSON already (tolist() output); probabilities are finite floats
    return json_safe(outputs)


COPY_COLUMNS = (
    "deployment_id", "model_version_id", "request_id", "protocol", "status", "error", "n_rows",
    "inputs", "outputs", "latency_ms", "created_at",
)


def _copy(batch: list[LogEntry]) -> int:
    """PostgreSQL: one COPY, JSON encoded by orjson (several times faster than INSERT … UNNEST)."""
    import orjson
    from django.db import IntegrityError, connection, transaction

    from ..models import Deployment, PredictionLog

    def encode(value):
        return None if value is None else orjson.dumps(value).decode()

    table = PredictionLog._meta.db_table
    rows = [
        (e.deployment_id, e.model_version_id, e.request_id, e.protocol, e.status, e.error[:2000],
         e.n_rows, encode(_records(e.inputs)), encode(_outputs(e.outputs)), e.latency_ms, e.created_at)
        for e in batch
    ]
    sql = f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"

    def run(rows):
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)

    try:
        run(rows)
    except IntegrityError:
        # A deployment was deleted meanwhile: drop its rows, keep the others.
        alive = set(Deployment.objects.filter(pk__in={r[0] for r in rows}).values_list("pk", flat=True))
        rows = [r for r in rows if r[0] in alive]
        run(rows)
    return len(rows)


def _write(batch: list[LogEntry]) -> int:
    from django.db import connection

    from ..models import PredictionLog

    if connection.vendor == "postgresql":
        try:
            return _copy(batch)
        except Exception:
            _queue.extendleft(reversed(batch))
            raise
    rows = [
        PredictionLog(
            deployment_id=e.deployment_id,
            model_version_id=e.model_version_id,
            request_id=e.request_id,
            protocol=e.protocol,
            status=e.status,
            error=e.error[:2000],
            n_rows=e.n_rows,
            inputs=_records(e.inputs),
            outputs=_outputs(e.outputs),
            latency_ms=e.latency_ms,
            created_at=e.created_at,
        )
        for e in batch
    ]
    from django.db import IntegrityError

    from ..models import Deployment

    try:
        try:
            PredictionLog.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        except IntegrityError:
            # A deployment was deleted meanwhile: drop its rows, keep the others.
            alive = set(
                Deployment.objects.filter(pk__in={r.deployment_id for r in rows}).values_list("pk", flat=True)
            )
            rows = [r for r in rows if r.deployment_id in alive]
            PredictionLog.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    except Exception:
        # Put the batch back (in order) so a transient outage loses nothing.
        _queue.extendleft(reversed(batch))
        raise
    return len(rows)


@atexit.register
def _flush_at_exit() -> None:
    if _queue:
        try:
            prediction_logs_flush()
        except Exception:  # noqa: BLE001
            logger.exception("could not write %d prediction logs at exit", len(_queue))
