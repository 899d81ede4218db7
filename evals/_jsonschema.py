"""A small JSON Schema validator for the subset eval sets use, so the ``json`` and
``json_schema`` scorers need no dependency.

Supported keywords: ``type`` (a name or a list of names), ``enum``, ``const``,
``properties``, ``required``, ``additionalProperties`` (``false`` or a schema), ``items``
(one schema for every element), ``minItems``/``maxItems``, ``uniqueItems``,
``minLength``/``maxLength``, ``pattern``, ``minimum``/``maximum``,
``exclusiveMinimum``/``exclusiveMaximum`` (numbers, as in draft 6 and later), ``anyOf``,
``oneOf``, ``allOf``, and ``$ref`` to a local definition (``#/$defs/Name``,
``#/definitions/Name``, ``#``), which is what pydantic's ``model_json_schema()`` writes
for nested models and ``Optional`` fields. Annotations (``title``, ``description``,
``$schema``, ``format``, ...) are ignored, as the standard does by default.

Any other keyword (``patternProperties``, ``if``, ``not``, a remote ``$ref``, ...) raises
`ScorerError` instead of being skipped: a schema that is only partly checked would pass
answers it should fail. As in JSON Schema, an integer is a number whose value is whole
(``1.0`` is an integer), and ``true``/``false`` are not numbers.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ._errors import ScorerError

__all__ = ["json_equal", "schema_errors"]

_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "format",
        "readOnly",
        "writeOnly",
        "deprecated",
        "$defs",  # definitions are checked where a $ref uses them
        "definitions",
    }
)
_CHECKED = frozenset(
    {
        "type",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "uniqueItems",
        "anyOf",
        "oneOf",
        "allOf",
        "$ref",
    }
)
_KNOWN = _CHECKED | _ANNOTATIONS
_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})  # what json.loads makes
_MAX_REF_DEPTH = 64  # $ref chains deeper than this are a loop


def schema_errors(instance: Any, schema: Any, *, limit: int = 5) -> list[str]:
    """Where ``instance`` breaks ``schema``: up to ``limit`` messages like ``$.age: below 0``.

    An empty list means valid. Raises `ScorerError` if the schema uses a keyword this
    validator does not check, or is not a schema at all.
    """
    errors: list[str] = []
    _Validator(schema, limit).check(instance, schema, "$", errors)
    return errors


class _Validator:
    """Checks values against a schema; holds the root so that ``$ref`` can be resolved."""

    def __init__(self, root: Any, limit: int) -> None:
        self.root = root
        self.limit = limit
        self.depth = 0  # $ref hops on the current path

    def check(self, value: Any, schema: Any, where: str, errors: list[str]) -> None:
        if isinstance(schema, dict) and "$ref" in schema:
            target = self.resolve(schema["$ref"], where)
            self.depth += 1
            if self.depth > _MAX_REF_DEPTH:
                raise ScorerError(f"JSON Schema at {where}: $ref loops")
            try:
                self.check(value, target, where, errors)
            finally:
                self.depth -= 1
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            if set(rest) - _ANNOTATIONS:
                self.check(value, rest, where, errors)
            return
        _check(value, schema, where, errors, self.limit, self)

    def valid(self, value: Any, schema: Any, where: str) -> bool:
        trial: list[str] = []
        self.check(value, schema, where, trial)
        return not trial

    def resolve(self, ref: object, where: str) -> Any:
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
            raise ScorerError(f"JSON Schema at {where}: only local $ref ('#/...') is supported")
        node = self.root
        for part in ref[2:].split("/") if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise ScorerError(f"JSON Schema at {where}: $ref {ref!r} points nowhere")
            node = node[part]
        return node


def _check(
    value: Any, schema: Any, where: str, errors: list[str], limit: int, v: _Validator
) -> None:
    if schema is True or schema == {}:
        return
    if schema is False:
        errors.append(f"{where}: not allowed")
        return
    if not isinstance(schema, dict):
        raise ScorerError(f"JSON Schema at {where} must be an object or a boolean")
    if not schema.keys() <= _KNOWN:
        unsupported = sorted(set(schema) - _KNOWN)
        raise ScorerError(
            f"JSON Schema keyword {unsupported[0]!r} at {where} is not supported by the json "
            f"scorer (it checks {', '.join(sorted(_CHECKED))})"
        )

    def fail(message: str) -> None:
        if len(errors) < limit:
            errors.append(f"{where}: {message}")

    if "type" in schema:
        wanted = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        for name in wanted:
            if name not in _TYPES:
                raise ScorerError(f"JSON Schema at {where}: unknown type {name!r}")
        if not any(_is_type(value, name) for name in wanted):
            fail(f"expected {' or '.join(wanted)}, got {_type_name(value)}")
            return
    if "enum" in schema and not any(json_equal(value, option) for option in schema["enum"]):
        fail(f"{_short(value)} is not one of {_short(schema['enum'])}")
    if "const" in schema and not json_equal(value, schema["const"]):
        fail(f"{_short(value)} is not {_short(schema['const'])}")
    for sub in schema.get("allOf", []):
        v.check(value, sub, where, errors)
    if "anyOf" in schema and not any(v.valid(value, sub, where) for sub in schema["anyOf"]):
        fail("matches none of anyOf")
    if "oneOf" in schema:
        hits = sum(v.valid(value, sub, where) for sub in schema["oneOf"])
        if hits != 1:
            fail(f"matches {hits} of oneOf, not exactly 1")

    if isinstance(value, dict):
        _check_object(value, schema, where, errors, fail, v)
    elif isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            fail(f"{len(value)} items, fewer than {schema['minItems']}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            fail(f"{len(value)} items, more than {schema['maxItems']}")
        if schema.get("uniqueItems") is True:
            for i, element in enumerate(value):
                if any(json_equal(element, other) for other in value[:i]):
                    fail(f"item {i} repeats an earlier item")
                    break
        if "items" in schema:
            for i, element in enumerate(value):
                v.check(element, schema["items"], f"{where}[{i}]", errors)
    elif isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            fail(f"shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            fail(f"longer than {schema['maxLength']} characters")
        if "pattern" in schema:
            try:
                matched = re.search(schema["pattern"], value)
            except re.error as exc:
                raise ScorerError(f"JSON Schema at {where}: bad pattern: {exc}") from exc
            if not matched:
                fail(f"{_short(value)} does not match {schema['pattern']!r}")
    elif _is_type(value, "number"):
        _check_number(value, schema, fail)


def _check_object(
    value: dict[str, Any],
    schema: dict[str, Any],
    where: str,
    errors: list[str],
    fail: Any,
    v: _Validator,
) -> None:
    for key in schema.get("required", []):
        if key not in value:
            fail(f"missing required property {key!r}")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            v.check(item, properties[key], f"{where}.{key}", errors)
        elif extra is False:
            fail(f"unexpected property {key!r}")
        elif extra is not True:
            v.check(item, extra, f"{where}.{key}", errors)


def _check_number(value: float, schema: dict[str, Any], fail: Any) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        fail(f"{value} is below the minimum {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        fail(f"{value} is above the maximum {schema['maximum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        fail(f"{value} is not above {schema['exclusiveMinimum']}")
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        fail(f"{value} is not below {schema['exclusiveMaximum']}")


_KINDS = {"object": dict, "array": list, "string": str}
_NUMBERS = (int, float)


def _is_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, _NUMBERS):
            return False
        return name == "number" or (math.isfinite(value) and float(value).is_integer())
    return isinstance(value, _KINDS[name])


def _type_name(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is_type(value, name):
            return name
    return type(value).__name__


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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
