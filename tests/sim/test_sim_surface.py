"""The rest of Together's request surface on the simulator: validation, ``n``, ``logprobs``,
tool calls and ``response_format``, over a real socket. Arguments and structured replies are
checked against their schema with the ``json_schema`` scorer's own validator."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from evals._jsonschema import schema_errors
from togethersim import SimConfig, SimServer, signature

LLAMA = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "hourly": {"type": "boolean"},
        "when": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    },
    "required": ["city", "unit", "when"],
    "additionalProperties": False,
}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_PARAMS}}
SEARCH_PARAMS = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "maxLength": 12},
        "filters": {
            "type": "object",
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            },
            "required": ["tags", "score"],
        },
    },
    "required": ["query", "filters"],
}
SEARCH = {"type": "function", "function": {"name": "search", "parameters": SEARCH_PARAMS}}


def chat(content: str = "What's the weather in Paris?", **extra: Any) -> dict[str, Any]:
    return {"model": LLAMA, "messages": [{"role": "user", "content": content}], **extra}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with SimServer(SimConfig(seed=3)).run_in_thread() as url:
        with httpx.Client(base_url=url, timeout=10) as c:
            yield c


def post(client: httpx.Client, body: dict[str, Any], path: str = "/chat/completions") -> Any:
    r = client.post(path, json=body)
    assert r.status_code == 200, r.text
    return r.json()


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"n": 0}, "`n`"),
        ({"n": 129}, "`n`"),
        ({"n": 2.0}, "`n`"),
        ({"n": True}, "`n`"),
        ({"logprobs": -1}, "`logprobs`"),
        ({"logprobs": 21}, "`logprobs`"),
        ({"logprobs": True}, "not a boolean"),
        ({"logprobs": "5"}, "`logprobs`"),
        ({"temperature": -0.1}, "`temperature`"),
        ({"temperature": "hot"}, "`temperature`"),
        ({"max_tokens": -5}, "`max_tokens`"),
        ({"stream": "yes"}, "`stream`"),
        ({"tools": {"type": "function"}}, "`tools`"),
        ({"tools": [{"type": "retrieval"}]}, "tools[0]"),
        ({"tools": [{"type": "function", "function": {"parameters": {}}}]}, "name"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]}, "param"),
        ({"tools": [WEATHER], "tool_choice": "sometimes"}, "`tool_choice`"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "x"}}},
            "not among",
        ),
        ({"tool_choice": "required"}, "no `tools`"),
        ({"response_format": "json"}, "`response_format`"),
        ({"response_format": {"type": "yaml"}}, "response_format.type"),
        ({"response_format": {"type": "json_schema"}}, "json_schema"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "schema"),
        ({"response_format": {"type": "json_schema", "json_schema": {"schema": 3}}}, "schema"),
        ({"response_format": {"type": "regex"}}, "pattern"),
        ({"response_format": {"type": "regex", "pattern": "(unclosed"}}, "not a valid regex"),
    ],
)
def test_nonsense_is_400_in_together_envelope(
    client: httpx.Client, extra: dict[str, Any], needle: str
) -> None:
    r = client.post("/chat/completions", json=chat(**extra))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Input validation error: ")
    assert needle in error["message"]


def test_tool_message_needs_its_call_id(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "content": "sunny"},
    ]
    r = client.post("/chat/completions", json={"model": LLAMA, "messages": messages})
    assert r.status_code == 400
    assert "tool_call_id" in r.json()["error"]["message"]


def test_pass_through_fields_are_accepted_and_ignored(client: httpx.Client) -> None:
    plain = post(client, chat())
    extras = {
        "top_k": 40,
        "top_p": 0.9,
        "repetition_penalty": 1.1,
        "seed": 7,
        "stop": ["\n\n"],
        "temperature": 0,
        "reasoning_effort": "low",
        "reasoning": {"enabled": True},
        "chat_template_kwargs": {"thinking": True},
        "stream_options": {"include_usage": True},
        "response_format": {"type": "text"},
        "tool_choice": "none",
        "some_future_field": {"x": 1},
    }
    assert post(client, chat(**extras))["choices"] == plain["choices"]


# --- n -----------------------------------------------------------------------------------


def test_n_gives_distinct_choices_and_sums_usage(client: httpx.Client) -> None:
    one = post(client, chat())
    body = post(client, chat(n=4))
    choices = body["choices"]
    assert [c["index"] for c in choices] == [0, 1, 2, 3]
    assert choices[0] == one["choices"][0]  # choice 0 is the single reply
    contents = [c["message"]["content"] for c in choices]
    assert len(set(contents)) == 4
    sig = signature("/v1/chat/completions", chat())
    assert all(c.startswith(f"sim:{sig} ") for c in contents)  # each names its request
    total = sum(len(c.split()) for c in contents)
    assert body["usage"]["completion_tokens"] == total
    assert body["usage"]["prompt_tokens"] == one["usage"]["prompt_tokens"]
    text = post(client, {"model": LLAMA, "prompt": "Once", "n": 3}, "/completions")
    assert [c["index"] for c in text["choices"]] == [0, 1, 2]
    assert text["usage"]["completion_tokens"] == sum(
        len(c["text"].split()) for c in text["choices"]
    )


# --- logprobs ----------------------------------------------------------------------------


def test_together_logprobs_shape(client: httpx.Client) -> None:
    body = post(client, chat(logprobs=3, max_tokens=20))
    choice = body["choices"][0]
    lp = choice["logprobs"]
    assert set(lp) == {"token_ids", "tokens", "token_logprobs", "top_logprobs"}
    assert "".join(lp["tokens"]) == choice["message"]["content"]
    assert len(lp["tokens"]) == body["usage"]["completion_tokens"]
    assert lp["tokens"][1].startswith(" ") and not lp["tokens"][0].startswith(" ")
    assert all(isinstance(i, int) and 0 <= i < 128_000 for i in lp["token_ids"])
    assert all(-0.5 <= x <= -0.01 for x in lp["token_logprobs"])
    for token, value, top in zip(
        lp["tokens"], lp["token_logprobs"], lp["top_logprobs"], strict=True
    ):
        assert len(top) == 3
        values = list(top.values())
        assert values == sorted(values, reverse=True)
        assert top.get(token) == value
        assert sum(math.exp(v) for v in values) <= 1.0 + 1e-9
    zero = post(client, chat(logprobs=0, max_tokens=20))["choices"][0]["logprobs"]
    assert "top_logprobs" not in zero and zero["tokens"] == lp["tokens"]
    assert post(client, chat())["choices"][0]["logprobs"] is None


def test_openai_logprobs_shapes(client: httpx.Client) -> None:
    headers = {"x-sim-logprobs-shape": "openai"}
    r = client.post("/chat/completions", json=chat(logprobs=2), headers=headers)
    lp = r.json()["choices"][0]["logprobs"]
    assert set(lp) == {"content", "refusal"}
    first = lp["content"][0]
    assert set(first) == {"token", "bytes", "logprob", "top_logprobs"}
    assert first["bytes"] == list(first["token"].encode())
    assert [set(t) for t in first["top_logprobs"]] == [{"token", "logprob", "bytes"}] * 2
    assert (
        "".join(t["token"] for t in lp["content"]) == r.json()["choices"][0]["message"]["content"]
    )
    r = client.post(
        "/completions", json={"model": LLAMA, "prompt": "x", "logprobs": 1}, headers=headers
    )
    text_lp = r.json()["choices"][0]["logprobs"]
    assert set(text_lp) == {"tokens", "token_logprobs", "top_logprobs", "text_offset"}
    offsets = [sum(len(t) for t in text_lp["tokens"][:i]) for i in range(len(text_lp["tokens"]))]
    assert text_lp["text_offset"] == offsets


def test_reasoning_field_has_no_logprobs_but_inline_thinking_does(client: httpx.Client) -> None:
    field = post(client, chat(model="openai/gpt-oss-120b", logprobs=0))
    assert (
        "".join(field["choices"][0]["logprobs"]["tokens"])
        == field["choices"][0]["message"]["content"]
    )
    inline = post(client, chat(model="deepseek-ai/DeepSeek-R1", logprobs=0))
    assert inline["choices"][0]["logprobs"]["tokens"][0].startswith("<think>\n")
    assert len(inline["choices"][0]["logprobs"]["tokens"]) == inline["usage"]["completion_tokens"]


# --- tool calls --------------------------------------------------------------------------


def calls_of(body: dict[str, Any], i: int = 0) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = body["choices"][i]["message"]["tool_calls"]
    return calls


def test_tool_call_shape_and_valid_arguments(client: httpx.Client) -> None:
    body = post(client, chat(tools=[WEATHER, SEARCH], n=8))
    for i, choice in enumerate(body["choices"]):
        message = choice["message"]
        assert choice["finish_reason"] == "tool_calls"
        assert message["content"] == ""
        (call,) = calls_of(body, i)
        assert re.fullmatch(r"call_[0-9a-f]{24}", call["id"])
        assert call["index"] == 0 and call["type"] == "function"
        assert call["function"]["name"] == "get_weather"  # auto: the first tool
        arguments = json.loads(call["function"]["arguments"])
        assert schema_errors(arguments, WEATHER_PARAMS) == []
    ids = {calls_of(body, i)[0]["id"] for i in range(8)}
    assert len(ids) == 8
    assert body["usage"]["completion_tokens"] == sum(
        len(calls_of(body, i)[0]["function"]["arguments"].split(" ")) for i in range(8)
    )


def test_tool_choice_forces_none_and_required(client: httpx.Client) -> None:
    forced = {"type": "function", "function": {"name": "search"}}
    body = post(client, chat(tools=[WEATHER, SEARCH], tool_choice=forced, n=6))
    for i in range(6):
        (call,) = calls_of(body, i)
        assert call["function"]["name"] == "search"
        assert schema_errors(json.loads(call["function"]["arguments"]), SEARCH_PARAMS) == []
    required = post(client, chat(tools=[SEARCH], tool_choice="required"))
    assert calls_of(required)[0]["function"]["name"] == "search"
    none = post(client, chat(tools=[WEATHER], tool_choice="none"))
    assert none["choices"][0]["message"]["tool_calls"] == []
    assert none["choices"][0]["message"]["content"].startswith("sim:")


def test_after_a_tool_result_the_model_answers_in_words(client: httpx.Client) -> None:
    first = post(client, chat(tools=[WEATHER]))
    call = calls_of(first)[0]
    messages = [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": '{"temp": 21}'},
    ]
    reply = post(client, {"model": LLAMA, "messages": messages, "tools": [WEATHER]})
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["tool_calls"] == []
    assert choice["message"]["content"].startswith("sim:")
    forced = post(
        client,
        {"model": LLAMA, "messages": messages, "tools": [WEATHER], "tool_choice": "required"},
    )
    assert calls_of(forced)  # required still calls


def test_tool_call_of_a_reasoning_model_thinks_first(client: httpx.Client) -> None:
    field = post(client, chat(model="openai/gpt-oss-120b", tools=[WEATHER]))["choices"][0]
    assert field["message"]["reasoning"].startswith("sim reasoning")
    assert field["message"]["content"] == "" and field["message"]["tool_calls"]
    inline = post(client, chat(model="deepseek-ai/DeepSeek-R1", tools=[WEATHER]))["choices"][0]
    assert re.fullmatch(r"<think>\nsim reasoning[^<]*\n</think>\n\n", inline["message"]["content"])
    assert inline["finish_reason"] == "tool_calls"


def test_cut_tool_call_ends_with_length(client: httpx.Client) -> None:
    body = post(client, chat(tools=[SEARCH], max_tokens=2))
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 2
    arguments = choice["message"]["tool_calls"][0]["function"]["arguments"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


def test_tool_without_parameters_gets_empty_arguments(client: httpx.Client) -> None:
    tool = {"type": "function", "function": {"name": "now"}}
    call = calls_of(post(client, chat(tools=[tool])))[0]
    assert call["function"] == {"name": "now", "arguments": "{}"}


# --- response_format ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt",
    [
        {
            "type": "json_schema",
            "json_schema": {"name": "w", "schema": WEATHER_PARAMS, "strict": True},
        },
        {"type": "json_schema", "json_schema": WEATHER_PARAMS},  # the schema itself
        {"type": "json_schema", "schema": WEATHER_PARAMS},  # as Together's docs write it
        {"type": "json_object", "schema": WEATHER_PARAMS},
    ],
)
def test_json_schema_replies_are_valid(client: httpx.Client, fmt: dict[str, Any]) -> None:
    body = post(client, chat(response_format=fmt, n=10))
    for choice in body["choices"]:
        value = json.loads(choice["message"]["content"])
        assert schema_errors(value, WEATHER_PARAMS) == []
        assert choice["finish_reason"] == "stop"
    nested = post(
        client,
        chat(response_format={"type": "json_schema", "json_schema": {"schema": SEARCH_PARAMS}}),
    )
    assert (
        schema_errors(json.loads(nested["choices"][0]["message"]["content"]), SEARCH_PARAMS) == []
    )


def test_json_object_reply_names_its_request(client: httpx.Client) -> None:
    body = post(client, chat(response_format={"type": "json_object"}))
    value = json.loads(body["choices"][0]["message"]["content"])
    assert value["sim"] == signature("/v1/chat/completions", chat())
    assert isinstance(value["text"], str)


def test_reasoning_models_keep_their_reasoning_with_json(client: httpx.Client) -> None:
    fmt = {"type": "json_schema", "json_schema": {"schema": WEATHER_PARAMS}}
    field = post(client, chat(model="openai/gpt-oss-120b", response_format=fmt))["choices"][0]
    assert field["message"]["reasoning"].startswith("sim reasoning")
    assert schema_errors(json.loads(field["message"]["content"]), WEATHER_PARAMS) == []
    inline = post(client, chat(model="deepseek-ai/DeepSeek-R1", response_format=fmt))["choices"][0]
    thinking, _, answer = inline["message"]["content"].partition("\n</think>\n\n")
    assert thinking.startswith("<think>\n")
    assert schema_errors(json.loads(answer), WEATHER_PARAMS) == []


@pytest.mark.parametrize(
    "pattern",
    [
        "(positive|negative|neutral)",
        r"[A-Z]{3}-\d{4}",
        r"^(yes|no)$",
        r"\d+(\.\d{1,2})?",
        r"[a-z]+@[a-z]+\.(com|org)",
        r"(?P<grade>[A-F])[+-]?",
    ],
)
def test_regex_replies_match(client: httpx.Client, pattern: str) -> None:
    body = post(client, chat(response_format={"type": "regex", "pattern": pattern}, n=6))
    for choice in body["choices"]:
        assert re.fullmatch(pattern, choice["message"]["content"]), choice["message"]["content"]
    texts = post(
        client,
        {
            "model": LLAMA,
            "prompt": "Mood:",
            "response_format": {"type": "regex", "pattern": pattern},
        },
        "/completions",
    )
    assert re.fullmatch(pattern, texts["choices"][0]["text"])


def test_unsupported_regex_falls_back_to_words(client: httpx.Client) -> None:
    body = post(client, chat(response_format={"type": "regex", "pattern": r"(\w+) \1"}))
    assert body["choices"][0]["message"]["content"].startswith("sim:")
