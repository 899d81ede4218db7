"""Answer extraction: split a completion into its thinking and its answer, and read its usage.

Reasoning models put their thinking in one of three places (``config/models.toml`` names
them; see ``shared/reference/together-api.md`` section 6):

- ``inline``: ``"<think>R</think>A"`` in ``content`` (DeepSeek-R1, QwQ, hybrid Qwen3);
- ``inline-no-open``: ``"R</think>A"``, no opening tag, because the chat template opened
  it (Qwen3-Thinking-2507);
- ``field``: ``message.reasoning`` (or ``reasoning_content``), ``content`` is the answer.

`extract` applies one set of rules that is right for all three, in this order:

1. Every complete ``<think>...</think>`` block is removed from the text (its inside is
   reasoning).
2. If a closing ``</think>`` is left without its opening tag, everything before the last
   one is reasoning and the answer is what follows it.
3. If an opening ``<think>`` is left that never closes, the reply ended inside its
   thinking: there is no answer, and the reply is ``truncated``.
4. With ``finish_reason: "length"`` and no answer text (the budget ran out inside the
   thinking, or right after it), the reply is ``truncated`` too: not answered, not wrong.
   With ``"length"`` after some answer text, the answer is kept and `Extraction.length`
   says it may be cut short.

The style matters only where the text alone is ambiguous: a reply with no tags at all is
the answer, except for an ``inline-no-open`` model, whose reply without ``</think>`` never
left its thinking (no answer; truncated). Tags are matched exactly (lower case), as the
models emit them.

Reasoning tokens come from ``usage.reasoning_tokens`` or
``usage.completion_tokens_details.reasoning_tokens``; without either they are estimated
from the reasoning text at `CHARS_PER_TOKEN` characters a token and flagged
``reasoning_tokens_estimated`` (a reply with no reasoning text has 0, not estimated).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CHARS_PER_TOKEN", "REASONING_STYLES", "Extraction", "extract", "extract_result"]

REASONING_STYLES = ("none", "inline", "inline-no-open", "field", "auto")  # as runner's catalog
CHARS_PER_TOKEN = 4  # rough, for English text with common BPE vocabularies

_OPEN, _CLOSE = "<think>", "</think>"
_BLOCK = re.compile(r"<think>(.*?)</think>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one completion said: its answer (None if it gave none), thinking and usage.

    ``truncated`` means the reply stopped before it answered (inside its thinking, or at
    ``max_tokens`` with no answer text): count it apart from wrong answers. ``error`` is
    set when there was no completion to read (a failed request, or a body without choices).
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

    @property
    def length(self) -> bool:
        """The reply hit ``max_tokens``; with an answer, the answer may be cut short."""
        return self.finish_reason == "length"


def extract(body: Mapping[str, Any], style: str = "auto") -> Extraction:
    """Read the first choice of a chat or text completion body (see the module docstring).

    ``style`` is one of `REASONING_STYLES` (a model's ``reasoning`` in models.toml).
    """
    if style not in REASONING_STYLES:
        raise ValueError(f"style must be one of {', '.join(REASONING_STYLES)}, got {style!r}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return Extraction(error=_body_error(body))
    choice = choices[0]
    finish = choice.get("finish_reason")
    finish = finish if isinstance(finish, str) else None
    message = choice.get("message")
    if isinstance(message, dict):  # chat completion
        source, text = message, _text(message.get("content"))
    else:  # text completion
        source, text = choice, _text(choice.get("text"))
    field = source.get("reasoning") or source.get("reasoning_content")
    field = field if isinstance(field, str) and field.strip() else None

    answer, thoughts, inside = _split(text, no_open=style == "inline-no-open")
    if field is not None:
        thoughts.insert(0, field)
    answer = answer.strip() if answer is not None else None
    answer = answer or None
    truncated = inside or (finish == "length" and answer is None)
    reasoning = "\n".join(t.strip() for t in thoughts if t.strip()) or None
    tokens_in, tokens_out, reasoning_tokens, estimated = _usage(body, reasoning)
    return Extraction(
        answer=None if truncated else answer,
        reasoning=reasoning,
        truncated=truncated,
        finish_reason=finish,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        reasoning_tokens=reasoning_tokens,
        reasoning_tokens_estimated=estimated,
    )


def extract_result(line: Mapping[str, Any], style: str = "auto") -> Extraction:
    """Read one Batch output line (``{"custom_id", "response": {"body"}, "error"}``).

    A line whose request failed gives an `Extraction` with ``error`` set and no answer.
    """
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
        return extract(body, style)
    if isinstance(error, dict):
        reason = f"{error.get('code') or 'error'}: {error.get('message') or ''}".rstrip(": ")
    elif error:
        reason = str(error)
    elif status is not None and status != 200:
        reason = f"HTTP {status}"
    else:
        reason = "no response body"
    return Extraction(error=reason)


def _split(text: str, *, no_open: bool) -> tuple[str | None, list[str], bool]:
    """(answer text or None, thinking parts, still inside the thinking) -- rules 1 to 3."""
    if no_open and _CLOSE not in text:
        return None, [text], True
    thoughts: list[str] = []
    if _OPEN in text:

        def keep(match: re.Match[str]) -> str:
            thoughts.append(match.group(1))
            return ""

        text = _BLOCK.sub(keep, text)
    last = text.rfind(_CLOSE)
    if last >= 0:
        thoughts.insert(0, text[:last].replace(_CLOSE, "\n"))
        text = text[last + len(_CLOSE) :]
    opened = text.find(_OPEN)
    if opened >= 0:
        thoughts.append(text[opened + len(_OPEN) :])
        return None, thoughts, True
    return text, thoughts, False


def _text(content: object) -> str:
    """Message content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return ""


def _usage(
    body: Mapping[str, Any], reasoning: str | None
) -> tuple[int | None, int | None, int, bool]:
    """(prompt tokens, completion tokens, reasoning tokens, whether those were estimated)."""
    usage = body.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    counted = _int(usage.get("reasoning_tokens"))
    details = usage.get("completion_tokens_details")
    if counted is None and isinstance(details, dict):
        counted = _int(details.get("reasoning_tokens"))
    estimated = counted is None and reasoning is not None
    if counted is None:
        counted = math.ceil(len(reasoning) / CHARS_PER_TOKEN) if reasoning else 0
    return (
        _int(usage.get("prompt_tokens")),
        _int(usage.get("completion_tokens")),
        counted,
        estimated,
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _body_error(body: Mapping[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):
        return f"error body: {error['message']}"
    return "the body has no choices (not a completion)"
