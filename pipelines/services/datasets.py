"""Uploading CSV files as datasets."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
from django.conf import settings

from ..errors import ApplicationError
from ..execution.summaries import table_summary
from ..models import Dataset, Workspace
from .artifacts import artifact_store, artifacts_record

MAX_COLUMNS = 2000


class CsvError(ApplicationError):
    status = 400


def _line_of_byte(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def csv_parse(data: bytes) -> pd.DataFrame:
    """Parse CSV bytes into a DataFrame, or raise CsvError saying where it went wrong."""
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
    try:
        df = pd.read_csv(io.StringIO(text), sep=_sniff_delimiter(text), index_col=False)
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


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def dataset_upload(*, workspace: Workspace, user, name: str, filename: str, data: bytes) -> Dataset:
    if len(data) > settings.DATASET_MAX_BYTES:
        raise ApplicationError(
            f"the file is {len(data) / 1e6:.1f} MB; the limit is {settings.DATASET_MAX_BYTES / 1e6:.0f} MB",
            status=413,
            details={"field": "file"},
        )
    df = csv_parse(data)
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
