"""A CSV over the streaming threshold is converted chunk by chunk: the same dataset as one read whole."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.services import dataset_parse, datasets
from pipelines.services.artifacts import artifact_store

DATA = b"n;city;price\n" + b"".join(
    f"{i if i % 7 else ''};{'ab'[i % 2]};{i},5\n".encode() for i in range(1, 30)
)


def _upload(api, name: str) -> dict:
    file = SimpleUploadedFile(f"{name}.csv", DATA, content_type="text/csv")
    response = api.post("/api/datasets/", {"file": file, "name": name}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.django_db
def test_a_streamed_upload_stores_the_table_profile_and_preview_of_one_read_whole(owner_api, monkeypatch):
    whole = _upload(owner_api, "whole")
    monkeypatch.setattr(datasets, "STREAM_BYTES", 0)
    monkeypatch.setattr(dataset_parse, "CHUNK_ROWS", 4)
    streamed = _upload(owner_api, "streamed")

    for field in ("n_rows", "columns", "preview", "read_options", "profile"):
        assert streamed[field] == whole[field], field
    store = artifact_store()
    assert store.load(streamed["sha256"], "table").equals(store.load(whole["sha256"], "table"))
    assert streamed["read_options"]["decimal"] == "comma"


@pytest.mark.django_db
def test_a_streamed_upload_names_the_line_at_fault(owner_api, monkeypatch):
    monkeypatch.setattr(datasets, "STREAM_BYTES", 0)
    monkeypatch.setattr(dataset_parse, "CHUNK_ROWS", 4)
    file = SimpleUploadedFile("bad.csv", b"a,b\n1,2\n3,4\n5,6\n7,8,9\n", content_type="text/csv")

    response = owner_api.post("/api/datasets/", {"file": file}, format="multipart")

    assert response.status_code == 400
    assert "line 5 has 3 fields; the header has 2" in response.json()["detail"]


@pytest.mark.django_db
def test_a_parquet_upload_is_streamed_into_the_table_profile_and_preview_of_one_read_whole(owner_api, monkeypatch):
    """Parquet is copied batch by batch whatever its size; the dataset is the one a whole read made."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.execution.summaries import table_summary
    from pipelines.services.dataset_profile import table_profile

    monkeypatch.setattr(dataset_parse, "PARQUET_BATCH_ROWS", 4)
    n = 30
    table = pa.table({
        "n": pa.array([i if i % 7 else None for i in range(n)], pa.int64()),
        "city": ["Oslo", "Rome", None][:1] * 10 + ["Rome"] * 10 + [None] * 10,
        "price": [i * 1.5 for i in range(n)],
        "flag": [i % 3 == 0 for i in range(n)],
    })
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=8)
    file = SimpleUploadedFile("prices.parquet", sink.getvalue(), content_type="application/octet-stream")

    response = owner_api.post("/api/datasets/", {"file": file}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    whole = table.to_pandas()
    summary = table_summary(whole)
    assert body["n_rows"] == n and body["read_options"] == {"format": "parquet"}
    assert body["columns"] == summary["columns"] and body["preview"] == {"rows": summary["preview"]}
    assert body["profile"] == table_profile(whole)
    assert artifact_store().load(body["sha256"], "table").equals(whole)
