"""The simulator's value generators: instances of a JSON Schema, values that break one, and
strings that match a regex (the supported subset, and None outside it)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from evals._jsonschema import schema_errors
from togethersim._regex import Draws, sample_match
from togethersim._schema import break_instance, instance

SCHEMAS: list[dict[str, Any]] = [
    {"type": "string"},
    {"type": "string", "minLength": 30},
    {"type": "string", "maxLength": 3},
    {"type": "string", "format": "date"},
    {"type": "string", "pattern": r"^[A-Z]{2}\d{3}$"},
    {"type": "integer", "minimum": -5, "maximum": -3},
    {"type": "integer", "exclusiveMinimum": 10},
    {"type": "number", "minimum": 0.5, "exclusiveMaximum": 0.75},
    {"type": "boolean"},
    {"type": ["null", "integer"]},
    {"enum": ["a", "b", 3]},
    {"const": {"x": 1}},
    {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 4},
    {"type": "array", "items": {"type": "string", "enum": ["x", "y"]}, "maxItems": 0},
    {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "address": {
                "type": "object",
                "properties": {"zip": {"type": "string", "pattern": r"^\d{5}$"}},
                "required": ["zip"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "address"],
        "additionalProperties": False,
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_instances_are_valid_and_deterministic(schema: dict[str, Any]) -> None:
    values = [instance(schema, f"seed {i}") for i in range(30)]
    for value in values:
        assert schema_errors(value, schema) == [], (value, schema)
    assert values == [instance(schema, f"seed {i}") for i in range(30)]


def test_multiple_of() -> None:
    for i in range(30):
        value = instance({"type": "integer", "minimum": 1, "maximum": 100, "multipleOf": 7}, str(i))
        assert isinstance(value, int) and 1 <= value <= 100 and value % 7 == 0
        number = instance(
            {"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.25}, str(i)
        )
        assert number in (0, 0.25, 0.5, 0.75, 1)


def test_refs_and_combinators_are_followed() -> None:
    schema = {
        "$defs": {
            "Point": {
                "type": "object",
                "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                "required": ["x", "y"],
            }
        },
        "type": "object",
        "properties": {
            "at": {"$ref": "#/$defs/Point"},
            "label": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 4}]},
            "both": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]},
                    {"properties": {"b": {"const": 2}}, "required": ["b"]},
                ]
            },
        },
        "required": ["at", "label", "both"],
    }
    for i in range(10):
        value = instance(schema, str(i))
        assert set(value["at"]) == {"x", "y"} and all(
            isinstance(v, int) for v in value["at"].values()
        )
        assert isinstance(value["label"], str) and len(value["label"]) <= 4
        assert isinstance(value["both"]["a"], bool) and value["both"]["b"] == 2


def test_optional_properties_come_and_go() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
    seen = {tuple(sorted(instance(schema, str(i)))) for i in range(40)}
    assert seen == {(), ("a",), ("b",), ("a", "b")}


TICKET = SCHEMAS[-1]
BROKEN_SCHEMA = {
    "type": "object",
    "properties": {
        "priority": {"type": "string", "enum": ["low", "high"]},
        "customer": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name"],
        },
        "scores": {"type": "array", "items": {"type": "number"}},
    },
    "required": ["priority", "customer"],
}


def test_broken_values_are_rejected_in_each_way() -> None:
    value = {"priority": "high", "customer": {"name": "Ada", "age": 3}, "scores": [0.5]}
    assert schema_errors(value, BROKEN_SCHEMA) == []
    kinds = set()
    for i in range(60):
        broken = break_instance(value, BROKEN_SCHEMA, str(i))
        errors = schema_errors(broken, BROKEN_SCHEMA)
        assert errors, broken
        kinds.add(errors[0].split(": ", 1)[1].split(" ")[0])
    assert value == {"priority": "high", "customer": {"name": "Ada", "age": 3}, "scores": [0.5]}
    assert len(kinds) >= 3, kinds  # a missing field, a value outside the enum, a wrong type


def test_unbreakable_schema_and_top_level_fallback() -> None:
    assert break_instance({"a": 1}, {}, "x") is None
    broken = break_instance({}, {"type": "object"}, "x")
    assert schema_errors(broken, {"type": "object"})


# --- regex --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "(positive|negative|neutral)",
        r"^\d{3}-\d{2}-\d{4}$",
        r"[A-Za-z_][A-Za-z0-9_]{0,7}",
        r"(?:yes|no)[.!]?",
        r"[^,]{2,5},[^,]+",
        r"\w+@\w+\.com",
        r"a{2,}b*c+",
        r"x\.y\(z\)",
        r"[-+]?[0-9]*\.?[0-9]+",
        r"\s*\S+\s*",
        r"(?P<word>[a-z]+)-\d",
    ],
)
def test_sample_match_handles_the_subset(pattern: str) -> None:
    seen = set()
    for i in range(25):
        text = sample_match(pattern, str(i))
        assert text is not None and re.fullmatch(pattern, text), (pattern, text)
        seen.add(text)
    assert len(seen) > 1 or pattern.startswith("x")


@pytest.mark.parametrize(
    "pattern",
    [r"(\w)\1", r"foo(?=bar)", r"(?i)abc", r"\bword\b", r"(unclosed", r"a{2}{3}"],
)
def test_sample_match_refuses_the_rest(pattern: str) -> None:
    assert sample_match(pattern, "0") is None


def test_draws_are_deterministic_and_spread() -> None:
    a, b = Draws("s"), Draws("s")
    first = [a.pick(10) for _ in range(200)]
    assert first == [b.pick(10) for _ in range(200)]
    assert set(first) == set(range(10))
    assert Draws("s").pick(1) == 0
    assert 0 <= Draws("t").unit() < 1
