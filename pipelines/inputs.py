"""Small checks on raw input shared by the API, the pages and the services.

``"²".isdigit()`` is True and ``int("²")`` raises; an id past 2**63 overflows
PostgreSQL's bigint; a NUL character is refused by PostgreSQL in text and JSON
columns. Each would otherwise surface as a 500.
"""

from __future__ import annotations

from typing import Any

from .errors import ApplicationError

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
