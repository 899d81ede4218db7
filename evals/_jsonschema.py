"""JSON Schema validation for the ``json`` and ``json_schema`` scorers, by jsonschema-rs.

Why jsonschema-rs and not the pure-Python ``jsonschema``: both judge every keyword of every
draft, and both agreed with the old hand-written validator on all 480 answers measured (the
120 targets of the bundled ``structured_output`` and ``json`` sets, and 360 broken answers
the simulator makes from them). Over 100k of those answers, validators built beforehand and
one in four answers valid, validation took 0.17 s with jsonschema-rs (0.03 s when all are
valid), 2.9 s with ``jsonschema`` and 1.0-1.2 s with the old validator: ``jsonschema`` would
have made scoring slower than before. `schema_errors` as a whole now takes 0.97 s (0.60 s
when all are valid): most of it is the cache key below (about 5 µs) and the wording of the
errors. ``jsonschema`` also raises `OverflowError` on a huge integer against a float
``multipleOf``; jsonschema-rs compares integers of any size exactly. It costs 16 ms of
import, done when a schema is first used, and about 14 MB of memory.

What is checked: all keywords of drafts 4, 6, 7, 2019-09 and 2020-12 (``prefixItems`` for
pydantic's tuples, ``oneOf`` with ``$ref`` for its discriminated unions, ``if``/``then``,
``patternProperties``, ...). The draft comes from ``$schema``, else 2020-12, which is what
pydantic writes. ``format`` stays an annotation (not asserted), as the standard has it by
default; ``discriminator`` and other unknown keywords are ignored. A ``$ref`` resolves within
the schema only: nothing is fetched, and a remote one raises `ScorerError`, as does a schema
that breaks its draft's metaschema (a wrong ``type`` name, a ``minimum`` that is a string, a
bad ``pattern``): the message names where.

A validator is built once per schema and kept (`_compiled`, keyed by the schema's JSON text
with sorted keys, so items that repeat a schema share one). Error messages are worded here,
from the error's kind and the answer's own value at the error's path (``$.items[0].qty:
expected integer, got number``): the library's own messages print whole values as JSON,
and a NaN or a too-long integer as ``null``. JSON has no NaN or Infinity, which Python's
``json`` reads: an answer holding one is invalid (``$.x: NaN is not a JSON number``) rather
than read as ``null`` the way jsonschema-rs converts it. As in JSON Schema, an integer is a
number whose value is whole (``1.0`` is an integer), and ``true``/``false`` are not numbers.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any

from ._errors import ScorerError

if TYPE_CHECKING:  # imported when a schema is first used: 16 ms off every command's start
    from jsonschema_rs import ValidationError, Validator

__all__ = ["json_equal", "schema_errors"]

_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})  # what json.loads makes
_NUMBERS = (int, float)
_KEY = json.JSONEncoder(sort_keys=True, allow_nan=False, separators=(",", ":"))
_MAX_SCHEMAS = 256  # validators kept; one is built in about 20 µs for a small schema
_PLAIN_KEY_BREAKERS = frozenset(".[]\"' ")  # a key holding one is shown as ["a.b"], not .a.b
_MAX_MESSAGE = 200  # characters of a library message worded as it is


def schema_errors(instance: Any, schema: Any, *, limit: int = 5) -> list[str]:
    """Where ``instance`` breaks ``schema``: up to ``limit`` messages, each its JSON path and
    what is wrong there (``$.age: -1 is below the minimum 0``).

    An empty list means valid. Raises `ScorerError` if the schema is not a valid JSON
    Schema (per its draft's metaschema) or has a ``$ref`` that does not resolve within it.
    """
    validator = _validator(schema)
    odd = [] if _finite(instance) else _non_finite(instance, "$")
    if not odd and validator.is_valid(instance):
        return []
    errors = [f"{where}: {value} is not a JSON number" for where, value in odd]
    seen = {where for where, _ in odd}
    try:
        for error in validator.iter_errors(instance):
            if len(errors) >= limit:
                break
            if not seen or _path(error.instance_path) not in seen:
                errors.append(_worded(error, instance))
    except ValueError:  # its errors carry the value, which it converts only 256 levels deep
        errors.append("$: invalid, and nested too deep to say where")
    return errors[:limit]


def _validator(schema: Any) -> Validator:
    try:
        key = _KEY.encode(schema)
    except (TypeError, ValueError) as exc:
        raise ScorerError(f"the JSON Schema is not JSON: {exc}") from exc
    return _compiled(key)


@lru_cache(maxsize=_MAX_SCHEMAS)
def _compiled(key: str) -> Validator:
    """The validator of one schema (its JSON text); the metaschema is checked on building."""
    import jsonschema_rs

    try:
        return jsonschema_rs.validator_for(key, validate_formats=False, offline=True)
    except jsonschema_rs.ValidationError as exc:  # breaks the metaschema, or an unresolved $ref
        where = f" at {_path(exc.instance_path)}" if exc.instance_path else ""
        raise ScorerError(f"invalid JSON Schema{where}: {_clip(exc.message)}") from exc
    except (jsonschema_rs.ReferencingError, ValueError) as exc:
        raise ScorerError(f"invalid JSON Schema: {_clip(str(exc))}") from exc


# ------------------------------------------------------------------------------- messages


def _worded(error: ValidationError, instance: Any) -> str:
    """``$.path: what is wrong``, said of the answer's own value at that path."""
    return f"{_path(error.instance_path)}: {_what(error, instance)}"


def _what(error: ValidationError, instance: Any) -> str:
    from jsonschema_rs import ValidationErrorKind as Kind

    value = _at(instance, error.instance_path)
    match error.kind:
        case Kind.Type(types):
            return f"expected {' or '.join(types)}, got {_type_name(value)}"
        case Kind.Required(name):
            return f"missing required property {name!r}"
        case Kind.AdditionalProperties(unexpected):
            noun = "property" if len(unexpected) == 1 else "properties"
            return f"unexpected {noun} {', '.join(repr(k) for k in unexpected)}"
        case Kind.Enum(options):
            return f"{_short(value)} is not one of {_short(options)}"
        case Kind.Constant(expected):
            return f"{_short(value)} is not {_short(expected)}"
        case Kind.Minimum(limit):
            return f"{_short(value)} is below the minimum {limit}"
        case Kind.Maximum(limit):
            return f"{_short(value)} is above the maximum {limit}"
        case Kind.ExclusiveMinimum(limit):
            return f"{_short(value)} is not above {limit}"
        case Kind.ExclusiveMaximum(limit):
            return f"{_short(value)} is not below {limit}"
        case Kind.MultipleOf(step):
            return f"{_short(value)} is not a multiple of {step}"
        case Kind.MinItems(limit):
            return f"{len(value)} items, fewer than {limit}"
        case Kind.MaxItems(limit):
            return f"{len(value)} items, more than {limit}"
        case Kind.MinProperties(limit):
            return f"{len(value)} properties, fewer than {limit}"
        case Kind.MaxProperties(limit):
            return f"{len(value)} properties, more than {limit}"
        case Kind.MinLength(limit):
            return f"shorter than {limit} characters"
        case Kind.MaxLength(limit):
            return f"longer than {limit} characters"
        case Kind.Pattern(pattern):
            return f"{_short(value)} does not match {pattern!r}"
        case Kind.UniqueItems():
            return f"item {_first_repeat(value)} repeats an earlier item"
        case Kind.FalseSchema():
            return "not allowed"
        case Kind.AnyOf(branches):
            return "matches none of anyOf" + _closest(branches, instance)
        case Kind.OneOfNotValid(branches):
            return "matches 0 of oneOf, not exactly 1" + _closest(branches, instance)
        case Kind.OneOfMultipleValid():
            return "matches more than one of oneOf, not exactly 1"
    return _clip(error.message)


def _closest(branches: list[list[ValidationError]], instance: Any) -> str:
    """For a failed anyOf/oneOf: the errors of the one branch that came nearest (fewest
    errors), which for a discriminated union is the branch its tag names; nothing on a tie."""
    counts = sorted(len(errors) for errors in branches)
    if not counts or (len(counts) > 1 and counts[0] == counts[1]):
        return ""
    best = min(branches, key=len)
    return "; closest option: " + "; ".join(_worded(e, instance) for e in islice(best, 2))


def _at(instance: Any, path: list[str | int]) -> Any:
    for part in path:
        instance = instance[part]
    return instance


def _path(path: list[str | int]) -> str:
    out = "$"
    for part in path:
        out = _step(out, part)
    return out


def _step(where: str, part: str | int) -> str:
    """``where`` and one more key (``.name``, or ``["a.b"]`` when plain would mislead) or
    index (``[2]``)."""
    if isinstance(part, int):
        return f"{where}[{part}]"
    if part and _PLAIN_KEY_BREAKERS.isdisjoint(part):
        return f"{where}.{part}"
    return f"{where}[{json.dumps(part, ensure_ascii=False)}]"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    for kind, name in ((str, "string"), (list, "array"), (dict, "object")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _first_repeat(items: list[Any]) -> int:
    for i, element in enumerate(items):
        if any(json_equal(element, other) for other in items[:i]):
            return i
    return 0


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer past Python's int-to-str limit
        return "a very large integer"
    return text if len(text) <= 60 else text[:57] + "..."


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


# ------------------------------------------------------------- NaN and Infinity in answers


def _finite(value: Any) -> bool:
    """No NaN or Infinity anywhere in ``value`` (the usual case, checked fast)."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        value = value.values()
    elif kind is not list and kind is not tuple:
        return True
    for element in value:
        sub = type(element)
        if sub is not str and sub is not int and not _finite(element):
            return False
    return True


def _non_finite(value: Any, where: str) -> list[tuple[str, str]]:
    """(path, 'NaN' / 'Infinity' / '-Infinity') of each non-finite float in ``value``."""
    if isinstance(value, float) and not math.isfinite(value):
        return [(where, "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))]
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _non_finite(v, _step(where, k))]
    if isinstance(value, list | tuple):
        return [hit for i, v in enumerate(value) for hit in _non_finite(v, f"{where}[{i}]")]
    return []


# ------------------------------------------------------------------------------ equality


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0``, but ``true`` is not ``1``; objects ignore key order."""
    kind = type(a)
    if kind is type(b) and kind in _PLAIN:  # the usual case: parsed JSON, same kinds
        if kind is dict:
            if a.keys() != b.keys():
                return False
            for key in a:
                if not json_equal(a[key], b[key]):
                    return False
            return True
        if kind is list:
            if len(a) != len(b):
                return False
            for x, y in zip(a, b, strict=True):
                if not json_equal(x, y):
                    return False
            return True
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, _NUMBERS) and isinstance(b, _NUMBERS):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)
