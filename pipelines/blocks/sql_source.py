"""``dataset.sql``: one read-only query on a saved PostgreSQL connection; out ``table``.

Plain Python, no Django. The block never sees a connection's name resolve or a
password stored: at compile time the service layer pins the workspace's
connection id into ``params["connection_id"]`` (never the password: params are
stored and shown), and at run time the step context's ``connection(id)``
callable, supplied by the worker and bound to the run's workspace, answers the
credentials. A forged id naming another workspace's connection gets nothing.

Read-only, in layers, because a query is code a workspace member wrote and the
database is somebody's production:

1. ``check_query`` (also run by graph validation): one statement that starts
   with SELECT, WITH, VALUES or TABLE; a second statement after a ``;`` is
   refused (quotes, identifiers, comments and dollar quotes are skipped).
2. The session is ``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY``
   and the query runs in a server-side cursor (``DECLARE … CURSOR FOR``), which
   PostgreSQL accepts for a SELECT or VALUES only; the extended protocol refuses
   several statements in one message anyway.
3. ``statement_timeout`` stops a slow query; at most ``max_rows + 1`` rows are
   fetched, and a result with more is refused rather than cut silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .base import TABLE, Block, BlockError, Port, StepContext

MAX_ROWS_DEFAULT = 100_000
MAX_ROWS_MAX = 1_000_000
TIMEOUT_DEFAULT = 60
TIMEOUT_MAX = 3600
MAX_QUERY_CHARS = 100_000
CONNECT_TIMEOUT = 10
FETCH_BATCH = 10_000
READ_STARTS = ("select", "with", "values", "table")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def _statement_ends(query: str) -> list[int]:
    """Positions of the ``;`` that end statements, outside strings and comments."""
    ends, i, n = [], 0, len(query)
    while i < n:
        ch = query[i]
        if ch in ("'", '"'):
            close = query.find(ch, i + 1)
            # A doubled quote is an escaped one: finding the next quote covers it.
            i = n if close < 0 else close + 1
        elif query.startswith("--", i):
            close = query.find("\n", i)
            i = n if close < 0 else close + 1
        elif query.startswith("/*", i):
            close = query.find("*/", i + 2)
            i = n if close < 0 else close + 2
        elif ch == "$" and (tag := _DOLLAR_TAG.match(query, i)):
            close = query.find(tag.group(0), tag.end())
            i = n if close < 0 else close + len(tag.group(0))
        else:
            if ch == ";":
                ends.append(i)
            i += 1
    return ends


def _strip_comments_head(query: str) -> str:
    """The query without leading whitespace and comments: its first word comes first."""
    text = query
    while True:
        text = text.lstrip()
        if text.startswith("--"):
            text = text.split("\n", 1)[1] if "\n" in text else ""
        elif text.startswith("/*") and "*/" in text:
            text = text.split("*/", 1)[1]
        else:
            return text


def check_query(query: Any) -> str:
    """The query without a trailing ``;``, or BlockError(param="query") saying what is wrong.

    Needs no database, so graph validation calls it before any run.
    """
    if not isinstance(query, str) or not query.strip():
        raise BlockError("write a SELECT query to read from the connection", param="query")
    if len(query) > MAX_QUERY_CHARS:
        raise BlockError(
            f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}", param="query"
        )
    if "\x00" in query:
        raise BlockError("the query contains a NUL character", param="query")
    body = query.strip()
    ends = _statement_ends(body)
    if ends and ends[-1] == len(body) - 1:
        body, ends = body[:-1].rstrip(), ends[:-1]
    if ends:
        raise BlockError("the query holds more than one statement; write a single SELECT", param="query")
    head = _strip_comments_head(body)
    first = re.match(r"[A-Za-z]+", head)
    if first is None or first.group(0).lower() not in READ_STARTS:
        word = first.group(0).upper() if first else head[:20]
        raise BlockError(
            f"only read queries run here (SELECT, WITH, VALUES or TABLE), not {word}; "
            "the connection is opened read-only",
            param="query",
        )
    return body


def _scrub(text: str, secret: str | None) -> str:
    """A driver message with the password replaced, in case a driver ever echoes it."""
    return text.replace(secret, "***") if secret else text


def open_readonly(credentials: Mapping[str, Any], *, timeout_seconds: int = TIMEOUT_DEFAULT):
    """A psycopg connection whose session is read-only and has a statement timeout.

    ``credentials``: ``host``, ``port``, ``database``, ``user``, ``password``.
    Raises BlockError(param="connection") with the driver's message (never the
    password) when the server cannot be reached or refuses the login.
    """
    import psycopg

    password = credentials.get("password") or None
    try:
        conn = psycopg.connect(
            host=credentials["host"],
            port=int(credentials["port"]),
            dbname=credentials["database"],
            user=credentials["user"],
            password=password,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="mlops-studio dataset.sql",
        )
    except psycopg.Error as exc:
        message = _scrub(str(exc).strip() or type(exc).__name__, password)
        raise BlockError(f"could not connect: {message}", param="connection") from None
    except (UnicodeError, ValueError):
        # A host, database or user the driver cannot even encode (NUL, lone surrogates).
        raise BlockError(
            "could not connect: the host, database or user holds characters a connection cannot use",
            param="connection",
        ) from None
    try:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        conn.execute(f"SET statement_timeout = {int(timeout_seconds) * 1000}")
        conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn


def read_query(conn, query: str, *, max_rows: int, password: str | None = None):
    """Run ``query`` in a server-side cursor and return a DataFrame of at most ``max_rows`` rows."""
    import pandas as pd
    import psycopg

    try:
        with conn.transaction(), conn.cursor(name="mlops_dataset_sql") as cursor:
            cursor.execute(query)
            rows = cursor.fetchmany(max_rows + 1)
            names = [column.name for column in cursor.description or ()]
    except psycopg.errors.QueryCanceled:
        raise BlockError(
            "the query ran longer than its time limit and was stopped; add a WHERE or raise the limit",
            param="query",
        ) from None
    except psycopg.errors.ReadOnlySqlTransaction as exc:
        raise BlockError(f"the connection is read-only: {_scrub(str(exc).strip(), password)}", param="query") from None
    except psycopg.Error as exc:
        raise BlockError(f"the database refused the query: {_scrub(str(exc).strip(), password)}", param="query") from None
    if len(rows) > max_rows:
        raise BlockError(
            f"the query returns more than {max_rows:,} rows (max_rows); add a LIMIT or a WHERE, "
            "or raise max_rows",
            param="max_rows",
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise BlockError(
            f"the result has several columns named {', '.join(duplicated)}; name them apart with AS",
            param="query",
        )
    frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
    return _storable(frame)


def _storable(frame):
    """Object columns Parquet cannot hold as they are (UUID, JSON, intervals …) become text."""
    import pandas as pd

    for name, dtype in frame.dtypes.items():
        if not pd.api.types.is_object_dtype(dtype):
            continue
        column = frame[name]
        if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty", "date", "boolean"):
            frame[name] = column.astype(str).where(column.notna(), None)
    return frame


def run_sql_source(ctx: StepContext, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    query = check_query(params.get("query"))
    connection_id = params.get("connection_id")
    opener = getattr(ctx, "connection", None)
    if not isinstance(connection_id, int) or opener is None:
        # Only a run compiled by the service layer carries a pinned connection.
        raise BlockError("the connection was not resolved for this run; run the pipeline again", param="connection")
    credentials = opener(connection_id)
    conn = open_readonly(credentials, timeout_seconds=params.get("timeout_seconds", TIMEOUT_DEFAULT))
    try:
        frame = read_query(conn, query, max_rows=params["max_rows"], password=credentials.get("password"))
    finally:
        conn.close()
    ctx.log(f"read {len(frame):,} rows and {frame.shape[1]} columns from connection {params.get('connection')!r}")
    return {"table": frame}


def _columns(columns: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    check_query(params.get("query"))
    return {"table": None}


DATASET_SQL = Block(
    key="dataset.sql",
    label="SQL database",
    category="Data",
    description="A read-only query on a saved connection (PostgreSQL). The session is read-only, "
    "the query has a time limit and a row limit. Runs again on every run: the data may change.",
    inputs=(),
    outputs=(Port(TABLE, TABLE, description="the query's result"),),
    params_schema={
        "type": "object",
        "properties": {
            "connection": {
                "type": "string",
                "title": "Connection",
                "description": "The name of a connection saved in this workspace (API: /api/connections/).",
            },
            "query": {
                "type": "string",
                "default": "SELECT 1 AS one",
                "title": "Query",
                "description": "One SELECT (or WITH, VALUES, TABLE) statement in PostgreSQL's SQL.",
            },
            "max_rows": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_ROWS_MAX,
                "default": MAX_ROWS_DEFAULT,
                "title": "Most rows",
                "description": "A result with more rows is refused (add a LIMIT).",
            },
            "timeout_seconds": {
                "type": "integer",
                "minimum": 1,
                "maximum": TIMEOUT_MAX,
                "default": TIMEOUT_DEFAULT,
                "title": "Time limit (s)",
                "description": "The query is stopped after this many seconds (statement_timeout).",
            },
        },
        "required": ["connection"],
        "additionalProperties": False,
    },
    run=run_sql_source,
    curated=True,
    tags=("data", "sql", "postgresql", "database", "import"),
    output_columns=_columns,
)
