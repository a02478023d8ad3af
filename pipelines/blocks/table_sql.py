"""``table.sql``: one SELECT run by DuckDB on the step's input tables.

Sandboxing, in layers, because a query is code a workspace member wrote:

1. Only a single SELECT statement is accepted (``check_query``, also called by
   graph validation): ATTACH, COPY, INSTALL, LOAD, PRAGMA, SET, CREATE … are
   refused by statement type before anything runs.
2. Each run gets a fresh in-memory database with ``enable_external_access``
   off (no files, no network, no extensions: ``read_csv('/etc/passwd')`` fails
   with a permission error) and the configuration locked, so a query cannot
   switch it back on. Python replacement scans are off too: a query cannot
   read DataFrames that happen to be in a Python variable.
3. A timer thread interrupts the query after ``timeout_seconds``; memory and
   threads are capped; a result over ``max_rows`` rows is refused.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from typing import Any

from .base import TABLE, BlockError, StepContext
from .table_rules import SQL_MAX_QUERY_CHARS, SQL_MAX_ROWS_DEFAULT, SQL_TIMEOUT_DEFAULT

INPUT_NAMES = ("t1", "t2", "t3")
MEMORY_LIMIT = "1GB"
FETCH_VECTORS = 64  # DuckDB vectors (2048 rows each) per fetched chunk


def _duckdb():
    import duckdb

    return duckdb


def _error_text(exc: Exception) -> str:
    """DuckDB's message, kept whole: it carries ``LINE 1: …`` and a caret under the position."""
    return str(exc).strip()


def check_query(query: Any) -> None:
    """Raise BlockError(param="query") unless ``query`` is exactly one SELECT statement.

    Syntax errors come back with DuckDB's position (``LINE 1: selec …`` and a caret).
    Parsing needs no database, tables or files, so validation can call this.
    """
    if not isinstance(query, str) or not query.strip():
        raise BlockError("write a SELECT query over t1 (and t2, t3)", param="query")
    if len(query) > SQL_MAX_QUERY_CHARS:
        raise BlockError(
            f"the query is {len(query):,} characters long; the limit is {SQL_MAX_QUERY_CHARS:,}",
            param="query",
        )
    duckdb = _duckdb()
    connection, lock = _parser(os.getpid())
    try:
        with lock:
            statements = connection.extract_statements(query)
    except duckdb.Error as exc:
        raise BlockError(f"the query has an error: {_error_text(exc)}", param="query") from exc
    if len(statements) != 1:
        raise BlockError(
            f"write exactly one SELECT statement (found {len(statements)})", param="query"
        )
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise BlockError(
            f"only a SELECT query is allowed here, not {kind.name} (no ATTACH, COPY, INSTALL, "
            "LOAD, PRAGMA, SET or changes to tables)",
            param="query",
        )


@functools.cache
def _parser(pid: int) -> tuple[Any, threading.Lock]:
    """One sandboxed connection per process that only ever parses (a connection costs
    ~70 ms; parsing ~0.1 ms); keyed by pid so a forked worker never shares its parent's,
    locked because a DuckDB connection is not thread-safe."""
    return _duckdb().connect(":memory:", config=_config()), threading.Lock()


def _config() -> dict[str, Any]:
    return {
        "enable_external_access": False,
        "python_enable_replacements": False,
        "threads": 1,
        "memory_limit": MEMORY_LIMIT,
        "lock_configuration": True,  # last: nothing after it may change the settings
    }


def _fetch(cursor: Any, limit: int) -> Any:
    """The result as a DataFrame, fetched in chunks and stopped once it passes ``limit`` rows."""
    import pandas as pd

    chunks = [cursor.fetch_df_chunk(FETCH_VECTORS)]  # the first, even empty, keeps the columns
    total = len(chunks[0])
    while total < limit and len(chunks[-1]):
        chunk = cursor.fetch_df_chunk(FETCH_VECTORS)
        if not len(chunk):
            break
        chunks.append(chunk)
        total += len(chunk)
    frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
    return frame.iloc[:limit]


def run_sql(
    ctx: StepContext, inputs: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, Any]:
    query = params.get("query", "")
    check_query(query)
    timeout = params.get("query_timeout_seconds", SQL_TIMEOUT_DEFAULT)
    max_rows = params.get("max_rows", SQL_MAX_ROWS_DEFAULT)
    duckdb = _duckdb()
    connection = duckdb.connect(":memory:", config=_config())
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        connection.interrupt()

    timer = threading.Timer(timeout, stop)
    timer.daemon = True
    try:
        for name in INPUT_NAMES:
            if name in inputs:
                connection.register(name, inputs[name])
        timer.start()
        # execute, not the relation API: only execute's errors carry "LINE 1: …" and the caret
        cursor = connection.execute(query)
        result = _fetch(cursor, max_rows + 1)
    except duckdb.Error as exc:
        if timed_out.is_set():
            raise BlockError(
                f"the query ran longer than its time limit of {timeout} s and was stopped",
                param="query_timeout_seconds",
            ) from exc
        text = _error_text(exc)
        unwired = [n for n in INPUT_NAMES if n not in inputs and f"name {n} does not exist" in text]
        if unwired:
            text += f"\n(input {unwired[0]} is not connected)"
        raise BlockError(f"the query failed: {text}", param="query") from exc
    finally:
        timer.cancel()
        connection.close()
    if len(result) > max_rows:  # _fetch stops one row past the limit, never much further
        raise BlockError(
            f"the query returned more than {max_rows:,} rows; add a LIMIT or raise max_rows",
            param="max_rows",
        )
    ctx.log(f"query returned {len(result)} rows, {result.shape[1]} columns")
    return {TABLE: result}
