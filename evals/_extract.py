"""Answer extraction: split a completion into its thinking and its answer, and read its usage.

Reasoning models put their thinking in one of three places (``config/models.toml`` names
them; see ``shared/reference/together-api.md`` section 6):

- ``inline``: ``"<think>R</think>A"`` in ``content`` (DeepSeek-R1, QwQ, hybrid Qwen3);
- ``inline-no-open``: ``"R</think>A"``, no opening tag, because the chat template opened
  it (Qwen3-Thinking-2507);
- ``field``: ``message.reasoning`` (or ``reasoning_content``), ``content`` is the answer.

`extract` applies one set of rules that is right for all three. Rules 1 to 3 are
`runner.split_thinking`'s (the runner times a stream's first answer token by them too):

1. every complete ``<think>...</think>`` block is reasoning, removed from the text;
2. before the last ``</think>`` left without its opening tag is reasoning, after it the
   answer;
3. an opening ``<think>`` that never closes means the reply ended inside its thinking:
   no answer, and the reply is ``truncated``;
4. with ``finish_reason: "length"`` and no answer text (the budget ran out inside the
   thinking, or right after it), the reply is ``truncated`` too: not answered, not wrong;
5. with ``"length"`` after some answer text, the answer is kept only if the text commits
   to one (`evals._parse.committed`: an answer label, ``\\boxed{}``, ``####``, ``the answer
   is``, ``I'd go with C``, or a whole JSON value); otherwise it was cut off in its working
   (``144 − 101 = 4``) and is ``truncated``: its numbers are steps, not an answer. A kept
   answer has `Extraction.length` set: what follows it may be cut short.

The style matters only where the text alone is ambiguous: a reply with no tags at all is
the answer, except for an ``inline-no-open`` model, whose reply without ``</think>`` never
left its thinking (no answer; truncated). Tags are matched exactly (lower case), as the
models emit them. `REASONING_STYLES` is the runner's (the catalog's) list of styles.

Tool calls (``message.tool_calls``, Together's and OpenAI's shape
``[{"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}]``, or
the older ``message.function_call``) are read into `Extraction.tool_calls` with their
arguments as sent (a JSON text; the ``tool_call`` scorer parses it). A reply that called
tools ends with ``finish_reason: "tool_calls"``, usually with empty content: that is a
finished reply with no text answer, never a truncation.

Token log probabilities, when the request asked for them, are read from either shape the
API sends into `Extraction.logprobs`, a tuple of ``(token, logprob)``: Together's native
``{"tokens": [...], "token_logprobs": [...]}`` and OpenAI's
``{"content": [{"token", "logprob", ...}]}``.

A reply with several choices (a request with ``n`` > 1) is read choice by choice with
`extract_choices` / `extract_result_choices`; `extract` reads the first. Usage belongs to
the whole response, so every choice's extraction carries the same token counts.

Token counts are read by `runner.read_usage` (the engine's reader: what counts as a count, and
where reasoning tokens may be); a count the server did not give is None. Reasoning tokens
without a count are estimated from the reasoning text at `CHARS_PER_TOKEN` characters a
token and flagged ``reasoning_tokens_estimated`` (a reply with no reasoning text has 0, not
estimated).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner import REASONING_STYLES, UsageCounts, read_usage, split_thinking

from ._frozen import builder
from ._parse import committed

__all__ = [
    "CHARS_PER_TOKEN",
    "REASONING_STYLES",
    "Extraction",
    "TokenLogprob",
    "ToolCall",
    "extract",
    "extract_choices",
    "extract_result",
    "extract_result_choices",
]

CHARS_PER_TOKEN = 4  # rough, for English text with common BPE vocabularies


TokenLogprob = tuple[str, float | None]  # a token's text and its log probability (None: unknown)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call a reply made; ``arguments`` is the JSON text as sent (may be bad)."""

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one completion said: its answer (None if it gave none), thinking and usage.

    ``truncated`` means the reply stopped before it answered (inside its thinking, or at
    ``max_tokens`` before it committed to an answer): count it apart from wrong answers.
    ``error`` is set when there was no completion to read (a failed request, or a body
    without choices).
    ``tool_calls`` are the calls the reply made (empty if none); ``logprobs`` the tokens
    with their log probabilities, when the reply carries them.
    """

    answer: str | None = None
    reasoning: str | None = None
    truncated: bool = False
    finish_reason: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    reasoning_tokens: int | None = None
    reasoning_tokens_estimated: bool = False
    error: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    logprobs: tuple[TokenLogprob, ...] | None = None

    @property
    def length(self) -> bool:
        """The reply hit ``max_tokens``; with an answer, the answer may be cut short."""
        return self.finish_reason == "length"

    def calls_answer(self) -> str | None:
        """What a scorer that reads tool calls is given (see `evals.register_scorer`): the JSON
        text ``{"content": answer, "tool_calls": [{"name", "arguments"}, ...]}``; None when
        the reply gave neither text nor calls."""
        if not self.tool_calls and self.answer is None:
            return None
        calls = [{"name": c.name, "arguments": c.arguments} for c in self.tool_calls]
        return json.dumps({"content": self.answer, "tool_calls": calls}, ensure_ascii=False)


_extraction = builder(Extraction)  # Extraction(*every field), built fast (see _frozen)
_NO_USAGE: UsageCounts = (None, None, None, None)  # a body without usage: every count unknown


def extract(body: Mapping[str, Any], style: str = "auto") -> Extraction:
    """Read the first choice of a chat or text completion body (see the module docstring).

    ``style`` is one of `REASONING_STYLES` (a model's ``reasoning`` in models.toml).
    """
    return extract_choices(body, style)[0]


def extract_choices(body: Mapping[str, Any], style: str = "auto") -> list[Extraction]:
    """Read every choice of a completion body, in ``index`` order; one `Extraction` with
    ``error`` set if the body has no choices."""
    if style not in REASONING_STYLES:
        raise ValueError(f"style must be one of {', '.join(REASONING_STYLES)}, got {style!r}")
    choices = body.get("choices")
    if not isinstance(choices, list):
        return [Extraction(error=_body_error(body))]
    usage = read_usage(body) or _NO_USAGE  # the whole response's, for every choice
    if len(choices) == 1 and isinstance(choices[0], dict):  # the common case, n = 1
        return [_choice(choices[0], usage, style)]
    read = [c for c in choices if isinstance(c, dict)]
    if not read:
        return [Extraction(error=_body_error(body))]
    if all(isinstance(c.get("index"), int) for c in read):
        read.sort(key=lambda c: c["index"])
    return [_choice(c, usage, style) for c in read]


def _choice(choice: Mapping[str, Any], usage: UsageCounts, style: str) -> Extraction:
    finish = choice.get("finish_reason")
    finish = finish if isinstance(finish, str) else None
    message = choice.get("message")
    source: Mapping[str, Any]
    calls: tuple[ToolCall, ...]
    if isinstance(message, dict):  # chat completion
        source, text = message, _text(message.get("content"))
        has_calls = message.get("tool_calls") or message.get("function_call")
        calls = _tool_calls(message) if has_calls else ()
    else:  # text completion
        source, text, calls = choice, _text(choice.get("text")), ()
    field = source.get("reasoning") or source.get("reasoning_content")
    field = field if isinstance(field, str) and field.strip() else None

    answer, thoughts, _ = split_thinking(text, no_open=style == "inline-no-open")
    inside = answer is None  # still thinking: rule 3, or inline-no-open without </think>
    if field is not None:
        thoughts.insert(0, field)
    answer = answer.strip() if answer is not None else None
    answer = answer or None
    # A reply that called tools finished, whatever its (usually empty) text says.
    truncated = not calls and (
        inside or (finish == "length" and (answer is None or not committed(answer)))
    )
    reasoning = ("\n".join(t.strip() for t in thoughts if t.strip()) or None) if thoughts else None
    prompt_tokens, completion_tokens, _, counted = usage
    reasoning_tokens, estimated = _reasoning_tokens(counted, reasoning)
    raw_logprobs = choice.get("logprobs")
    return _extraction(
        None if truncated else answer,
        reasoning,
        truncated,
        finish,
        prompt_tokens,
        completion_tokens,
        reasoning_tokens,
        estimated,
        None,
        calls,
        None if raw_logprobs is None else _logprobs(raw_logprobs),
    )


def extract_result(line: Mapping[str, Any], style: str = "auto") -> Extraction:
    """Read one Batch output line (``{"custom_id", "response": {"body"}, "error"}``).

    A line whose request failed gives an `Extraction` with ``error`` set and no answer.
    """
    return extract_result_choices(line, style)[0]


def extract_result_choices(line: Mapping[str, Any], style: str = "auto") -> list[Extraction]:
    """Every choice of one Batch output line (see `extract_choices`); a failed request
    gives one `Extraction` with ``error`` set."""
    response = line.get("response")
    response = response if isinstance(response, dict) else {}
    status = response.get("status_code")
    body = response.get("body")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError:
            body = None
    error = line.get("error")
    if isinstance(body, dict) and status in (None, 200) and not error:
        return extract_choices(body, style)
    if isinstance(error, dict):
        reason = f"{error.get('code') or 'error'}: {error.get('message') or ''}".rstrip(": ")
    elif error:
        reason = str(error)
    elif status is not None and status != 200:
        reason = f"HTTP {status}"
    else:
        reason = "no response body"
    return [Extraction(error=reason)]


def _tool_calls(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    """The calls in ``message.tool_calls`` (or the legacy ``function_call``), in order."""
    raw = message.get("tool_calls")
    entries = raw if isinstance(raw, list) else []
    if not entries and isinstance(message.get("function_call"), dict):
        entries = [{"function": message["function_call"]}]
    calls = []
    for entry in entries:
        function = entry.get("function") if isinstance(entry, dict) else None
        if not isinstance(function, dict):
            continue
        name = function.get("name")
        arguments = function.get("arguments")
        if not isinstance(arguments, str):  # some servers send the object itself
            arguments = "" if arguments is None else json.dumps(arguments)
        call_id = entry.get("id")
        calls.append(
            ToolCall(
                name if isinstance(name, str) else "",
                arguments,
                call_id if isinstance(call_id, str) else None,
            )
        )
    return tuple(calls)


def _logprobs(raw: object) -> tuple[TokenLogprob, ...] | None:
    """Tokens and log probabilities from Together's native shape or OpenAI's; else None."""
    if not isinstance(raw, dict):
        return None
    content = raw.get("content")
    if isinstance(content, list):  # OpenAI: [{"token", "logprob", ...}]
        return tuple(
            (str(t.get("token", "")), _float(t.get("logprob")))
            for t in content
            if isinstance(t, dict)
        )
    tokens, values = raw.get("tokens"), raw.get("token_logprobs")
    if isinstance(tokens, list) and isinstance(values, list) and len(tokens) == len(values):
        return tuple((str(t), _float(v)) for t, v in zip(tokens, values, strict=True))
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)  # -inf is a probability of 0


def _text(content: object) -> str:
    """Message content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return ""


def _reasoning_tokens(counted: int | None, reasoning: str | None) -> tuple[int, bool]:
    """(reasoning tokens, whether they were estimated) for a choice with this text."""
    if counted is not None:
        return counted, False
    if reasoning is None:
        return 0, False
    return math.ceil(len(reasoning) / CHARS_PER_TOKEN), True


def _body_error(body: Mapping[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):
        return f"error body: {error['message']}"
    return "the body has no choices (not a completion)"
