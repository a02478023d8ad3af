"""Table downloads escape formula-like text cells (OWASP CSV injection) and leave numbers alone."""

from __future__ import annotations

import csv
import io

import pandas as pd

from pipelines.views.csv_export import csv_safe, write_csv

ATTACKS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\tcmd", "\rcmd"]


def _rows(frame: pd.DataFrame) -> list[list[str]]:
    buffer = io.StringIO()
    write_csv(frame, buffer)
    return list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))


def test_text_cells_that_start_like_a_formula_get_a_leading_quote():
    rows = _rows(pd.DataFrame({"name": ATTACKS}))

    assert [r[0] for r in rows[1:]] == ["'" + a for a in ATTACKS]


def test_ordinary_text_and_formula_characters_later_in_a_cell_are_unchanged():
    rows = _rows(pd.DataFrame({"name": ["plain", "a=b", "x-1", "", None]}))

    assert [r[0] for r in rows[1:]] == ["plain", "a=b", "x-1", "", ""]


def test_numeric_boolean_and_date_columns_are_written_as_they_are():
    frame = pd.DataFrame(
        {"x": [-1.5, 2.0], "n": [-3, 4], "ok": [True, False], "day": pd.to_datetime(["2024-01-01", "2024-01-02"])}
    )

    rows = _rows(frame)

    assert rows == [["x", "n", "ok", "day"], ["-1.5", "-3", "True", "2024-01-01"], ["2.0", "4", "False", "2024-01-02"]]


def test_mixed_and_category_columns_escape_only_their_text():
    frame = pd.DataFrame({"mixed": [-7, "=1+1", 2.5], "cat": pd.Categorical(["@x", "ok", "@x"])})

    rows = _rows(frame)

    assert [r[0] for r in rows[1:]] == ["-7", "'=1+1", "2.5"]
    assert [r[1] for r in rows[1:]] == ["'@x", "ok", "'@x"]


def test_column_names_that_start_like_a_formula_are_escaped_too():
    assert _rows(pd.DataFrame({"=cmd": [1], "fine": [2]}))[0] == ["'=cmd", "fine"]


def test_the_original_frame_is_not_modified():
    frame = pd.DataFrame({"name": ["=1"]})

    csv_safe(frame)

    assert frame["name"].tolist() == ["=1"] and list(frame.columns) == ["name"]
