"""Writing prediction logs: the stream's drainer and the one writer both transports use.

``prediction_logs_drain`` reads the Redis stream that serving processes append
to (``serving.logstream``) as a member of the consumer group ``drainers``:

1. ``XAUTOCLAIM`` first takes over entries another drainer read and never
   acknowledged for ``PREDICTION_LOG_RECLAIM_SECONDS`` (it died mid-batch);
2. then ``XREADGROUP`` reads new entries, ``PREDICTION_LOG_DRAIN_ENTRIES`` at a time;
3. each batch is written by ``prediction_records_write`` (Parquet copy first,
   then the rows in one transaction) and only then acknowledged and deleted,
   together with the /metrics counters, in one Redis transaction.

So a drainer that dies loses nothing: its entries stay pending and are claimed
again. A batch claimed again skips the records already in the database (same
deployment, request id and time), and its Parquet file is marked as written again
(``again-…``): the claim may group the entries otherwise than the drainer that died
after writing its file, so the file cannot simply be replaced, and readers keep each
row of such an hour once (``serving.columnar``). The entries of a batch that failed
and are then written in parts are marked the same way. (A drainer dying between the
database commit and the acknowledgement leaves those records uncounted in /metrics:
the counters are best effort, the rows are not.)

Runs on a Celery worker every ``PREDICTION_LOG_DRAIN_SECONDS`` (beat), and in
the web process for feedback (``prediction_logs_flush``). Several drainers may
run at once: the group hands each entry to one of them.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TypeVar

import numpy as np
import orjson
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction

from ..models import Deployment, ModelVersion, PredictionLog, PredictionLogHour
from ..serving import columnar
from ..serving.logstream import STREAM_KEY
from .artifacts import artifact_store

logger = logging.getLogger(__name__)

GROUP = "drainers"
DEAD_LETTER_KEY = "mlops:predlog:dead"
DRAIN_ENTRIES = int(os.environ.get("PREDICTION_LOG_DRAIN_ENTRIES", "200"))
RECLAIM_SECONDS = float(os.environ.get("PREDICTION_LOG_RECLAIM_SECONDS", "60"))
DRAIN_MAX_SECONDS = float(os.environ.get("PREDICTION_LOG_DRAIN_MAX_SECONDS", "20"))
COUNTERS_PREFIX = "mlops:predlog:metrics:"
COUNTERS_IDS = "mlops:predlog:metrics-ids"
# Latency buckets of the /metrics histogram, in milliseconds.
LATENCY_BUCKETS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")


@cache
def redis_client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


def records_decode(encoded: list[bytes]) -> list[dict]:
    return [orjson.loads(r) for r in encoded]


def _created_at(epoch_us: int) -> datetime:
    return EPOCH + timedelta(microseconds=epoch_us)


# --- writing ----------------------------------------------------------------------------


def prediction_records_write(records: list[dict], *, name: str, again: bool = False) -> list[dict]:
    """Write decoded log records: the Parquet copy (``serving.columnar``), then one
    ``PredictionLog`` row each, and mark their deployment-hours for compaction
    (``services.log_compaction``) in the same transaction. Returns the records written.

    Records of deployments deleted meanwhile are dropped. ``again``: the records may
    have been written before (a batch claimed again after a crash, or retried): those
    already in the database are left out, and the Parquet file is marked as written
    again, so that readers keep each of its rows once.
    """
    if not records:
        return []
    alive = set(Deployment.objects.filter(pk__in={r["d"] for r in records}).values_list("pk", flat=True))
    records = [r for r in records if r["d"] in alive]
    if again and records:
        stored = set(
            (d, rid, int((t - EPOCH) / timedelta(microseconds=1)))
            for d, rid, t in PredictionLog.objects.filter(
                deployment_id__in={r["d"] for r in records}, request_id__in={r["id"] for r in records}
            ).values_list("deployment_id", "request_id", "created_at")
        )
        records = [r for r in records if (r["d"], r["id"], r["t"]) not in stored]
    if not records:
        return []
    versions = dict(
        ModelVersion.objects.filter(pk__in={r["v"] for r in records if r["v"]}).values_list("pk", "number")
    )
    store = artifact_store()
    columnar.batch_write(store.backend, store.scratch_dir(), records, versions, name=name, again=again)
    try:
        _rows_write(records)
    except IntegrityError:
        # A deployment was deleted between the check and the write: keep the others.
        alive = set(Deployment.objects.filter(pk__in={r["d"] for r in records}).values_list("pk", flat=True))
        records = [r for r in records if r["d"] in alive]
        _rows_write(records)
    return records


def _inputs(record: dict) -> list[dict] | None:
    if record.get("x") is None or record.get("c") is None:
        return None
    columns = record["c"]
    return [dict(zip(columns, row, strict=True)) for row in record["x"]]


COPY_COLUMNS = (
    "deployment_id", "model_version_id", "request_id", "protocol", "status", "error", "n_rows",
    "inputs", "outputs", "latency_ms", "created_at",
)


def _rows_write(records: list[dict]) -> None:
    with transaction.atomic():
        _hours_mark(records)
        _log_rows_write(records)


def _hours_mark(records: list[dict]) -> None:
    """Their hours have a batch to compact. Marked after the batch's file is in the
    store, so a compaction that claims the hour before this commits lists the file."""
    hours = {(r["d"], columnar.hour_of(r["t"])) for r in records}
    PredictionLogHour.objects.bulk_create(
        [PredictionLogHour(deployment_id=d, hour=datetime.strptime(h, columnar.HOUR_FORMAT).replace(tzinfo=UTC),
                           pending=True) for d, h in sorted(hours)],
        update_conflicts=True, unique_fields=["deployment", "hour"], update_fields=["pending"],
    )


def _log_rows_write(records: list[dict]) -> None:
    if connection.vendor == "postgresql":
        # One COPY, JSON encoded by orjson (several times faster than INSERT … UNNEST).
        def encode(value):
            return None if value is None else orjson.dumps(value).decode()

        sql = f"COPY {PredictionLog._meta.db_table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"
        with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for r in records:
                copy.write_row((
                    r["d"], r["v"], r["id"], r["p"], r["s"], r["e"], r["n"], encode(_inputs(r)),
                    encode(r["o"]), r["l"], _created_at(r["t"]),
                ))
        return
    PredictionLog.objects.bulk_create(
        [
            PredictionLog(
                deployment_id=r["d"], model_version_id=r["v"], request_id=r["id"], protocol=r["p"],
                status=r["s"], error=r["e"], n_rows=r["n"], inputs=_inputs(r), outputs=r["o"],
                latency_ms=r["l"], created_at=_created_at(r["t"]),
            )
            for r in records
        ],
        batch_size=500,
    )


# --- the stream ----------------------------------------------------------------------------


_group_ready = False


def _group_ensure(client) -> None:
    global _group_ready
    if _group_ready:
        return
    import redis

    try:
        client.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    _group_ready = True


def _counters_add(pipe, records: list[dict]) -> None:
    """Per deployment: requests, errors, predicted rows, latency sum and histogram buckets."""
    by_deployment: dict[int, list[dict]] = {}
    for r in records:
        by_deployment.setdefault(r["d"], []).append(r)
    for deployment_id, group in by_deployment.items():
        latency = np.array([r["l"] for r in group], dtype=np.float64)
        status = np.array([r["s"] for r in group], dtype=np.int32)
        rows = np.array([r["n"] for r in group], dtype=np.int64)
        buckets = np.bincount(np.searchsorted(LATENCY_BUCKETS_MS, latency, side="left"),
                              minlength=len(LATENCY_BUCKETS_MS) + 1)
        key = f"{COUNTERS_PREFIX}{deployment_id}"
        pipe.hincrby(key, "requests", len(group))
        pipe.hincrby(key, "errors", int((status >= 400).sum()))
        pipe.hincrby(key, "rows", int(rows[status < 400].sum()))
        pipe.hincrbyfloat(key, "latency_sum_ms", float(latency.sum()))
        for index in np.flatnonzero(buckets):
            pipe.hincrby(key, f"b{index}", int(buckets[index]))
        pipe.sadd(COUNTERS_IDS, deployment_id)


def outage_errors() -> tuple[type[BaseException], ...]:
    """Failures of the database or Redis, not of the records being written: the
    records are kept to be written again once it is back."""
    import redis

    return (OperationalError, InterfaceError, ConnectionError, redis.ConnectionError, redis.TimeoutError)


def write_or_set_aside(units: list[T], write: Callable[[list[T], bool], int], set_aside: Callable[[T], None],
                       *, again: bool) -> int:
    """``write(units, again)``, the sum of what it returns. An outage (``outage_errors``)
    propagates: nothing is set aside. Any other failure is that of a unit that cannot be
    written: the units are then written in halves, and halves of those, so that the
    others are written, and a single unit that still fails goes to ``set_aside``
    (called while its exception is handled: ``logger.exception`` there logs it). The
    parts are written with ``again=True``: the failed write may have left its Parquet
    file. Used by the drainer (units: stream entries) and by the in-process writer
    (units: records)."""
    try:
        return write(units, again)
    except outage_errors():
        raise
    except Exception:
        if len(units) == 1:
            set_aside(units[0])
            return 0
    half = len(units) // 2
    return sum(write_or_set_aside(part, write, set_aside, again=True) for part in (units[:half], units[half:]))


def _drain_entries(client, entries: list, *, again: bool) -> int:
    """Write one batch of stream entries (``write_or_set_aside``), acknowledging and
    deleting them once written. ``again``: they may have been written before (claimed
    again after a crash), see ``prediction_records_write``.

    A database or Redis outage propagates (the entries stay pending, to be claimed
    again). An entry that cannot be written moves to the ``DEAD_LETTER_KEY`` stream
    for a person to look at, so that one bad entry cannot stop every drain after it.
    """

    def write(part: list, again: bool) -> int:
        ids = [entry_id for entry_id, _ in part]
        first, last = (_text(i) for i in (ids[0], ids[-1]))
        records = [r for _, fields in part if fields for r in orjson.loads(fields[b"r"])]
        written = prediction_records_write(records, name=f"{first}_{last}", again=again)
        pipe = client.pipeline(transaction=True)
        _counters_add(pipe, written)
        pipe.xack(STREAM_KEY, GROUP, *ids)
        pipe.xdel(STREAM_KEY, *ids)
        pipe.execute()
        return len(written)

    def set_aside(entry) -> None:
        entry_id, fields = entry
        logger.exception("prediction log entry %s cannot be written; moved to %s", _text(entry_id), DEAD_LETTER_KEY)
        pipe = client.pipeline(transaction=True)
        if fields:
            pipe.xadd(DEAD_LETTER_KEY, fields)
        pipe.xack(STREAM_KEY, GROUP, entry_id)
        pipe.xdel(STREAM_KEY, entry_id)
        pipe.execute()

    return write_or_set_aside(entries, write, set_aside, again=again)


def _text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def prediction_logs_drain(*, max_seconds: float | None = None, reclaim_after: float | None = None) -> int:
    """Write what the stream holds now (see the module docstring); returns how many
    log rows were written. Without Redis: nothing to do."""
    global _group_ready
    import redis

    if not settings.REDIS_URL:
        return 0
    try:
        return _drain(redis_client(), max_seconds, reclaim_after)
    except redis.ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        _group_ready = False  # the stream was deleted (FLUSHDB): make the group again
        return _drain(redis_client(), max_seconds, reclaim_after)


def _drain(client, max_seconds: float | None, reclaim_after: float | None) -> int:
    _group_ensure(client)
    consumer = f"{socket.gethostname()}:{os.getpid()}"
    deadline = time.monotonic() + (DRAIN_MAX_SECONDS if max_seconds is None else max_seconds)
    idle_ms = int(1000 * (RECLAIM_SECONDS if reclaim_after is None else reclaim_after))
    written = 0
    cursor = "0-0"
    while time.monotonic() < deadline:
        cursor, entries, *_ = client.xautoclaim(
            STREAM_KEY, GROUP, consumer, min_idle_time=idle_ms, start_id=cursor, count=DRAIN_ENTRIES
        )
        if entries:
            written += _drain_entries(client, entries, again=True)
        if cursor in (b"0-0", "0-0"):
            break
    while time.monotonic() < deadline:
        answer = client.xreadgroup(GROUP, consumer, {STREAM_KEY: ">"}, count=DRAIN_ENTRIES)
        if not answer or not answer[0][1]:
            break
        written += _drain_entries(client, answer[0][1], again=False)
    return written


def prediction_log_backlog() -> dict[str, int]:
    """Entries waiting in the stream and entries read but not yet acknowledged."""
    if not settings.REDIS_URL:
        return {"waiting": 0, "pending": 0}
    client = redis_client()
    length = client.xlen(STREAM_KEY)
    try:
        pending = client.xpending(STREAM_KEY, GROUP)["pending"]
    except Exception:  # noqa: BLE001 - no group yet
        pending = 0
    return {"waiting": int(length) - int(pending), "pending": int(pending)}
