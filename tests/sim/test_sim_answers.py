"""The simulator taking an eval: seeded accuracy, plausible wrong answers, real truncation."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from runner import Catalog
from togethersim import SimConfig
from togethersim._answers import FALLBACK_ACCURACY, AnswerKey, AnswerSpec, eval_reply, key_of
from togethersim._app import SimApp

ROWS = Catalog.load().sim_rows  # the tables fanout gives the simulator (config/models.toml)
R1, LLAMA = "deepseek-ai/DeepSeek-R1", "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"

PROMPT = "How many times does the letter 'r' appear in 'strawberry'? End with 'Answer: N'."


def ask(app: SimApp, model: str, prompt: str = PROMPT, **extra: Any) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}
    reply = app.handle(b"POST", b"/v1/chat/completions", [], json.dumps(body).encode())
    assert reply.status == 200
    result: dict[str, Any] = json.loads(reply.body)
    return result


def test_accuracy_follows_the_stated_rate_per_difficulty() -> None:
    assert set(ROWS) == {"reasoning", "direct"}
    for kind, table in ROWS.items():
        for difficulty, rate in table.items():
            spec = AnswerSpec(7, "numeric", difficulty)
            right = sum(
                eval_reply(
                    spec, "m", key_of(str(i)), seed=1, reasons=kind == "reasoning", accuracy=table
                ).correct
                for i in range(4000)
            )
            assert abs(right / 4000 - rate) < 0.03, (difficulty, right)


@pytest.mark.parametrize("table", [None, {}, {"easy": 1.0}])
def test_without_a_stated_rate_an_item_is_a_coin_flip(table: dict[str, float] | None) -> None:
    """The simulator keeps no accuracy of its own: a neutral 0.5 (a table's medium first)."""
    assert FALLBACK_ACCURACY == 0.5
    for reasons in (True, False):
        spec = AnswerSpec(7, "numeric", "hard")
        right = sum(
            eval_reply(spec, "m", key_of(str(i)), seed=1, reasons=reasons, accuracy=table).correct
            for i in range(4000)
        )
        assert abs(right / 4000 - 0.5) < 0.03, right
    medium = {"medium": 0.9}
    right = sum(
        eval_reply(
            AnswerSpec(7, "numeric", "hard"), "m", str(i), seed=1, reasons=False, accuracy=medium
        ).correct
        for i in range(2000)
    )
    assert abs(right / 2000 - 0.9) < 0.03


def answered(config: SimConfig, model: str, endpoint: str = "chat") -> list[bool]:
    """Whether ``model`` got each of 40 hard items (target 3) right."""
    prompts = [f"How many? ({i})" for i in range(40)]
    key = AnswerKey.build([(p, AnswerSpec(3, "numeric", "hard")) for p in prompts])
    app = SimApp(dataclasses.replace(config, answers=key))
    right = []
    for prompt in prompts:
        if endpoint == "chat":
            text = ask(app, model, prompt)["choices"][0]["message"]["content"]
        else:
            body = json.dumps({"model": model, "prompt": prompt}).encode()
            reply = app.handle(b"POST", b"/v1/completions", [], body)
            text = json.loads(reply.body)["choices"][0]["text"]
        last = re.findall(r"-?\d+", text)[-1]
        right.append(last == "3")
    return right


def test_the_app_takes_the_row_for_how_it_plays_the_model() -> None:
    """default_accuracy: the reasoning row for a model it plays reasoning, else the direct
    one (a text completion does not reason); a model's own table wins."""
    rows = {"reasoning": {"hard": 1.0}, "direct": {"hard": 0.0}}
    config = SimConfig(seed=1, default_accuracy=rows)
    assert all(answered(config, R1))
    assert not any(answered(config, LLAMA))
    assert not any(answered(config, R1, endpoint="text"))
    assert all(
        answered(SimConfig(seed=1, default_accuracy=rows, accuracy={LLAMA: {"hard": 1}}), LLAMA)
    )
    assert not any(answered(SimConfig(seed=1, default_accuracy=rows, styles={R1: "none"}), R1))
    coin = answered(SimConfig(seed=1), LLAMA)  # no table at all: a coin flip
    assert 8 <= sum(coin) <= 32


def test_the_config_checks_its_accuracy_tables() -> None:
    with pytest.raises(ValueError, match="default_accuracy keys are reasoning and direct"):
        SimConfig(default_accuracy={"thinking": {"hard": 0.5}})
    with pytest.raises(ValueError, match=r"default_accuracy\['direct'\] must map"):
        SimConfig(default_accuracy={"direct": {"hard": 1.5}})
    with pytest.raises(ValueError, match=r"accuracy\['m'\] must map"):
        SimConfig(accuracy={"m": {"hard": True}})


def test_draws_are_repeatable_and_independent_between_models() -> None:
    spec = AnswerSpec(7, "numeric", "hard")
    a = [eval_reply(spec, "a", str(i), seed=1, reasons=False).correct for i in range(300)]
    assert a == [eval_reply(spec, "a", str(i), seed=1, reasons=False).correct for i in range(300)]
    b = [eval_reply(spec, "b", str(i), seed=1, reasons=False).correct for i in range(300)]
    assert a != b


def test_wrong_answers_are_wrong_and_plausible() -> None:
    cases = [
        AnswerSpec(42, "numeric", "hard"),
        AnswerSpec(9.9, "numeric", "hard"),
        AnswerSpec("B", "choice", "hard", ("x", "y", "z")),
        AnswerSpec("2024-02-29", "exact", "hard"),
        AnswerSpec({"name": "Ada", "age": 3}, "json", "hard"),
    ]
    for spec in cases:
        wrong = [
            r
            for i in range(200)
            if not (r := eval_reply(spec, "m", str(i), seed=3, reasons=False)).correct
        ]
        assert wrong, spec
        for r in wrong:
            assert str(spec.target) not in r.final or spec.scorer == "json", (spec, r.final)


def test_direct_model_answers_in_content_with_the_signature_first() -> None:
    key = AnswerKey.build([(PROMPT, AnswerSpec(3, "numeric", "easy"))])
    app = SimApp(SimConfig(answers=key, seed=1))
    body = ask(app, "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo")
    content = body["choices"][0]["message"]["content"]
    assert content.startswith("sim:")
    assert body["usage"]["completion_tokens"] == len(content.split(" "))
    assert re.search(r"(Answer: \d+|\\boxed\{\d+\}|The answer is \d+\.)$", content), content


def test_reasoning_model_thinks_first_and_spends_tokens_on_it() -> None:
    key = AnswerKey.build([(PROMPT, AnswerSpec(3, "numeric", "medium"))])
    app = SimApp(SimConfig(answers=key, seed=1))
    body = ask(app, "deepseek-ai/DeepSeek-R1")
    content = body["choices"][0]["message"]["content"]
    assert content.startswith("<think>\n") and "\n</think>\n\nsim:" in content
    assert 120 <= body["usage"]["reasoning_tokens"] <= 400
    assert body["choices"][0]["finish_reason"] == "stop"


def test_cut_inside_thinking_leaves_it_open_with_no_answer() -> None:
    key = AnswerKey.build([(PROMPT, AnswerSpec(3, "numeric", "hard"))])
    app = SimApp(SimConfig(answers=key, seed=1))
    inline = ask(app, "deepseek-ai/DeepSeek-R1", max_tokens=50)
    choice = inline["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"].startswith("<think>\n")
    assert "</think>" not in choice["message"]["content"]
    assert inline["usage"]["completion_tokens"] == 50
    no_open = ask(app, "Qwen/Qwen3-235B-A22B-Thinking-2507", max_tokens=50)
    assert "think>" not in no_open["choices"][0]["message"]["content"]
    field = ask(app, "openai/gpt-oss-120b", max_tokens=50)
    message = field["choices"][0]["message"]
    assert message["content"] == ""
    assert message["reasoning"].startswith("sim reasoning")


def test_prompts_not_in_the_key_get_the_usual_babble() -> None:
    key = AnswerKey.build([(PROMPT, AnswerSpec(3, "numeric", "easy"))])
    app = SimApp(SimConfig(answers=key, seed=1))
    body = ask(app, "m", prompt="something else")
    assert "Answer" not in body["choices"][0]["message"]["content"]
