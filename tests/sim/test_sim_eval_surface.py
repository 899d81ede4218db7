"""Simulated models on the newer eval kinds: tool calls, JSON Schema, regex formats; several
samples per prompt (n > 1) drawn independently; and the confidence logprobs reveal."""

from __future__ import annotations

import json
import math
import re
import statistics
from typing import Any

from evals._jsonschema import schema_errors
from runner import Catalog
from togethersim import SimConfig
from togethersim._answers import (
    NO_CALL_TEXT,
    AnswerKey,
    AnswerSpec,
    eval_reply,
)
from togethersim._app import SimApp
from togethersim._request import OutputFormat, Tool

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
ROWS = Catalog.load().sim_rows  # the tables fanout gives the simulator (config/models.toml)
DIRECT = ROWS["direct"]
WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_PARAMS}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]
PARIS = {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
ROME = {"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"}}
TICKET = {
    "type": "object",
    "properties": {
        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
        "customer": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["priority", "customer"],
}
TICKET_TARGET = {"priority": "high", "customer": {"name": "Ada", "age": 36}, "tags": ["vip"]}


def app_for(*pairs: tuple[str, AnswerSpec], seed: int = 1) -> SimApp:
    return SimApp(SimConfig(answers=AnswerKey.build(pairs), seed=seed, default_accuracy=ROWS))


def ask(app: SimApp, prompt: str, model: str = MODEL, **extra: Any) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}
    reply = app.handle(b"POST", b"/v1/chat/completions", [], json.dumps(body).encode())
    assert reply.status == 200, reply.body
    result: dict[str, Any] = json.loads(reply.body)
    return result


def calls(choice: dict[str, Any]) -> list[tuple[str, Any]]:
    """The calls as (name, arguments), in a canonical order."""
    return sorted(
        (
            (c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in choice["message"]["tool_calls"]
        ),
        key=lambda call: json.dumps(call, sort_keys=True),
    )


# --- tool calls --------------------------------------------------------------------------


def test_tool_call_items_right_and_wrong() -> None:
    prompts = [f"Weather in Paris and Rome? ({i})" for i in range(300)]
    app = app_for(*[(p, AnswerSpec([PARIS, ROME], "tool_call", "hard")) for p in prompts])
    expected = [("get_weather", PARIS["arguments"]), ("get_weather", ROME["arguments"])]
    expected.sort(key=lambda call: json.dumps(call, sort_keys=True))
    kinds: dict[str, int] = {}
    for prompt in prompts:
        choice = ask(app, prompt, tools=TOOLS)["choices"][0]
        got = calls(choice)
        if got == expected:
            kind = "right"
            assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] == ""
        elif not got:
            kind = "text"
            assert choice["message"]["content"].endswith(NO_CALL_TEXT)
            assert choice["finish_reason"] == "stop"
        elif len(got) == 1 and got[0] in expected:
            kind = "missing"
        elif any(name == "get_time" for name, _ in got):
            kind = "function"
        else:
            kind = "value"
            off = [args for name, args in got if (name, args) not in expected]
            assert len(off) == 1 and set(off[0]) == {"city", "unit"}
            if off[0]["unit"] != "celsius":
                assert off[0]["unit"] == "fahrenheit"  # another member of the enum
        kinds[kind] = kinds.get(kind, 0) + 1
    assert abs(kinds["right"] / 300 - DIRECT["hard"]) < 0.08
    assert {"text", "missing", "function", "value"} <= set(kinds), kinds


def test_tool_call_target_of_one_call_and_of_no_call() -> None:
    one = "Weather in Paris?"
    none = "Just say hello."
    app = app_for(
        (one, AnswerSpec(PARIS, "tool_call", "easy")), (none, AnswerSpec([], "tool_call", "easy"))
    )
    seen_one = [calls(c) for c in ask(app, one, tools=TOOLS, n=20)["choices"]]
    assert seen_one.count([("get_weather", PARIS["arguments"])]) >= 14
    seen_none = ask(app, none, tools=TOOLS, n=20)["choices"]
    right = [c for c in seen_none if not c["message"]["tool_calls"]]
    assert len(right) >= 14
    wrong = [c for c in seen_none if c["message"]["tool_calls"]]
    assert all(calls(c)[0][0] == "get_weather" for c in wrong)


def test_after_the_tool_result_an_eval_model_answers_in_words() -> None:
    prompt = "Weather in Paris?"
    app = app_for((prompt, AnswerSpec(PARIS, "tool_call", "easy")))
    messages = [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": "", "tool_calls": []},
        {"role": "tool", "tool_call_id": "call_1", "content": "21C"},
    ]
    body = {"model": MODEL, "messages": messages, "tools": TOOLS}
    reply = app.handle(b"POST", b"/v1/chat/completions", [], json.dumps(body).encode())
    message = json.loads(reply.body)["choices"][0]["message"]
    assert message["tool_calls"] == [] and message["content"].startswith("sim:")


def test_a_reasoning_model_thinks_before_its_eval_tool_call() -> None:
    prompt = "Weather in Paris?"
    app = app_for((prompt, AnswerSpec(PARIS, "tool_call", "easy")))
    choice = ask(app, prompt, model="openai/gpt-oss-120b", tools=TOOLS)["choices"][0]
    assert choice["message"]["reasoning"].startswith("sim reasoning")
    body = ask(app, prompt, model="openai/gpt-oss-120b", tools=TOOLS)
    assert 40 <= body["usage"]["reasoning_tokens"] <= 120


# --- JSON Schema and regex ---------------------------------------------------------------


def test_json_schema_items_valid_when_right_invalid_when_wrong() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "ticket", "schema": TICKET}}
    prompts = [f"Extract the ticket ({i})" for i in range(200)]
    app = app_for(
        *[(p, AnswerSpec(TICKET_TARGET, "json_schema", "hard", schema=TICKET)) for p in prompts]
    )
    problems: set[str] = set()
    right = 0
    for prompt in prompts:
        content = ask(app, prompt, response_format=fmt)["choices"][0]["message"]["content"]
        assert not content.startswith("```") and not content.startswith("sim:")
        value = json.loads(content)
        errors = schema_errors(value, TICKET)
        if value == TICKET_TARGET:
            right += 1
            assert errors == []
        else:
            assert errors, value
            problems.add(
                re.sub(r"\$[.\w\[\]]*", "$", errors[0]).split(":")[1].strip().split(" ")[0]
            )
    assert abs(right / 200 - DIRECT["hard"]) < 0.1
    assert len(problems) >= 3, problems  # missing fields, enum values, wrong types


def test_json_schema_from_the_request_when_the_spec_has_none() -> None:
    prompt = "Extract it."
    fmt = {"type": "json_schema", "json_schema": {"schema": TICKET}}
    app = app_for((prompt, AnswerSpec(TICKET_TARGET, "json_schema", "hard")))
    for choice in ask(app, prompt, response_format=fmt, n=30)["choices"]:
        value = json.loads(choice["message"]["content"])
        assert (schema_errors(value, TICKET) == []) == (value == TICKET_TARGET)


def test_regex_items_match_when_right_and_miss_when_wrong() -> None:
    pattern = "(positive|negative|neutral)"
    fmt = {"type": "regex", "pattern": pattern}
    prompts = [f"Sentiment of review {i}?" for i in range(200)]
    app = app_for(*[(p, AnswerSpec("positive", "regex_match", "hard")) for p in prompts])
    right = 0
    for prompt in prompts:
        text = ask(app, prompt, response_format=fmt)["choices"][0]["message"]["content"]
        if text == "positive":
            right += 1
        else:
            assert not re.fullmatch(pattern, text), text
            assert "positiv" in text.lower()  # a near miss
    assert abs(right / 200 - DIRECT["hard"]) < 0.1


def test_regex_target_read_as_a_pattern_without_one_in_the_request() -> None:
    spec = AnswerSpec(r"[A-Z]{3}-\d{4}", "regex_match", "easy")
    rights = [eval_reply(spec, "m", str(i), seed=1, reasons=False) for i in range(50)]
    for r in rights:
        assert bool(re.fullmatch(r"[A-Z]{3}-\d{4}", r.final)) == r.correct, r


def test_constrained_output_makes_ordinary_answers_bare() -> None:
    prompt = "How many r in strawberry?"
    app = app_for((prompt, AnswerSpec(3, "numeric", "easy")))
    fmt = {"type": "regex", "pattern": r"\d+"}
    content = ask(app, prompt, response_format=fmt)["choices"][0]["message"]["content"]
    assert re.fullmatch(r"\d+", content)


# --- samples -----------------------------------------------------------------------------


def test_sample_zero_is_the_single_reply_and_samples_are_independent() -> None:
    spec = AnswerSpec(7, "numeric", "hard")
    prompts = [f"q{i}" for i in range(400)]
    app = app_for(*[(p, spec) for p in prompts])
    per_sample = [[False] * 400 for _ in range(4)]
    for i, prompt in enumerate(prompts):
        single = ask(app, prompt)
        several = ask(app, prompt, n=4)
        assert several["choices"][0] == single["choices"][0]
        for k, choice in enumerate(several["choices"]):
            per_sample[k][i] = eval_reply(
                spec, MODEL, _sig(prompt), seed=1, reasons=False, accuracy=DIRECT, sample=k
            ).correct
            assert choice["message"]["content"].endswith(("7", "7}", "7.")) == per_sample[k][i]
    p = DIRECT["hard"]
    for k in range(4):
        assert abs(sum(per_sample[k]) / 400 - p) < 0.08
    # Independent draws: pass@4 near 1 - (1 - p)^4 and pairwise agreement near p^2 + (1-p)^2.
    pass4 = sum(any(per_sample[k][i] for k in range(4)) for i in range(400)) / 400
    assert abs(pass4 - (1 - (1 - p) ** 4)) < 0.06
    agree = sum(per_sample[0][i] == per_sample[1][i] for i in range(400)) / 400
    assert abs(agree - (p**2 + (1 - p) ** 2)) < 0.08


def _sig(prompt: str) -> str:
    from togethersim import signature

    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}]}
    return signature("/v1/chat/completions", body)


def test_samples_vary_their_phrasing_and_thinking_length() -> None:
    spec = AnswerSpec("B", "choice", "medium", ("x", "y", "z"))
    replies = [eval_reply(spec, "m", "k", seed=1, reasons=True, sample=s) for s in range(40)]
    assert len({r.final for r in replies}) > 2
    assert len({r.reasoning_words for r in replies}) > 20


# --- confidence --------------------------------------------------------------------------


def test_answer_token_carries_the_stated_confidence() -> None:
    spec = AnswerSpec("B", "choice", "hard", ("x", "y", "z", "w"))
    prompts = [f"Pick one ({i})" for i in range(400)]
    app = app_for(*[(p, spec) for p in prompts])
    right_p: list[float] = []
    wrong_p: list[float] = []
    for prompt in prompts:
        choice = ask(app, prompt, logprobs=2)["choices"][0]
        lp = choice["logprobs"]
        content = choice["message"]["content"]
        letter = re.search(r"([A-D])[^A-D]*$", content)
        assert letter is not None
        i = max(i for i, t in enumerate(lp["tokens"]) if letter.group(1) in t)
        p = math.exp(lp["token_logprobs"][i])
        others = [math.exp(v) for j, v in enumerate(lp["token_logprobs"]) if j != i]
        assert all(q > 0.6 for q in others)
        top = lp["top_logprobs"][i]
        rival = [t for t in top if t != lp["tokens"][i]][0] if len(top) > 1 else None
        if letter.group(1) == "B":
            right_p.append(p)
            assert 0.6 <= p <= 0.99
        else:
            wrong_p.append(p)
            assert 0.3 <= p <= 0.9
            assert rival is not None and "B" in rival  # the right answer was the runner-up
    assert statistics.mean(right_p) > statistics.mean(wrong_p) + 0.15
    assert abs(statistics.mean(right_p) - 0.795) < 0.04
    assert abs(statistics.mean(wrong_p) - 0.6) < 0.05


def test_eval_reply_arguments_for_tools_and_outputs_are_optional() -> None:
    spec = AnswerSpec(PARIS, "tool_call")
    tools = (Tool("get_weather", WEATHER_PARAMS), Tool("get_time", {}))
    with_tools = eval_reply(spec, "m", "k", seed=1, reasons=False, tools=tools)
    bare = eval_reply(spec, "m", "k", seed=1, reasons=False)
    assert with_tools.correct == bare.correct
    fmt = OutputFormat("regex", pattern="(yes|no)")
    reply = eval_reply(
        AnswerSpec("yes", "regex_match"), "m", "k", seed=1, reasons=False, output=fmt
    )
    assert reply.bare and (reply.final == "yes") == reply.correct
