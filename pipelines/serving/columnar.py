"""The columnar copy of prediction logs: Parquet per deployment per hour.

Layout under the artifact root::

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
Python: no Django.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

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


def batch_write(root: Path, records: Iterable[dict], versions: dict[int, int], *, name: str) -> list[Path]:
    """Write ``records`` as one Parquet file per deployment and hour named ``name``;
    each file appears whole (written aside, then renamed)."""
    written = []
    for (deployment_id, hour), table in batch_tables(records, versions).items():
        folder = Path(root) / "predictions" / str(deployment_id) / hour
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name}.parquet"
        temporary = folder / f".{name}.{uuid.uuid4().hex}.tmp"
        pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, target)
        written.append(target)
    return written


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _files(root: Path, deployment_id: int, start: datetime, end: datetime) -> list[Path]:
    base = Path(root) / "predictions" / str(deployment_id)
    if not base.is_dir():
        return []
    first = start.strftime(HOUR_FORMAT)
    last = (end - timedelta(microseconds=1)).strftime(HOUR_FORMAT)
    hours = sorted(d.name for d in base.iterdir() if d.is_dir() and first <= d.name <= last)
    return [f for hour in hours for f in sorted((base / hour).glob("*.parquet"))]


def frame_read(root: Path, deployment_id: int, start: datetime, end: datetime, *,
               columns: list[str] | None = None, limit: int | None = None) -> pd.DataFrame:
    """Logged rows of one deployment with ``start <= created_at < end``, oldest first
    (ties by request id and row); at most ``limit`` rows.

    ``columns`` picks input columns (the columns in ``META`` and the outputs always
    come); a column that some files lack is null there.
    """
    start, end = _utc(start), _utc(end)
    tables = []
    for path in _files(root, deployment_id, start, end):
        names = pq.read_schema(path).names
        wanted = names if columns is None else [
            n for n in names if n in META or n in OUTPUTS or n in columns or n in {_input_name(c) for c in columns}
        ]
        tables.append(pq.read_table(
            path, columns=wanted, filters=[("created_at", ">=", start), ("created_at", "<", end)],
        ))
    if not tables:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in (*META, "prediction")})
    table = pa.concat_tables(tables, promote_options="permissive")
    table = table.sort_by([("created_at", "ascending"), ("request_id", "ascending"), ("row", "ascending")])
    if limit is not None:
        table = table.slice(0, max(0, limit))
    inputs = [n for n in table.column_names if n not in META and n not in OUTPUTS]
    order = [*META, *inputs, *(n for n in OUTPUTS if n in table.column_names)]
    return table.select(order).to_pandas()

