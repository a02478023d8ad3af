"""Small checks on raw input shared by the API, the pages and the services.

``"²".isdigit()`` is True and ``int("²")`` raises; an id past 2**63 overflows
PostgreSQL's bigint; a NUL character is refused by PostgreSQL in text and JSON
columns; JSON nested a few hundred levels deep makes every recursive walk of it
(``has_nul``, ``copy.deepcopy``, the JSON parser itself) raise RecursionError.
Each would otherwise surface as a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

import numpy as np
from django.utils.dateparse import parse_date, parse_datetime

from .errors import ApplicationError

# A JSON string literal (escapes included), written so the regex engine never backtracks.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# Every byte but the four brackets, for bytes.translate to delete.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = np.zeros(256, dtype=np.int32)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (``[]`` is 1, ``{"a": []}`` 2).

    Works on the text, before parsing, so that parsing never recurses past the
    limit: string literals are blanked out, then the running count of openers
    minus closers is taken with NumPy over the brackets alone. Exact for valid
    JSON; for invalid JSON a number the parser's own error will follow anyway.
    """
    text = _JSON_STRING.sub(b'""', raw) if b'"' in raw else raw
    brackets = text.translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    steps = _STEP[np.frombuffer(brackets, dtype=np.uint8)]
    return int(np.cumsum(steps).max())


def json_depth_refuse(raw: bytes | str, *, limit: int, field: str = "body") -> None:
    """Refuse (400) a JSON text whose arrays and objects nest deeper than ``limit``.

    Cheap for ordinary bodies: with at most ``limit`` brackets in all it cannot be
    too deep, and the text is not scanned.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    depth = json_depth(raw)
    if depth > limit:
        raise ApplicationError(
            f"the JSON {field} nests arrays and objects {depth} levels deep; at most {limit} are allowed",
            status=400,
            field=field,
        )

MAX_ID = 2**63 - 1


def is_id(value: Any) -> bool:
    """A whole number ≥ 0 that fits a database id: an int (not a bool) or ASCII digits."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= MAX_ID
    return (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= 19
        and int(value) <= MAX_ID
    )


def parse_id(value: Any, *, field: str) -> int:
    if not is_id(value):
        raise ApplicationError(f"{field} must be a number (an id)", details={"field": field})
    return int(value)


def optional_id(value: Any, *, field: str) -> int | None:
    """``None`` for a missing or empty value, else ``parse_id``."""
    if value is None or value == "":
        return None
    return parse_id(value, field=field)


def has_nul(value: Any) -> bool:
    """True if any string in a JSON-like value (keys included) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def refuse_nul(value: Any, *, field: str) -> None:
    if has_nul(value):
        raise ApplicationError(
            f"{field} holds a NUL character (\\u0000), which cannot be stored; remove it",
            details={"field": field},
        )


def parse_moment(value, *, field: str, clamp: bool = False) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is UTC. Outside 1970–9000 it is
    a 400, or with ``clamp`` (a filter's bound: "since 0893" means since the beginning)
    the nearest end of that range."""
    refuse_nul(value, field=field)
    parsed = None
    if isinstance(value, str) and len(value) <= 64:
        try:
            parsed = parse_datetime(value)
            if parsed is None and (day := parse_date(value)) is not None:
                parsed = datetime.combine(day, time())
        except ValueError:  # well-formed but impossible, e.g. month 13
            parsed = None
    if parsed is None:
        raise ApplicationError(
            f"{field} must be an ISO 8601 date or date-time, e.g. 2026-11-30T00:00:00Z", field=field
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    lowest, highest = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
    if clamp:
        parsed = min(max(parsed, lowest), highest)
    if not lowest <= parsed <= highest:
        raise ApplicationError(f"{field} is out of range", field=field)
    return parsed.astimezone(UTC)
