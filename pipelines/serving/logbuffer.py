"""Prediction logging off the hot path: where a request's log record goes.

A request encodes one compact record (``record_encode``: a few microseconds of
orjson, no ORM) and hands it on; which way depends on the transport
(``SERVING_LOG_TRANSPORT``, default ``redis`` when ``REDIS_URL`` is set, else ``thread``):

- ``redis``: the record is appended to a Redis stream (``serving.logstream``),
  batched on the event loop; a drain task on a Celery worker
  (``services.prediction_logs``) writes ``PredictionLog`` rows and the Parquet
  copy. The serving process never touches the database for logging, so the
  writer cannot stall it (the in-process writer did: GIL, JSON and ORM work
  between requests gave a 48 ms p99). If Redis refuses a batch, the records fall
  back to the in-process writer below rather than being lost.
- ``thread`` (``make run`` without Redis): today's in-process writer. A daemon
  thread wakes every ``SERVING_LOG_FLUSH_SECONDS`` (or when a batch is full) and
  writes the queued records in one batch. The queue is bounded: if the
  database cannot keep up, the oldest records are dropped and counted. A batch
  that fails in an outage is kept and retried; a record the database refuses is set
  aside as the drainer sets aside an entry (logged, and added to its dead-letter
  stream when there is Redis), so that it cannot hold back the records after it.

``prediction_logs_flush()`` writes what this process holds now and, with the
stream, drains it (feedback, tests, orderly shutdown).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson

logger = logging.getLogger(__name__)

FLUSH_SECONDS = float(os.environ.get("SERVING_LOG_FLUSH_SECONDS", "0.5"))
BATCH_SIZE = int(os.environ.get("SERVING_LOG_BATCH_SIZE", "500"))
MAX_QUEUED = int(os.environ.get("SERVING_LOG_MAX_QUEUED", "100000"))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass(slots=True)
class LogEntry:
    deployment_id: int
    model_version_id: int | None
    request_id: str
    protocol: str
    status: int
    error: str
    n_rows: int
    inputs: Any  # the request's DataFrame, or None for a refused request
    outputs: dict | None
    latency_ms: float
    created_at: datetime


# --- the record -------------------------------------------------------------------------


def _default(value: Any) -> Any:
    """orjson's fallback for what it does not know (pandas' NA and Timestamp, Decimal …)."""
    if value is None or value != value:  # pd.NA / NaT compare unequal to themselves (or raise)
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _safe_default(value: Any) -> Any:
    try:
        return _default(value)
    except (TypeError, ValueError):  # pd.NA's truth value is ambiguous
        return None


_names: dict[int, tuple[Any, list[str]]] = {}


def _column_names(index) -> list[str]:
    """The column names as strings, remembered per Index object: a request's frame
    shares its signature's Index, and iterating a pandas Index costs ~40 µs."""
    hit = _names.get(id(index))
    if hit is not None and hit[0] is index:
        return hit[1]
    names = [str(c) for c in index]
    if len(_names) > 256:
        _names.clear()
    _names[id(index)] = (index, names)  # holding the Index keeps its id from being reused
    return names


def record_encode(entry: LogEntry) -> bytes:
    """One log record as compact JSON bytes:
    ``{"d": deployment, "v": model version id, "id": request id, "p": protocol,
    "s": status, "e": error, "n": rows, "c": [column], "x": [[value per column] per row],
    "o": outputs, "l": latency ms, "t": epoch microseconds}``.

    The inputs travel as columns + rows (not records): smaller, and the drainer
    builds the Parquet copy from them without a per-row loop. An all-float frame is
    serialized by orjson straight from its NumPy block (NaN becomes null).
    """
    frame = entry.inputs
    columns = rows = None
    if frame is not None:
        columns = _column_names(frame.columns)
        array = frame.to_numpy()
        rows = np.ascontiguousarray(array) if array.dtype.kind == "f" else array.tolist()
    return orjson.dumps(
        {
            "d": entry.deployment_id, "v": entry.model_version_id, "id": entry.request_id,
            "p": entry.protocol, "s": entry.status, "e": entry.error[:2000], "n": entry.n_rows,
            "c": columns, "x": rows, "o": entry.outputs, "l": entry.latency_ms,
            "t": (entry.created_at - EPOCH) // MICROSECOND,  # exact, unlike timestamp() * 1e6
        },
        default=_safe_default,
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


def transport() -> str:
    """``redis`` or ``thread`` (see the module docstring)."""
    from django.conf import settings

    chosen = os.environ.get("SERVING_LOG_TRANSPORT", "").strip().lower()
    if chosen in ("redis", "thread"):
        return chosen if (chosen == "thread" or settings.REDIS_URL) else "thread"
    return "redis" if settings.REDIS_URL else "thread"


_transport: str | None = None


def prediction_log_enqueue(entry: LogEntry) -> None:
    global _transport
    record = record_encode(entry)
    if _transport is None:
        _transport = transport()
    if _transport == "redis":
        from .logstream import publisher

        publisher().publish(record)
    else:
        records_enqueue([record])


def prediction_logs_flush(*, drain_seconds: float | None = None) -> int:
    """Write what this process holds now and, with the stream, drain the stream (for at
    most ``drain_seconds``); returns how many log rows were written here."""
    from .logstream import publisher_flush

    publisher_flush()  # anything that fell back lands in the queue below
    written = _flush_queue()
    if (_transport or transport()) == "redis":
        from ..services.prediction_logs import prediction_logs_drain

        written += prediction_logs_drain(max_seconds=drain_seconds)
    return written


# --- the in-process writer (the ``thread`` transport, and the stream's fallback) ----------

_queue: deque[bytes] = deque()
_wake = threading.Event()
_flush_lock = threading.Lock()
_thread: threading.Thread | None = None
_thread_pid: int | None = None
_stop = threading.Event()
dropped = 0
set_aside = 0  # records that could not be written (``_set_aside``)
# The queue starts with a batch whose write failed after its Parquet file may have been
# written: the next write is marked as written again (``prediction_records_write(again=True)``).
_retrying = False


def records_enqueue(records: list[bytes]) -> None:
    """Queue encoded records for the writer thread of this process."""
    global dropped
    for record in records:
        if len(_queue) >= MAX_QUEUED:
            _queue.popleft()
            dropped += 1
        _queue.append(record)
    if _thread is None or _thread_pid != os.getpid():
        _start()
    if len(_queue) >= BATCH_SIZE:
        _wake.set()


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


def prediction_logs_close(timeout: float = 5.0) -> None:
    """Orderly shutdown of a serving process: send what is held to the stream, write
    the local queue, stop the writer thread (the next prediction starts a new one).
    The stream itself is left to the drainers."""
    global _thread
    from .logstream import publisher_flush

    publisher_flush()
    thread = _thread
    if thread is not None and thread.is_alive():
        _stop.set()
        _wake.set()
        thread.join(timeout)
    _stop.clear()
    _thread = None
    _flush_queue()


def prediction_log_writer_stop(timeout: float = 5.0) -> None:
    """``prediction_logs_close``, then drain the stream here: every log row is in the
    database when it returns (tests)."""
    prediction_logs_close(timeout)
    prediction_logs_flush()


def _loop() -> None:
    from django.db import close_old_connections, connections

    while True:
        _wake.wait(FLUSH_SECONDS)
        _wake.clear()
        if _stop.is_set():
            try:
                _flush_queue()
            except Exception:  # noqa: BLE001 - the batch is back in the queue: prediction_logs_close writes it
                logger.exception("the writer's last flush failed; %d prediction logs are left to the close",
                                 len(_queue))
            finally:
                connections.close_all()
            return
        if not _queue:
            continue
        try:
            close_old_connections()
            _flush_queue()
        except Exception:  # noqa: BLE001 - the writer must survive a database outage
            logger.exception("writing prediction logs failed; will retry")
            time.sleep(1.0)


def _flush_queue() -> int:
    written = 0
    with _flush_lock:
        while _queue:
            batch = []
            while _queue and len(batch) < BATCH_SIZE:
                batch.append(_queue.popleft())
            written += _write(batch)
    return written


def _write(batch: list[bytes]) -> int:
    """Write one batch as the drainer writes its entries (``write_or_set_aside``): a
    record the database refuses is set aside (``_set_aside``) and the others are
    written; an outage puts the batch back (in order) so that nothing is lost, to be
    retried, marked as written again."""
    global _retrying
    from ..services.prediction_logs import write_or_set_aside

    try:
        written = write_or_set_aside(batch, _records_write, _set_aside, again=_retrying)
    except Exception:
        _queue.extendleft(reversed(batch))
        _retrying = True
        raise
    _retrying = False
    return written


def _records_write(records: list[bytes], again: bool) -> int:
    from ..services.prediction_logs import prediction_records_write, records_decode

    return len(prediction_records_write(records_decode(records), name=f"local-{os.getpid()}-{time.time_ns()}",
                                        again=again))


def _set_aside(record: bytes) -> None:
    """A record that cannot be written (not an outage) is logged whole, and with Redis
    also added to the drainer's dead-letter stream, for a person to look at; it is
    counted in ``set_aside``. Called while its write's exception is handled."""
    global set_aside
    from django.conf import settings

    from ..services.prediction_logs import DEAD_LETTER_KEY, redis_client

    set_aside += 1
    logger.exception("a prediction log record cannot be written; set aside: %s", record.decode(errors="replace"))
    if settings.REDIS_URL:
        try:
            redis_client().xadd(DEAD_LETTER_KEY, {"r": b"[" + record + b"]"})  # an entry as the stream holds them
        except Exception:  # noqa: BLE001 - the record is in the log above
            logger.warning("could not add the record set aside to %s", DEAD_LETTER_KEY, exc_info=True)


@atexit.register
def _flush_at_exit() -> None:
    from .logstream import publisher_flush

    try:
        publisher_flush()
    except Exception:  # noqa: BLE001
        logger.exception("could not hand the held prediction logs to Redis at exit")
    if _queue:
        try:
            _flush_queue()
        except Exception:  # noqa: BLE001
            logger.exception("could not write %d prediction logs at exit", len(_queue))
