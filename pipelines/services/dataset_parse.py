"""Reading an uploaded file into a DataFrame, or saying exactly what is wrong with it.

Every refusal is a ``CsvError`` (400) naming the field it blames and, where a
line of the file is at fault, that line (``details["line"]``, counted from 1 as
an editor shows it). Every step is linear in the size of the file, whatever
its content: no ``csv.Sniffer``, detection reads a bounded head.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

import numpy as np
import pandas as pd
from django.conf import settings

from ..errors import ApplicationError
from ..execution.artifacts import parquet_write_options

MAX_COLUMNS = 2000

# The choices a user may name (API fields and the selects on the /datasets/ page);
# "auto" detects from the file.
DELIMITERS: dict[str, str | None] = {"auto": None, "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
DECIMALS: dict[str, str | None] = {"auto": None, "dot": ".", "comma": ","}
ENCODINGS: dict[str, str | None] = {
    "auto": None, "utf-8": "utf-8-sig", "utf-16": "utf-16", "cp1252": "cp1252", "latin-1": "latin-1",
}
SHORT_LINES = ("refuse", "fill")
# Detection reads at most this many characters of the file, and this many records of them.
DETECT_BYTES = 64 * 1024
DETECT_RECORDS = 100
# A text column becomes numeric under "decimal: auto" when every value is a decimal-comma number
# ("1,5", "-1.234,5"); when at least this share is, the rest are reported as the lines at fault.
DECIMAL_COMMA_SHARE = 0.9
_DECIMAL_COMMA = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+|[+-]?\d{1,3}(?:\.\d{3})+|[+-]?\d+"
# How many faulty lines one message lists.
SHOW_LINES = 5

# The csv module refuses fields over 128 KB by default; a long text cell is
# legitimate and must not switch the shape check off. The limit is
# process-wide, so it is only ever raised, to what an upload can hold.
csv.field_size_limit(max(csv.field_size_limit(), settings.DATASET_MAX_BYTES))


class CsvError(ApplicationError):
    status = 400


@dataclass(frozen=True)
class CsvOptions:
    """What was used to read a file: the user's choices with "auto" resolved."""

    delimiter: str
    decimal: str
    encoding: str
    short_lines: str

    def as_dict(self) -> dict[str, str]:
        return {"delimiter": self.delimiter, "decimal": self.decimal, "encoding": self.encoding,
                "short_lines": self.short_lines}


def _choice(value: str, choices, field: str) -> None:
    if value not in choices:
        raise CsvError(f"{field}: must be one of {', '.join(choices)} (got {value!r})", details={"field": field})


# Files are read in chunks of this size: the bytes of an upload are never all in memory at once.
CHUNK_BYTES = 1 << 20


def _as_stream(source: bytes | BinaryIO) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes | bytearray) else source


@contextmanager
def _text(stream: BinaryIO, encoding: str) -> Iterator[io.TextIOWrapper]:
    """``stream`` from its start, decoded; the wrapper is detached after, so ``stream`` stays open."""
    stream.seek(0)
    wrapper = io.TextIOWrapper(stream, encoding=ENCODINGS[encoding], newline="")
    try:
        yield wrapper
    finally:
        wrapper.detach()


def _check_decodes(stream: BinaryIO, name: str, *, detected: bool) -> bool:
    """True when the whole of ``stream`` decodes as ``name``, else False (``detected``) or a CsvError.

    Decodes chunk by chunk with an incremental decoder, counting lines and
    columns in the text so far, so the refusal names the line and column (in
    characters) of the first byte that does not fit. A NUL character means
    binary data, not text. Raises CsvError for a file with no text at all.
    """
    decoder = codecs.getincrementaldecoder(ENCODINGS[name])()
    stream.seek(0)
    lines, column, seen_text = 0, 0, False
    while True:
        chunk = stream.read(CHUNK_BYTES)
        pending = decoder.getstate()[0]
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            if detected:
                return False
            before = (pending + chunk)[: exc.start].decode(ENCODINGS[name], errors="replace")
            line = lines + before.count("\n") + 1
            col = (len(before) - before.rfind("\n") - 1 if "\n" in before else column + len(before)) + 1
            bad = (pending + chunk)[exc.start]
            raise CsvError(
                f"line {line}, column {col}: byte 0x{bad:02x} is not {name} text; choose the file's "
                f"encoding ({', '.join(k for k in ENCODINGS if k != 'auto')}) and upload again",
                details={"field": "encoding", "line": line, "column": col},
            ) from exc
        if "\0" in text:
            raise CsvError("the file holds binary data, not CSV text", details={"field": "file"})
        seen_text = seen_text or bool(text.strip())
        newlines = text.count("\n")
        lines += newlines
        column = len(text) - text.rfind("\n") - 1 if newlines else column + len(text)
        if not chunk:
            break
    if not seen_text:
        raise CsvError("the file is empty", details={"field": "file"})
    return True


def csv_encoding(source: bytes | BinaryIO, *, encoding: str = "auto") -> str:
    """The ENCODINGS key to read ``source`` with, after checking every byte decodes with it.

    "auto": a UTF-16 byte-order mark decides; otherwise UTF-8 when the bytes
    are valid UTF-8 (a UTF-8 byte-order mark is skipped), else Windows-1252
    (what Excel writes on Western systems). A chosen encoding that does not fit
    is refused with the line and column of the first byte it cannot read.
    """
    _choice(encoding, ENCODINGS, "encoding")
    stream = _as_stream(source)
    if encoding != "auto":
        _check_decodes(stream, encoding, detected=False)
        return encoding
    stream.seek(0)
    head = stream.read(2)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        _check_decodes(stream, "utf-16", detected=False)
        return "utf-16"
    if _check_decodes(stream, "utf-8", detected=True):
        return "utf-8"
    _check_decodes(stream, "cp1252", detected=False)
    return "cp1252"


def csv_parse(
    source: bytes | BinaryIO,
    *,
    delimiter: str = "auto",
    decimal: str = "auto",
    encoding: str = "auto",
    short_lines: str = "refuse",
) -> pd.DataFrame:
    """Parse CSV (bytes or a binary file) into a DataFrame, or raise CsvError saying where it went wrong."""
    return csv_read(source, delimiter=delimiter, decimal=decimal, encoding=encoding, short_lines=short_lines)[0]


def csv_read(
    source: bytes | BinaryIO,
    *,
    delimiter: str = "auto",
    decimal: str = "auto",
    encoding: str = "auto",
    short_lines: str = "refuse",
) -> tuple[pd.DataFrame, CsvOptions]:
    """Parse CSV (bytes, or a seekable binary file read in chunks); answer the table and the options used.

    - ``delimiter`` (DELIMITERS): "auto" picks the one that splits the head most consistently.
    - ``decimal`` (DECIMALS): "auto" reads a text column whose values are all
      decimal-comma numbers ("1,5") as numbers when the delimiter is not a comma;
      a column that almost is (≥ 90 %) is refused naming the lines that are not.
    - ``encoding`` (ENCODINGS): see ``csv_encoding``.
    - ``short_lines``: a line with fewer fields than the header is refused with
      its number, or with "fill" read with the missing fields empty. A line
      with more fields is always refused (one empty trailing field excepted, as
      many exports write).

    Duplicate and empty column names are refused with their positions: pandas
    would rename them silently ("a.1", "Unnamed: 2").

    A file is read three times, each as a stream: decoding, the shape check,
    pandas. The whole file is never in memory, only the table it becomes.
    """
    stream = _as_stream(source)
    used_encoding, sep, shape = _prepare(stream, delimiter, decimal, encoding, short_lines)
    try:
        with _text(stream, used_encoding) as text:
            df = pd.read_csv(text, **_pandas_options(sep, decimal))
    except pd.errors.EmptyDataError as exc:
        raise CsvError("the file has no columns", details={"field": "file"}) from exc
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise _parse_error(exc) from exc
    if len(df) == 0:
        raise CsvError("the file has a header but no rows", details={"field": "file", "line": 1})
    df.columns = [str(c).strip() for c in df.columns]
    used_decimal = "comma" if decimal == "comma" else "dot"
    if decimal == "auto" and sep != ",":
        if _decimal_commas(df, shape if len(shape.records) == len(df) else None):
            used_decimal = "comma"
    return df, _options(sep, used_decimal, used_encoding, short_lines)


def _prepare(
    stream: BinaryIO, delimiter: str, decimal: str, encoding: str, short_lines: str
) -> tuple[str, str, Shape]:
    """Check the choices, the encoding and every record's shape: (encoding, separator, shape)."""
    _choice(delimiter, DELIMITERS, "delimiter")
    _choice(decimal, DECIMALS, "decimal")
    _choice(short_lines, SHORT_LINES, "short_lines")
    used_encoding = csv_encoding(stream, encoding=encoding)
    sep = DELIMITERS[delimiter]
    if sep is None:
        with _text(stream, used_encoding) as text:
            sep = detect_delimiter(text.read(DETECT_BYTES + 1))
    if decimal == "comma" and sep == ",":
        raise CsvError(
            "decimal: a decimal comma needs a delimiter other than comma; choose semicolon, tab or pipe",
            details={"field": "decimal"},
        )
    shape = _check_shape(lambda: _text(stream, used_encoding), sep, fill_short=short_lines == "fill")
    return used_encoding, sep, shape


def _pandas_options(sep: str, decimal: str) -> dict:
    return {"sep": sep, "index_col": False, "decimal": "," if decimal == "comma" else ".",
            "thousands": "." if decimal == "comma" else None}


def _parse_error(exc: Exception) -> CsvError:
    # The shape check passed, so this is a quoting problem pandas saw differently.
    message = str(exc).strip().splitlines()[-1]
    return CsvError(f"the CSV could not be parsed: {message}", details={"field": "file"})


def _options(sep: str, decimal: str, encoding: str, short_lines: str) -> CsvOptions:
    sep_name = next(k for k, v in DELIMITERS.items() if v == sep)
    return CsvOptions(delimiter=sep_name, decimal=decimal, encoding=encoding, short_lines=short_lines)


# The chunked conversion reads this many rows at a time.
# 20,000 rows of 30 columns hold ~60 MB as pandas + Arrow; larger chunks are not faster.
CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class ConvertedCsv:
    """A CSV written to a Parquet file chunk by chunk: its first rows, its row count, the options used."""

    head: pd.DataFrame
    rows: int
    options: CsvOptions


class _Retype(Exception):
    """A chunk's column type differs from an earlier chunk's: read again with these
    dtypes (by raw column name); ``commas`` (stripped names) are text columns of
    decimal-comma numbers, to be read as text and turned into numbers in every chunk."""

    def __init__(self, dtypes: dict[str, object], commas: frozenset[str] = frozenset()):
        self.dtypes, self.commas = dtypes, commas


@dataclass
class _Settled:
    """What earlier passes over a file found out about its columns' types."""

    dtypes: dict[str, object] = field(default_factory=dict)  # raw name -> the dtype pandas reads it with
    commas: set[str] = field(default_factory=set)  # stripped names: text, then decimal-comma numbers

    def learn(self, retype: _Retype) -> None:
        """Take a retype in; CsvError when it teaches nothing new (the types cannot settle)."""
        before = (dict(self.dtypes), set(self.commas))
        # A decimal-comma column that a later chunk showed to be text stays text.
        self.commas -= {str(name).strip() for name in retype.dtypes} - retype.commas
        self.dtypes.update(retype.dtypes)
        self.commas |= retype.commas
        if (self.dtypes, self.commas) == before:
            raise CsvError(
                f"columns {', '.join(map(repr, map(str, retype.dtypes)))} hold values of different kinds "
                "in different parts of the file; make each column hold one kind of value",
                details={"field": "file"},
            )

    def text(self) -> set[str]:
        """Stripped names of the columns read as text that are not decimal-comma numbers."""
        return {str(name).strip() for name, dtype in self.dtypes.items() if dtype is object} - self.commas


def csv_to_parquet(
    source: BinaryIO,
    target: str,
    *,
    delimiter: str = "auto",
    decimal: str = "auto",
    encoding: str = "auto",
    short_lines: str = "refuse",
    chunk_rows: int | None = None,
) -> ConvertedCsv:
    """``csv_read``'s checks and answers, but the table goes to the Parquet file
    ``target`` in chunks of ``chunk_rows`` rows: memory holds one chunk, never the table.

    Every refusal ``csv_read`` makes is made here, with the same message and
    line. Column types are inferred per chunk; when a later chunk disagrees
    with an earlier one (an integer column with a blank far down, a column
    blank in the first chunk and text later) the file is read again with that
    column's type fixed: float64 when both were numbers, else text. So the
    types are those of the whole file, as ``csv_read`` would infer them (an
    integer column with blanks is float64 in both). Two disagreements are not
    ones: True/False with blanks (object in pandas) and without (bool) are
    both a bool column; numbers, then decimal-comma numbers ("1,5") further
    down, are a decimal-comma column, read as text and converted in every
    chunk as ``csv_read`` converts the whole column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    stream = _as_stream(source)
    used_encoding, sep, shape = _prepare(stream, delimiter, decimal, encoding, short_lines)
    options = _pandas_options(sep, decimal)
    comma_auto = decimal == "auto" and sep != ","
    settled = _Settled()
    while True:
        try:
            head, rows, converted = _write_chunks(
                stream, used_encoding, options, target, settled, shape if comma_auto else None,
                comma_auto, chunk_rows or CHUNK_ROWS, pa, pq,
            )
            break
        except _Retype as retype:
            settled.learn(retype)
    used_decimal = "comma" if decimal == "comma" or converted else "dot"
    return ConvertedCsv(head=head, rows=rows, options=_options(sep, used_decimal, used_encoding, short_lines))


def _write_chunks(stream, encoding, options, target, settled: _Settled, shape, comma_auto, chunk_rows, pa, pq):
    writer = None
    head, kinds, rows, commas = None, None, 0, None
    text_columns = settled.text()
    try:
        with _text(stream, encoding) as text:
            try:
                reader = pd.read_csv(text, chunksize=chunk_rows, dtype=settled.dtypes or None, **options)
                for chunk in reader:
                    raw = list(chunk.columns)
                    chunk.columns = [str(c).strip() for c in chunk.columns]
                    if comma_auto:
                        before = chunk.dtypes
                        rows_seen = int(chunk.index[-1]) + 1 if len(chunk) else 0
                        _decimal_commas(
                            chunk, shape if len(shape.records) >= rows_seen else None,
                            only=None if commas is None else commas | settled.commas,
                            skip=text_columns, numbers=settled.commas,
                        )
                        if commas is None:
                            commas = {c for c in chunk.columns if chunk[c].dtype != before[c]}
                    if kinds is None:
                        kinds = _kinds(chunk)
                        head = chunk.head(100)
                        table = pa.Table.from_pandas(chunk, preserve_index=False)
                        # A text column blank throughout the first chunk: text, not Arrow's null type.
                        schema = pa.schema(
                            [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
                        )
                        table = table.cast(schema)
                        writer = pq.ParquetWriter(target, schema, **parquet_write_options(schema))
                    elif differ := _differing(kinds, chunk):
                        later = _kinds(chunk)
                        raise _Retype(
                            _unified([r for r, c in zip(raw, chunk.columns, strict=True) if c in differ], kinds, later),
                            frozenset(c for c in differ if comma_auto and _comma_numbers(kinds[c], chunk[c])),
                        )
                    else:
                        table = pa.Table.from_pandas(chunk, schema=writer.schema, preserve_index=False)
                    writer.write_table(table)
                    rows += len(chunk)
            except pd.errors.EmptyDataError as exc:
                raise CsvError("the file has no columns", details={"field": "file"}) from exc
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise CsvError(
                    f"a column holds values of different kinds the table cannot store: {exc}",
                    details={"field": "file"},
                ) from exc
            except (pd.errors.ParserError, ValueError, csv.Error) as exc:
                raise _parse_error(exc) from exc
    finally:
        if writer is not None:
            writer.close()
    if rows == 0:
        raise CsvError("the file has a header but no rows", details={"field": "file", "line": 1})
    return head, rows, bool(commas)


BOOL = "bool"


def _is_bool(series: pd.Series) -> bool:
    """A bool column, or True/False with blanks (which pandas reads as object)."""
    if pd.api.types.is_bool_dtype(series):
        return True
    return series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "boolean"


def _kinds(chunk: pd.DataFrame) -> pd.Series:
    """Each column's dtype, with BOOL for both kinds of bool column.

    Asked of every chunk: only object columns are looked into (``_is_bool``);
    the others are known by their dtype, without taking the column out of the
    frame (a third of the time of reading a chunk when done for every column).
    """
    kinds = {
        c: BOOL if pd.api.types.is_bool_dtype(dtype) or (pd.api.types.is_object_dtype(dtype) and _is_bool(chunk[c])) else dtype
        for c, dtype in chunk.dtypes.items()
    }
    return pd.Series(kinds, dtype=object)


def _differing(first: pd.Series, chunk: pd.DataFrame) -> set[str]:
    """The columns of ``chunk`` whose kind is not the first chunk's. A bool
    column blank throughout a chunk (float64 NaN there) does not differ: Arrow
    stores those blanks as nulls of the bool column."""
    later = _kinds(chunk)
    return {
        c for c in chunk.columns
        if later[c] != first[c] and not (first[c] == BOOL and chunk[c].isna().all())
    }


def _comma_numbers(first_kind, series: pd.Series) -> bool:
    """A numbers column (the first chunk's kind) that this chunk holds as decimal-comma numbers."""
    if first_kind == BOOL or not pd.api.types.is_numeric_dtype(first_kind):
        return False
    values = series.dropna().astype(str).str.strip()
    return bool(len(values)) and values.str.contains(",", regex=False).any() and values.str.fullmatch(_DECIMAL_COMMA).all()


def _unified(raw: list, first: pd.Series, later: pd.Series) -> dict[str, object]:
    """The dtypes to read the columns ``raw`` (the chunks disagree on them) with: float64 for two numbers, else text."""
    fixed: dict[str, object] = {}
    for name in raw:
        stripped = str(name).strip()
        a, b = first[stripped], later[stripped]
        numbers = all(
            t != BOOL and pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in (a, b)
        )
        fixed[name] = "float64" if numbers else object
    return fixed


def _decimal_commas(
    df: pd.DataFrame,
    shape: Shape | None,
    *,
    only: set[str] | None = None,
    skip: set[str] = frozenset(),
    numbers: set[str] = frozenset(),
) -> bool:
    """Turn text columns of decimal-comma numbers into numbers, in place; True if any was.

    A column where most values are such numbers but some are not is refused
    with the lines of the first few that are not: read as text, it would
    silently stop being a feature. ``numbers`` are columns known to hold
    decimal-comma numbers elsewhere in the file: converted even when this
    part of them has no comma ("3", "4").
    """
    converted = False
    for name in df.select_dtypes(include=["object", "string"]).columns:
        if name in skip or (only is not None and name not in only):
            continue
        values = df[name].dropna().astype(str).str.strip()
        if values.empty or (name not in numbers and not values.str.contains(",", regex=False).any()):
            continue
        fits = values.str.fullmatch(_DECIMAL_COMMA)
        if fits.all():
            cleaned = df[name].astype("string").str.strip().str.replace(".", "", regex=False)
            df[name] = pd.to_numeric(cleaned.str.replace(",", ".", regex=False), errors="raise").astype("float64")
            converted = True
        elif fits.mean() >= DECIMAL_COMMA_SHARE:
            bad = values[~fits].head(SHOW_LINES)
            rows = [int(i) for i in bad.index]
            if shape is not None:
                lines = shape.lines_of_rows(rows)
                where = [f"line {line} ({v!r})" for line, v in zip(lines, bad.tolist(), strict=True)]
                at = {"line": lines[0]}
            else:  # pandas and the shape check disagree on the records: name rows, not lines
                where = [f"data row {i + 1} ({v!r})" for i, v in zip(rows, bad.tolist(), strict=True)]
                at = {}
            raise CsvError(
                f"column {name!r} holds decimal-comma numbers but {int((~fits).sum())} value(s) are not numbers: "
                f"{', '.join(where)}; fix them, or choose decimal: dot to keep the column as text",
                details={"field": "file", "column_name": name, **at},
            )
    return converted


TextOpener = Callable[[], AbstractContextManager[TextIO]]


def _record_lines(open_text: TextOpener, sep: str, records: Iterable[int]) -> dict[int, int]:
    """The line each of ``records`` (indexes among the csv reader's records, blank ones
    included) starts on. One more pass, up to the last of them: only refusals need it."""
    wanted = set(records)
    found: dict[int, int] = {}
    if not wanted:
        return found
    last = max(wanted)
    with open_text() as text:
        reader = csv.reader(text, delimiter=sep)
        previous = 0
        for index, _record in enumerate(reader):
            if index in wanted:
                found[index] = previous + 1
            if index >= last:
                break
            previous = reader.line_num
    return found


class Shape:
    """Where the data records of a checked file are: pandas row ``i`` is reader record ``records[i]``."""

    def __init__(self, open_text: TextOpener, sep: str, records: np.ndarray):
        self._open_text, self._sep, self.records = open_text, sep, records

    def lines_of_rows(self, rows: list[int]) -> list[int]:
        """The line each pandas row in ``rows`` starts on."""
        indexes = [int(self.records[r]) for r in rows]
        found = _record_lines(self._open_text, self._sep, indexes)
        return [found[i] for i in indexes]


def _check_shape(open_text: TextOpener, sep: str, *, fill_short: bool) -> Shape:
    """Check every record's field count against the header, before pandas reads the file.

    Refuses: a header over MAX_COLUMNS (pandas takes seconds per KB over it),
    empty or duplicate column names, lines wider than the header (pandas either
    drops their surplus or fails with its own text) and, unless ``fill_short``,
    lines narrower than it (pandas fills them with missing values without a
    word). One pass of the csv module's linear reader that keeps only each
    record's field count (``map(len, reader)`` into NumPy: no Python code per
    row); the lines of the records at fault are found by a second pass, only
    when there are some.
    """
    with open_text() as text:
        reader = csv.reader(text, delimiter=sep)
        try:
            widths = np.fromiter(map(len, reader), dtype=np.int64)
        except csv.Error as exc:
            raise CsvError(
                f"line {reader.line_num}: {exc}; check the quoting on that line",
                details={"field": "file", "line": reader.line_num},
            ) from exc
    filled = np.flatnonzero(widths)  # pandas skips blank lines, which the reader gives as []
    if not len(filled):
        return Shape(open_text, sep, filled)
    header_record, records = int(filled[0]), filled[1:]
    header_line = _record_lines(open_text, sep, [header_record])[header_record]
    width = int(widths[header_record])
    if width > MAX_COLUMNS:
        raise CsvError(
            f"the file has {width:,} columns; at most {MAX_COLUMNS} are allowed",
            details={"field": "file", "line": header_line},
        )
    with open_text() as text:
        header = next(r for r in csv.reader(text, delimiter=sep) if r)
    _check_header([h.strip() for h in header], header_line)
    data_widths = widths[records]
    wide = data_widths > width + 1
    plus_one = np.flatnonzero(data_widths == width + 1)
    if len(plus_one):
        # One empty trailing field is allowed (many exports write one); a filled one is a wide line.
        targets = set(records[plus_one].tolist())
        with open_text() as text:
            filled_last = [
                i for i, r in enumerate(csv.reader(text, delimiter=sep)) if i in targets and r[-1] != ""
            ]
        wide |= np.isin(records, filled_last)
    short = (data_widths < width) if not fill_short else np.zeros(len(records), dtype=bool)
    for mask, kind in ((wide, "wide"), (short, "short")):
        bad = np.flatnonzero(mask)
        if not len(bad):
            continue
        shown = records[bad[:SHOW_LINES]].tolist()
        lines = _record_lines(open_text, sep, shown)
        listed = [(lines[i], int(widths[i])) for i in shown]
        line, n = listed[0]
        more = _more(listed[1:], len(bad) - 1)
        if kind == "wide":
            raise CsvError(
                f"line {line} has {n:,} fields; the header has {width}{more}",
                details={"field": "file", "line": line},
            )
        raise CsvError(
            f"line {line} has {n:,} field(s); the header has {width}{more}. Fix the line(s), or choose "
            "short_lines: fill to read the missing fields as empty",
            details={"field": "short_lines", "line": line},
        )
    return Shape(open_text, sep, records)


def _more(shown: list[tuple[int, int]], total: int) -> str:
    if total <= 0:
        return ""
    listed = ", ".join(f"line {line} has {n:,}" for line, n in shown)
    rest = total - len(shown)
    return f" (also {listed}{f' and {rest:,} more line(s)' if rest else ''})"


def _check_header(names: list[str], line: int | None) -> None:
    """Refuse empty or duplicate column names, naming their positions (``line`` None: a Parquet schema)."""
    where = f"line {line}" if line is not None else "the Parquet schema"
    at = {"field": "file", **({"line": line} if line is not None else {})}
    empty = [i + 1 for i, name in enumerate(names) if not name]
    if empty:
        raise CsvError(
            f"{where}: the header has {len(empty)} empty column name(s) (at position "
            f"{', '.join(map(str, empty[:SHOW_LINES]))}); name every column",
            details=at,
        )
    counts = Counter(names)
    twice = [name for name, n in counts.items() if n > 1]
    if twice:
        names_at = "; ".join(
            f"{name!r} at columns {', '.join(str(i + 1) for i, n in enumerate(names) if n == name)}"
            for name in twice[:SHOW_LINES]
        )
        raise CsvError(
            f"{where}: duplicate column names: {names_at}; give every column its own name",
            details=at,
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
        except csv.Error:  # e.g. a bare carriage return; the shape check reports it with its line
            continue
        if not widths or widths[0] < 2:
            continue
        counts = Counter(widths)
        score = (counts[widths[0]], widths[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


PARQUET_MAGIC = b"PAR1"


def is_parquet(source: bytes | BinaryIO) -> bool:
    """Parquet files start and end with the 4 bytes PAR1."""
    stream = _as_stream(source)
    size = stream.seek(0, io.SEEK_END)
    if size < 12:
        return False
    stream.seek(0)
    head = stream.read(4)
    stream.seek(size - 4)
    return head == PARQUET_MAGIC and stream.read(4) == PARQUET_MAGIC


def _parquet_open(stream: BinaryIO):
    """The ParquetFile of ``stream`` and its data columns (index columns pandas
    wrote left out), or CsvError (400) for a file that cannot be a table:
    not Parquet, unreadable, nested columns, over MAX_COLUMNS, duplicate or
    empty names, no rows. Reads the footer only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not is_parquet(stream):
        raise CsvError(
            "the file is not Parquet: a Parquet file starts and ends with PAR1", details={"field": "file"}
        )
    try:
        stream.seek(0)
        parquet = pq.ParquetFile(stream)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CsvError(f"the Parquet file could not be read: {exc}", details={"field": "file"}) from exc
    index = set((schema.pandas_metadata or {}).get("index_columns") or []) if schema.metadata else set()
    columns = [name for name in schema.names if name not in index]
    if len(columns) > MAX_COLUMNS:
        raise CsvError(
            f"the file has {len(columns):,} columns; at most {MAX_COLUMNS} are allowed", details={"field": "file"}
        )
    nested = [f"{f.name!r} ({f.type})" for f in schema if f.name in columns and pa.types.is_nested(f.type)]
    if nested:
        raise CsvError(
            f"nested columns cannot be used as table columns: {', '.join(nested[:SHOW_LINES])}"
            f"{f' and {len(nested) - SHOW_LINES} more' if len(nested) > SHOW_LINES else ''}; "
            "flatten them (one value per cell) and upload again",
            details={"field": "file"},
        )
    _check_header([str(n).strip() for n in columns], None)
    if parquet.metadata.num_rows == 0:
        raise CsvError("the file has columns but no rows", details={"field": "file"})
    return parquet, columns


def _parquet_batch(batch, names: list[str]):
    """One batch as a table of the columns to store: decimals as float64 (what
    scikit-learn takes), names stripped, no pandas metadata (the file's may
    describe index columns that are left out)."""
    import pyarrow as pa

    arrays = [
        column.cast(pa.float64()) if pa.types.is_decimal(column.type) else column for column in batch.columns
    ]
    return pa.Table.from_arrays(arrays, names=names)


def parquet_read(source: bytes | BinaryIO) -> pd.DataFrame:
    """A flat Parquet file as a DataFrame, or CsvError (400) saying why not.

    Refused: bytes that are not Parquet, a file pyarrow cannot read, nested
    columns (struct, list, map: a table block needs one value per cell; the
    message names them), more than MAX_COLUMNS columns, duplicate or empty
    names, no rows. Decimal columns become float64 (what scikit-learn takes).
    Uploads go through ``parquet_to_parquet``, which never holds the table.
    """
    import pyarrow as pa

    stream = _as_stream(source)
    parquet, columns = _parquet_open(stream)
    names = [str(c).strip() for c in columns]
    try:
        table = pa.concat_tables([_parquet_batch(b, names) for b in parquet.iter_batches(columns=columns)])
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CsvError(f"the Parquet file could not be read: {exc}", details={"field": "file"}) from exc
    return table.to_pandas().reset_index(drop=True)


# A Parquet upload is copied in batches of this many rows (a row group is read a batch at a time).
PARQUET_BATCH_ROWS = 64_000


@dataclass(frozen=True)
class ConvertedParquet:
    """A Parquet upload copied batch by batch into the file to store: its row count."""

    rows: int


def parquet_to_parquet(source: BinaryIO, target: str, *, batch_rows: int | None = None) -> ConvertedParquet:
    """``parquet_read``'s checks and refusals, but the table is copied to the
    Parquet file ``target`` batch by batch (written as every stored table is):
    memory holds one batch, never the table. A row group that cannot be read
    is refused as the file is (``the Parquet file could not be read``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    stream = _as_stream(source)
    parquet, columns = _parquet_open(stream)
    names = [str(c).strip() for c in columns]
    writer, rows = None, 0
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows or PARQUET_BATCH_ROWS, columns=columns):
            table = _parquet_batch(batch, names)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema, **parquet_write_options(table.schema))
            writer.write_table(table)
            rows += table.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CsvError(f"the Parquet file could not be read: {exc}", details={"field": "file"}) from exc
    finally:
        if writer is not None:
            writer.close()
    if rows == 0:
        raise CsvError("the file has columns but no rows", details={"field": "file"})
    return ConvertedParquet(rows=rows)
