"""Every request field Together accepts goes through unchanged; obvious mistakes are caught
at validation with the line number; unknown fields pass (the API evolves)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from jobs import CHAT, COMPLETIONS, Defaults, LineError, encode_body, parse_line

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}

FULL_CHAT: dict[str, Any] = {
    "model": "Qwen/Qwen3-235B-A22B-Thinking-2507",
    "messages": [
        {"role": "system", "content": "Use the tools."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "reasoning": "The user wants the weather.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        {"role": "user", "content": [{"type": "text", "text": "And in Rome?"}]},
    ],
    "max_tokens": 512,
    "temperature": 0.6,
    "top_p": 0.95,
    "top_k": 40,
    "min_p": 0.05,
    "repetition_penalty": 1.1,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "stop": ["</answer>", "\n\n\n"],
    "n": 4,
    "logprobs": 5,
    "seed": 1234,
    "stream": True,
    "stream_options": {"include_usage": True},
    "tools": [WEATHER],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "reasoning_effort": "high",
    "reasoning": {"enabled": True},
    "chat_template_kwargs": {"thinking": True},
    "safety_model": "meta-llama/Meta-Llama-Guard-3-8B",
    "some_future_field": {"nested": [1, 2, 3]},
}

FORMATS = [
    {"type": "json_object"},
    {
        "type": "json_schema",
        "json_schema": {
            "name": "person",
            "strict": True,
            "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    },
    {"type": "json_schema", "schema": {"type": "object"}},  # Together's own form
    {"type": "regex", "pattern": "(positive|neutral|negative)"},
    {"type": "text"},
]


NO_DEFAULTS = Defaults()


def parse(obj: dict[str, Any], defaults: Defaults = NO_DEFAULTS) -> Any:
    return parse_line("jobs.jsonl", 7, json.dumps(obj), defaults)


def error_of(obj: dict[str, Any]) -> str:
    with pytest.raises(LineError) as info:
        parse(obj)
    assert str(info.value).startswith("jobs.jsonl:7: ")
    return info.value.reason


def test_every_chat_field_passes_unchanged() -> None:
    line = {"custom_id": "a", **copy.deepcopy(FULL_CHAT)}
    job = parse(line)
    assert job.endpoint == CHAT
    assert job.body == FULL_CHAT
    assert json.loads(encode_body(job.body)) == FULL_CHAT  # what is stored and sent


def test_batch_line_passes_unchanged() -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": FULL_CHAT}
    assert parse(line).body == FULL_CHAT


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f["type"] + str(len(f)))
def test_response_formats_pass(fmt: dict[str, Any]) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": fmt}
    assert parse(body).body["response_format"] == fmt


def test_text_completion_fields_pass() -> None:
    body = {"model": "m", "prompt": "Once", "logprobs": 0, "echo": True, "n": 2, "stop": "."}
    job = parse(body)
    assert job.endpoint == COMPLETIONS and job.body == body


def test_openai_boolean_logprobs_pass() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "logprobs": True,
        "top_logprobs": 3,
    }
    assert parse(body).body == body


def test_stream_default_does_not_override_a_line() -> None:
    d = Defaults(model="m", stream=True)
    assert parse({"prompt": "x"}, d).body["stream"] is True
    assert parse({"prompt": "x", "stream": False}, d).body["stream"] is False
    assert "stream" not in parse({"prompt": "x"}, Defaults(model="m")).body


BASE: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "x"}]}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"max_tokens": -5}, "'max_tokens' must be >= 1, got -5"),
        ({"max_tokens": 0}, "'max_tokens' must be >= 1, got 0"),
        ({"max_tokens": "100"}, "'max_tokens' must be an integer, got a string '100'"),
        ({"n": 0}, "'n' must be between 1 and 128, got 0"),
        ({"n": 1.5}, "'n' must be an integer"),
        ({"logprobs": 21}, "'logprobs' must be between 0 and 20, got 21"),
        ({"logprobs": -1}, "'logprobs' must be between 0 and 20, got -1"),
        ({"logprobs": "5"}, "'logprobs' must be an integer"),
        ({"top_logprobs": 50}, "'top_logprobs' must be between 0 and 20"),
        ({"temperature": -0.1}, "'temperature' must be between 0.0 and 2.0"),
        ({"top_p": 1.5}, "'top_p' must be between 0.0 and 1.0"),
        ({"top_k": 0}, "'top_k' must be >= 1"),
        ({"seed": "abc"}, "'seed' must be an integer"),
        ({"repetition_penalty": -1}, "'repetition_penalty' must be >= 0.0"),
        ({"stream": "yes"}, "'stream' must be true or false, got a string"),
        ({"stop": [1, 2]}, "'stop' must be a string or a list of strings"),
        ({"reasoning_effort": 3}, "'reasoning_effort' must be a string"),
        ({"reasoning": True}, "'reasoning' must be an object"),
        ({"reasoning": {"enabled": "yes"}}, "'reasoning.enabled' must be true or false"),
        ({"chat_template_kwargs": "thinking"}, "'chat_template_kwargs' must be an object"),
        ({"response_format": "json"}, "'response_format' must be an object, got a string"),
        ({"response_format": {"type": "xml"}}, "'response_format.type' must be one of"),
        ({"response_format": {"type": "json_schema"}}, "needs the schema as an object"),
        ({"response_format": {"type": "regex"}}, "needs a non-empty 'pattern' string"),
        ({"tools": {"name": "f"}}, "'tools' must be a list, got an object"),
        ({"tools": [{"type": "function"}]}, "tools[0] must be an object with a 'function'"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function has no 'name'"),
        (
            {"tools": [{"type": "retrieval", "function": {"name": "f"}}]},
            "tools[0].type must be 'function'",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]},
            "tools[0].function.parameters must be a JSON Schema object",
        ),
        ({"tool_choice": "always"}, "'tool_choice' must be 'none', 'auto', 'required'"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "g"}}},
            "names the function 'g', which is not in 'tools'",
        ),
    ],
)
def test_obvious_mistakes_are_caught(change: dict[str, Any], expected: str) -> None:
    assert expected in error_of({**BASE, **change})


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (
            [{"role": "tool", "content": "42"}],
            "messages[0] is a tool result without 'tool_call_id'",
        ),
        (
            [{"role": "user", "content": "x", "tool_calls": []}],
            "messages[0] has 'tool_calls' but only an assistant message can",
        ),
        (
            [{"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]}],
            "messages[0].tool_calls[0] must be an object with a 'function' object",
        ),
        (
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}],
                }
            ],
            "messages[0].tool_calls[0].function.arguments must be a JSON string",
        ),
        ([{"role": "assistant", "content": None}], "messages[0] has no 'content'"),
        ([{"role": "robot", "content": "x"}], "messages[0].role must be one of"),
    ],
)
def test_message_mistakes_are_caught(messages: list[Any], expected: str) -> None:
    assert expected in error_of({"model": "m", "messages": messages})
