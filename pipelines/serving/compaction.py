"""Compaction of the Parquet copy of prediction logs: one file per deployment-hour.

The drainer writes one small file per batch (``serving.columnar``), so a day of
traffic is hundreds of files, and reading them costs more than decoding a JSON
sample. Once an hour is over (plus a grace period for late drains), ``hour_compact``
merges its files into one, ``compacted-<number of batches>-<digest>.parquet``:

- rows sorted by ``created_at`` (then request id and row, so each request's rows
  stay together and in order), in row groups of ``ROW_GROUP_ROWS`` whose
  ``created_at`` statistics let a reader skip the groups outside its range;
- columns typed as the batches had them (a column whose batches disagree, text in
  one and numbers in another, is stored as text, as the batches store mixed columns);
- its metadata lists the batches it holds (those of the compacted file it replaces too);
- each row once: when a batch was written again (``again-…``: a drainer died after its
  file and before its commit), the rows it shares with another file are dropped
  (``columnar.rows_once``).

The new file is written whole (``put_file``: a rename, or one S3 PUT) before the
files it replaces are deleted, and readers (``columnar.hour_files``) take the
compacted file holding the most batches plus the batch files it does not hold: a
reader sees the old files or the new one, never both and never neither (a file
deleted under it makes it list the hour again). A batch drained after compaction is
a file the compacted one does not hold: it is read beside it, and merged by the
next compaction. Running twice, or twice at once, is safe: the same batches give the
same name and rows, and a compaction deletes only the files it read. (The service
claims the hour first, so two at once is the exception, not the rule.)

Plain Python: no Django; the store comes from the caller.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ..execution.artifacts import parquet_write_options
from . import columnar

if TYPE_CHECKING:
    from ..execution.storage import ObjectStore

ROW_GROUP_ROWS = 128 * 1024  # big enough to decode fast, small enough to skip by time within an hour


@dataclass(frozen=True)
class Compaction:
    key: str | None  # the compacted file; None when the hour holds no file
    rows: int
    merged: int  # files merged into it (0: it was compact already)
    deleted: int  # files removed (those merged, and leftovers a compaction that crashed left)


def compacted_key(deployment_id: int, hour: str, batches: set[str]) -> str:
    """The same batches always give the same key, so two compactions of them agree."""
    digest = hashlib.sha256("\n".join(sorted(batches)).encode()).hexdigest()[:16]
    return f"{columnar.hour_prefix(deployment_id, hour)}{columnar.COMPACTED_PREFIX}{len(batches):06d}-{digest}.parquet"


def hour_compact(store: ObjectStore, scratch: Path, deployment_id: int, hour: str) -> Compaction:
    """Merge the files of one deployment-hour (``YYYY-MM-DDTHH``) into one; see the module
    docstring. ``FileNotFoundError`` when another compaction deleted a file first (that
    one has merged it: the caller may simply run again)."""
    keys = columnar._parquet_keys(store.list(columnar.hour_prefix(deployment_id, hour)))
    files = columnar.hour_files(store, keys)
    read = {key for key, _ in files}
    leftovers = [k for k in keys if k not in read]  # merged already: a compaction stopped before deleting them
    base = columnar.newest_compacted(keys)
    if not files or (len(files) == 1 and base is not None):
        _delete(store, leftovers)
        return Compaction(key=base, rows=files[0][1].metadata.num_rows if files else 0, merged=0,
                          deleted=len(leftovers))
    batches = set()
    tables = []
    for key, parquet in files:
        batches |= columnar.compacted_batches(parquet) if key == base else {columnar.batch_name(key)}
        tables.append(parquet.read(use_threads=False))
    if any(columnar.written_again(key) for key in read):
        tables = columnar.rows_once(tables)
    table = _sorted(columnar.tables_concat(tables))
    key = compacted_key(deployment_id, hour, batches)
    _write(store, scratch, key, table, batches)
    replaced = [k for k in [*read, *leftovers] if k != key]
    _delete(store, replaced)
    return Compaction(key=key, rows=table.num_rows, merged=len(files), deleted=len(replaced))


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("created_at", "ascending"), ("request_id", "ascending"), ("row", "ascending")])


def _write(store: ObjectStore, scratch: Path, key: str, table: pa.Table, batches: set[str]) -> None:
    metadata = {**(table.schema.metadata or {}), columnar.BATCHES_METADATA: json.dumps(sorted(batches)).encode()}
    temporary = Path(scratch) / f".compact.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(table.replace_schema_metadata(metadata), temporary, row_group_size=ROW_GROUP_ROWS,
                       **parquet_write_options(table.schema))
        store.put_file(key, temporary)  # appears whole: readers see it complete or not at all
    finally:
        temporary.unlink(missing_ok=True)


def _delete(store: ObjectStore, keys: list[str]) -> None:
    for key in keys:
        store.delete(key)
