"""The simulator taking an eval: seeded accuracy, plausible wrong answers, real truncation."""

from __future__ import annotations

import json
import re
from typing import Any

from togethersim import SimConfig
from togethersim._answers import DIRECT, REASONING, AnswerKey, AnswerSpec, eval_reply, key_of
from togethersim._app import SimApp

PROMPT = "How many times does the letter 'r' appear in 'strawberry'? End with 'Answer: N'."


def ask(app: SimApp, model: str, prompt: str = PROMPT, **extra: Any) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}
    reply = app.handle(b"POST", b"/v1/chat/completions", [], json.dumps(body).encode())
    assert reply.status == 200
    result: dict[str, Any] = json.loads(reply.body)
    return result


def test_accuracy_follows_the_stated_rate_per_difficulty() -> None:
    for table, reasons in ((REASONING, True), (DIRECT, False)):
        for difficulty, rate in table.items():
            spec = AnswerSpec(7, "numeric", difficulty)
            right = sum(
                eval_reply(spec, "m", key_of(str(i)), seed=1, reasons=reasons).correct
                for i in range(4000)
            )
            assert abs(right / 4000 - rate) < 0.03, (difficulty, right)


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
