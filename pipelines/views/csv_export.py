"""Tables as CSV files that are safe to open in a spreadsheet (plain pandas, no Django).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is run as a formula by Excel, LibreOffice and Google Sheets ("CSV injection").
OWASP's escaping prefixes such cells with a single quote, which the spreadsheet
shows as text. Numeric, boolean and date columns are written unchanged: ``-1.5``
in a float column is a number, not a formula, and must stay one.
"""

from __future__ import annotations

from typing import IO

import pandas as pd

# The characters that make a spreadsheet read a cell as a formula (OWASP CSV Injection).
FORMULA_START = r"[=+\-@\t\r]"


def _is_text_column(dtype) -> bool:
    """Columns that may hold strings: object, string and category; never numbers or dates."""
    types = pd.api.types
    return not (
        types.is_numeric_dtype(dtype)  # includes bool
        or types.is_datetime64_any_dtype(dtype)
        or types.is_timedelta64_dtype(dtype)
    )


def escape_text(values: pd.Series) -> pd.Series:
    """``values`` with every string that starts like a formula prefixed by ``'``; other values as they are."""
    values = values.astype(object)  # categories and string dtypes: room for the new text
    try:
        risky = values.str.match(FORMULA_START, na=False).astype(bool)
    except AttributeError:  # not a single string in the column
        return values
    return values.mask(risky, "'" + values.astype(str))


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its text cells and column names escaped; numeric columns untouched.

    Works column by column with pandas string operations: no Python loop over rows.
    """
    safe = frame.copy(deep=False)
    for position, dtype in enumerate(frame.dtypes):
        if not _is_text_column(dtype):
            continue
        safe.isetitem(position, escape_text(frame.iloc[:, position]))
    safe.columns = escape_text(pd.Series(list(frame.columns), dtype=object)).tolist()
    return safe


def write_csv(frame: pd.DataFrame, buffer: IO[str]) -> None:
    """Write ``frame`` as a spreadsheet-safe CSV with a header row and no index.

    Lines end in CRLF (RFC 4180): the writer then quotes every cell holding a
    CR or LF, so a stray carriage return cannot split a row in two.
    """
    csv_safe(frame).to_csv(buffer, index=False, lineterminator="\r\n")
