"""The scorers for constrained replies: tool_call, json_schema and regex_match."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evals import (
    EvalItem,
    Extraction,
    Score,
    ScorerError,
    ToolCall,
    extract,
    get_scorer,
    score_extraction,
)
from evals._jsonschema import schema_errors

# tool_call ---------------------------------------------------------------------------------

WEATHER = {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
FLIGHTS = {
    "name": "search_flights",
    "arguments": {"origin": "JFK", "destination": "LHR", "date": "2026-03-14"},
}


def calls_item(*calls: dict[str, Any]) -> EvalItem:
    return EvalItem(id="fc", target=tuple(calls), input="?", scorer="tool_call")


def score_calls(item: EvalItem, *calls: tuple[str, Any], content: str | None = None) -> Score:
    """Score a reply that made ``calls`` (name, arguments as text or an object)."""
    tool_calls = tuple(
        ToolCall(name, args if isinstance(args, str) else json.dumps(args), f"call_{i}")
        for i, (name, args) in enumerate(calls)
    )
    return score_extraction(Extraction(answer=content, tool_calls=tool_calls), item)


def test_one_call_right() -> None:
    score = score_calls(calls_item(WEATHER), ("get_weather", {"unit": "celsius", "city": "Paris"}))
    assert score.correct and score.reason == "made the expected call"
    assert score.extracted == 'get_weather({"city": "Paris", "unit": "celsius"})'


def test_numbers_compare_as_json() -> None:
    item = calls_item({"name": "convert", "arguments": {"amount": 100, "to": "EUR"}})
    assert score_calls(item, ("convert", '{"to": "EUR", "amount": 100.0}')).correct
    wrong_type = score_calls(item, ("convert", '{"to": "EUR", "amount": "100"}'))
    assert not wrong_type.correct
    assert wrong_type.reason == "argument amount: expected 100, got '100'"


def test_wrong_argument_is_named() -> None:
    score = score_calls(calls_item(WEATHER), ("get_weather", {"city": "London", "unit": "celsius"}))
    assert not score.correct and not score.unparsed
    assert score.reason == "argument city: expected 'Paris', got 'London'"


def test_missing_and_unexpected_arguments() -> None:
    score = score_calls(calls_item(WEATHER), ("get_weather", {"city": "Paris", "days": 3}))
    assert score.reason == "missing argument unit; unexpected argument days"


def test_parallel_calls_in_another_order() -> None:
    item = calls_item(WEATHER, FLIGHTS)
    score = score_calls(
        item, ("search_flights", FLIGHTS["arguments"]), ("get_weather", WEATHER["arguments"])
    )
    assert score.correct and score.reason == "made all 2 expected calls"
    again = score_calls(
        item, ("get_weather", WEATHER["arguments"]), ("search_flights", FLIGHTS["arguments"])
    )
    assert again.extracted == score.extracted  # canonical: a majority vote sees one answer


def test_parallel_calls_to_one_function_match_as_a_multiset() -> None:
    tokyo = {"name": "get_weather", "arguments": {"city": "Tokyo", "unit": "celsius"}}
    item = calls_item(WEATHER, tokyo)
    assert score_calls(
        item, ("get_weather", tokyo["arguments"]), ("get_weather", WEATHER["arguments"])
    ).correct
    twice = score_calls(
        item, ("get_weather", WEATHER["arguments"]), ("get_weather", WEATHER["arguments"])
    )
    assert not twice.correct
    assert twice.reason == "get_weather: argument city: expected 'Tokyo', got 'Paris'"


def test_missing_call() -> None:
    score = score_calls(calls_item(WEATHER, FLIGHTS), ("get_weather", WEATHER["arguments"]))
    assert not score.correct and score.reason == "missing call search_flights"


def test_extra_call() -> None:
    score = score_calls(
        calls_item(WEATHER),
        ("get_weather", WEATHER["arguments"]),
        ("search_flights", FLIGHTS["arguments"]),
    )
    assert not score.correct and score.reason == "extra call search_flights"


def test_wrong_function() -> None:
    score = score_calls(calls_item(WEATHER), ("search_flights", FLIGHTS["arguments"]))
    assert score.reason == "missing call get_weather; extra call search_flights"


def test_no_tool_call_answered_in_text() -> None:
    score = score_calls(calls_item(WEATHER), content="It is sunny in Paris.")
    assert not score.correct and not score.unparsed
    assert score.reason == "no tool call (answered in text)"
    assert score.extracted == "It is sunny in Paris."


def test_plain_text_given_straight_to_the_scorer_is_no_call() -> None:
    score = get_scorer("tool_call")('{"name": "get_weather"}', calls_item(WEATHER))
    assert score.reason == "no tool call (answered in text)"


def test_no_reply_at_all_is_unparsed() -> None:
    assert score_calls(calls_item(WEATHER)).unparsed


def test_arguments_not_json() -> None:
    score = score_calls(calls_item(WEATHER), ("get_weather", '{"city": "Paris", "unit": '))
    assert not score.correct
    assert score.reason == "arguments of get_weather are not valid JSON"
    nan = score_calls(calls_item(WEATHER), ("get_weather", '{"city": NaN}'))
    assert nan.reason == "arguments of get_weather are not valid JSON"
    listed = score_calls(calls_item(WEATHER), ("get_weather", "[1]"))
    assert listed.reason == "arguments of get_weather are not a JSON object"


def test_empty_arguments_text_is_no_arguments() -> None:
    item = calls_item({"name": "now", "arguments": {}})
    assert score_calls(item, ("now", "")).correct


def test_empty_target_expects_no_call() -> None:
    item = calls_item()
    assert score_calls(item, content="No tool needed.").correct
    score = score_calls(item, ("get_weather", WEATHER["arguments"]))
    assert not score.correct and score.reason == "called get_weather; expected no call"


def test_target_that_is_not_calls_is_a_scorer_error() -> None:
    with pytest.raises(ScorerError, match="list of calls"):
        score_calls(EvalItem(id="x", target="Paris", input="?", scorer="tool_call"), ("f", {}))


def test_many_problems_are_cut_short() -> None:
    want = {"name": "f", "arguments": {k: 1 for k in "abcdef"}}
    score = score_calls(calls_item(want), ("f", {k: 2 for k in "abcdef"}))
    assert score.reason.endswith("; ... (2 more)")


# json_schema -------------------------------------------------------------------------------

TICKET = {
    "type": "object",
    "properties": {
        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
        "customer": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "tier": {"type": "string", "enum": ["free", "pro"]},
            },
            "required": ["name", "tier"],
            "additionalProperties": False,
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                "required": ["sku", "qty"],
            },
        },
    },
    "required": ["priority", "customer", "items"],
    "additionalProperties": False,
}
RIGHT = {
    "priority": "high",
    "customer": {"name": "Ada", "tier": "pro"},
    "items": [{"sku": "a", "qty": 2}],
}


def schema_item(target: Any = RIGHT, **where: Any) -> EvalItem:
    params = where.get("params")
    if params is None and "metadata" not in where:
        params = {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "ticket", "schema": TICKET, "strict": True},
            }
        }
    return EvalItem(
        id="so",
        target=target,
        input="?",
        scorer="json_schema",
        params=params or {},
        metadata=where.get("metadata", {}),
    )


def json_schema(answer: str | None, item: EvalItem) -> Score:
    return get_scorer("json_schema")(answer, item)


def test_valid_and_equal_to_the_target() -> None:
    score = json_schema(json.dumps(RIGHT), schema_item())
    assert score.correct and score.reason == "valid for the schema; equals the target"
    assert score.extracted == json.dumps(RIGHT, sort_keys=True)


def test_valid_but_not_the_target_is_still_correct() -> None:
    other = {**RIGHT, "priority": "low"}
    score = json_schema(f"```json\n{json.dumps(other)}\n```", schema_item())
    assert score.correct
    assert score.reason == "valid for the schema; differs from the target at $.priority"


def test_nested_enum_violation() -> None:
    bad = {**RIGHT, "customer": {"name": "Ada", "tier": "gold"}}
    score = json_schema(json.dumps(bad), schema_item())
    assert not score.correct and not score.unparsed
    assert score.reason == "invalid: $.customer.tier: 'gold' is not one of ['free', 'pro']"


def test_array_item_violation_and_extra_property() -> None:
    bad = {**RIGHT, "items": [{"sku": "a", "qty": 1.5}], "note": "x"}
    score = json_schema(json.dumps(bad), schema_item())
    assert "$.items[0].qty: expected integer, got number" in score.reason
    assert "unexpected property 'note'" in score.reason


def test_not_json_is_invalid_not_unparsed() -> None:
    score = json_schema("priority: high", schema_item())
    assert not score.correct and not score.unparsed and score.reason == "not valid JSON"
    assert not json_schema('Sure: {"priority": "high"} done', schema_item()).correct  # no prose


def test_schema_places() -> None:
    answer = json.dumps(RIGHT)
    for params in (
        {"response_format": {"type": "json_schema", "json_schema": TICKET}},  # no "schema" key
        {"response_format": {"type": "json_schema", "schema": TICKET}},  # Together's docs
    ):
        assert json_schema(answer, schema_item(params=params)).correct
    by_metadata = schema_item(metadata={"schema": TICKET})
    assert json_schema(answer, by_metadata).correct
    assert not json_schema('{"priority": "high"}', by_metadata).correct


def test_no_schema_is_a_scorer_error() -> None:
    with pytest.raises(ScorerError, match="needs a schema"):
        json_schema("{}", schema_item(params={"n": 2}))


def test_schema_ref_defs_and_any_of_as_pydantic_writes_them() -> None:
    schema = {
        "$defs": {
            "Customer": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
            }
        },
        "type": "object",
        "properties": {
            "customer": {"$ref": "#/$defs/Customer"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "size": {"oneOf": [{"type": "integer"}, {"type": "string", "enum": ["big"]}]},
            "both": {"allOf": [{"type": "number"}, {"minimum": 1}]},
        },
    }
    assert (
        schema_errors({"customer": {"name": "A"}, "note": None, "tags": ["x", "y"]}, schema) == []
    )
    assert schema_errors({"customer": {}}, schema) == [
        "$.customer: missing required property 'name'"
    ]
    assert schema_errors({"note": 3}, schema) == ["$.note: matches none of anyOf"]
    assert schema_errors({"tags": ["x", "x"]}, schema) == ["$.tags: item 1 repeats an earlier item"]
    assert schema_errors({"size": "big"}, schema) == []
    assert schema_errors({"size": 2.5}, schema) == [
        "$.size: matches 0 of oneOf, not exactly 1; closest option: $.size: expected integer, "
        "got number"
    ]
    assert schema_errors({"both": 0}, schema) == ["$.both: 0 is below the minimum 1"]
    with pytest.raises(ScorerError, match="'/\\$defs/Missing' does not exist"):
        schema_errors({}, {"$ref": "#/$defs/Missing"})
    with pytest.raises(ScorerError, match="Retrieval is disabled"):  # nothing is fetched
        schema_errors({}, {"$ref": "https://example.com/s.json"})
    # a $ref that only points at itself constrains nothing; it no longer loops
    assert schema_errors(1, {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}) == []


def test_recursive_schema_through_ref() -> None:
    tree = {
        "type": "object",
        "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}},
        "additionalProperties": False,
    }
    assert schema_errors({"kids": [{"kids": []}]}, tree) == []
    assert schema_errors({"kids": [{"x": 1}]}, tree) == ["$.kids[0]: unexpected property 'x'"]


# regex_match -------------------------------------------------------------------------------


def regex_item(target: Any = "positive", **kw: Any) -> EvalItem:
    return EvalItem(id="re", target=target, input="?", scorer="regex_match", **kw)


SENTIMENT = {"response_format": {"type": "regex", "pattern": "(positive|neutral|negative)"}}


def regex_match(answer: str | None, item: EvalItem) -> Score:
    return get_scorer("regex_match")(answer, item)


def test_regex_from_response_format_must_match_the_whole_answer() -> None:
    item = regex_item(params=SENTIMENT)
    assert regex_match(" positive\n", item).correct
    assert regex_match("negative", item).correct  # the format is what is checked
    partial = regex_match("positive.", item)
    assert not partial.correct and not partial.unparsed
    assert partial.reason == "only part of the answer matches /(positive|neutral|negative)/"
    assert regex_match("great", item).reason == "does not match /(positive|neutral|negative)/"


def test_regex_from_metadata_then_from_the_target() -> None:
    assert regex_match("AB-1234", regex_item(metadata={"pattern": r"[A-Z]{2}-\d{4}"})).correct
    assert not regex_match("AB-12345", regex_item(metadata={"pattern": r"[A-Z]{2}-\d{4}"})).correct
    by_target = regex_item((r"\d{3}", "none"))
    assert regex_match("123", by_target).correct
    assert regex_match("none", by_target).correct
    assert not regex_match("1234", by_target).correct
    assert regex_match("3.5", regex_item(3.5)).correct  # a number is escaped, not a pattern
    assert not regex_match("3x5", regex_item(3.5)).correct


def test_regex_after_thinking_is_removed() -> None:
    item = regex_item(params=SENTIMENT)
    ex = extract({"choices": [{"message": {"content": "<think>hmm</think>\n\nneutral"}}]})
    assert score_extraction(ex, item).correct


def test_regex_bad_pattern_is_a_scorer_error() -> None:
    with pytest.raises(ScorerError, match="bad regex"):
        regex_match("x", regex_item(metadata={"pattern": "("}))
