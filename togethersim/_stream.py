"""Server-sent events for ``"stream": true``, in Together's shape (API notes, section 2).

The response has ``Content-Type: text/event-stream;charset=utf-8`` and ``Cache-Control:
no-cache, no-transform``, no ``Content-Length`` (the server sends it chunked), and a body of
``data: {json}\\n\\n`` events ending with ``data: [DONE]\\n\\n``. The events are cut from
the same :class:`._sample.Sample`\\ s as the non-streamed body, so concatenating the deltas
gives exactly its content, reasoning and tool-call arguments, and the usage is the same.

**Chunks.** Each sample's tokens are split into runs of one channel (and one tool call),
and each run into chunks of 1 to 4 tokens (sizes drawn from sha256 of the choice's key;
one token a chunk when Together-shaped logprobs are asked for, see below).
A chat chunk is ``{"id", "object": "chat.completion.chunk", "created", "choices": [{"index",
"text", "logprobs", "finish_reason": null, "seed": null, "delta": {"token_id", "role":
"assistant", "content"}}], "model", "usage": null}``:

* ``text`` repeats ``delta.content``; ``delta.token_id`` is the id of the chunk's last token
  (null on chunks that carry no content or reasoning);
* ``field``-style models add ``delta.reasoning``: the thinking, with ``content: ""``, then
  ``reasoning: null`` once the answer starts; inline styles stream ``<think>`` in content;
* a tool call streams as Together's does (recorded, Llama-3.3): a role-only chunk
  (``content: ""``) when the call opens the reply, then ``tool_calls: [{"index", "id",
  "type": "function", "function": {"name", "arguments": ""}}]``, then ``{"index",
  "function": {"arguments": <fragment>}}`` chunks, the last of which already says
  ``finish_reason: "tool_calls"``;
* ``logprobs``: with the ``together`` shape, Together's OpenAPI spec types a chunk's
  ``logprobs`` as one number (with ``top_logprobs`` a ``{token: logprob}`` object), so when
  logprobs are asked for every chunk carries one token and those two fields; with the
  ``openai`` shape a chunk carries its tokens' logprobs in the non-streamed shape
  (:mod:`._logprobs`). Chunks without content tokens have ``logprobs: null``.

Then each choice ends with a chunk of no content carrying its ``finish_reason`` and a
``seed`` (a large integer, as Together sends). With ``n > 1`` the choices' chunks are
interleaved round-robin. Text completions stream ``object: "completion.chunk"`` with the
same choice shape (``text`` and ``delta.content`` carry the text).

**Usage** is always sent (``stream_options`` is ignored), in one of Together's two places:

* ``finish``: on the last finish chunk (Llama models, as recorded; with a tool call that is
  the second chunk to say ``finish_reason: "tool_calls"``);
* ``trailing``: on an extra chunk with ``choices: []`` after the finish chunks (gpt-oss,
  Kimi, DeepSeek, Qwen, Llama 4 and any other model).

:func:`usage_placement` picks by model name; the header ``x-sim-stream-usage:
finish|trailing`` overrides it.

**Pacing** (:func:`pace`): the request's drawn latency ``L`` and ``token_seconds`` per token
``t`` are spread over the stream so the whole takes what the non-streamed answer would:
the first event waits ``0.25 L`` plus ``t`` per token it carries (time to first token), the
rest of ``L`` is shared among the later events in proportion to their tokens, plus their
own ``t`` per token. Events without tokens (finish, usage, ``[DONE]``) follow at once.
With ``n > 1`` the choices are generated side by side, so the caller scales ``t`` for the
stream to last as long as its longest choice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from . import _logprobs
from ._bodies import usage
from ._logprobs import Entry, Shape
from ._regex import Draws
from ._request import TEXT, InferenceRequest
from ._sample import Sample, Token

__all__ = [
    "DONE",
    "PLACEMENTS",
    "Event",
    "StreamPlan",
    "UsagePlacement",
    "error_event",
    "events",
    "pace",
    "usage_placement",
]

UsagePlacement = Literal["finish", "trailing"]
PLACEMENTS: tuple[UsagePlacement, ...] = ("finish", "trailing")
FIRST_SHARE = 0.25  # of the latency, spent before the first event (time to first token)
MAX_TOKENS_PER_CHUNK = 4
DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Event:
    """One SSE event, encoded, and how many completion tokens it carries."""

    data: bytes
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """What the server sends after the headers: events with the pause before each."""

    events: tuple[tuple[float, bytes], ...]  # (seconds to wait first, bytes to send)
    abrupt: bool = False  # close the connection after them, leaving the body unfinished


def usage_placement(model: str) -> UsagePlacement:
    """Where Together puts usage in a stream of this model (see the module docstring)."""
    name = model.lower()
    if "llama" in name and "llama-4" not in name and "deepseek" not in name:
        return "finish"
    return "trailing"


def _encode(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def error_event(message: str) -> bytes:
    """A top-level error mid-stream (what Together's TypeScript reader throws on)."""
    return _encode({"error": {"message": message, "type": "server_error"}})


def _seed(sample: Sample) -> int:
    return int.from_bytes(hashlib.sha256(f"{sample.key}/seed".encode()).digest()[:8], "big") >> 1


def _runs(sample: Sample) -> list[list[tuple[int, Token]]]:
    """Consecutive tokens of one channel (and one tool call), with their positions."""
    runs: list[list[tuple[int, Token]]] = []
    for position, token in enumerate(sample.tokens):
        last = runs[-1][-1][1] if runs else None
        if last is None or (last.channel, last.call) != (token.channel, token.call):
            runs.append([])
        runs[-1].append((position, token))
    return runs


class _Chunker:
    """Builds one sample's choice objects (one per chunk) with their token counts."""

    def __init__(
        self,
        request: InferenceRequest,
        sample: Sample,
        shape: Shape,
    ) -> None:
        self.request = request
        self.sample = sample
        self.shape = shape
        self.text = request.endpoint == TEXT
        self.field = sample.style == "field" and not self.text
        k = request.logprobs
        self.logprobs: dict[int, Entry] | None = None if k is None else _logprobs.entries(sample, k)
        self.sizes = Draws(f"{sample.key}/chunks")  # chunk sizes, 1..MAX_TOKENS_PER_CHUNK
        # Together's spec: a chunk's logprobs is one number, so one token per chunk.
        self.per_token = self.logprobs is not None and shape == "together"

    def _choice(
        self,
        content: str = "",
        *,
        reasoning: str | None = None,
        calls: list[dict[str, Any]] | None = None,
        positions: Sequence[int] = (),
        finish: str | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        logprobs: Any = None
        top: dict[str, float] | None = None
        k = self.request.logprobs
        if self.logprobs is not None and k is not None:
            items = [self.logprobs[p] for p in positions if p in self.logprobs]
            if items and self.per_token:
                (item,) = items
                logprobs = item.logprob
                top = dict(item.top) if k else None
            elif items:
                logprobs = _logprobs.render(items, k, self.shape, text_completion=self.text)
        token_id = None
        if positions and (content or reasoning):
            token_id = _logprobs.token_id(self.sample.tokens[positions[-1]].text)
        delta: dict[str, Any] = {"token_id": token_id, "role": "assistant", "content": content}
        if self.field:
            delta["reasoning"] = reasoning
        if calls is not None:
            delta["tool_calls"] = calls
        choice = {
            "index": self.sample.index,
            "text": content,
            "logprobs": logprobs,
            "finish_reason": finish,
            "seed": seed,
            "delta": delta,
        }
        if top is not None:
            choice["top_logprobs"] = top
        return choice

    def chunks(self) -> list[tuple[dict[str, Any], int]]:
        sample = self.sample
        out: list[tuple[dict[str, Any], int]] = []
        runs = _runs(sample)
        if runs and runs[0][0][1].channel == "tool":
            out.append((self._choice(), 0))  # the call opens the reply: a role-only chunk
        opened: set[int] = set()
        for run in runs:
            channel, call = run[0][1].channel, run[0][1].call
            if channel == "tool" and call not in opened:
                opened.add(call)
                head = sample.calls[call]
                function = {"name": head.name, "arguments": ""}
                calls = [{"index": call, "id": head.id, "type": "function", "function": function}]
                out.append((self._choice(calls=calls), 0))
            i = 0
            while i < len(run):
                size = 1 if self.per_token else 1 + self.sizes.pick(MAX_TOKENS_PER_CHUNK)
                piece = run[i : i + size]
                i += size
                text = "".join(t.text for _, t in piece)
                positions = [p for p, _ in piece]
                if channel == "tool":
                    args = [{"index": call, "function": {"arguments": text}}]
                    choice = self._choice(calls=args, positions=positions)
                elif channel == "reasoning":
                    choice = self._choice(reasoning=text, positions=positions)
                else:
                    choice = self._choice(text, positions=positions)
                out.append((choice, len(piece)))
        if sample.finish_reason == "tool_calls" and out and "tool_calls" in out[-1][0]["delta"]:
            out[-1][0]["finish_reason"] = "tool_calls"
        out.append((self._choice(finish=sample.finish_reason, seed=_seed(sample)), 0))
        return out


def events(
    request: InferenceRequest,
    samples: Sequence[Sample],
    reply_id: str,
    created: int,
    placement: UsagePlacement,
    shape: Shape = "together",
) -> list[Event]:
    """Every event of the stream but ``[DONE]``, in order."""
    obj = "completion.chunk" if request.endpoint == TEXT else "chat.completion.chunk"
    per_sample = [_Chunker(request, s, shape).chunks() for s in samples]
    ordered: list[tuple[dict[str, Any], int]] = []
    for row in range(max((len(c) for c in per_sample), default=0)):
        ordered += [c[row] for c in per_sample if row < len(c)]  # round-robin over choices
    chunks: list[dict[str, Any]] = [
        {
            "id": reply_id,
            "object": obj,
            "created": created,
            "choices": [choice],
            "model": request.model,
            "usage": None,
        }
        for choice, _ in ordered
    ]
    total = usage(request, samples)
    if placement == "finish" and chunks:
        chunks[-1]["usage"] = total
    else:
        chunks.append(
            {
                "id": reply_id,
                "object": obj,
                "created": created,
                "choices": [],
                "model": request.model,
                "usage": total,
            }
        )
    tokens = [n for _, n in ordered] + [0] * (len(chunks) - len(ordered))
    return [Event(_encode(chunk), n) for chunk, n in zip(chunks, tokens, strict=True)]


def pace(tokens: Sequence[int], latency: float, token_seconds: float) -> list[float]:
    """Seconds to wait before each event (see the module docstring)."""
    if not tokens:
        return []
    later = sum(tokens[1:])
    spread = latency * (1 - FIRST_SHARE)
    delays = [latency * FIRST_SHARE + tokens[0] * token_seconds]
    if later == 0:
        delays[0] += spread  # nothing after the first event carries tokens
    for n in tokens[1:]:
        delays.append((spread * n / later if later else 0.0) + n * token_seconds)
    return delays
