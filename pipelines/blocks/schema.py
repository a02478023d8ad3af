"""Parameter schemas for scikit-learn estimators, in the JSON Schema subset we serve.

The subset (the graph validator implements exactly this): ``type`` (a name or a
list of names among integer, number, string, boolean, null), ``enum``,
``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``anyOf``,
``pattern``, ``default``, ``title``, ``description``; top level
``{"type": "object", "properties", "required", "additionalProperties": false}``.

A parameter's schema comes from its ``_parameter_constraints`` entry (see
``sklearn.utils._param_validation``). Constraints that JSON cannot carry
(callables, arrays, dicts, estimators, ``np.nan``) are dropped; a parameter left
with no alternative, or whose default JSON cannot carry, is left out of the
schema, so the estimator keeps its own default, and is named in the schema's
``x-unsupported`` list.
"""

from __future__ import annotations

import inspect
import math
import re
from numbers import Integral, Real
from typing import Any

import numpy as np

_JSON_SCALARS = ("integer", "number", "string", "boolean", "null")
_ANY_SCALAR: dict[str, Any] = {"type": ["string", "number", "boolean", "null"]}


# -- constraints -> subschemas ------------------------------------------------------


def _interval(constraint: Any) -> dict[str, Any] | None:
    """``Interval(type, left, right, closed)`` as integer or number bounds."""
    integer = constraint.type is Integral
    schema: dict[str, Any] = {"type": "integer" if integer else "number"}
    left_closed = constraint.closed in ("left", "both")
    right_closed = constraint.closed in ("right", "both")
    left, right = constraint.left, constraint.right
    if left is not None and math.isfinite(left):
        if integer:  # integers: an open bound is the next integer, closed
            schema["minimum"] = int(left) if left_closed else int(left) + 1
        else:
            schema["minimum" if left_closed else "exclusiveMinimum"] = _plain_number(left)
    if right is not None and math.isfinite(right):
        if integer:
            schema["maximum"] = int(right) if right_closed else int(right) - 1
        else:
            schema["maximum" if right_closed else "exclusiveMaximum"] = _plain_number(right)
    return schema


def _plain_number(value: Any) -> int | float:
    if isinstance(value, Integral):
        return int(value)
    return float(value)


def _type_schema(kind: type) -> dict[str, Any] | None:
    """A bare Python type used as a constraint (``Integral``, ``str``, ``dict`` …)."""
    if kind is bool or kind is np.bool_:
        return {"type": "boolean"}
    if isinstance(kind, type) and issubclass(kind, Integral | np.integer) or kind is Integral:
        return {"type": "integer"}
    if isinstance(kind, type) and issubclass(kind, Real | np.floating) or kind is Real:
        return {"type": "number"}
    if kind is str:
        return {"type": "string"}
    return None  # dict, list, np.ndarray, classes …: not representable


def _options(constraint: Any) -> dict[str, Any] | None:
    """``Options``/``StrOptions``: an enum, deprecated options left out."""
    values = [
        v
        for v in constraint.options
        if v not in constraint.deprecated and _json_scalar(v) and not _is_nan(v)
    ]
    if not values:
        return None
    values.sort(key=lambda v: (str(type(v)), v))
    base = _type_schema(constraint.type) or {}
    return {**base, "enum": [_to_json(v) for v in values]}


def constraint_schemas(constraint: Any) -> list[dict[str, Any]]:
    """The JSON subschemas one sklearn constraint allows (empty: none representable)."""
    from sklearn.utils import _param_validation as pv

    if isinstance(constraint, pv.Hidden):
        return []  # internal or deprecated values: never offered
    if constraint is None:
        return [{"type": "null"}]
    if isinstance(constraint, str):
        return {
            "boolean": [{"type": "boolean"}],
            "random_state": [
                {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
                {"type": "null"},
            ],
            "verbose": [{"type": "integer", "minimum": 0}, {"type": "boolean"}],
            "cv_object": [{"type": "integer", "minimum": 2}, {"type": "null"}],
        }.get(constraint, [])  # "array-like", "sparse matrix", "nan": not representable
    if isinstance(constraint, pv.Interval):
        sub = _interval(constraint)
        return [sub] if sub else []
    if isinstance(constraint, pv.Options):  # StrOptions included
        sub = _options(constraint)
        return [sub] if sub else []
    if isinstance(constraint, pv.MissingValues):
        # np.nan / pd.NA markers cannot be written in JSON; the rest can.
        subs: list[dict[str, Any]] = [{"type": "integer"}, {"type": "number"}]
        if not constraint.numeric_only:
            subs += [{"type": "string"}, {"type": "null"}]
        return subs
    if isinstance(constraint, type):
        sub = _type_schema(constraint)
        return [sub] if sub else []
    return []  # callable, HasMethods, anything else


def _merge(subs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One schema for a union: bare types become a type list, the rest ``anyOf``."""
    unique: list[dict[str, Any]] = []
    for sub in subs:
        if sub not in unique:
            unique.append(sub)
    bare = [s["type"] for s in unique if set(s) == {"type"}]
    rich = [s for s in unique if set(s) != {"type"}]
    # A bare "integer" adds nothing next to a bare "number".
    if "number" in bare and "integer" in bare:
        bare.remove("integer")
    merged = rich + ([{"type": bare[0] if len(bare) == 1 else bare}] if bare else [])
    if not merged:
        return None
    if len(merged) == 1:
        return dict(merged[0])
    return {"anyOf": merged}


def param_schema(constraints: Any, default: Any) -> dict[str, Any] | None:
    """The schema of one parameter, or ``None`` if JSON cannot express it.

    ``constraints`` is the ``_parameter_constraints`` entry (a list, the string
    ``"no_validation"`` or ``None`` when the estimator declares nothing).
    """
    if default is inspect.Parameter.empty:
        return None
    if constraints is None or constraints == "no_validation":
        schema = _schema_from_default(default)
    else:
        subs = [s for c in constraints for s in constraint_schemas(c)]
        schema = _merge(subs)
    if schema is None or schema == {"type": "null"}:
        return None  # nothing to choose: only None is representable
    if not _json_scalar(default) or _is_nan(default):
        return None
    json_default = _to_json(default)
    if not matches(schema, json_default):
        return None  # e.g. default="deprecated", a hidden option
    schema["default"] = json_default
    return schema


def _schema_from_default(default: Any) -> dict[str, Any] | None:
    """No declared constraints: anything goes, so offer what the default suggests."""
    if isinstance(default, bool | np.bool_):
        return {"type": "boolean"}
    if default is None:
        return dict(_ANY_SCALAR)
    if isinstance(default, Integral):
        return {"type": "integer"}
    if isinstance(default, Real):
        return {"type": "number"}
    if isinstance(default, str):
        return {"type": "string"}
    return None


# -- values ---------------------------------------------------------------------------


def _is_nan(value: Any) -> bool:
    return isinstance(value, float | np.floating) and math.isnan(value)


def _json_scalar(value: Any) -> bool:
    if value is None or isinstance(value, bool | np.bool_ | str):
        return True
    if isinstance(value, Integral):
        return True
    if isinstance(value, Real):
        return math.isfinite(float(value))
    return False


def _to_json(value: Any) -> Any:
    """Plain Python for a JSON-able scalar (numpy scalars unwrapped)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _json_type(value: Any) -> set[str]:
    if value is None:
        return {"null"}
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"number", "integer"} if value.is_integer() else {"number"}
    if isinstance(value, str):
        return {"string"}
    return set()


def matches(schema: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` satisfies ``schema`` (our subset; used for defaults and tests)."""
    if "anyOf" in schema and not any(matches(s, value) for s in schema["anyOf"]):
        return False
    if "type" in schema:
        allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not _json_type(value) & set(allowed):
            return False
    if "enum" in schema and not any(
        value == v and type(value) is type(v) or (_num(value) and _num(v) and value == v)
        for v in schema["enum"]
    ):
        return False
    if _num(value):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return False
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            return False
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        return False
    return True


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def coerce_for_sklearn(constraints: Any, value: Any) -> Any:
    """Turn a JSON value into the Python value sklearn's validation accepts.

    JSON does not tell ``1`` from ``1.0``, but sklearn does: ``max_features=1``
    means one feature and ``1.0`` all of them, and ``RealNotInt`` intervals
    refuse ints. Keep the value if sklearn accepts it as is; otherwise try the
    float (or integral int) twin.
    """
    if not isinstance(constraints, list) or isinstance(value, bool) or not _num(value):
        return value
    from sklearn.utils._param_validation import make_constraint

    checks = [make_constraint(c) for c in constraints]

    def accepted(v: Any) -> bool:
        return any(c.is_satisfied_by(v) for c in checks)

    if accepted(value):
        return value
    twin = float(value) if isinstance(value, int) else (int(value) if value.is_integer() else None)
    if twin is not None and accepted(twin):
        return twin
    return value  # sklearn will say what is wrong when the step runs


# -- docstrings and names -------------------------------------------------------------

_ROLE = re.compile(r":[a-z]+:`~?(?:[\w.]+\.)?([^`<>]+?)(?:\s*<[^>]+>)?`")
_TICKS = re.compile(r"`{1,2}([^`]+)`{1,2}")


def _clean_rst(text: str) -> str:
    text = _ROLE.sub(r"\1", text)
    text = _TICKS.sub(r"\1", text)
    return " ".join(text.split())


def first_sentence(text: str, limit: int = 300) -> str:
    text = _clean_rst(text)
    match = re.search(r"^(.+?[.!?])(?=\s+[-A-Z(`'\"]|$)", text)
    sentence = match.group(1) if match else text
    if sentence.endswith(":"):  # "… is one of:" followed by a list we do not show
        sentence = sentence[:-1].rstrip() + "."
    if len(sentence) > limit:
        sentence = sentence[: limit - 1].rstrip() + "…"
    return sentence


def summary_line(doc: str | None) -> str:
    """The docstring's first paragraph, cleaned (numpydoc summary line)."""
    if not doc:
        return ""
    paragraph = inspect.cleandoc(doc).split("\n\n", 1)[0]
    return first_sentence(paragraph)


def param_descriptions(doc: str | None) -> dict[str, str]:
    """First sentence of each entry in a numpydoc ``Parameters`` section."""
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()
    try:
        start = next(
            i
            for i in range(len(lines) - 1)
            if lines[i].strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"}
        )
    except StopIteration:
        return {}
    out: dict[str, str] = {}
    current: str | None = None
    body: list[str] = []
    for line in lines[start + 2 :]:
        if line and not line[0].isspace():
            if set(line.strip()) == {"-"}:  # the next section's underline
                break
            if current is not None:
                out[current] = first_sentence(" ".join(body))
            current, body = line.split(":", 1)[0].strip(), []
        elif current is not None:
            if not line.strip() and body:
                out[current] = first_sentence(" ".join(body))
                current = None  # only the first paragraph counts
            elif line.strip():
                body.append(line.strip())
    if current is not None and body:
        out[current] = first_sentence(" ".join(body))
    return {k: v for k, v in out.items() if v}


_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|$)|[A-Z]?[a-z]+|\d+|[A-Z]+")


def class_words(name: str) -> list[str]:
    """``KNeighborsClassifier`` -> ``["K", "Neighbors", "Classifier"]``; acronyms kept."""
    return _WORDS.findall(name)


def snake_case(name: str) -> str:
    return "_".join(w.lower() for w in class_words(name))


def humanise(param: str) -> str:
    """``n_estimators`` -> ``N estimators``."""
    words = param.replace("_", " ").strip()
    return words[:1].upper() + words[1:]
