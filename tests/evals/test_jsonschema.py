"""evals._jsonschema over jsonschema-rs: huge integers, pydantic's tuples and discriminated
unions, schemas that are themselves invalid, the worded errors and their paths, the draft
from ``$schema``, ``format`` as an annotation, NaN, and one validator per schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, Field

from evals import EvalItem, Extraction, ScorerError, ToolCall, score_answer, score_extraction
from evals._jsonschema import _compiled, schema_errors
from fanout.cli import main

BIG = 10**400  # past a float's range (about 1.8e308): float(BIG) raises OverflowError


# huge integers ----------------------------------------------------------------------------


def test_a_huge_integer_is_an_integer_compared_exactly() -> None:
    assert schema_errors(BIG, {"type": "integer"}) == []
    assert schema_errors(-BIG, {"type": "number", "maximum": 5}) == []
    assert schema_errors(BIG, {"type": "integer", "multipleOf": 0.5}) == []
    assert schema_errors(BIG, {"minimum": BIG, "exclusiveMaximum": BIG + 1}) == []
    assert schema_errors(BIG - 1, {"minimum": BIG}) == [
        f"$: {str(BIG - 1)[:57]}... is below the minimum {BIG}"
    ]
    schema = {"type": "object", "properties": {"n": {"type": "string"}}}
    assert schema_errors({"n": BIG}, schema) == ["$.n: expected string, got integer"]


def test_an_answer_with_a_huge_integer_is_scored_not_crashed() -> None:
    schema = {
        "type": "object",
        "properties": {"count": {"type": "integer", "maximum": 1000}},
        "required": ["count"],
    }
    item = EvalItem(id="big", input="?", target="{}", scorer="json", metadata={"schema": schema})
    score = score_answer(f'{{"count": {BIG}}}', item)
    assert not score.correct and not score.unparsed
    assert score.reason.startswith("schema: $.count: 1000000") and "above the maximum 1000" in (
        score.reason
    )
    answer = json.dumps({"count": BIG})
    same = EvalItem(id="same", input="?", target=answer, scorer="json")
    assert score_answer(answer, same).correct


@pytest.mark.parametrize(
    "unreadable",
    ['{"count": ' + "9" * 5000 + "}", "[" * 100_000],  # past int's 4,300 digits; past recursion
)
def test_json_that_python_cannot_read_is_no_json_not_a_crash(unreadable: str) -> None:
    schema = {"type": "object"}
    plain = EvalItem(id="j", input="?", target="{}", scorer="json", metadata={"schema": schema})
    assert score_answer(unreadable, plain).reason == "no JSON found"
    assert score_answer(f"```json\n{unreadable}\n```", plain).unparsed
    strict = EvalItem(
        id="s", input="?", target={}, scorer="json_schema", metadata={"schema": schema}
    )
    assert score_answer(unreadable, strict).reason == "not valid JSON"
    call = EvalItem(id="c", input="?", target=({"name": "f", "arguments": {}},), scorer="tool_call")
    made = Extraction(answer=None, tool_calls=(ToolCall("f", unreadable, "call_0"),))
    assert score_extraction(made, call).reason == "arguments of f are not valid JSON"
    with pytest.raises(ScorerError, match="is not JSON"):  # a target is the user's to fix
        score_answer("{}", EvalItem(id="t", input="?", target=unreadable, scorer="json"))


# pydantic's schemas, generated from real models -------------------------------------------


class Cat(BaseModel):
    pet_type: Literal["cat"]
    meows: int


class Dog(BaseModel):
    pet_type: Literal["dog"]
    barks: float


class Owner(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="pet_type")]
    point: tuple[int, str]
    nick: str | None = None


OWNER = Owner.model_json_schema()


def test_pydantic_writes_the_keywords_the_old_validator_refused() -> None:
    point, pet = OWNER["properties"]["point"], OWNER["properties"]["pet"]
    assert point["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert pet["oneOf"] == [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]
    assert pet["discriminator"]["propertyName"] == "pet_type"


def test_pydantic_tuple() -> None:
    good = {"pet": {"pet_type": "cat", "meows": 3}, "point": [1, "a"]}
    assert schema_errors(good, OWNER) == []
    assert Owner.model_validate(good)  # pydantic agrees
    assert schema_errors({**good, "point": [1, 2]}, OWNER) == [
        "$.point[1]: expected string, got integer"
    ]
    assert schema_errors({**good, "point": [1, "a", 3]}, OWNER) == ["$.point: 3 items, more than 2"]
    assert schema_errors({**good, "point": [1]}, OWNER) == ["$.point: 1 items, fewer than 2"]


def test_pydantic_discriminated_union() -> None:
    dog = {"pet": {"pet_type": "dog", "barks": 1.5}, "point": [0, ""], "nick": None}
    assert schema_errors(dog, OWNER) == []
    # the tag names one branch: the error says what is wrong inside it
    cat = {"pet": {"pet_type": "cat", "meows": "loud"}, "point": [0, ""]}
    assert schema_errors(cat, OWNER) == [
        "$.pet: matches 0 of oneOf, not exactly 1; closest option: "
        "$.pet.meows: expected integer, got string"
    ]
    fish = {"pet": {"pet_type": "fish"}, "point": [0, ""]}
    assert schema_errors(fish, OWNER) == ["$.pet: matches 0 of oneOf, not exactly 1"]
    assert schema_errors({**dog, "nick": 3}, OWNER) == ["$.nick: matches none of anyOf"]


def test_json_schema_scorer_on_a_pydantic_response_format() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "owner", "schema": OWNER}}
    item = EvalItem(
        id="o",
        input="?",
        target={"pet": {"pet_type": "cat", "meows": 2}, "point": [1, "x"]},
        scorer="json_schema",
        params={"response_format": fmt},
    )
    assert score_answer('{"pet": {"pet_type": "cat", "meows": 2}, "point": [1, "x"]}', item).correct
    score = score_answer('{"pet": {"pet_type": "cat", "meows": 2}, "point": [1, 2]}', item)
    assert score.reason == "invalid: $.point[1]: expected string, got integer"


# schemas that are not valid -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"properties": {"age": {"type": "int"}}}, 'at $.properties.age.type: "int" is not valid'),
        ({"minimum": "3"}, 'at $.minimum: "3" is not of type "number"'),
        ({"required": "name"}, "at $.required: "),
        ({"pattern": "(unclosed"}, 'at $.pattern: "(unclosed" is not a "regex"'),
        ({"$ref": "#/$defs/Missing"}, "'/$defs/Missing' does not exist"),
        ({"$ref": "https://example.com/s.json"}, "Retrieval is disabled"),  # nothing fetched
        ({"$schema": "https://example.com/mine"}, "Unknown meta-schema"),
        (["not", "a", "schema"], 'is not of types "boolean", "object"'),
        ({"maximum": float("nan")}, "not JSON"),
    ],
)
def test_an_invalid_schema_raises_scorer_error_naming_the_problem(
    schema: Any, problem: str
) -> None:
    with pytest.raises(ScorerError) as info:
        schema_errors({}, schema)
    assert problem in str(info.value)


def test_the_scorers_name_the_item_whose_schema_is_invalid() -> None:
    bad = {"type": "object", "properties": {"age": {"type": "int"}}}
    item = EvalItem(id="i7", input="?", target="{}", scorer="json", metadata={"schema": bad})
    with pytest.raises(ScorerError, match=r"item 'i7': invalid JSON Schema at \$\.properties"):
        score_answer('{"age": 3}', item)
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": bad}}
    item = EvalItem(
        id="i8", input="?", target={}, scorer="json_schema", params={"response_format": fmt}
    )
    with pytest.raises(ScorerError, match="item 'i8': invalid JSON Schema"):
        score_answer('{"age": 3}', item)


# the draft, format, messages ------------------------------------------------------------------


def test_the_draft_comes_from_dollar_schema_else_2020_12() -> None:
    tuple_items = {"items": [{"type": "integer"}, {"type": "string"}]}  # draft 7's tuple form
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", **tuple_items}
    assert schema_errors([1, "a"], draft7) == []
    assert schema_errors(["a", "a"], draft7) == ["$[0]: expected integer, got string"]
    with pytest.raises(ScorerError, match=r"at \$\.items"):  # 2020-12: items is one schema
        schema_errors([1, "a"], tuple_items)
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 3}
    assert schema_errors(3, {**draft4, "exclusiveMaximum": True}) == ["$: 3 is not below 3"]


@pytest.mark.parametrize("draft", [None, "http://json-schema.org/draft-07/schema#"])
def test_format_is_an_annotation(draft: str | None) -> None:
    schema: dict[str, Any] = {"type": "string", "format": "date"}
    if draft:
        schema["$schema"] = draft
    assert schema_errors("not a date", schema) == []
    assert schema_errors(3, schema) == ["$: expected string, got integer"]


def test_messages_name_the_json_path() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"qty": {"type": "integer"}, "a.b": {"enum": ["x"]}},
                    "additionalProperties": False,
                },
            },
        },
        "required": ["id"],
    }
    value = {"items": [{"qty": 1}, {"qty": 1.5, "a.b": "y", "note": 1}]}
    assert sorted(schema_errors(value, schema)) == [  # sorted: they come in the library's order
        "$.items[1].qty: expected integer, got number",
        "$.items[1]: unexpected property 'note'",
        "$.items[1][\"a.b\"]: 'y' is not one of ['x']",
        "$: missing required property 'id'",
    ]
    assert len(schema_errors(value, schema, limit=2)) == 2


def test_nan_and_infinity_are_not_json_numbers() -> None:
    # Python's json reads NaN; jsonschema-rs would see null, which this schema allows
    schema = {"type": "object", "properties": {"x": {"type": ["number", "null"]}}}
    assert schema_errors({"x": float("nan")}, schema) == ["$.x: NaN is not a JSON number"]
    assert schema_errors([1.0, float("-inf")], {"type": "array"}) == [
        "$[1]: -Infinity is not a JSON number"
    ]
    assert schema_errors({"x": 1.5}, schema) == []


def test_a_deeply_nested_answer_is_judged() -> None:
    deep = json.loads("[" * 900 + "]" * 900)  # json reads up to about 1,000 levels
    assert schema_errors(deep, {"type": "array", "items": {"$ref": "#"}}) == []
    assert schema_errors(deep, {"items": {"type": "string"}}) == [
        "$: invalid, and nested too deep to say where"
    ]
    assert schema_errors([deep, 1], {"prefixItems": [{}, {"type": "string"}]}) == [
        "$[1]: expected string, got integer"
    ]


def test_one_validator_per_schema() -> None:
    _compiled.cache_clear()
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {}}}
    reordered = {"properties": {"b": {}, "a": {"type": "integer"}}, "type": "object"}
    for i in range(100):
        assert schema_errors({"a": i}, dict(schema)) == []
        assert schema_errors({"a": "x"}, reordered) == ["$.a: expected integer, got string"]
    info = _compiled.cache_info()
    assert (info.misses, info.hits) == (1, 199)


# fanout score, end to end ------------------------------------------------------------------


def test_fanout_score_with_a_400_digit_integer_in_an_answer(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 10}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}
    items = [
        {
            "id": "j",
            "input": "?",
            "target": '{"n": 3}',
            "scorer": "json",
            "metadata": {"schema": schema},
        },
        {
            "id": "s",
            "input": "?",
            "target": {"n": 3},
            "scorer": "json_schema",
            "params": {"response_format": fmt},
        },
        {
            "id": "v",
            "input": "?",
            "target": {"n": 3},
            "scorer": "json_schema",
            "metadata": {"schema": {"type": "object"}},
        },
    ]
    evalset = tmp_path / "set.jsonl"
    evalset.write_text("".join(json.dumps(i) + "\n" for i in items))
    answer = f'{{"n": {BIG}}}'
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(_result(i["id"], answer)) + "\n" for i in items))
    outcome = CliRunner().invoke(main, ["score", str(results), "--evalset", str(evalset), "--json"])
    assert outcome.exit_code == 0, outcome.output
    scored = {i["id"]: i for i in json.loads(outcome.output)["items"]}
    assert not scored["j"]["correct"] and "$.n: 1000" in scored["j"]["reason"]
    assert not scored["s"]["correct"] and "above the maximum 10" in scored["s"]["reason"]
    assert scored["v"]["correct"]


def _result(custom_id: str, content: str) -> dict[str, Any]:
    body = {
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    return {
        "id": "x",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": "r", "body": body},
        "error": None,
    }
