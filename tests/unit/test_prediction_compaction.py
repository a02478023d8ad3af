"""Compaction of the Parquet copy of prediction logs (plain Python: no database, no Redis),
on a local folder and on an S3 bucket (moto's server on loopback)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.execution.storage import LocalFolder, S3Bucket
from pipelines.serving import columnar, compaction
from pipelines.serving.columnar import batch_write, frame_read

HOUR = "2026-03-01T09"
T0 = int(datetime(2026, 3, 1, 9, tzinfo=UTC).timestamp() * 1_000_000)
SECOND = 1_000_000
WHOLE_HOUR = (datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 3, 1, 10, tzinfo=UTC))


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalFolder(tmp_path / "store")
    server, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket")
    return S3Bucket(bucket, "artifacts", endpoint_url=server)


@pytest.fixture
def scratch(tmp_path):
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


def _record(rid: str, t: int, values: list[float], *, city: object = "Oslo") -> dict:
    rows = [[v, city] for v in values]
    return {"d": 1, "v": 7, "id": rid, "p": "json", "s": 200, "e": "", "n": len(rows), "c": ["a", "city"],
            "x": rows, "o": {"predictions": [int(v) % 2 for v in values]}, "l": 2.5, "t": t}


def _batches(store, scratch, count: int, *, first: int = 0, per_batch: int = 3) -> list[dict]:
    """``count`` batch files of ``per_batch`` two-row requests each, seconds apart."""
    written = []
    for b in range(first, first + count):
        records = [_record(f"r{b:03d}-{i}", T0 + (b * per_batch + i) * SECOND, [b + 0.5, b + 0.25])
                   for i in range(per_batch)]
        batch_write(store, scratch, records, {7: 2}, name=f"batch-{b:03d}")
        written += records
    return written


def _hour_keys(store) -> list[str]:
    return store.list(columnar.hour_prefix(1, HOUR))


def _rows(store) -> list[tuple[str, int]]:
    frame = frame_read(store, 1, *WHOLE_HOUR)
    return list(zip(frame["request_id"], frame["row"], strict=True))


def _expected(records: list[dict]) -> list[tuple[str, int]]:
    return sorted((r["id"], row) for r in records for row in range(len(r["x"])))


def test_compaction_merges_the_hours_files_into_one_with_the_same_rows(store, scratch):
    records = _batches(store, scratch, 12)
    before = frame_read(store, 1, *WHOLE_HOUR)
    assert len(_hour_keys(store)) == 12

    result = compaction.hour_compact(store, scratch, 1, HOUR)

    assert _hour_keys(store) == [result.key] and columnar.is_compacted(result.key)
    assert result.merged == 12 and result.deleted == 12 and result.rows == 72
    after = frame_read(store, 1, *WHOLE_HOUR)
    pd.testing.assert_frame_equal(after, before)
    assert sorted(zip(after["request_id"], after["row"], strict=True)) == _expected(records)


def test_the_compacted_file_is_typed_sorted_and_lists_the_batches_it_holds(tmp_path, scratch):
    store = LocalFolder(tmp_path / "store")
    _batches(store, scratch, 3)
    batch_write(store, scratch, [_record("late-number-city", T0 + 1, [9.0], city=42)], {}, name="odd")

    key = compaction.hour_compact(store, scratch, 1, HOUR).key
    parquet = pq.ParquetFile(store.local_path(key))

    assert columnar.compacted_batches(parquet) == {"batch-000", "batch-001", "batch-002", "odd"}
    schema = parquet.schema_arrow
    assert str(schema.field("a").type) == "double" and str(schema.field("city").type) == "string"
    assert str(schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    table = parquet.read(columns=["created_at", "city"])
    moments = table.column("created_at").to_pylist()
    assert moments == sorted(moments)
    assert "42" in table.column("city").to_pylist()  # a number among text: text, as in a batch


def test_running_compaction_again_changes_nothing(store, scratch):
    _batches(store, scratch, 4)
    first = compaction.hour_compact(store, scratch, 1, HOUR)
    rows = _rows(store)

    again = compaction.hour_compact(store, scratch, 1, HOUR)

    assert again.key == first.key and again.merged == 0 and again.deleted == 0
    assert _hour_keys(store) == [first.key] and _rows(store) == rows


def test_a_batch_drained_after_compaction_is_read_beside_it_then_merged(store, scratch):
    records = _batches(store, scratch, 5)
    first = compaction.hour_compact(store, scratch, 1, HOUR)

    late = [_record("late", T0 + 10 * SECOND, [7.0, 8.0, 9.0])]
    batch_write(store, scratch, late, {}, name="late-batch")

    assert sorted(_rows(store)) == _expected(records + late)
    second = compaction.hour_compact(store, scratch, 1, HOUR)
    assert _hour_keys(store) == [second.key] != [first.key]
    assert second.merged == 2 and compaction.compacted_key(1, HOUR, {f"batch-{b:03d}" for b in range(5)}
                                                           | {"late-batch"}) == second.key
    assert sorted(_rows(store)) == _expected(records + late)


def test_a_batch_written_again_under_a_merged_name_is_not_read_twice(store, scratch):
    records = _batches(store, scratch, 3)
    compaction.hour_compact(store, scratch, 1, HOUR)

    # A drainer that died before acknowledging writes its batch again under the same name.
    batch_write(store, scratch, records[3:6], {7: 2}, name="batch-001")

    assert sorted(_rows(store)) == _expected(records)


def test_two_compactions_at_once_neither_lose_nor_duplicate_rows(store, scratch):
    records = _batches(store, scratch, 20)
    errors = []

    def compact():
        try:
            compaction.hour_compact(store, scratch, 1, HOUR)
        except FileNotFoundError:
            compaction.hour_compact(store, scratch, 1, HOUR)  # the other one deleted what this one listed
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def late_batches():
        _batches(store, scratch, 5, first=100)

    threads = [threading.Thread(target=compact), threading.Thread(target=compact),
               threading.Thread(target=late_batches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    late = [_record(f"r{b:03d}-{i}", T0 + (b * 3 + i) * SECOND, [b + 0.5, b + 0.25])
            for b in range(100, 105) for i in range(3)]
    assert sorted(_rows(store)) == _expected(records + late)  # each row once, while files may remain
    compaction.hour_compact(store, scratch, 1, HOUR)
    assert len(_hour_keys(store)) == 1 and sorted(_rows(store)) == _expected(records + late)


class CompactsAfterListing:
    """A store whose first listing of the hour is followed by a compaction, before the
    reader opens what it listed (the race a reader of a busy store meets)."""

    def __init__(self, store, scratch):
        self.store, self.scratch, self.compacted = store, scratch, False

    def list(self, prefix):
        keys = self.store.list(prefix)
        if not self.compacted:
            self.compacted = True
            compaction.hour_compact(self.store, self.scratch, 1, HOUR)
        return keys

    def __getattr__(self, name):
        return getattr(self.store, name)


class KeepsWhatItDeletes:
    """A store whose deletions do not happen: what a reader sees between the compacted
    file's arrival and the deletion of the files it replaces."""

    def __init__(self, store):
        self.store = store

    def delete(self, key):
        pass

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_reader_that_listed_before_a_compaction_reads_each_row_once(store, scratch):
    records = _batches(store, scratch, 6)

    frame = frame_read(CompactsAfterListing(store, scratch), 1, *WHOLE_HOUR)

    assert len(_hour_keys(store)) == 1  # the files it listed are gone: it listed again
    assert sorted(zip(frame["request_id"], frame["row"], strict=True)) == _expected(records)


def test_a_reader_sees_the_compacted_file_and_not_the_files_it_replaces_still_there(store, scratch):
    records = _batches(store, scratch, 6)
    compaction.hour_compact(KeepsWhatItDeletes(store), scratch, 1, HOUR)
    assert len(_hour_keys(store)) == 7

    assert sorted(_rows(store)) == _expected(records)
    cleanup = compaction.hour_compact(store, scratch, 1, HOUR)  # the next one removes them
    assert cleanup.merged == 0 and cleanup.deleted == 6 and len(_hour_keys(store)) == 1


def test_a_range_inside_the_hour_skips_row_groups_and_filters_rows(tmp_path, scratch, monkeypatch):
    store = LocalFolder(tmp_path / "store")
    monkeypatch.setattr(compaction, "ROW_GROUP_ROWS", 6)
    records = _batches(store, scratch, 10)
    key = compaction.hour_compact(store, scratch, 1, HOUR).key
    assert pq.ParquetFile(store.local_path(key)).metadata.num_row_groups == 10

    start = datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(seconds=6)
    frame = frame_read(store, 1, start, start + timedelta(seconds=9))

    inside = [r for r in records if start.timestamp() * SECOND <= r["t"] < (start.timestamp() + 9) * SECOND]
    assert len(inside) == 9 and sorted(zip(frame["request_id"], frame["row"], strict=True)) == _expected(inside)


def test_a_batch_may_not_take_a_compacted_files_name(tmp_path, scratch):
    with pytest.raises(ValueError, match="compacted-"):
        batch_write(LocalFolder(tmp_path), scratch, [_record("x", T0, [1.0])], {}, name="compacted-000001-x")


def test_the_compacted_file_dictionary_encodes_its_text_columns_and_not_its_numbers(tmp_path, scratch):
    store = LocalFolder(tmp_path / "store")
    _batches(store, scratch, 3)

    key = compaction.hour_compact(store, scratch, 1, HOUR).key
    group = pq.ParquetFile(store.local_path(key)).metadata.row_group(0)
    encoded = {group.column(i).path_in_schema: group.column(i).has_dictionary_page for i in range(group.num_columns)}

    assert encoded["request_id"] and encoded["city"]
    assert not any(encoded[name] for name in ("a", "prediction", "latency_ms", "created_at", "row"))


def test_a_batch_written_again_in_another_grouping_is_read_once_and_compacted_once(store, scratch):
    records = _batches(store, scratch, 2, per_batch=4)  # batch-000: r000-0..3, batch-001: r001-0..3
    # A drainer died after writing batch-000's file; its entries were claimed again with
    # batch-001's half-written entries, in other batches.
    batch_write(store, scratch, records[2:6], {7: 2}, name="a", again=True)
    batch_write(store, scratch, records[:2], {7: 2}, name="b", again=True)
    assert len(_hour_keys(store)) == 4

    assert sorted(_rows(store)) == _expected(records)
    window = columnar.frame_table(store, 1, *WHOLE_HOUR, meta=("request_id", "row", "status"),
                                  outputs=("prediction",), ordered=False)
    assert sorted(zip(window["request_id"].to_pylist(), window["row"].to_pylist(), strict=True)) == _expected(records)
    assert window.column_names == ["request_id", "row", "status", "a", "city", "prediction"]
    result = compaction.hour_compact(store, scratch, 1, HOUR)
    assert result.rows == len(_expected(records)) and sorted(_rows(store)) == _expected(records)
