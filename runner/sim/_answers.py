"""Simulated models taking an eval: an answer key and seeded accuracy per difficulty.

Given an :class:`AnswerKey` (built from an eval set: for each prompt text, its target,
scorer, difficulty and choices), the simulator answers eval prompts instead of babbling:

* **Right or wrong** is a seeded draw per (model, prompt): ``u < accuracy[difficulty]``,
  where ``u`` comes from sha256 of the seed, the model and the prompt, so a rerun gets the
  same answers and two models get independent draws. The accuracy is a stated parameter
  (:data:`REASONING` and :data:`DIRECT` by default; a model reasons if its name says so,
  as in :func:`._inference.reasoning_style`). The demo's numbers are therefore *simulated*
  and known in advance: that is what lets a test check the statistics end to end.
* **A wrong answer** is a plausible one: a number off by a little, another choice letter,
  a date a day or a month off, JSON with a field missing (breaking its schema).
* **The final line** varies its form the way real models do (``Answer: 42``,
  ``\\boxed{42}``, ``**B**``, ``ANSWER: $B$``, ``The answer is 42.``) so extraction is
  exercised, not just string equality.
* **Reasoning models** think first: 40-120 words on easy items, 120-400 on medium, 300-900
  on hard ones, and on 4% of hard items they ramble (4,000 words); a ``max_tokens`` below
  that cuts the reply inside the thinking, with no answer, as real models do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DIRECT", "REASONING", "AnswerKey", "AnswerSpec", "EvalReply", "eval_reply", "key_of"]

REASONING = {"easy": 0.97, "medium": 0.9, "hard": 0.8}
DIRECT = {"easy": 0.92, "medium": 0.72, "hard": 0.42}
RAMBLE_RATE = 0.04
RAMBLE_WORDS = 4000


def key_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class AnswerSpec:
    target: Any
    scorer: str = "exact"
    difficulty: str = "medium"
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AnswerKey:
    """Prompt text (the last user message, or a text prompt) -> what a right answer is."""

    specs: Mapping[str, AnswerSpec] = field(default_factory=dict)

    @classmethod
    def build(cls, pairs: Iterable[tuple[str, AnswerSpec]]) -> AnswerKey:
        return cls({key_of(text): spec for text, spec in pairs})

    def lookup(self, body: Mapping[str, Any]) -> AnswerSpec | None:
        text = _prompt_text(body)
        return None if text is None else self.specs.get(key_of(text))

    def __len__(self) -> int:
        return len(self.specs)


def _prompt_text(body: Mapping[str, Any]) -> str | None:
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else None
        return None
    prompt = body.get("prompt")
    return prompt if isinstance(prompt, str) else None


@dataclass(frozen=True, slots=True)
class EvalReply:
    correct: bool
    final: str  # the closing text that carries the answer
    reasoning_words: int  # 0 for models that do not reason


def _unit(*parts: str) -> float:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def eval_reply(
    spec: AnswerSpec,
    model: str,
    prompt_key: str,
    *,
    seed: int,
    reasons: bool,
    accuracy: Mapping[str, float] | None = None,
) -> EvalReply:
    table = accuracy or (REASONING if reasons else DIRECT)
    p = table.get(spec.difficulty, table.get("medium", 0.5))
    correct = _unit(str(seed), model, prompt_key, "right") < p
    answer = spec.target if correct else _wrong(spec, _unit(str(seed), model, prompt_key, "how"))
    final = _phrase(spec, answer, _unit(model, prompt_key, "form"))
    words = 0
    if reasons:
        low, high = {"easy": (40, 120), "medium": (120, 400), "hard": (300, 900)}.get(
            spec.difficulty, (120, 400)
        )
        u = _unit(str(seed), model, prompt_key, "length")
        words = low + int(u * (high - low))
        if (
            spec.difficulty == "hard"
            and _unit(str(seed), model, prompt_key, "ramble") < RAMBLE_RATE
        ):
            words = RAMBLE_WORDS
    return EvalReply(correct, final, words)


def _wrong(spec: AnswerSpec, u: float) -> Any:
    target = spec.target
    if spec.scorer == "judge":  # a judge gets the verdict wrong
        return "INCORRECT" if target == "CORRECT" else "CORRECT"
    if isinstance(target, list) and target:
        target = target[0]
    if spec.scorer == "choice" and spec.choices:
        letters = "ABCDEFGHIJ"[: len(spec.choices)]
        others = [x for x in letters if x != str(target)] or list(letters)
        return others[int(u * len(others))]
    if isinstance(target, bool):
        return not target
    if isinstance(target, int | float):
        step = 1 + int(u * 3)
        if isinstance(target, float) and not target.is_integer():
            return round(target - step / 10, 3)
        return int(target) + (step if u < 0.5 else -step)
    if isinstance(target, dict):
        broken = dict(target)
        if broken:
            broken.pop(sorted(broken)[int(u * len(broken))])  # a required field goes missing
        return broken
    text = str(target)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # a date: a day or a month off
        day = int(text[8:])
        return (
            f"{text[:8]}{(day % 28) + 1:02d}"
            if u < 0.5
            else f"{text[:5]}{(int(text[5:7]) % 12) + 1:02d}{text[7:]}"
        )
    return text[::-1] if len(text) > 1 else text + "?"


def _phrase(spec: AnswerSpec, answer: Any, u: float) -> str:
    if isinstance(answer, dict):
        body = json.dumps(answer)
        return f"```json\n{body}\n```" if u < 0.5 else body
    text = str(answer)
    if isinstance(answer, float) and answer.is_integer():
        text = str(int(answer))
    if spec.scorer == "choice":
        forms = ["Answer: {}", "ANSWER: ${}$", "The answer is ({}).", "**{}**"]
    elif spec.scorer == "numeric":
        forms = ["Answer: {}", "\\boxed{{{}}}", "The answer is {}.", "Answer: {}"]
    else:
        forms = ["Answer: {}"]
    return forms[int(u * len(forms))].format(text)
