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
