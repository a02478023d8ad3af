"""The dataset profile: per column type, missing share, distinct count, range, top values and histogram."""

import numpy as np
import pandas as pd
import pytest

from pipelines.services.dataset_profile import HISTOGRAM_BINS, column_profile, table_profile


def test_a_numeric_column_gets_its_range_mean_and_a_20_bin_histogram_of_every_value():
    profile = column_profile(pd.Series([1.0, 2.0, 2.0, None, 5.0], name="x"))

    assert (profile["kind"], profile["missing"], profile["missing_pct"]) == ("numeric", 1, 20.0)
    assert (profile["distinct"], profile["min"], profile["max"], profile["mean"]) == (3, 1.0, 5.0, 2.5)
    assert len(profile["histogram"]["counts"]) == HISTOGRAM_BINS == len(profile["histogram"]["edges"]) - 1
    assert sum(profile["histogram"]["counts"]) == 4
    assert profile["top"][0] == {"value": 2.0, "count": 2}


def test_a_text_column_gets_its_five_most_frequent_values_and_no_histogram():
    series = pd.Series(list("aaabbcdefg") + [None], name="letter")

    profile = column_profile(series)

    assert profile["kind"] == "text" and profile["histogram"] is None and profile["mean"] is None
    assert [t["value"] for t in profile["top"]][:2] == ["a", "b"]
    assert len(profile["top"]) == 5 and profile["distinct"] == 7


def test_infinities_are_left_out_of_the_range_but_shown_as_values():
    profile = column_profile(pd.Series([np.inf, 1.0, 3.0], name="x"))

    assert (profile["min"], profile["max"]) == (1.0, 3.0)
    assert {"value": "inf", "count": 1} in profile["top"]


def test_an_all_missing_column_has_no_range_and_no_histogram():
    profile = column_profile(pd.Series([None, None], dtype="float64", name="x"))

    assert profile["missing_pct"] == 100.0 and profile["min"] is None and profile["histogram"] is None


def test_the_table_profile_lists_every_column_in_order_as_plain_json():
    import json

    df = pd.DataFrame({"b": [1, 2], "a": ["x", "y"], "when": pd.to_datetime(["2024-01-01", "2024-02-01"])})

    profile = table_profile(df)

    assert [c["name"] for c in profile["columns"]] == ["b", "a", "when"]
    assert profile["columns"][2]["min"] == "2024-01-01T00:00:00"
    assert json.loads(json.dumps(profile, allow_nan=False)) == profile


def test_a_parquet_column_is_profiled_as_pandas_profiles_it_read_row_group_by_row_group(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.services.dataset_profile import parquet_column_profile

    table = pa.table({
        "int_blanks": pa.array([3, None, 1, 3, 7, None, 1, 3, 2], pa.int64()),
        "ints": pa.array([5, 4, 4, 5, 9, 9, 1, 0, 0], pa.int64()),
        "floats": [0.5, float("nan"), float("inf"), None, -0.0, 0.0, 0.5, 2.5, -1.0],
        "float32": pa.array([1.5, None, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], pa.float32()),
        "ties": [9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0],  # every count 1: the first five seen
        "text": ["b", None, "a", "b", "a", "c", None, "d", "e"],
        "blank": pa.array([None] * 9, pa.float64()),
        "blank_text": pa.array([None] * 9, pa.string()),
        "flags": [True, False, None, True, True, False, True, None, True],
        "when": pa.array([1, 2, None, 4, 5, 6, 7, 8, 9], pa.timestamp("s")),
    })
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=2)  # five row groups
    parquet = pq.ParquetFile(path)
    whole = pq.read_table(path).to_pandas()

    for column in table.column_names:
        assert parquet_column_profile(parquet, column) == column_profile(whole[column]), column


@pytest.mark.parametrize("seed", range(6))
def test_number_columns_with_ties_are_profiled_as_pandas_profiles_them(tmp_path, seed):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.services.dataset_profile import parquet_column_profile

    rng = np.random.default_rng(seed)
    n = 5000
    few = rng.choice([0.0, -0.0, 1.5, 2.5, 7.0, np.inf], size=n)  # heavy ties, signed zeros
    spread = rng.integers(0, 2500, size=n).astype(float)  # counts of 1-6, many tied at the cut
    distinct = rng.normal(size=n)  # every count 1: the first five seen
    ints = rng.integers(0, 40, size=n)
    table = pa.table({
        "few": pa.array(np.where(rng.random(n) < 0.1, np.nan, few)),
        "spread": pa.array(spread, mask=rng.random(n) < 0.05),
        "distinct": distinct,
        "ints": pa.array(ints, mask=rng.random(n) < 0.02),
    })
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=700)
    whole = pq.read_table(path).to_pandas()

    for column in table.column_names:
        assert parquet_column_profile(pq.ParquetFile(path), column) == column_profile(whole[column]), column
