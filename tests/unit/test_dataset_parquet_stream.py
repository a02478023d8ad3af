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


# --- Parquet uploads, copied batch by batch -------------------------------------------------------


def _parquet_file(path, table, row_group_size: int) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, path, row_group_size=row_group_size)


def test_a_parquet_upload_is_copied_in_batches_into_the_same_table_parquet_read_gives(tmp_path):
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.services.dataset_parse import parquet_read, parquet_to_parquet

    frame = pd.DataFrame(
        {" age ": [31, 40, 52, 18, 77], "city": ["Oslo", "Rome", None, "Oslo", "Lima"]},
        index=[10, 11, 12, 13, 14],  # pandas writes this index as a column; it is not a table column
    )
    table = pa.Table.from_pandas(frame).append_column(
        "price", pa.array([Decimal("1.25"), None, Decimal("2.50"), Decimal("3"), Decimal("0.1")], pa.decimal128(5, 2))
    )
    source = tmp_path / "in.parquet"
    _parquet_file(source, table, row_group_size=2)
    target = tmp_path / "out.parquet"

    with source.open("rb") as stream:
        converted = parquet_to_parquet(stream, str(target), batch_rows=2)
    whole = parquet_read(source.read_bytes())

    stored = pq.ParquetFile(target)
    assert converted.rows == 5 and stored.metadata.num_row_groups == 3  # written one batch at a time
    pd.testing.assert_frame_equal(pd.read_parquet(target), whole)
    assert list(whole.columns) == ["age", "city", "price"] and whole["price"].dtype == "float64"


def test_a_parquet_upload_with_columns_but_no_rows_is_refused(tmp_path):
    import pyarrow as pa

    from pipelines.services.dataset_parse import parquet_to_parquet

    source = tmp_path / "empty.parquet"
    _parquet_file(source, pa.table({"a": pa.array([], pa.int64())}), row_group_size=10)

    with source.open("rb") as stream, pytest.raises(CsvError) as refused:
        parquet_to_parquet(stream, str(tmp_path / "out.parquet"))

    assert refused.value.message == "the file has columns but no rows"


def test_a_large_parquet_upload_never_holds_the_table_in_memory(tmp_path):
    """Arrow's peak allocation while copying 2,000,000 rows × 8 float columns (128 MB
    decoded) in a fresh process stays near one batch, not the table."""
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(0)
    table = pa.table({f"x{i}": rng.normal(size=2_000_000) for i in range(8)})
    source = tmp_path / "big.parquet"
    _parquet_file(source, table, row_group_size=250_000)
    decoded_mb = table.nbytes / 1e6
    del table
    script = (
        "import sys, pyarrow as pa\n"
        "from pipelines.services.dataset_parse import parquet_to_parquet\n"
        "with open(sys.argv[1], 'rb') as f: parquet_to_parquet(f, sys.argv[2])\n"
        "print(pa.default_memory_pool().max_memory())\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script, str(source), str(tmp_path / "out.parquet")],
        capture_output=True, text=True, cwd=root, check=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "mlops_studio.settings", "PYTHONPATH": str(root)},
    )
    peak_mb = int(out.stdout.split()[-1]) / 1e6

    assert decoded_mb > 120
    assert peak_mb < decoded_mb / 3, (peak_mb, decoded_mb)


# --- a column's type settled by a later chunk -----------------------------------------------------


def test_a_bool_column_with_blanks_only_after_the_first_chunk_stays_bool(tmp_path):
    data = b"flag,n\nTrue,1\nFalse,2\nTrue,3\n,4\nFalse,5\n"

    table, _ = converted(tmp_path, data)
    whole, _ = csv_read(data)

    assert [type(v) for v in table["flag"].dropna()] == [bool] * 4  # not the text "True"
    assert table["flag"].dropna().tolist() == whole["flag"].dropna().tolist() == [True, False, True, False]
    assert table["flag"].isna().tolist() == whole["flag"].isna().tolist() == [False, False, False, True, False]


def test_a_bool_column_with_blanks_only_in_the_first_chunk_stays_bool(tmp_path):
    data = b"flag,n\nTrue,1\n,2\nTrue,3\nFalse,4\nFalse,5\n"

    table, _ = converted(tmp_path, data)

    assert [type(v) for v in table["flag"].dropna()] == [bool] * 4
    assert table["flag"].isna().tolist() == [False, True, False, False, False]


def test_a_bool_column_with_text_after_the_first_chunk_is_text_as_when_read_whole(tmp_path):
    data = b"flag,n\nTrue,1\nFalse,2\nmaybe,3\nTrue,4\n"

    table, _ = converted(tmp_path, data)
    whole, _ = csv_read(data)

    assert table["flag"].tolist() == whole["flag"].tolist() == ["True", "False", "maybe", "True"]


def test_a_decimal_comma_appearing_only_after_the_first_chunk_makes_the_column_numbers(tmp_path):
    data = b"price;city\n3;a\n4;b\n1,5;c\n2;d\n7,25;e\n"

    table, result = converted(tmp_path, data)
    whole, options = csv_read(data)

    assert table["price"].tolist() == whole["price"].tolist() == [3.0, 4.0, 1.5, 2.0, 7.25]
    assert table["price"].dtype == "float64"
    assert result.options.decimal == options.decimal == "comma"


def test_a_column_of_decimal_commas_then_words_after_the_first_chunk_is_text_as_when_read_whole(tmp_path):
    data = b"code;city\n1,5;a\n2;b\nx1;c\nx2;d\nx3;e\nx4;f\n"

    table, _ = converted(tmp_path, data)
    whole, _ = csv_read(data)

    assert table["code"].tolist() == whole["code"].tolist() == ["1,5", "2", "x1", "x2", "x3", "x4"]
