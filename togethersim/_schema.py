"""JSON values built to fit a JSON Schema, and values built to break one.

:func:`instance` makes the arguments of a simulated tool call (from the tool's
``parameters``) and the reply to ``response_format: json_schema``; :func:`break_instance`
makes a wrong eval answer on a ``json_schema`` item. Both are deterministic: every choice
comes from a :class:`._regex.Draws` stream seeded by the caller.

How :func:`instance` reads a schema (``$ref`` to ``#/...`` is followed, 8 levels deep at
most; a ``true``/``{}`` schema gives a string):

===================  ========================================================================
``const``, ``enum``  the constant; one member, drawn
``anyOf/oneOf``      the first branch that is not ``{"type": "null"}``
``allOf``            the branches merged (properties and required lists joined)
``type`` list        the first type that is not ``"null"``
no ``type``          ``object`` if it has ``properties``, ``array`` if ``items``, else string
object               every required property, and each optional one with probability 1/2
array                ``minItems`` (default 1) plus 0-2 more, within ``maxItems``; per
                     ``prefixItems`` then ``items``; distinct under ``uniqueItems``
string               ``format`` date, date-time, time, email, uri, uuid, ipv4 as such;
                     ``pattern`` through :func:`._regex.sample_match`; else one or two
                     words, padded or cut to ``minLength``/``maxLength``
integer / number     drawn within ``minimum``/``maximum`` (exclusive bounds respected), in
                     [0, 100] when unbounded, a multiple of ``multipleOf`` when set; numbers
                     get two decimals
boolean, null        drawn; null
===================  ========================================================================

:func:`break_instance` lists every way it can make a valid value invalid and draws one:
a **required property removed** (at any depth), an **enum value replaced** by one outside
the enum, or a **leaf of the wrong type** inside a nested object (``"7"`` for ``7``, ``1``
for ``"x"``, ``"yes"`` for ``true``). With none available it changes the top-level type
(a list for an object, an object for anything else); a schema that accepts everything
(``{}``) cannot be broken, and the answer is None.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from ._regex import Draws, sample_match

__all__ = ["break_instance", "instance"]

_MAX_DEPTH = 8
_WORDS = (
    "alpha bravo cedar delta ember falcon garnet harbor indigo juniper kestrel lantern "
    "meadow nimbus orchid pebble quartz raven sierra tundra umber violet willow yarrow"
).split()
_FORMATS = {
    "date": "2024-05-17",
    "date-time": "2024-05-17T09:30:00Z",
    "time": "09:30:00",
    "email": "ada@example.com",
    "uri": "https://example.com/sim",
    "url": "https://example.com/sim",
    "uuid": "5f0c3a52-8d1e-4c7b-9a2f-1b6d0e4c9a31",
    "ipv4": "192.0.2.7",
    "hostname": "example.com",
}

Path = tuple[str | int, ...]


def instance(schema: Any, seed: str) -> Any:
    """A value valid under ``schema``, the same for the same ``(schema, seed)``."""
    return _make(schema, schema, Draws(seed), 0)


def _resolve(schema: Any, root: Any, depth: int) -> Any:
    """Follow a local ``$ref`` (``#/$defs/X``, ``#/definitions/X``...)."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        ref: str = schema["$ref"]
        if depth > _MAX_DEPTH or not ref.startswith("#"):
            return {}
        target: Any = root
        for part in ref[1:].split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            return {}
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **rest} if isinstance(target, dict) and rest else target
        depth += 1
    return schema


def _merge(branches: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for branch in branches:
        if not isinstance(branch, dict):
            continue
        for key, value in branch.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if kinds else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _make(schema: Any, root: Any, draws: Draws, depth: int) -> Any:
    schema = _resolve(schema, root, depth)
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return _WORDS[draws.pick(len(_WORDS))]
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return copy.deepcopy(enum[draws.pick(len(enum))])
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            usable = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
            rest = {k: v for k, v in schema.items() if k != key}
            return _make(_merge([rest, (usable or branches)[0]]), root, draws, depth + 1)
    if isinstance(schema.get("allOf"), list):
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        resolved = [_resolve(b, root, depth + 1) for b in schema["allOf"]]
        return _make(_merge([rest, *resolved]), root, draws, depth + 1)
    kind = _type_of(schema)
    if kind == "object":
        return _object(schema, root, draws, depth)
    if kind == "array":
        return _array(schema, root, draws, depth)
    if kind in ("integer", "number"):
        return _number(schema, draws, integer=kind == "integer")
    if kind == "boolean":
        return draws.pick(2) == 1
    if kind == "null":
        return None
    return _string(schema, draws)


def _object(schema: dict[str, Any], root: Any, draws: Draws, depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    needed = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
    out: dict[str, Any] = {}
    for name, sub in properties.items():
        if name in needed or draws.pick(2) == 1:
            out[name] = _make(sub, root, draws, depth + 1)
    for name in sorted(needed - set(properties)):  # required but not described
        extra = schema.get("additionalProperties")
        out[name] = _make(extra if isinstance(extra, dict) else {}, root, draws, depth + 1)
    return out


def _array(schema: dict[str, Any], root: Any, draws: Draws, depth: int) -> list[Any]:
    low = schema.get("minItems")
    low = low if isinstance(low, int) and low >= 0 else 1
    high = schema.get("maxItems")
    if isinstance(high, int) and high >= 0:
        low = min(low, high)
    most = low + 2 if not isinstance(high, int) else min(low + 2, high)
    count = low + draws.pick(max(0, most - low) + 1)
    items = schema.get("items", {})
    prefix = schema.get("prefixItems")
    out: list[Any] = []
    for i in range(count):
        sub = prefix[i] if isinstance(prefix, list) and i < len(prefix) else items
        value = _make(sub, root, draws, depth + 1)
        if schema.get("uniqueItems") is True:
            for _ in range(8):
                if value not in out:
                    break
                value = _make(sub, root, draws, depth + 1)
            else:
                break  # cannot find another distinct value: stop at what we have
        out.append(value)
    return out


def _bound(schema: dict[str, Any], key: str) -> float | None:
    value = schema.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _number(schema: dict[str, Any], draws: Draws, *, integer: bool) -> int | float:
    step = 1.0 if integer else 0.01
    low = _bound(schema, "minimum")
    high = _bound(schema, "maximum")
    if (ex := _bound(schema, "exclusiveMinimum")) is not None:
        low = ex + step if low is None else max(low, ex + step)
    if (ex := _bound(schema, "exclusiveMaximum")) is not None:
        high = ex - step if high is None else min(high, ex - step)
    if low is None:
        low = 0.0 if high is None or high >= 100.0 else high - 100.0
    if high is None:
        high = low + 100.0
    high = max(high, low)
    multiple = _bound(schema, "multipleOf")
    if multiple is not None and multiple > 0:
        first = math.ceil(low / multiple)
        count = max(0, math.floor(high / multiple) - first)
        value = (first + draws.pick(count + 1)) * multiple
        return int(value) if integer else round(value, 10)
    if integer:
        first, last = math.ceil(low), max(math.ceil(low), math.floor(high))
        return first + draws.pick(last - first + 1)
    value = round(low + (high - low) * draws.unit(), 2)
    return min(max(value, low), high)


def _string(schema: dict[str, Any], draws: Draws) -> str:
    fmt = schema.get("format")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        text = sample_match(pattern, f"{draws.pick(2**31)}")
        if text is not None:
            return text
    if isinstance(fmt, str) and fmt in _FORMATS:
        text = _FORMATS[fmt]
    else:
        text = " ".join(_WORDS[draws.pick(len(_WORDS))] for _ in range(1 + draws.pick(2)))
    low = schema.get("minLength")
    high = schema.get("maxLength")
    if isinstance(low, int):
        while len(text) < low:
            text += " " + _WORDS[draws.pick(len(_WORDS))]
    if isinstance(high, int) and len(text) > high:
        text = text[:high].rstrip() if high else ""
        if isinstance(low, int) and len(text) < low:
            text = text.ljust(low, "x")
    return text


# -- breaking ------------------------------------------------------------------------------


def break_instance(value: Any, schema: Any, seed: str) -> Any:
    """A variant of ``value`` (valid under ``schema``) that the schema rejects, or None.

    See the module docstring for the ways it breaks a value.
    """
    ways: list[tuple[str, Path, Any]] = []  # (how, where, the schema found there)
    _collect(value, schema, schema, (), 0, ways)
    draws = Draws(seed)
    if ways:
        how, path, sub = ways[draws.pick(len(ways))]
        broken = copy.deepcopy(value)
        if how == "drop":
            parent = _get(broken, path[:-1])
            del parent[path[-1]]
            return broken
        if how == "enum":
            return _set(broken, path, _outside(sub["enum"], _get(broken, path)))
        return _set(broken, path, _retyped(_get(broken, path)))
    top = _resolve(schema, schema, 0)
    if isinstance(top, dict) and "type" in top:
        return [value] if _type_of(top) == "object" else {"value": value}
    return None


def _collect(
    value: Any, schema: Any, root: Any, path: Path, depth: int, ways: list[tuple[str, Path, Any]]
) -> None:
    schema = _resolve(schema, root, depth)
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        ways.append(("enum", path, schema))
        return
    if isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        for name in required if isinstance(required, list) else []:
            if name in value:
                ways.append(("drop", (*path, name), schema))
        for name, sub in properties.items():
            if name in value:
                _collect(value[name], sub, root, (*path, name), depth + 1, ways)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _collect(item, items, root, (*path, i), depth + 1, ways)
    elif depth > 0 and isinstance(schema.get("type"), str) and schema["type"] != "null":
        ways.append(("type", path, schema))  # a leaf inside an object or array


def _get(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


def _set(value: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    _get(value, path[:-1])[path[-1]] = new
    return value


def _outside(enum: list[Any], current: Any) -> Any:
    """A value of the same kind as ``current`` that is not in ``enum``."""
    if isinstance(current, bool):
        return "maybe"
    if isinstance(current, int | float):
        candidate: Any = max((x for x in enum if isinstance(x, int | float)), default=0) + 1
    else:
        candidate = f"{current}_other" if isinstance(current, str) else "other"
    while candidate in enum:
        candidate = f"{candidate}_"
    return candidate


def _retyped(current: Any) -> Any:
    """The same value in a type JSON Schema keeps apart from the original."""
    if isinstance(current, bool):
        return "yes" if current else "no"
    if isinstance(current, int | float):
        return str(current)
    if isinstance(current, str):
        return len(current)
    return str(current)
