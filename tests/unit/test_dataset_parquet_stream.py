"""Converting a large CSV to Parquet chunk by chunk: the table, the types and the refusals of reading it whole."""

import io

import pandas as pd
import pytest

from pipelines.services.dataset_parse import CsvError, csv_read, csv_to_parquet


def converted(tmp_path, data: bytes, **options) -> tuple[pd.DataFrame, object]:
    target = tmp_path / "out.parquet"
    result = csv_to_parquet(io.BytesIO(data), str(target), chunk_rows=2, **options)
    return pd.read_parquet(target), result


def test_chunks_give_the_same_table_and_types_as_reading_the_file_whole(tmp_path):
    # An integer column with a blank in the third chunk, a column blank in the first chunk and text later.
    data = b"n,later,word\n1,,a\n2,,b\n3,,c\n4,x,d\n,y,e\n6,,f\n"

    table, result = converted(tmp_path, data)
    whole, options = csv_read(data)

    pd.testing.assert_frame_equal(table, whole)
    assert (result.rows, result.options) == (6, options)
    assert list(result.head.columns) == ["n", "later", "word"]


def test_decimal_commas_are_read_as_numbers_in_every_chunk(tmp_path):
    data = b"price;city\n1,5;a\n2,25;b\n3;c\n4,75;d\n5,5;e\n"

    table, result = converted(tmp_path, data)

    assert table["price"].tolist() == [1.5, 2.25, 3.0, 4.75, 5.5]
    assert result.options.decimal == "comma"


def test_a_short_line_far_down_is_refused_with_its_line_as_when_read_whole(tmp_path):
    data = b"a,b\n1,2\n3,4\n5,6\n7\n"

    with pytest.raises(CsvError) as chunked:
        converted(tmp_path, data)
    with pytest.raises(CsvError) as whole:
        csv_read(data)

    assert chunked.value.message == whole.value.message
    assert chunked.value.details == whole.value.details == {"field": "short_lines", "line": 5}


def test_a_header_without_rows_is_refused(tmp_path):
    with pytest.raises(CsvError) as refused:
        converted(tmp_path, b"a,b\n")

    assert refused.value.message == "the file has a header but no rows"
