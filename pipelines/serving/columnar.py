"""The columnar copy of prediction logs: Parquet per deployment per hour.

Keys in the artifact store (``execution.storage``: files under the artifact
root, or objects in the bucket)::

    predictions/<deployment id>/<YYYY-MM-DDTHH>/<batch name>.parquet

One file per drained batch and hour, named after the stream entries it holds.
Once the hour is over, compaction (``serving.compaction``) merges them into
``compacted-<batches>-<digest>.parquet``; readers take it and the batches drained
after it (``hour_files``).

A batch may be written twice. A drainer that dies after writing its file and before
its commit leaves its entries to be claimed again, and the claim may group them
otherwise (another count, entries of several dead drainers together, or in parts
after a batch that failed), so the same records land in a file of another name (as
they do when the in-process writer retries a batch whose commit failed).
No name could make that write idempotent: the drainer that writes again cannot know
which entries the first file held without reading it. So such a batch is written as
``again-<name>`` (``batch_write(again=True)``), and in an hour that holds one,
readers and compaction keep each row once (``rows_once``: a row is its request id,
time and row number, and every copy of it is the same). Hours without one, nearly
all of them, are read with no such check. One row per predicted input row:

- ``request_id``, ``row`` (its index in the request), ``created_at`` (UTC,
  microseconds), ``model_version_id``, ``model_version`` (its number),
  ``latency_ms``, ``status`` (a refused request is one row with nulls below);
- the input columns under their own names (one that clashes with a name above
  is stored as ``input.<name>``);
- ``prediction``, and ``probabilities`` (a list per row) for classifiers.

``frame_read`` reads a time range back with pyarrow, selecting columns and
filtering on ``created_at`` in the files (whole row groups outside the range are
skipped by their statistics), without decoding a JSON row. Plain
Python: no Django; the store comes from the caller.
"""

from __future__ import annotations

import json
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

from ..execution.artifacts import parquet_write_options

if TYPE_CHECKING:
    from ..execution.storage import ObjectStore

META = ("request_id", "row", "created_at", "model_version_id", "model_version", "latency_ms", "status")
OUTPUTS = ("prediction", "probabilities")
HOUR_FORMAT = "%Y-%m-%dT%H"
TIMESTAMP = pa.timestamp("us", tz="UTC")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def tables_concat(tables: list[pa.Table]) -> pa.Table:
    """One table of ``tables`` (a batch's column sets, an hour's files, a window's hours);
    a column typed differently in different tables becomes text, as a mixed column within
    one batch does (``_array``): clients send ``"3"`` to one request and ``3`` to another."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    types: dict[str, set[pa.DataType]] = {}
    for table in tables:
        for field in table.schema:
            if not pa.types.is_null(field.type):
                types.setdefault(field.name, set()).add(field.type)
    clashing = {name for name, kinds in types.items() if len(kinds) > 1 and name not in META}
    return pa.concat_tables([_as_text(t, clashing) for t in tables], promote_options="permissive")


def _as_text(table: pa.Table, names: set[str]) -> pa.Table:
    for name in names & set(table.column_names):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).cast(pa.string()))
    return table


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
        out[key] = tables_concat(tables) if len(tables) > 1 else tables[0]
    return out


def batch_write(store: ObjectStore, scratch: Path, records: Iterable[dict], versions: dict[int, int], *,
                name: str, again: bool = False) -> list[str]:
    """Write ``records`` as one Parquet object per deployment and hour named ``name``
    (written in ``scratch``, then handed to ``store``, which makes it appear whole);
    returns the keys written. ``again``: some of the records may be in another file
    already (see the module docstring); the files are named ``again-<name>``."""
    if name.startswith((COMPACTED_PREFIX, AGAIN_PREFIX)):
        raise ValueError(f"a batch name may not start with {COMPACTED_PREFIX!r} or {AGAIN_PREFIX!r}: {name!r}")
    if again:
        name = AGAIN_PREFIX + name
    written = []
    for (deployment_id, hour), table in batch_tables(records, versions).items():
        key = f"{hour_prefix(deployment_id, hour)}{name}.parquet"
        temporary = Path(scratch) / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            pq.write_table(table, temporary, **parquet_write_options(table.schema))
            store.put_file(key, temporary)
        finally:
            temporary.unlink(missing_ok=True)
        written.append(key)
    return written


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


HOURS_LISTED_ONE_BY_ONE = 48  # a longer range lists the deployment's folder once
RELIST_ATTEMPTS = 5  # an hour compacted while it is being read is listed again, this often at most
THREADED_ROWS = 64 * 1024  # a file this large is decoded with threads (a small one costs more than it saves)


def _hour_keys(store: ObjectStore, deployment_id: int, start: datetime, end: datetime) -> dict[datetime, list[str]]:
    """The Parquet keys of each hour [start, end) touches, by hour (in order)."""
    base = f"predictions/{deployment_id}/"
    first = start.replace(minute=0, second=0, microsecond=0)
    last = end - timedelta(microseconds=1)
    if last < first:
        return {}
    hours = [first + timedelta(hours=i) for i in range(int((last - first) / timedelta(hours=1)) + 1)]
    if len(hours) <= HOURS_LISTED_ONE_BY_ONE:
        return {h: _parquet_keys(store.list(hour_prefix(deployment_id, h.strftime(HOUR_FORMAT)))) for h in hours}
    low, high = first.strftime(HOUR_FORMAT), last.strftime(HOUR_FORMAT)
    by_hour: dict[datetime, list[str]] = defaultdict(list)
    for key in _parquet_keys(store.list(base)):
        folder = key[len(base):].split("/", 1)[0]
        if low <= folder <= high:
            by_hour[datetime.strptime(folder, HOUR_FORMAT).replace(tzinfo=UTC)].append(key)
    return dict(sorted(by_hour.items()))


def hour_prefix(deployment_id: int, hour: str) -> str:
    return f"predictions/{deployment_id}/{hour}/"


def _parquet_keys(keys: list[str]) -> list[str]:
    return [k for k in keys if k.endswith(".parquet")]


def _parquet(store: ObjectStore, key: str) -> pq.ParquetFile:
    """A local file is opened in place (a reader keeps it when compaction deletes it);
    a remote object is fetched whole. ``FileNotFoundError`` when it is gone."""
    path = store.local_path(key)
    return pq.ParquetFile(path if path is not None else pa.BufferReader(store.get_bytes(key)))


# --- an hour's files: its compacted file, and the batches drained after it ---------------
#
# Compaction (``serving.compaction``) merges an hour's batch files into one file named
# ``compacted-<number of batches>-<digest>.parquet`` whose metadata lists the batches
# it holds, then deletes them. Readers take the compacted file that holds the most
# batches and the batch files it does not hold (drained late, after compaction), so
# that a row is read once whether they list the folder before, during or after a
# compaction; a file deleted between the listing and the read makes them list again.

COMPACTED_PREFIX = "compacted-"
AGAIN_PREFIX = "again-"  # a batch whose records may be in another file of the hour too
BATCHES_METADATA = b"mlops.batches"
ROW_KEY = ("request_id", "created_at", "row")  # what makes a logged row the one it is


def batch_name(key: str) -> str:
    return key.rsplit("/", 1)[-1].removesuffix(".parquet")


def is_compacted(key: str) -> bool:
    return batch_name(key).startswith(COMPACTED_PREFIX)


def written_again(key: str) -> bool:
    return batch_name(key).startswith(AGAIN_PREFIX)


def rows_once(tables: list[pa.Table]) -> list[pa.Table]:
    """``tables`` (of one hour's files, each with the ``ROW_KEY`` columns) without the rows
    an earlier table, or an earlier row of the same one, holds already. Only the key
    columns are compared, grouped by Arrow's hash aggregation (no Python object per row):
    the tables may differ in their other columns."""
    keys = pa.concat_tables([t.select(list(ROW_KEY)) for t in tables], promote_options="permissive")
    keys = keys.append_column("position", pa.array(np.arange(keys.num_rows, dtype=np.int64)))
    firsts = keys.group_by(list(ROW_KEY), use_threads=False).aggregate([("position", "min")])
    if firsts.num_rows == keys.num_rows:
        return tables
    keep = np.zeros(keys.num_rows, dtype=bool)
    keep[firsts.column("position_min").to_numpy()] = True
    ends = np.cumsum([t.num_rows for t in tables])
    return [t.filter(pa.array(keep[end - t.num_rows:end])) for t, end in zip(tables, ends, strict=True)]


def compacted_size(key: str) -> int:
    """How many batches a compacted file holds, from its name."""
    return int(batch_name(key)[len(COMPACTED_PREFIX):].split("-", 1)[0])


def compacted_batches(parquet: pq.ParquetFile) -> set[str]:
    metadata = parquet.schema_arrow.metadata or {}
    return set(json.loads(metadata.get(BATCHES_METADATA, b"[]")))


def newest_compacted(keys: list[str]) -> str | None:
    """The compacted file among ``keys`` that holds the most batches (a later compaction
    holds every batch of the one before it, and more)."""
    merged = [k for k in keys if is_compacted(k)]
    return max(merged, key=lambda k: (compacted_size(k), k)) if merged else None


def hour_files(store: ObjectStore, keys: list[str]) -> list[tuple[str, pq.ParquetFile]]:
    """The files of one hour folder's ``keys`` that hold each of its rows once, opened:
    the newest compacted file, then the batch files it does not hold.
    ``FileNotFoundError`` when one was deleted since ``keys`` were listed."""
    base = newest_compacted(keys)
    files = []
    merged: set[str] = set()
    if base is not None:
        parquet = _parquet(store, base)
        merged = compacted_batches(parquet)
        files.append((base, parquet))
    files.extend((k, _parquet(store, k)) for k in keys if not is_compacted(k) and batch_name(k) not in merged)
    return files


def _hour_files_read(store: ObjectStore, deployment_id: int, hour: datetime,
                     keys: list[str]) -> list[tuple[str, pq.ParquetFile]]:
    for _ in range(RELIST_ATTEMPTS):
        try:
            return hour_files(store, keys)
        except FileNotFoundError:
            # Compacted (or compacted again) since the listing: the new file is there now.
            keys = _parquet_keys(store.list(hour_prefix(deployment_id, hour.strftime(HOUR_FORMAT))))
    return hour_files(store, keys)


def _in_range(parquet: pq.ParquetFile, wanted: list[str], hour: datetime, start: datetime,
              end: datetime) -> pa.Table:
    """The file's ``wanted`` columns of its rows in [start, end): all rows when the hour
    lies inside the range, else those of the row groups whose ``created_at`` statistics
    meet it, filtered."""
    threads = parquet.metadata.num_rows >= THREADED_ROWS
    if start <= hour and hour + timedelta(hours=1) <= end:
        return parquet.read(columns=wanted, use_threads=threads)
    low, high = (int((moment - EPOCH) / timedelta(microseconds=1)) for moment in (start, end))
    index = parquet.schema_arrow.get_field_index("created_at")
    groups = []
    for i in range(parquet.metadata.num_row_groups):
        statistics = parquet.metadata.row_group(i).column(index).statistics
        if statistics is None or not statistics.has_min_max or (
            statistics.min_raw < high and statistics.max_raw >= low
        ):
            groups.append(i)
    table = parquet.read_row_groups(groups, columns=[*wanted, *([] if "created_at" in wanted else ["created_at"])],
                                    use_threads=threads)
    moments = table.column("created_at")
    table = table.filter(pc.and_(pc.greater_equal(moments, pa.scalar(start, TIMESTAMP)),
                                 pc.less(moments, pa.scalar(end, TIMESTAMP))))
    return table.select(wanted)


def frame_table(store: ObjectStore, deployment_id: int, start: datetime, end: datetime, *,
                columns: list[str] | None = None, meta: tuple[str, ...] = META, outputs: tuple[str, ...] = OUTPUTS,
                ordered: bool = True) -> pa.Table | None:
    """``frame_read`` as an Arrow table, with no limit: the columns ``meta`` (of ``META``),
    the input columns, then ``outputs``; None when no file holds a row of the range.
    Unordered, rows come file by file (hour by hour), each request's rows together and
    in order (``created_at`` is then read only where the range cuts an hour)."""
    start, end = _utc(start), _utc(end)
    order = ("created_at", "request_id", "row") if ordered else ()
    read = {*meta, *order}
    tables = []
    for hour, keys in _hour_keys(store, deployment_id, start, end).items():
        files = _hour_files_read(store, deployment_id, hour, keys)
        again = any(written_again(key) for key, _ in files)
        hour_tables, selected = [], []
        for _, parquet in files:
            names = parquet.schema_arrow.names
            wanted = [n for n in names if (n not in OUTPUTS or n in outputs) and (n not in META or n in read)]
            if columns is not None:
                inputs = set(columns) | {_input_name(c) for c in columns}
                wanted = [n for n in wanted if n in META or n in OUTPUTS or n in inputs]
            keyed = [*wanted, *(k for k in ROW_KEY if again and k not in wanted)]
            hour_tables.append(_in_range(parquet, keyed, hour, start, end))
            selected.append(wanted)
        if again:
            hour_tables = [t.select(wanted) for t, wanted in zip(rows_once(hour_tables), selected, strict=True)]
        tables += hour_tables
    if not tables:
        return None
    table = tables_concat(tables)
    if ordered:
        table = table.sort_by([(name, "ascending") for name in order])
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
