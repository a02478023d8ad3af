"""The columnar copy of prediction logs: Parquet per deployment per hour.

Keys in the artifact store (``execution.storage``: files under the artifact
root, or objects in the bucket)::

    predictions/<deployment id>/<YYYY-MM-DDTHH>/<batch name>.parquet

One file per drained batch and hour (the drainer names it after the stream
entries it holds, so a batch written again after a crash replaces its file
instead of adding a copy). One row per predicted input row:

- ``request_id``, ``row`` (its index in the request), ``created_at`` (UTC,
  microseconds), ``model_version_id``, ``model_version`` (its number),
  ``latency_ms``, ``status`` (a refused request is one row with nulls below);
- the input columns under their own names (one that clashes with a name above
  is stored as ``input.<name>``);
- ``prediction``, and ``probabilities`` (a list per row) for classifiers.

``frame_read`` reads a time range back with pyarrow, selecting columns and
filtering on ``created_at`` in the files, without decoding a JSON row. Plain
Python: no Django; the store comes from the caller.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from ..execution.storage import ObjectStore

META = ("request_id", "row", "created_at", "model_version_id", "model_version", "latency_ms", "status")
OUTPUTS = ("prediction", "probabilities")
HOUR_FORMAT = "%Y-%m-%dT%H"
TIMESTAMP = pa.timestamp("us", tz="UTC")


def hour_of(epoch_us: int) -> str:
    return datetime.fromtimestamp(epoch_us / 1_000_000, UTC).strftime(HOUR_FORMAT)


def _array(values) -> pa.Array:
    """A column as Arrow infers it; a column of mixed types (a str among numbers) as strings."""
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        series = pd.Series(values, dtype=object)
        return pa.array(series.astype(str).where(series.notna(), None), type=pa.string())


def _meta_arrays(records: list[dict], counts: np.ndarray, versions: dict[int, int]) -> dict[str, pa.Array]:
    repeat = np.repeat
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return {
        "request_id": pa.array(repeat(np.array([r["id"] for r in records], dtype=object), counts), pa.string()),
        "row": pa.array(np.arange(total, dtype=np.int32) - starts.astype(np.int32)),
        "created_at": pa.array(repeat(np.array([r["t"] for r in records], dtype=np.int64), counts), TIMESTAMP),
        "model_version_id": pa.array(repeat(np.array([r["v"] for r in records], dtype=object), counts), pa.int64()),
        "model_version": pa.array(
            repeat(np.array([versions.get(r["v"]) for r in records], dtype=object), counts), pa.int64()
        ),
        "latency_ms": pa.array(repeat(np.array([r["l"] for r in records], dtype=np.float64), counts)),
        "status": pa.array(repeat(np.array([r["s"] for r in records], dtype=np.int16), counts)),
    }


def _input_name(name: str) -> str:
    return f"input.{name}" if name in META or name in OUTPUTS else name


def _answered_table(records: list[dict], columns: list[str], versions: dict[int, int]) -> pa.Table:
    """Records of one column set that were answered: one row per input row."""
    counts = np.array([len(r["x"]) for r in records], dtype=np.int64)
    arrays = _meta_arrays(records, counts, versions)
    frame = pd.DataFrame(list(chain.from_iterable(r["x"] for r in records)), columns=columns)
    for name in columns:
        arrays[_input_name(name)] = _array(frame[name])
    outputs = [r["o"] or {} for r in records]
    arrays["prediction"] = _array(list(chain.from_iterable(o.get("predictions") or [] for o in outputs)))
    if all("probabilities" in o for o in outputs):
        arrays["probabilities"] = pa.array(
            list(chain.from_iterable(o["probabilities"] for o in outputs)), pa.list_(pa.float64())
        )
    return pa.table(arrays)


def batch_tables(records: Iterable[dict], versions: dict[int, int]) -> dict[tuple[int, str], pa.Table]:
    """Decoded log records → one table per (deployment id, hour). ``versions`` maps
    model version ids to their numbers."""
    groups: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["d"], hour_of(r["t"]))].append(r)
    out = {}
    for key, group in groups.items():
        by_columns: dict[tuple, list[dict]] = defaultdict(list)
        refused = []
        for r in group:
            predictions = (r.get("o") or {}).get("predictions") or []
            if r.get("x") is None or r.get("c") is None or len(r["x"]) != len(predictions):
                refused.append(r)
            else:
                by_columns[tuple(r["c"])].append(r)
        tables = [_answered_table(rs, list(cols), versions) for cols, rs in by_columns.items()]
        if refused:
            tables.append(pa.table(_meta_arrays(refused, np.ones(len(refused), dtype=np.int64), versions)))
        out[key] = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    return out


def batch_write(store: ObjectStore, scratch: Path, records: Iterable[dict], versions: dict[int, int], *,
                name: str) -> list[str]:
    """Write ``records`` as one Parquet object per deployment and hour named ``name``
    (written in ``scratch``, then handed to ``store``, which makes it appear whole);
    returns the keys written."""
    written = []
    for (deployment_id, hour), table in batch_tables(records, versions).items():
        key = f"predictions/{deployment_id}/{hour}/{name}.parquet"
        temporary = Path(scratch) / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            pq.write_table(table, temporary, compression="zstd")
            store.put_file(key, temporary)
        finally:
            temporary.unlink(missing_ok=True)
        written.append(key)
    return written


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


HOURS_LISTED_ONE_BY_ONE = 48  # a longer range lists the deployment's folder once


def _keys(store: ObjectStore, deployment_id: int, start: datetime, end: datetime) -> list[str]:
    """The Parquet keys of the hours [start, end) touches, in hour order."""
    base = f"predictions/{deployment_id}/"
    first = start.replace(minute=0, second=0, microsecond=0)
    last = end - timedelta(microseconds=1)
    if last < first:
        return []
    if (last - first) <= timedelta(hours=HOURS_LISTED_ONE_BY_ONE):
        hours = [first + timedelta(hours=i) for i in range(int((last - first) / timedelta(hours=1)) + 1)]
        keys = [k for h in hours for k in store.list(f"{base}{h.strftime(HOUR_FORMAT)}/")]
    else:
        low, high = first.strftime(HOUR_FORMAT), last.strftime(HOUR_FORMAT)
        keys = [k for k in store.list(base) if low <= k[len(base):].split("/", 1)[0] <= high]
    return [k for k in keys if k.endswith(".parquet")]


def _parquet(store: ObjectStore, key: str) -> pq.ParquetFile:
    """A local file is read in place; a remote object is fetched whole (one batch, small)."""
    path = store.local_path(key)
    return pq.ParquetFile(path if path is not None else pa.BufferReader(store.get_bytes(key)))


def frame_table(store: ObjectStore, deployment_id: int, start: datetime, end: datetime, *,
                columns: list[str] | None = None, meta: tuple[str, ...] = META, outputs: tuple[str, ...] = OUTPUTS,
                ordered: bool = True) -> pa.Table | None:
    """``frame_read`` as an Arrow table, with no limit: the columns ``meta`` (of ``META``;
    ``created_at`` is always read), the input columns, then ``outputs``; None when no
    file holds a row of the range. Unordered, rows come file by file (the files in key
    order), each request's rows together and in order."""
    start, end = _utc(start), _utc(end)
    tables = []
    for key in _keys(store, deployment_id, start, end):
        try:
            parquet = _parquet(store, key)
        except FileNotFoundError:
            continue  # a batch written again replaced it between the listing and now
        names = parquet.schema_arrow.names
        wanted = [n for n in names if (n not in OUTPUTS or n in outputs) and (n not in META or n in meta)]
        wanted += [] if "created_at" in wanted else ["created_at"]
        if columns is not None:
            inputs = set(columns) | {_input_name(c) for c in columns}
            wanted = [n for n in wanted if n in META or n in OUTPUTS or n in inputs]
        table = parquet.read(columns=wanted, use_threads=False)  # small files: threads cost more than they save
        moments = table.column("created_at")
        tables.append(table.filter(pc.and_(pc.greater_equal(moments, pa.scalar(start, TIMESTAMP)),
                                           pc.less(moments, pa.scalar(end, TIMESTAMP)))))
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="permissive")
    if ordered:
        table = table.sort_by([("created_at", "ascending"), ("request_id", "ascending"), ("row", "ascending")])
    inputs = [n for n in table.column_names if n not in META and n not in OUTPUTS]
    return table.select([*(n for n in META if n in meta), *inputs, *(n for n in outputs if n in table.column_names)])


def frame_read(store: ObjectStore, deployment_id: int, start: datetime, end: datetime, *,
               columns: list[str] | None = None, limit: int | None = None) -> pd.DataFrame:
    """Logged rows of one deployment with ``start <= created_at < end``, oldest first
    (ties by request id and row); at most ``limit`` rows.

    ``columns`` picks input columns (the columns in ``META`` and the outputs always
    come); a column that some files lack is null there.
    """
    table = frame_table(store, deployment_id, start, end, columns=columns)
    if table is None:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in (*META, "prediction")})
    if limit is not None:
        table = table.slice(0, max(0, limit))
    return table.to_pandas()


def input_name(column: str) -> str:
    """The input column a stored column holds (``input.status`` → ``status``)."""
    plain = column.removeprefix("input.")
    return plain if plain != column and (plain in META or plain in OUTPUTS) else column
