"""The Parquet copy of prediction logs (plain Python: no database, no Redis)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa

from pipelines.execution.storage import LocalFolder
from pipelines.serving.columnar import batch_write, frame_read, frame_table

T0 = int(datetime(2026, 3, 1, 9, 15, tzinfo=UTC).timestamp() * 1_000_000)


def _record(rid: str, t: int, columns, rows, predictions, *, status=200, version=7, proba=None) -> dict:
    outputs = None if rows is None else {"predictions": predictions, **({"probabilities": proba} if proba else {})}
    return {"d": 1, "v": version, "id": rid, "p": "json", "s": status, "e": "", "n": len(rows or []),
            "c": columns, "x": rows, "o": outputs, "l": 2.5, "t": t}


def test_rows_of_mixed_types_refusals_and_clashing_names_come_back_as_logged(tmp_path):
    records = [
        _record("r1", T0, ["city", "age", "status"], [["Oslo", 31, 1.0], ["Lima", None, 0.0]], ["yes", "no"],
                proba=[[0.2, 0.8], [0.9, 0.1]]),
        _record("r2", T0 + 1, None, None, None, status=422),
        _record("r3", T0 + 2, ["city", "age", "status"], [[7, 40, 1.0]], ["yes"], proba=[[0.3, 0.7]]),
    ]
    batch_write(LocalFolder(tmp_path), tmp_path, records, {7: 3}, name="b1")
    frame = frame_read(LocalFolder(tmp_path), 1, datetime(2026, 3, 1, 9), datetime(2026, 3, 1, 10))

    assert frame["request_id"].tolist() == ["r1", "r1", "r2", "r3"]
    assert frame["row"].tolist()[:2] == [0, 1] and frame["row"].iloc[3] == 0
    assert frame["status"].tolist() == [200, 200, 422, 200]
    assert frame["model_version"].tolist() == [3, 3, 3, 3]
    city = frame["city"].tolist()
    assert city[:2] == ["Oslo", "Lima"] and pd.isna(city[2]) and city[3] == "7"  # a number among text: text
    assert frame["age"].iloc[0] == 31 and pd.isna(frame["age"].iloc[1]) and frame["age"].iloc[3] == 40
    assert frame["input.status"].tolist()[:2] == [1.0, 0.0]  # "status" is taken by the log's own column
    prediction = frame["prediction"].tolist()
    assert prediction[:2] == ["yes", "no"] and pd.isna(prediction[2]) and prediction[3] == "yes"
    assert [None if p is None else list(p) for p in frame["probabilities"]] == [[0.2, 0.8], [0.9, 0.1], None, [0.3, 0.7]]
    assert frame["created_at"].iloc[0] == pd.Timestamp(T0, unit="us", tz="UTC")


def test_a_column_some_files_lack_is_null_there_and_columns_limit_what_is_read(tmp_path):
    batch_write(LocalFolder(tmp_path), tmp_path, [_record("old", T0, ["a"], [[1.0]], [0])], {}, name="b1")
    batch_write(LocalFolder(tmp_path), tmp_path, [_record("new", T0 + 5, ["a", "b"], [[2.0, 3.0]], [1])], {}, name="b2")
    window = (datetime(2026, 3, 1, 9), datetime(2026, 3, 1, 10))

    both = frame_read(LocalFolder(tmp_path), 1, *window)
    only_a = frame_read(LocalFolder(tmp_path), 1, *window, columns=["a"])

    assert both["a"].tolist() == [1.0, 2.0]
    assert pd.isna(both["b"].iloc[0]) and both["b"].iloc[1] == 3.0
    assert "b" not in only_a and only_a["a"].tolist() == [1.0, 2.0]
    assert frame_read(LocalFolder(tmp_path), 1, *window, limit=1)["request_id"].tolist() == ["old"]


def test_writing_a_batch_again_under_its_name_replaces_it_and_hours_get_their_own_folders(tmp_path):
    hour_later = T0 + 3600 * 1_000_000
    records = [_record("x", T0, ["a"], [[1.0]], [0]), _record("y", hour_later, ["a"], [[2.0]], [1])]
    batch_write(LocalFolder(tmp_path), tmp_path, records, {}, name="b1")
    batch_write(LocalFolder(tmp_path), tmp_path, records, {}, name="b1")  # a drainer that crashed before acknowledging

    folders = sorted(p.name for p in (tmp_path / "predictions" / "1").iterdir())
    assert folders == ["2026-03-01T09", "2026-03-01T10"]
    frame = frame_read(LocalFolder(tmp_path), 1, datetime(2026, 3, 1), datetime(2026, 3, 2))
    assert frame["request_id"].tolist() == ["x", "y"]
    assert frame_read(LocalFolder(tmp_path), 2, datetime(2026, 3, 1), datetime(2026, 3, 2)).empty


def _dictionary_encoded(path) -> dict[str, bool]:
    """Column → whether its first row group is dictionary-encoded, from the Parquet metadata."""
    import pyarrow.parquet as pq

    group = pq.ParquetFile(path).metadata.row_group(0)
    return {group.column(i).path_in_schema: group.column(i).has_dictionary_page for i in range(group.num_columns)}


def test_a_batch_file_dictionary_encodes_its_text_columns_and_not_its_numbers(tmp_path):
    records = [_record(f"r{i}", T0 + i, ["city", "age"], [["Oslo", 30 + i]], [i * 0.5]) for i in range(50)]
    [key] = batch_write(LocalFolder(tmp_path), tmp_path, records, {7: 3}, name="b1")

    encoded = _dictionary_encoded(tmp_path / key)

    assert encoded["request_id"] and encoded["city"]
    assert not any(encoded[name] for name in ("age", "prediction", "latency_ms", "created_at", "row"))


def test_an_hour_whose_files_type_a_column_as_text_and_as_numbers_is_read_with_it_as_text(tmp_path):
    """Clients send ``"3"`` (or a blank) to one batch and ``3`` to the next: a window over
    the hour is read, the column as text, as compaction stores it."""
    store = LocalFolder(tmp_path)
    batch_write(store, tmp_path, [_record("text", T0, ["age", "b"], [["3", 1.0], ["", 2.0]], [0, 1])], {}, name="b1")
    batch_write(store, tmp_path, [_record("numbers", T0 + 5, ["age", "b"], [[3, 1.0], [41, 2.0]], [0, 1])], {},
                name="b2")
    window = (datetime(2026, 3, 1, 9), datetime(2026, 3, 1, 10))

    frame = frame_read(store, 1, *window)
    table = frame_table(store, 1, *window, ordered=False)

    assert frame["age"].tolist() == ["3", "", "3", "41"]
    assert frame["b"].tolist() == [1.0, 2.0, 1.0, 2.0]  # a column the files agree on keeps its type
    assert table.schema.field("age").type == pa.string() and table.num_rows == 4


def test_a_batch_whose_column_sets_type_a_column_as_text_and_as_numbers_is_written_with_it_as_text(tmp_path):
    """Requests of one batch sent different columns, and ``age`` as text in one, as a
    number in another: the batch is written (not refused, to be retried or set aside)."""
    store = LocalFolder(tmp_path)
    records = [_record("text", T0, ["age", "b"], [["3", 1.0]], [0]), _record("number", T0 + 1, ["age", "c"], [[3, 2.0]], [1])]
    batch_write(store, tmp_path, records, {}, name="b1")

    frame = frame_read(store, 1, datetime(2026, 3, 1, 9), datetime(2026, 3, 1, 10))

    assert frame["age"].tolist() == ["3", "3"]
    assert frame["b"].iloc[0] == 1.0 and frame["c"].iloc[1] == 2.0
