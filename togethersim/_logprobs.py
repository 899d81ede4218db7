"""Log probabilities of the simulated tokens, in Together's shape or OpenAI's.

A request's ``logprobs`` is Together's integer ``k`` (0-20): every content token gets its
log probability, and for ``k > 0`` the ``k`` most likely tokens at that position. The values
are deterministic, drawn from sha256 of the choice's key and the token's position:

* an ordinary token has ``logprob = -(0.01 + 0.49 u)``, ``u ~ U(0, 1)``: probability 0.61
  to 0.99, as a fluent model's tokens have;
* the token that carries an eval answer (:attr:`._sample.Sample.answer_at`) has
  ``logprob = ln(confidence)``, the seeded confidence of :mod:`._answers`;
* the rest of the mass, ``r = 1 - p``, goes to alternatives: the ``j``-th (``j = 0, 1...``)
  has probability ``r * 0.6 * 0.4**j`` (together they stay below ``r``). The first
  alternative of an answer token is the competing answer; the others are words from a
  fixed list, written with the token's leading space.

``top_logprobs`` at a position holds the ``k`` most likely of the token and its alternatives,
most likely first, so the chosen token is missing when ``k`` alternatives beat it (as with
sampling at a temperature).

Only **content** tokens carry logprobs: thinking in the ``reasoning`` field and tool-call
arguments do not (a tool-call reply gets empty lists). The shape is chosen by the request
header ``x-sim-logprobs-shape`` (``together``, the default, or ``openai``):

* Together's native shape (API notes, section 1): ``{"token_ids", "tokens",
  "token_logprobs", "top_logprobs": [{token: logprob}, ...]}``, ``top_logprobs`` left out
  when ``k == 0``; token ids are sha256 of the token text modulo 128,000;
* OpenAI's chat shape: ``{"content": [{"token", "bytes", "logprob", "top_logprobs":
  [{"token", "logprob", "bytes"}]}], "refusal": null}``;
* OpenAI's (legacy) text-completion shape: ``{"tokens", "token_logprobs", "top_logprobs":
  [{token: logprob}], "text_offset"}``, offsets counted from the start of the completion.

In a stream each chunk carries the logprobs of its own content tokens: in OpenAI's shapes
as above, and in Together's as its spec has it for chunks, one token per chunk with
``logprobs`` the token's number and ``top_logprobs`` its ``{token: logprob}`` object
(see :mod:`._stream`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._sample import Sample

__all__ = ["SHAPES", "Entry", "Shape", "entries", "render", "token_id"]

Shape = Literal["together", "openai"]
SHAPES: tuple[Shape, ...] = ("together", "openai")
VOCABULARY = 128_000
_FIRST_SHARE = 0.6  # the first alternative's share of the mass the token leaves over
_DECAY = 0.4  # each further alternative's share relative to the one before
_ALTERNATIVE_WORDS = (
    "the of and to in is that for it as with was on be at by this had not are but from or "
    "have an they which one you were her all she there would their we him been has when"
).split()


@dataclass(frozen=True, slots=True)
class Entry:
    """One content token's logprob, its ``k`` most likely alternatives, and its offset."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...]  # (token, logprob), most likely first
    offset: int  # characters before it in the content


def token_id(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") % VOCABULARY


def _unit(*parts: str) -> float:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def entries(sample: Sample, k: int) -> dict[int, Entry]:
    """The logprob entry of each content token of ``sample``, by token position."""
    out: dict[int, Entry] = {}
    offset = 0
    for position, token in enumerate(sample.tokens):
        if token.channel != "content":
            continue
        rival = None
        if position == sample.answer_at and sample.confidence is not None:
            p = sample.confidence
            rival = sample.alternative
        else:
            p = math.exp(-(0.01 + 0.49 * _unit(sample.key, "lp", str(position))))
        out[position] = Entry(
            token.text,
            round(math.log(p), 6),
            _top(token.text, p, rival, k, sample.key, position) if k else (),
            offset,
        )
        offset += len(token.text)
    return out


def _top(
    text: str, p: float, rival: str | None, k: int, key: str, position: int
) -> tuple[tuple[str, float], ...]:
    lead = " " if text.startswith(" ") else ""
    names: list[str] = [rival] if rival and rival != text else []
    start = int(_unit(key, "alt", str(position)) * len(_ALTERNATIVE_WORDS))
    for j in range(len(_ALTERNATIVE_WORDS)):
        if len(names) >= k:
            break
        name = lead + _ALTERNATIVE_WORDS[(start + j) % len(_ALTERNATIVE_WORDS)]
        if name != text and name not in names:
            names.append(name)
    rest = 1.0 - p
    candidates = [(text, p)] + [
        (name, rest * _FIRST_SHARE * _DECAY**j) for j, name in enumerate(names)
    ]
    candidates.sort(key=lambda c: -c[1])
    return tuple((name, round(math.log(q), 6)) for name, q in candidates[:k] if q > 0)


def render(
    items: Sequence[Entry], k: int, shape: Shape, *, text_completion: bool
) -> dict[str, Any]:
    """``items`` (one choice's, or one chunk's) in the requested wire shape."""
    if shape == "openai" and text_completion:
        return {
            "tokens": [e.token for e in items],
            "token_logprobs": [e.logprob for e in items],
            "top_logprobs": [dict(e.top) for e in items] if k else None,
            "text_offset": [e.offset for e in items],
        }
    if shape == "openai":
        return {
            "content": [
                {
                    "token": e.token,
                    "bytes": list(e.token.encode("utf-8")),
                    "logprob": e.logprob,
                    "top_logprobs": [
                        {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))}
                        for t, lp in e.top
                    ],
                }
                for e in items
            ],
            "refusal": None,
        }
    out: dict[str, Any] = {
        "token_ids": [token_id(e.token) for e in items],
        "tokens": [e.token for e in items],
        "token_logprobs": [e.logprob for e in items],
    }
    if k:
        out["top_logprobs"] = [dict(e.top) for e in items]
    return out
