"""Each malformed upload kind answers its own line-numbered message, through the API and the page."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.models import Dataset

pytestmark = pytest.mark.django_db

# (file bytes, options, status, message, field, line)
MALFORMED = {
    "duplicate header": (
        b"id,score,id\n1,2,3\n", {}, 400,
        "line 1: duplicate column names: 'id' at columns 1, 3; give every column its own name", "file", 1,
    ),
    "short line": (
        b"a,b,c\n1,2,3\n4,5\n", {}, 400,
        "line 3 has 2 field(s); the header has 3. Fix the line(s), or choose short_lines: fill to read "
        "the missing fields as empty", "short_lines", 3,
    ),
    "long line": (b"a,b\n1,2\n3,4\n5,6,7\n", {}, 400, "line 4 has 3 fields; the header has 2", "file", 4),
    "decimal comma column with a word in it": (
        b"price;qty\n" + b"1,5;2\n" * 10 + b"about 2;3\n", {}, 400,
        "column 'price' holds decimal-comma numbers but 1 value(s) are not numbers: line 12 ('about 2'); "
        "fix them, or choose decimal: dot to keep the column as text", "file", 12,
    ),
    "wrong chosen encoding": (
        "a,b\nJosé,1\n".encode("cp1252"), {"encoding": "utf-8"}, 400,
        "line 2, column 4: byte 0xe9 is not utf-8 text; choose the file's encoding "
        "(utf-8, utf-16, cp1252, latin-1) and upload again", "encoding", 2,
    ),
}


def _csv(data: bytes, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_the_api_answers_each_malformed_kind_with_its_message_field_and_line(owner_api, kind):
    data, options, status, message, field, line = MALFORMED[kind]

    response = owner_api.post("/api/datasets/", {"file": _csv(data), **options}, format="multipart")

    assert response.status_code == status, response.content
    body = response.json()
    assert body["detail"] == message
    assert body["field"] == field and body["line"] == line
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_the_page_shows_each_malformed_kind_with_its_message(client, owner, kind):
    data, options, status, message, _field, _line = MALFORMED[kind]
    client.force_login(owner)

    response = client.post("/datasets/", {"file": _csv(data), **options})

    assert response.status_code == status
    assert message in html.unescape(response.content.decode())
    assert not Dataset.objects.exists()


def test_the_api_reads_decimal_commas_and_records_how_it_read_the_file(owner_api):
    response = owner_api.post(
        "/api/datasets/", {"file": _csv("price;city\n1,5;Köln\n2,25;Wien\n".encode("cp1252"))}, format="multipart"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert {c["name"]: c["dtype"] for c in body["columns"]}["price"] == "float64"
    assert body["preview"]["rows"][0] == [1.5, "Köln"]
    assert body["read_options"] == {
        "format": "csv", "delimiter": "semicolon", "decimal": "comma", "encoding": "cp1252", "short_lines": "refuse",
    }


def test_the_api_fills_short_lines_when_asked(owner_api):
    response = owner_api.post(
        "/api/datasets/", {"file": _csv(b"a,b,c\n1,2,3\n4,5\n"), "short_lines": "fill"}, format="multipart"
    )

    assert response.status_code == 201, response.content
    assert response.json()["n_rows"] == 2


def test_the_page_offers_the_reading_options(client, owner):
    client.force_login(owner)

    page = client.get("/datasets/").content.decode()

    for name in ("delimiter", "decimal", "encoding", "short_lines"):
        assert f'name="{name}"' in page


def test_the_detail_page_shows_preview_values_unrounded_and_no_raw_hash_as_a_parameter(client, owner):
    client.force_login(owner)

    response = client.post("/datasets/", {"file": _csv(b"x,y\n0.123456789,12345678.5\n")}, follow=True)

    page = response.content.decode()
    assert "0.123456789" in page and "12345678.5" in page
    assert "Block parameter" not in page


# --- Parquet ----------------------------------------------------------------------------------


def _parquet(columns: dict) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def test_a_parquet_upload_is_stored_with_its_column_types(owner_api):
    data = _parquet({"age": [31, 40, 52], "city": ["Oslo", "Rome", None]})

    response = owner_api.post("/api/datasets/", {"file": _csv(data, "people.parquet")}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "people" and body["n_rows"] == 3
    assert [c["name"] for c in body["columns"]] == ["age", "city"]
    assert body["read_options"] == {"format": "parquet"}


def test_a_parquet_file_with_nested_columns_is_refused_naming_them(owner_api, client, owner):
    data = _parquet({"id": [1], "tags": [["a", "b"]]})

    response = owner_api.post("/api/datasets/", {"file": _csv(data, "t.parquet")}, format="multipart")
    client.force_login(owner)
    page = client.post("/datasets/", {"file": _csv(data, "t.parquet")})

    message = (
        "nested columns cannot be used as table columns: 'tags' (list<element: string>); "
        "flatten them (one value per cell) and upload again"
    )
    assert response.status_code == 400 and response.json() == {"detail": message, "field": "file"}
    assert page.status_code == 400 and message in html.unescape(page.content.decode())
    assert not Dataset.objects.exists()


def test_a_file_named_parquet_that_is_not_parquet_is_refused(owner_api):
    response = owner_api.post("/api/datasets/", {"file": _csv(b"a,b\n1,2\n", "t.parquet")}, format="multipart")

    assert response.status_code == 400
    assert response.json()["detail"] == "the file is not Parquet: a Parquet file starts and ends with PAR1"


# --- profile --------------------------------------------------------------------------------------


def test_an_upload_is_profiled_once_and_the_page_draws_it(owner_api, client, owner):
    data = b"age,city\n" + b"".join(f"{20 + i % 40},{'Oslo' if i % 3 else 'Rome'}\n".encode() for i in range(90))

    body = owner_api.post("/api/datasets/", {"file": _csv(data)}, format="multipart").json()
    client.force_login(owner)
    page = client.get(f"/datasets/{body['id']}/").content.decode()

    age, city = body["profile"]["columns"]
    assert (age["min"], age["max"], age["distinct"]) == (20, 59, 40)
    assert sum(age["histogram"]["counts"]) == 90
    assert city["top"] == [{"value": "Oslo", "count": 60}, {"value": "Rome", "count": 30}]
    assert Dataset.objects.get().profile == body["profile"]
    assert 'aria-label="histogram of age"' in page and page.count('class="ds-top-label mono"') == 2


def test_an_upload_spooled_to_disk_is_read_from_the_file_in_chunks(owner_api, settings, monkeypatch):
    from pipelines.services import dataset_parse

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # Django writes anything larger to a temporary file
    monkeypatch.setattr(dataset_parse, "CHUNK_BYTES", 4096)  # many chunks, a character split between two
    data = b"name;price\n" + "".join(f"Jöhn {i};{i},5\n" for i in range(3000)).encode()

    response = owner_api.post("/api/datasets/", {"file": _csv(data)}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["n_rows"] == 3000 and body["read_options"]["decimal"] == "comma"
    assert body["preview"]["rows"][1] == ["Jöhn 1", 1.5]


def test_a_bad_byte_far_into_a_chunked_file_is_located_by_line_and_column(owner_api, monkeypatch):
    from pipelines.services import dataset_parse

    monkeypatch.setattr(dataset_parse, "CHUNK_BYTES", 64)
    data = b"a,b\n" + b"1,2\n" * 100 + b"3,x\xff\n"

    response = owner_api.post("/api/datasets/", {"file": _csv(data), "encoding": "utf-8"}, format="multipart")

    assert response.status_code == 400
    assert (response.json()["line"], response.json()["column"]) == (102, 4)


def test_the_list_leaves_profiles_out_and_the_detail_has_them(owner_api):
    created = owner_api.post("/api/datasets/", {"file": _csv(b"a,b\n1,x\n2,y\n")}, format="multipart").json()

    listed = owner_api.get("/api/datasets/").json()["results"][0]
    detail = owner_api.get(f"/api/datasets/{created['id']}/").json()

    assert "profile" not in listed and listed["version"] == 1
    assert [c["name"] for c in detail["profile"]["columns"]] == ["a", "b"]


def test_after_a_refusal_the_page_keeps_the_chosen_options(client, owner):
    client.force_login(owner)

    response = client.post(
        "/datasets/", {"file": _csv(b"a;b\n1;2\n3\n"), "name": "sales", "delimiter": "semicolon", "decimal": "comma"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert '<option value="semicolon" selected>' in page and '<option value="comma" selected>' in page
    assert 'value="sales"' in page
