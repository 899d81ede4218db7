"""Simulated models taking an eval: an answer key and seeded accuracy per difficulty.

Given an :class:`AnswerKey` (built from an eval set: for each prompt text, its target,
scorer, difficulty and choices), the simulator answers eval prompts instead of babbling:

* **Right or wrong** is a seeded draw per (model, prompt, sample): ``u < accuracy[difficulty]``,
  where ``u`` comes from sha256 of the seed, the model, the prompt and, for samples after
  the first (``n > 1``), the sample number; so a rerun gets the same answers, two models get
  independent draws, and the samples of one request are independent draws (pass@k and
  majority votes mean something). Sample 0 is drawn exactly as a single reply always was.
  The accuracy is a stated parameter: the table by difficulty that the simulator's config
  gives (``SimConfig.accuracy`` for the model, else ``SimConfig.default_accuracy`` for a
  reasoning or a direct model; ``fanout`` passes the tables of ``config/models.toml``, their
  one home). Without one every item is a coin flip (:data:`FALLBACK_ACCURACY`), a neutral
  value that states nothing. The demo's numbers are therefore *simulated* and known in
  advance: that is what lets a test check the statistics end to end.
* **A wrong answer** is a plausible one: a number off by a little, another choice letter,
  a date a day or a month off, JSON with a field missing (breaking its schema).
* **The final line** varies its form the way real models do (``Answer: 42``,
  ``\\boxed{42}``, ``**B**``, ``ANSWER: $B$``, ``The answer is 42.``) so extraction is
  exercised, not just string equality. Under a ``response_format`` (JSON or regex) the
  answer is the whole content instead, bare, as constrained decoding makes it.
* **Reasoning models** think first: 40-120 words on easy items, 120-400 on medium, 300-900
  on hard ones, and on 4% of hard items they ramble (4,000 words); a ``max_tokens`` below
  that cuts the reply inside the thinking, with no answer, as real models do.
* **Confidence** (what ``logprobs`` shows, see :mod:`._logprobs`): the token carrying the
  answer has probability ``c``, with ``c ~ U(0.60, 0.99)`` when the answer is right and
  ``c ~ U(0.30, 0.90)`` when it is wrong (a slightly over-confident model: wrong answers
  are often given with confidence above 0.5). Its top alternative is the competing
  answer: a wrong one when it is right, the right one when it is wrong.

Three scorers answer in their own shape (the contract with ``evals``):

==============  =============================================================================
``tool_call``   ``target`` is the expected calls, ``[{"name", "arguments"}]`` (or one such
                object; ``[]`` expects no call). Right: exactly those calls. Wrong, one of
                (drawn among those possible): an argument value off, another offered tool
                called instead, one of several parallel calls missing, or a text answer
                with no call (for ``[]``: a call to the first offered tool).
``json_schema`` ``target`` is an object valid under ``AnswerSpec.schema`` (else the request's
                ``response_format`` schema). Right: that JSON, bare. Wrong: JSON the
                schema rejects (:func:`._schema.break_instance`: a required field missing,
                an enum value outside the enum, a wrong type in a nested object).
``regex_match`` ``target`` is a string matching the pattern (``AnswerSpec.pattern``, else the
                request's regex ``response_format``, else the target read as a pattern).
                Right: the target (or a generated match if the target does not match).
                Wrong: a near miss the pattern refuses (other case, a trailing period,
                wrapped in ``Answer: ...``, the last character lost).
==============  =============================================================================
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._regex import Draws, sample_match
from ._request import OutputFormat, Tool
from ._schema import break_instance, instance

__all__ = [
    "FALLBACK_ACCURACY",
    "AnswerKey",
    "AnswerSpec",
    "EvalReply",
    "eval_reply",
    "key_of",
]

FALLBACK_ACCURACY = 0.5  # no table stated (or none for the difficulty): a coin flip
RAMBLE_RATE = 0.04
RAMBLE_WORDS = 4000
RIGHT_CONFIDENCE = (0.60, 0.99)  # P(answer token) ~ U(low, high) for a right answer
WRONG_CONFIDENCE = (0.30, 0.90)  # ... and for a wrong one
NO_CALL_TEXT = "I can answer that without calling a tool."

Call = tuple[str, dict[str, Any]]  # (function name, arguments)


def key_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class AnswerSpec:
    target: Any
    scorer: str = "exact"
    difficulty: str = "medium"
    choices: tuple[str, ...] | None = None
    schema: dict[str, Any] | None = None  # json_schema items: the schema the answer follows
    pattern: str | None = None  # regex_match items: the pattern, when the request has none


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
    calls: tuple[Call, ...] = ()  # tool calls made instead of a text answer
    bare: bool = False  # final is the whole answer (constrained output): no sim: preamble
    answer: str = ""  # the answer as written in final ("" when no one token carries it)
    alternative: str = ""  # the competing answer, written the same way ("" when none)
    confidence: float = 1.0  # probability of the token that carries the answer


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
    sample: int = 0,
    tools: Sequence[Tool] = (),
    output: OutputFormat | None = None,
) -> EvalReply:
    """The reply of ``model`` to an eval prompt, for choice number ``sample``.

    ``accuracy`` is the chance of a right answer by difficulty (a difficulty it leaves out
    takes its ``medium``); None or empty: `FALLBACK_ACCURACY`. ``tools`` and ``output`` are
    the request's offered tools and ``response_format``: wrong tool calls pick among the
    tools, and constrained output is answered bare.
    """
    salt = () if sample == 0 else (f"sample {sample}",)

    def unit(what: str) -> float:
        return _unit(str(seed), model, prompt_key, what, *salt)

    table = accuracy or {}
    p = table.get(spec.difficulty, table.get("medium", FALLBACK_ACCURACY))
    correct = unit("right") < p
    low, high = RIGHT_CONFIDENCE if correct else WRONG_CONFIDENCE
    confidence = low + (high - low) * unit("confidence")
    words = 0
    if reasons:
        low_w, high_w = {"easy": (40, 120), "medium": (120, 400), "hard": (300, 900)}.get(
            spec.difficulty, (120, 400)
        )
        words = low_w + int(unit("length") * (high_w - low_w))
        if spec.difficulty == "hard" and unit("ramble") < RAMBLE_RATE:
            words = RAMBLE_WORDS
    draws = Draws("\x1f".join((str(seed), model, prompt_key, "detail", *salt)))
    if spec.scorer == "tool_call":
        expected = _expected_calls(spec.target)
        calls = expected if correct else _wrong_calls(expected, tools, unit("how"), draws)
        if calls:
            return EvalReply(correct, "", words, calls=tuple(calls), bare=True)
        return EvalReply(correct, NO_CALL_TEXT, words, confidence=confidence)
    if spec.scorer == "json_schema":
        schema = spec.schema or (output.schema if output is not None else None)
        value = spec.target if correct else _broken(spec, schema, draws)
        text = json.dumps(value)
        first = text.split(" ", 1)[0]
        return EvalReply(correct, text, words, bare=True, answer=first, confidence=confidence)
    if spec.scorer == "regex_match":
        pattern = _pattern(spec, output)
        right = _matching(str(spec.target), pattern, draws)
        text = right if correct else _not_matching(right, pattern, unit("how"))
        rival = _not_matching(right, pattern, unit("rival")) if correct else right
        return EvalReply(
            correct,
            text,
            words,
            bare=True,
            answer=text.split(" ", 1)[0],
            alternative=rival.split(" ", 1)[0],
            confidence=confidence,
        )
    answer = spec.target if correct else _wrong(spec, unit("how"))
    rival = _wrong(spec, unit("rival")) if correct else _first(spec.target)
    if output is not None:  # constrained decoding: the answer is the whole content
        final = json.dumps(answer) if isinstance(answer, dict | list) else _render(answer)
        bare = True
    else:
        final = _phrase(spec, answer, _unit(model, prompt_key, "form", *salt))
        bare = False
    scalar = not isinstance(answer, dict | list)
    return EvalReply(
        correct,
        final,
        words,
        bare=bare,
        answer=_render(answer) if scalar else "",
        alternative=_render(rival) if scalar and not isinstance(rival, dict | list) else "",
        confidence=confidence,
    )


def _first(target: Any) -> Any:
    return target[0] if isinstance(target, list) and target else target


def _render(answer: Any) -> str:
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)


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
    return _wrong_value(target, u)


def _wrong_value(target: Any, u: float) -> Any:
    """A plausible value that is not ``target``."""
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
    if isinstance(target, list):
        return target[:-1] if target else ["?"]
    text = str(target)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # a date: a day or a month off
        day = int(text[8:]) if text[8:].isdigit() else 1
        month = int(text[5:7]) if text[5:7].isdigit() else 1
        return (
            f"{text[:8]}{(day % 28) + 1:02d}"
            if u < 0.5
            else f"{text[:5]}{(month % 12) + 1:02d}{text[7:]}"
        )
    flipped = text[::-1]
    return flipped if len(text) > 1 and flipped != text else text + "?"


def _phrase(spec: AnswerSpec, answer: Any, u: float) -> str:
    if isinstance(answer, dict):
        body = json.dumps(answer)
        return f"```json\n{body}\n```" if u < 0.5 else body
    text = _render(answer)
    if spec.scorer == "choice":
        forms = ["Answer: {}", "ANSWER: ${}$", "The answer is ({}).", "**{}**"]
    elif spec.scorer == "numeric":
        forms = ["Answer: {}", "\\boxed{{{}}}", "The answer is {}.", "Answer: {}"]
    else:
        forms = ["Answer: {}"]
    return forms[int(u * len(forms))].format(text)


# -- tool calls ----------------------------------------------------------------------------


def _expected_calls(target: Any) -> list[Call]:
    """The calls a ``tool_call`` target expects (malformed entries are skipped)."""
    items = target if isinstance(target, list) else [target]
    calls: list[Call] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        arguments = item.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                arguments = {}
        calls.append((item["name"], arguments if isinstance(arguments, dict) else {}))
    return calls


def _wrong_calls(expected: list[Call], tools: Sequence[Tool], u: float, draws: Draws) -> list[Call]:
    """A plausible mistake (see the module docstring); [] is the text answer."""
    if not expected:  # no call was expected: the mistake is to call one anyway
        if not tools:
            return [("lookup", {})]
        tool = tools[0]
        return [(tool.name, _arguments_for(tool, draws))]
    names = {name for name, _ in expected}
    others = [t for t in tools if t.name not in names]
    kinds = []
    if any(arguments for _, arguments in expected):
        kinds.append("value")
    if others:
        kinds.append("function")
    if len(expected) >= 2:
        kinds.append("missing")
    kinds.append("text")
    kind = kinds[int(u * len(kinds))]
    calls = list(expected)
    if kind == "value":
        with_args = [i for i, (_, arguments) in enumerate(calls) if arguments]
        i = with_args[draws.pick(len(with_args))]
        name, arguments = calls[i]
        key = sorted(arguments)[draws.pick(len(arguments))]
        prop = _property(next((t for t in tools if t.name == name), None), key)
        calls[i] = (name, {**arguments, key: _off(arguments[key], prop, draws)})
    elif kind == "function":
        i = draws.pick(len(calls))
        tool = others[draws.pick(len(others))]
        calls[i] = (tool.name, _arguments_for(tool, draws))
    elif kind == "missing":
        calls.pop(draws.pick(len(calls)))
    else:
        calls = []
    return calls


def _arguments_for(tool: Tool, draws: Draws) -> dict[str, Any]:
    value = instance(tool.parameters, f"{tool.name}/{draws.pick(2**31)}")
    return value if isinstance(value, dict) else {}


def _property(tool: Tool | None, key: str) -> dict[str, Any]:
    if tool is None:
        return {}
    properties = tool.parameters.get("properties")
    prop = properties.get(key) if isinstance(properties, dict) else None
    return prop if isinstance(prop, dict) else {}


def _off(value: Any, prop: dict[str, Any], draws: Draws) -> Any:
    """Another value for an argument: another enum member if there is one, else nearby."""
    enum = prop.get("enum")
    if isinstance(enum, list):
        others = [x for x in enum if x != value]
        if others:
            return others[draws.pick(len(others))]
    return _wrong_value(value, draws.unit())


# -- JSON Schema and regex ----------------------------------------------------------------


def _broken(spec: AnswerSpec, schema: dict[str, Any] | None, draws: Draws) -> Any:
    if schema is not None:
        broken = break_instance(spec.target, schema, str(draws.pick(2**31)))
        if broken is not None:
            return broken
    return _wrong_value(spec.target, draws.unit())


def _pattern(spec: AnswerSpec, output: OutputFormat | None) -> str | None:
    if spec.pattern is not None:
        return spec.pattern
    if output is not None and output.pattern is not None:
        return output.pattern
    return str(_first(spec.target))  # the target is the pattern itself


def _fullmatch(pattern: str | None, text: str) -> bool:
    if pattern is None:
        return False
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error:
        return False


def _matching(target: str, pattern: str | None, draws: Draws) -> str:
    """The target when it matches the pattern, else a generated match (else the target)."""
    if pattern is None or _fullmatch(pattern, target):
        return target
    return sample_match(pattern, str(draws.pick(2**31))) or target


def _not_matching(right: str, pattern: str | None, u: float) -> str:
    """A near miss of ``right`` that the pattern refuses: the slips constrained-output
    evals catch (another case, a trailing period, the answer wrapped in words, the last
    character lost)."""
    candidates: list[str] = [
        right.upper() if right != right.upper() else right.lower(),
        f"{right}.",
        f"Answer: {right}",
        right[:-1] if len(right) > 1 else f"{right}?",
    ]
    start = int(u * len(candidates))
    for k in range(len(candidates)):
        candidate = candidates[(start + k) % len(candidates)]
        if candidate != right and not _fullmatch(pattern, candidate):
            return candidate
    return f"{right} (unsure)"
