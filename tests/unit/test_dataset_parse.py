"""Reading uploaded CSV: every malformed kind gets its own line-numbered message, and its option."""

import pandas as pd
import pytest

from pipelines.services.dataset_parse import (
    CsvError,
    csv_encoding,
    csv_parse,
    csv_read,
    is_parquet,
    parquet_read,
)


def refusal(data: bytes, **options) -> CsvError:
    with pytest.raises(CsvError) as refused:
        csv_read(data, **options)
    return refused.value


# --- duplicate and empty header names -------------------------------------------------------


def test_duplicate_column_names_are_refused_with_their_positions_instead_of_renamed():
    error = refusal(b"id,score,id\n1,2,3\n")

    assert error.message == "line 1: duplicate column names: 'id' at columns 1, 3; give every column its own name"
    assert error.details == {"field": "file", "line": 1}


def test_names_that_differ_only_by_surrounding_spaces_count_as_duplicates():
    assert "duplicate column names: 'a' at columns 1, 2" in refusal(b"a, a\n1,2\n").message


def test_an_empty_column_name_is_refused_with_its_position():
    error = refusal(b"a,,c\n1,2,3\n")

    assert error.message.startswith("line 1: the header has 1 empty column name(s) (at position 2)")


# --- ragged lines -----------------------------------------------------------------------------


def test_a_short_line_is_refused_with_its_line_and_the_option_that_accepts_it():
    error = refusal(b"a,b,c\n1,2,3\n4,5\n6,7,8\n")

    assert error.message == (
        "line 3 has 2 field(s); the header has 3. Fix the line(s), or choose "
        "short_lines: fill to read the missing fields as empty"
    )
    assert error.details == {"field": "short_lines", "line": 3}


def test_short_lines_fill_reads_the_missing_fields_as_empty():
    df, options = csv_read(b"a,b,c\n1,2,3\n4,5\n", short_lines="fill")

    assert df["c"].isna().tolist() == [False, True]
    assert options.short_lines == "fill"


def test_a_long_line_deep_in_the_file_is_refused_with_its_line_not_pandas_text():
    data = b"a,b\n" + b"1,2\n" * 500 + b"3,4,5\n"

    error = refusal(data)

    assert error.message == "line 502 has 3 fields; the header has 2"
    assert error.details == {"field": "file", "line": 502}


def test_several_ragged_lines_are_listed_with_a_count_of_the_rest():
    data = b"a,b\n" + b"1,2,3\n" * 8

    error = refusal(data)

    assert error.message == (
        "line 2 has 3 fields; the header has 2 (also line 3 has 3, line 4 has 3, line 5 has 3, "
        "line 6 has 3 and 3 more line(s))"
    )


def test_line_numbers_count_blank_lines_and_quoted_line_breaks():
    data = b'a,b\n\n"multi\nline",2\n1,2,3\n'

    assert refusal(data).details["line"] == 5


# --- decimal commas ----------------------------------------------------------------------------


def test_decimal_commas_in_a_semicolon_file_are_read_as_numbers():
    df, options = csv_read(b"price;qty\n1,5;2\n1.234,25;4\n-0,75;1\n")

    assert df["price"].dtype == "float64"
    assert df["price"].tolist() == [1.5, 1234.25, -0.75]
    assert options.decimal == "comma" and options.delimiter == "semicolon"


def test_a_column_that_is_almost_all_decimal_commas_names_the_lines_that_are_not_numbers():
    data = b"price;name\n" + b"1,5;x\n" * 20 + b"1,5 kg;y\n"

    error = refusal(data)

    assert error.message == (
        "column 'price' holds decimal-comma numbers but 1 value(s) are not numbers: line 22 ('1,5 kg'); "
        "fix them, or choose decimal: dot to keep the column as text"
    )
    assert error.details["line"] == 22


def test_decimal_dot_keeps_decimal_comma_text_as_text():
    df = csv_parse(b"price;qty\n1,5;2\n", decimal="dot")

    assert df["price"].tolist() == ["1,5"]


def test_a_chosen_decimal_comma_reads_the_file_with_it():
    df = csv_parse(b"a\tb\n1,5\t2\n", delimiter="tab", decimal="comma")

    assert df["a"].tolist() == [1.5]


def test_a_decimal_comma_with_a_comma_delimiter_is_refused():
    error = refusal(b"a,b\n1,2\n", delimiter="comma", decimal="comma")

    assert error.details == {"field": "decimal"}


def test_text_with_commas_in_a_semicolon_file_stays_text():
    df = csv_parse(b"name;note\nx;a, b\ny;c, d\n")

    assert df["note"].tolist() == ["a, b", "c, d"]


# --- encodings ---------------------------------------------------------------------------------


def test_windows_1252_is_detected_when_the_bytes_are_not_utf8():
    df, options = csv_read("name,city\nJosé,Köln\n".encode("cp1252"))

    assert df["city"].tolist() == ["Köln"] and options.encoding == "cp1252"


def test_utf16_with_a_byte_order_mark_is_detected():
    df, options = csv_read("name,city\nJosé,Köln\n".encode("utf-16"))

    assert df["name"].tolist() == ["José"] and options.encoding == "utf-16"


def test_a_chosen_encoding_that_does_not_fit_names_the_line_and_column_of_the_first_bad_byte():
    with pytest.raises(CsvError) as refused:
        csv_encoding("name,city\nJosé,Köln\n".encode("cp1252"), encoding="utf-8")

    assert refused.value.message.startswith("line 2, column 4: byte 0xe9 is not utf-8 text;")
    assert refused.value.details == {"field": "encoding", "line": 2, "column": 4}


def test_an_unknown_option_value_names_its_field():
    assert refusal(b"a,b\n1,2\n", encoding="ebcdic").details == {"field": "encoding"}
    assert refusal(b"a,b\n1,2\n", decimal="space").details == {"field": "decimal"}
    assert refusal(b"a,b\n1,2\n", short_lines="drop").details == {"field": "short_lines"}


def test_values_are_kept_at_full_precision():
    df = csv_parse(b"x\n0.123456789012\n")

    assert df["x"].tolist() == [0.123456789012]
    assert isinstance(df, pd.DataFrame)


# --- Parquet -------------------------------------------------------------------------------------


def _parquet(table) -> bytes:
    import io

    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_a_flat_parquet_file_is_read_with_its_types():
    import pyarrow as pa

    df = parquet_read(_parquet(pa.table({"age": [31, 40], "city": ["Oslo", "Rome"], "score": [1.5, None]})))

    assert df.dtypes["age"] == "int64" and df["city"].tolist() == ["Oslo", "Rome"]
    assert df["score"].isna().tolist() == [False, True]


def test_nested_parquet_columns_are_refused_by_name():
    import pyarrow as pa

    data = _parquet(pa.table({"id": [1], "tags": [["a", "b"]], "where": [{"x": 1}]}))

    with pytest.raises(CsvError) as refused:
        parquet_read(data)

    assert refused.value.message == (
        "nested columns cannot be used as table columns: 'tags' (list<element: string>), "
        "'where' (struct<x: int64>); flatten them (one value per cell) and upload again"
    )


def test_bytes_that_only_look_like_parquet_are_refused():
    with pytest.raises(CsvError) as refused:
        parquet_read(b"PAR1" + b"\x00" * 20 + b"PAR1")

    assert refused.value.message.startswith("the Parquet file could not be read:")


def test_a_csv_is_not_taken_for_parquet():
    assert not is_parquet(b"a,b\n1,2\n") and not is_parquet(b"PAR1")
    with pytest.raises(CsvError, match="not Parquet"):
        parquet_read(b"a,b\n1,2\n")


def test_parquet_decimals_become_floats_and_duplicate_names_are_refused():
    from decimal import Decimal

    import pyarrow as pa

    df = parquet_read(_parquet(pa.table({"price": pa.array([Decimal("1.25")], pa.decimal128(5, 2))})))
    assert df["price"].dtype == "float64" and df["price"].tolist() == [1.25]

    twice = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(CsvError, match="the Parquet schema: duplicate column names: 'a' at columns 1, 2"):
        parquet_read(_parquet(twice))
