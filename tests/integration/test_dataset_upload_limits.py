"""CSV uploads: bounded delimiter detection, an explicit delimiter, sizes checked before reading."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from pipelines.models import Dataset
from pipelines.services.datasets import CsvError, csv_parse, detect_delimiter

# 64 KB that kept csv.Sniffer backtracking for 20 s of web-process CPU.
QUOTE_HEAVY = b"a,b\n" + b',"' * 32768
QUOTE_HEAVY_REFUSAL = "line 2 has 16,385 fields; the header has 2"


def _csv(data: bytes, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


# --- detection and parsing, no HTTP ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a;b\n1,5;2,5\n3,1;4,2\n", ";"),  # decimal commas inside a semicolon file
        ("name,note\nx,a;b\ny,c\n", ","),  # semicolons inside a comma file
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('"a;b",c\n1,2\n', ","),  # a quoted delimiter does not count
        ("x\n1\n2\n", ","),  # one column
    ],
)
def test_the_delimiter_is_the_one_that_splits_the_head_consistently(text, expected):
    assert detect_delimiter(text) == expected


def test_detection_reads_only_the_head_of_the_file():
    # Past the first 64 KB the file switches to pipes; detection never sees them.
    text = "a,b\n" + "1,2\n" * 20_000 + "x|y|z\n" * 100_000

    assert detect_delimiter(text) == ","


def test_a_chosen_delimiter_is_used_as_given():
    data = b"a;b,c\n1;2,3\n"

    assert list(csv_parse(data, delimiter="semicolon").columns) == ["a", "b,c"]
    assert list(csv_parse(data, delimiter="comma").columns) == ["a;b", "c"]


def test_an_unknown_delimiter_choice_is_refused_naming_the_choices():
    with pytest.raises(CsvError) as refused:
        csv_parse(b"a,b\n1,2\n", delimiter="colon")

    assert refused.value.message == "delimiter: must be one of auto, comma, semicolon, tab, pipe (got 'colon')"
    assert refused.value.details == {"field": "delimiter"}


def test_rows_ending_in_one_empty_trailing_field_are_still_accepted():
    df = csv_parse(b"a,b\n1,2,\n3,4,\n")

    assert list(df.columns) == ["a", "b"] and df["b"].tolist() == [2, 4]


def test_a_first_row_wider_than_the_header_is_refused_with_its_line_instead_of_truncated():
    with pytest.raises(CsvError) as refused:
        csv_parse(b"a,b\n\n1,2,3\n")

    assert refused.value.message == "line 3 has 3 fields; the header has 2"
    assert refused.value.details == {"field": "file", "line": 3}


def test_a_header_of_ten_thousand_columns_is_refused_before_pandas_reads_it():
    started = time.perf_counter()
    with pytest.raises(CsvError) as refused:
        csv_parse(b"a," * 10_000 + b"b\n1\n")

    assert time.perf_counter() - started < 0.5  # pandas alone took 8 s
    assert refused.value.message == "the file has 10,001 columns; at most 2000 are allowed"


def test_the_quote_heavy_file_is_parsed_in_well_under_a_second_with_any_delimiter():
    for delimiter in ("auto", "comma", "semicolon", "tab", "pipe"):
        started = time.perf_counter()
        try:
            csv_parse(QUOTE_HEAVY, delimiter=delimiter)
        except CsvError:
            pass
        assert time.perf_counter() - started < 0.5, delimiter


# --- the API ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_answers_the_quote_heavy_file_in_under_a_second(owner_api):
    # The first request of a process pays for imports; measure the file, not them.
    assert owner_api.post("/api/datasets/", {"file": _csv(b"x,y\n1,2\n")}, format="multipart").status_code == 201
    started = time.perf_counter()
    response = owner_api.post("/api/datasets/", {"file": _csv(QUOTE_HEAVY)}, format="multipart")
    elapsed = time.perf_counter() - started

    assert elapsed < 1, f"{elapsed:.2f} s"
    assert response.status_code == 400
    assert response.json() == {"detail": QUOTE_HEAVY_REFUSAL, "field": "file", "line": 2}
    assert Dataset.objects.count() == 1  # the warm-up upload only


@pytest.mark.django_db
def test_the_api_reads_the_file_with_the_chosen_delimiter(owner_api):
    response = owner_api.post(
        "/api/datasets/", {"file": _csv(b"a;b,c\n1;2,3\n"), "delimiter": "semicolon"}, format="multipart"
    )

    assert response.status_code == 201, response.content
    assert [c["name"] for c in response.json()["columns"]] == ["a", "b,c"]


@pytest.mark.django_db
def test_the_api_refuses_an_unknown_delimiter_naming_the_field(owner_api):
    response = owner_api.post(
        "/api/datasets/", {"file": _csv(b"a,b\n1,2\n"), "delimiter": ":"}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"delimiter": ['":" is not a valid choice.']}


@pytest.mark.django_db
def test_the_api_checks_the_uploaded_files_size_before_reading_it(owner_api, settings):
    settings.DATASET_MAX_BYTES = 100

    response = owner_api.post("/api/datasets/", {"file": _csv(b"a,b\n" + b"1,2\n" * 250)}, format="multipart")

    assert response.status_code == 413
    assert response.json() == {"detail": "the file is 1,004 bytes; the limit is 100 bytes", "field": "file"}


# --- the /datasets/ page ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_answers_the_quote_heavy_file_in_under_a_second(client, owner):
    client.force_login(owner)
    assert client.post("/datasets/", {"file": _csv(b"x,y\n1,2\n")}).status_code == 302  # warm-up

    started = time.perf_counter()
    response = client.post("/datasets/", {"file": _csv(QUOTE_HEAVY)})
    elapsed = time.perf_counter() - started

    assert elapsed < 1, f"{elapsed:.2f} s"
    assert response.status_code == 400
    assert QUOTE_HEAVY_REFUSAL in response.content.decode()
    assert Dataset.objects.count() == 1  # the warm-up upload only


@pytest.mark.django_db
def test_the_page_offers_the_delimiter_and_uses_the_chosen_one(client, owner):
    client.force_login(owner)
    assert '<select name="delimiter">' in client.get("/datasets/").content.decode()

    response = client.post("/datasets/", {"file": _csv(b"a;b,c\n1;2,3\n"), "delimiter": "semicolon"})

    assert response.status_code == 302
    assert [c["name"] for c in Dataset.objects.get().columns] == ["a", "b,c"]


@pytest.mark.django_db
def test_the_page_refuses_an_unknown_delimiter_with_a_clear_message(client, owner):
    client.force_login(owner)

    response = client.post("/datasets/", {"file": _csv(b"a,b\n1,2\n"), "delimiter": "colon"})

    assert response.status_code == 400
    assert "delimiter: must be one of auto, comma, semicolon, tab, pipe (got &#x27;colon&#x27;)" in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_the_page_refuses_an_upload_whose_content_length_is_too_large_without_reading_it(client, owner, settings):
    settings.DATASET_MAX_BYTES = 100
    client.force_login(owner)
    body = b"a,b\n" + b"1,2\n" * 300_000  # 1.2 MB: past the limit plus 1 MB for the form

    response = client.post("/datasets/", {"file": _csv(body)})

    assert response.status_code == 413
    assert "the upload is 1.2 MB; the limit is 100 bytes" in response.content.decode()
    stream = response.wsgi_request._stream  # Django's LimitedStream over the request body
    assert stream._pos < len(body) / 10, f"read {stream._pos} of {len(body)} bytes"
    assert not Dataset.objects.exists()


@pytest.mark.django_db
def test_the_page_stops_reading_a_file_once_it_passes_the_limit(client, owner, settings):
    settings.DATASET_MAX_BYTES = 100
    client.force_login(owner)

    response = client.post("/datasets/", {"file": _csv(b"a,b\n" + b"1,2\n" * 250)})

    assert response.status_code == 413
    assert "the file is larger than 100 bytes, the limit" in response.content.decode()
    assert not Dataset.objects.exists()


@pytest.mark.django_db
def test_the_page_still_checks_the_csrf_token_of_an_upload(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    forged = client.post("/datasets/", {"file": _csv(b"a,b\n1,2\n")})
    client.get("/datasets/")
    token = client.cookies["csrftoken"].value
    genuine = client.post("/datasets/", {"csrfmiddlewaretoken": token, "file": _csv(b"a,b\n1,2\n")})

    assert forged.status_code == 403
    assert genuine.status_code == 302
    assert Dataset.objects.count() == 1


@pytest.mark.django_db
def test_an_oversized_upload_with_a_valid_token_gets_413_not_a_csrf_failure(owner, settings):
    settings.DATASET_MAX_BYTES = 100
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get("/datasets/")
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/datasets/", {"csrfmiddlewaretoken": token, "file": _csv(b"a,b\n" + b"1,2\n" * 300_000)}
    )

    assert response.status_code == 413
    assert "the upload is 1.2 MB; the limit is 100 bytes" in response.content.decode()
