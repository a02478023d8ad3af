"""Validate a node's parameters against its block's schema (a JSON Schema subset).

Plain Python, no Django, no third-party imports: this runs for every node on
every validate call, so it is small and fast.

The top-level schema is ``{"type": "object", "properties": {...}, "required":
[...], "additionalProperties": false}``. A property schema may use exactly these
keywords: ``type`` (``"integer"``, ``"number"``, ``"string"``, ``"boolean"``,
``"null"``, also ``"array"``/``"object"`` as plain type checks, or a list of
them), ``enum``, ``minimum``, ``maximum``, ``exclusiveMinimum``,
``exclusiveMaximum`` (a number; the draft-4 boolean form is honoured too),
``anyOf``, ``pattern``, ``default``, ``title``, ``description``. Other keywords
are ignored.

Decisions, so nobody has to guess:

- Unknown parameters are rejected unless the schema says
  ``"additionalProperties": true`` explicitly (absent means false here, unlike
  JSON Schema): a misspelt ``max_iter`` must not be silently ignored.
- Booleans are never integers or numbers (``True`` is not ``1``), also in ``enum``.
- Integers are valid numbers. A float with an integral value (``3.0``) is
  accepted where only an integer is allowed and coerced to ``int`` (JSON does not
  distinguish ``3`` from ``3.0``). Coercion happens only when nothing accepts the
  value as it is, so ``1.0`` stays a float where a number is also allowed:
  scikit-learn reads ``max_features=1.0`` ("all features") and ``1`` ("one
  feature") differently.
- NaN and ±Infinity are rejected everywhere (also inside lists).
- ``pattern`` is searched, not anchored (JSON Schema semantics); bounds apply
  to numbers only and ``pattern`` to strings only.
- Defaults are filled in (deep copies) for absent parameters; required
  parameters without a value get the error ``"required"``.
- An error that concerns the whole params value rather than one parameter is
  keyed by ``NON_PARAM_KEY``.
"""

from __future__ import annotations

import copy
import math
import re
from functools import lru_cache
from typing import Any

__all__ = ["NON_PARAM_KEY", "describe_schema", "validate_params", "validate_value"]

NON_PARAM_KEY = "__all__"

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "a boolean",
    "null": "null",
    "array": "a list",
    "object": "an object",
}
_MAX_ENUM_SHOWN = 20
_MAX_STRING_SHOWN = 40


def validate_params(schema: dict[str, Any], params: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Check ``params`` against a block's params schema.

    Returns ``(params with defaults filled in, errors)``; ``errors`` maps a
    parameter name to one human message and is empty when the params are valid.
    The returned params keep the schema's property order, then any extra
    parameters that ``additionalProperties: true`` lets through. Never raises
    for bad params; never mutates its arguments.
    """
    if not isinstance(params, dict):
        return {}, {NON_PARAM_KEY: f"params must be a JSON object, got {_describe_got(params)}"}

    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    allow_extra = schema.get("additionalProperties") is True

    result: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, prop in properties.items():
        if name in params:
            value, error = validate_value(prop, params[name])
            if error is None:
                result[name] = value
            else:
                errors[name] = error
        elif name in required:
            errors[name] = "required"
        elif "default" in prop:
            result[name] = copy.deepcopy(prop["default"])

    for name, value in params.items():
        if name in properties:
            continue
        if allow_extra:
            bad = _nonfinite_in(value)
            if bad is None:
                result[name] = value
            else:
                errors[name] = f"must be a finite number (got {bad})"
        elif properties:
            errors[name] = f"unknown parameter '{name}'; known: {', '.join(properties)}"
        else:
            errors[name] = f"unknown parameter '{name}'; this block takes no parameters"
    return result, errors


def validate_value(schema: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    """Check one value against a property schema: ``(value, None)`` or ``(value, message)``.

    The returned value may be coerced (``3.0`` → ``3`` for an integer).
    """
    bad = _nonfinite_in(value)
    if bad is not None:
        return value, f"must be a finite number (got {bad})"
    ok, coerced = _matches(schema, value, coerce=False)
    if ok:
        return coerced, None
    ok, coerced = _matches(schema, value, coerce=True)
    if ok:
        return coerced, None
    return value, _error(schema, value)


def describe_schema(schema: dict[str, Any]) -> str:
    """What a property schema allows, in words: ``"a number > 0 and ≤ 1"``."""
    parts: list[str] = []
    if "anyOf" in schema:
        parts.append(_join_or([describe_schema(s) for s in schema["anyOf"]]))
    if "enum" in schema:
        parts.append(_describe_enum(schema["enum"]))
    elif "type" in schema:
        parts.append(" or ".join(_describe_type(schema, t) for t in _types(schema)))
    if not parts:
        return "anything"
    return " and ".join(parts)


# -- matching ---------------------------------------------------------------


def _matches(schema: dict[str, Any], value: Any, *, coerce: bool) -> tuple[bool, Any]:
    """Whether ``value`` satisfies ``schema``; also returns the (maybe coerced) value."""
    if "type" in schema:
        for type_name in _types(schema):
            ok, candidate = _is_type(type_name, value, coerce=coerce)
            if ok:
                value = candidate
                break
        else:
            return False, value
    if "enum" in schema and not any(_json_equal(value, option) for option in schema["enum"]):
        return False, value
    if _is_number(value) and _bound_violation(schema, value) is not None:
        return False, value
    if isinstance(value, str) and "pattern" in schema:
        if _regex(schema["pattern"]).search(value) is None:
            return False, value
    if "anyOf" in schema:
        branches = schema["anyOf"]
        # Exact matches first, across all branches, so that coercion in one
        # branch never beats a branch that takes the value as it is.
        for branch_coerce in (False, True) if coerce else (False,):
            for branch in branches:
                ok, candidate = _matches(branch, value, coerce=branch_coerce)
                if ok:
                    return True, candidate
        return False, value
    return True, value


def _is_type(type_name: str, value: Any, *, coerce: bool) -> tuple[bool, Any]:
    if type_name == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if coerce and isinstance(value, float) and value.is_integer():
            return True, int(value)
        return False, value
    if type_name == "number":
        return _is_number(value), value
    if type_name == "string":
        return isinstance(value, str), value
    if type_name == "boolean":
        return isinstance(value, bool), value
    if type_name == "null":
        return value is None, value
    if type_name == "array":
        return isinstance(value, list | tuple), value
    if type_name == "object":
        return isinstance(value, dict), value
    return False, value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: ``True != 1`` but ``1 == 1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _bounds(schema: dict[str, Any]) -> list[tuple[str, float]]:
    """The schema's bounds as ``(operator, limit)`` pairs, e.g. ``[(">", 0), ("≤", 1)]``."""
    bounds: list[tuple[str, float]] = []
    ex_min, ex_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if "minimum" in schema:
        bounds.append((">" if ex_min is True else "≥", schema["minimum"]))
    if _is_number(ex_min):
        bounds.append((">", ex_min))
    if "maximum" in schema:
        bounds.append(("<" if ex_max is True else "≤", schema["maximum"]))
    if _is_number(ex_max):
        bounds.append(("<", ex_max))
    return bounds


_OPS = {
    ">": lambda v, limit: v > limit,
    "≥": lambda v, limit: v >= limit,
    "<": lambda v, limit: v < limit,
    "≤": lambda v, limit: v <= limit,
}


def _bound_violation(schema: dict[str, Any], value: float) -> str | None:
    for op, limit in _bounds(schema):
        if not _OPS[op](value, limit):
            return f"must be {op} {_fmt(limit)} (got {_fmt(value)})"
    return None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _nonfinite_in(value: Any) -> str | None:
    """``"NaN"``/``"Infinity"``/``"-Infinity"`` if such a float hides in ``value``."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return None
    if isinstance(value, list | tuple):
        items = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return None
    for item in items:
        bad = _nonfinite_in(item)
        if bad is not None:
            return bad
    return None


# -- messages ---------------------------------------------------------------


def _error(schema: dict[str, Any], value: Any) -> str:
    """The most specific message for a value that failed ``schema``."""
    got = _fmt(value) if _is_scalar(value) else _describe_got(value)
    if "anyOf" in schema and len(schema["anyOf"]) != 1:
        return f"must be {describe_schema(schema)} (got {got})"
    if "type" in schema:
        types = _types(schema)
        matched = [t for t in types if _is_type(t, value, coerce=True)[0]]
        if not matched:
            expected = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
            return f"expected {expected}, got {_describe_got(value)}"
    if "enum" in schema and not any(_json_equal(value, o) for o in schema["enum"]):
        return f"must be {_describe_enum(schema['enum'])} (got {got})"
    if _is_number(value):
        violation = _bound_violation(schema, value)
        if violation is not None:
            return violation
    if isinstance(value, str) and "pattern" in schema:
        if _regex(schema["pattern"]).search(value) is None:
            return f"must match the pattern {schema['pattern']} (got {got})"
    if "anyOf" in schema:  # a single branch: its own message is the clearest
        return _error(schema["anyOf"][0], value)
    return f"must be {describe_schema(schema)} (got {got})"


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema["type"]
    return list(declared) if isinstance(declared, list) else [declared]


def _describe_type(schema: dict[str, Any], type_name: str) -> str:
    text = _TYPE_NAMES.get(type_name, type_name)
    if type_name in ("integer", "number"):
        bounds = _bounds(schema)
        if bounds:
            text += " " + " and ".join(f"{op} {_fmt(limit)}" for op, limit in bounds)
    elif type_name == "string" and "pattern" in schema:
        text += f" matching {schema['pattern']}"
    return text


def _describe_enum(options: list[Any]) -> str:
    shown = [_fmt(o) for o in options[:_MAX_ENUM_SHOWN]]
    if len(options) > _MAX_ENUM_SHOWN:
        shown.append(f"… ({len(options) - _MAX_ENUM_SHOWN} more)")
    if len(options) == 1:
        return shown[0]
    return "one of " + ", ".join(shown)


def _join_or(parts: list[str]) -> str:
    if len(parts) <= 2:
        return " or ".join(parts)
    return ", or ".join(parts)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _fmt(value: Any) -> str:
    """A value as a person reads it in a message: ``'auto'``, ``null``, ``true``, ``0.5``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if len(value) > _MAX_STRING_SHOWN:
            value = value[: _MAX_STRING_SHOWN - 1] + "…"
        return f"'{value}'"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _describe_got(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {_fmt(value)}"
    if isinstance(value, str):
        return f"the string {_fmt(value)}"
    if isinstance(value, int | float):
        return f"the number {_fmt(value)}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
