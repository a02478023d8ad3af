"""Uploading CSV files as datasets."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter

import pandas as pd
from django.conf import settings

from ..errors import ApplicationError
from ..execution.summaries import table_summary
from ..models import Dataset, Workspace
from .artifacts import artifact_store, artifacts_record

MAX_COLUMNS = 2000

# The delimiter choices a user may name (API field ``delimiter``, the select on
# the /datasets/ page); "auto" detects one from the head of the file.
DELIMITERS: dict[str, str | None] = {"auto": None, "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
# Detection reads at most this many characters of the file, and this many records of them.
DETECT_BYTES = 64 * 1024
DETECT_RECORDS = 100

# The csv module refuses fields over 128 KB by default; a long text cell is
# legitimate and must not switch the shape check in csv_parse off. The limit is
# process-wide, so it is only ever raised, to what an upload can hold.
csv.field_size_limit(max(csv.field_size_limit(), settings.DATASET_MAX_BYTES))


class CsvError(ApplicationError):
    status = 400


def _line_of_byte(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def csv_parse(data: bytes, *, delimiter: str = "auto") -> pd.DataFrame:
    """Parse CSV bytes into a DataFrame, or raise CsvError saying where it went wrong.

    ``delimiter`` is a key of DELIMITERS; with anything but "auto" the file is
    read with that delimiter and nothing is guessed. Every step is linear in
    the size of the file, whatever its content.
    """
    if delimiter not in DELIMITERS:
        raise CsvError(
            f"delimiter: must be one of {', '.join(DELIMITERS)} (got {delimiter!r})",
            details={"field": "delimiter"},
        )
    if not data.strip():
        raise CsvError("the file is empty", details={"field": "file"})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _line_of_byte(data, exc.start)
        raise CsvError(
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {column}; "
            "save it as CSV UTF-8 and upload again",
            details={"field": "file", "line": line, "column": column},
        ) from exc
    if "\0" in text:
        raise CsvError("the file holds binary data, not CSV text", details={"field": "file"})
    sep = DELIMITERS[delimiter] or detect_delimiter(text)
    _check_shape(text, sep)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, index_col=False)
    except pd.errors.EmptyDataError as exc:
        raise CsvError("the file has no columns", details={"field": "file"}) from exc
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        message = str(exc).strip().splitlines()[-1]
        match = re.search(r"line (\d+)", message)
        details = {"field": "file"}
        if match:
            details["line"] = int(match.group(1))
        raise CsvError(f"the CSV could not be parsed: {message}", details=details) from exc
    if df.shape[1] > MAX_COLUMNS:
        raise CsvError(f"the file has {df.shape[1]} columns; at most {MAX_COLUMNS} are allowed")
    if len(df) == 0:
        raise CsvError("the file has a header but no rows", details={"field": "file"})
    unnamed = [str(c) for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed:
        raise CsvError(
            f"the header has {len(unnamed)} empty column name(s) (at position "
            f"{', '.join(str(list(df.columns).index(c) + 1) for c in unnamed)}); name every column",
            details={"field": "file", "line": 1},
        )
    df.columns = [str(c).strip() for c in df.columns]
    duplicated = df.columns[df.columns.duplicated()].tolist()
    if duplicated:
        raise CsvError(f"duplicate column names: {', '.join(duplicated)}", details={"line": 1})
    return df


def _check_shape(text: str, sep: str) -> None:
    """Refuse, before pandas sees them, the two shapes pandas takes seconds per KB over.

    A header of thousands of columns, and a first data row wider than the
    header (pandas drops the surplus fields one by one; ``index_col=False``
    lets a row end in one empty trailing field, as many exports write, and
    that stays allowed). Reads only the first two records, with the csv
    module's linear reader.
    """
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        # pandas skips blank lines, which the reader gives as [].
        header = next((r for r in reader if r), None)
        header_line = reader.line_num
        first = next((r for r in reader if r), None)
    except csv.Error:  # e.g. a bare carriage return: pandas reports it with its line
        return
    if header is None:
        return
    if len(header) > MAX_COLUMNS:
        raise CsvError(
            f"the file has {len(header):,} columns; at most {MAX_COLUMNS} are allowed",
            details={"field": "file", "line": header_line},
        )
    if first is None:
        return
    surplus = len(first) - len(header)
    if surplus > 1 or (surplus == 1 and first[-1] != ""):
        raise CsvError(
            f"line {reader.line_num} has {len(first):,} fields; the header has {len(header)}",
            details={"field": "file", "line": reader.line_num},
        )


def detect_delimiter(text: str) -> str:
    """The delimiter among , ; tab | that splits the head of ``text`` most consistently.

    Reads at most DETECT_BYTES characters and DETECT_RECORDS records, each
    candidate with the csv module's reader (a linear state machine, quotes
    understood). The winner gives the header more than one field and the most
    records with the header's field count; ties go to more fields, then to the
    order above. A file no candidate splits is one column, read as comma-separated.

    Not ``csv.Sniffer``: its quote-guessing regular expressions backtrack, and
    64 KB of ``,"`` kept a web process busy for 20 seconds.
    """
    head = text[:DETECT_BYTES]
    if len(text) > DETECT_BYTES and "\n" in head:
        head = head[: head.rindex("\n") + 1]  # no half record at the end
    best, best_score = ",", (0, 0)
    for candidate in (",", ";", "\t", "|"):
        if candidate not in head:
            continue
        records = csv.reader(io.StringIO(head), delimiter=candidate)
        try:
            widths = [len(r) for r in itertools.islice(records, DETECT_RECORDS)]
        except csv.Error:  # e.g. a bare carriage return; pandas reports it properly later
            continue
        if not widths or widths[0] < 2:
            continue
        counts = Counter(widths)
        score = (counts[widths[0]], widths[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def size_text(n: int) -> str:
    """``"52.4 MB"``, or ``"100 bytes"`` below 0.1 MB."""
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n:,} bytes"


def dataset_check_size(*, size: int) -> None:
    """Refuse (413) an upload over DATASET_MAX_BYTES; call it before reading the file."""
    limit = settings.DATASET_MAX_BYTES
    if size > limit:
        raise ApplicationError(
            f"the file is {size_text(size)}; the limit is {size_text(limit)}", status=413, details={"field": "file"}
        )


def dataset_upload(
    *, workspace: Workspace, user, name: str, filename: str, data: bytes, delimiter: str = "auto"
) -> Dataset:
    """Store ``data`` (CSV bytes) as a dataset of ``workspace``.

    Callers holding an upload check its size with ``dataset_check_size``
    before reading it; this checks again for those that did not.
    """
    dataset_check_size(size=len(data))
    df = csv_parse(data, delimiter=delimiter)
    stored = artifact_store().put_table(df)
    artifacts_record([stored])
    summary = table_summary(df)
    return Dataset.objects.create(
        workspace=workspace,
        name=name or filename or "dataset",
        artifact_id=stored.sha256,
        filename=filename,
        n_rows=summary["rows"],
        columns=summary["columns"],
        preview={"rows": summary["preview"]},
        created_by=user,
    )
