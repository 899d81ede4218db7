"""The fake model: the deterministic choices a request gets, token by token.

Every reply is derived from the request alone (temperature and seed are ignored), so the
same request always gets the same words, and a reply can be traced to its request:

* :func:`signature` hashes ``(endpoint, model, messages or prompt)``; the answer's first
  word is ``sim:<signature>``.
* The filler words after it (5 to 60 of them) and, for reasoning models, the reasoning
  words (8 to 31, starting ``sim reasoning``) are picked from a fixed word list by bytes
  of ``sha256(signature)``; choice ``i > 0`` of an ``n > 1`` request uses
  ``sha256(signature + "/i")`` instead, so its words differ (choice 0 is the reply a
  single-choice request gets).
* One word is one token (see :mod:`._sample`). ``max_tokens`` cuts the word sequence
  (reasoning first, then the answer) and sets ``finish_reason: "length"``; the
  ``sim:<signature>`` word itself is never cut, so a reply always names its request.
* ``prompt_tokens`` is computed by :mod:`._request`.

Reasoning models, recognised by name (case-insensitive), show reasoning the way Together
returns it for that family (see the API notes, section 6):

================================  ========================================================
``gpt-oss`` or ``kimi``           ``message.reasoning`` holds it; ``content`` the answer
``thinking-2507`` (Qwen3)         ``content`` is ``R\\n</think>\\n\\nA``, no opening tag
``r1``, ``thinking`` or ``qwq``   ``content`` is ``<think>\\nR\\n</think>\\n\\nA``
================================  ========================================================

(R the reasoning, A the answer.)

Reasoning words count in ``completion_tokens`` and in ``usage.reasoning_tokens`` (which is
only present for reasoning models). Text completions never reason. A cut never leaves an
open ``<think>`` block in an ordinary reply: the block is closed and the ``sim:`` word
follows.

Constrained replies cannot carry the ``sim:`` word, since their grammar forbids it; after
the reasoning (cut first by ``max_tokens``, which may then leave the block open) they are:

* **a tool call** when the chat request offers ``tools`` and :attr:`InferenceRequest.
  calls_tool` (``tool_choice`` not ``none``; under ``auto``, not right after a ``tool``
  message): the forced function, else the first one, with arguments built by
  :func:`._schema.instance` from its ``parameters``; ``content`` is ``""`` and
  ``finish_reason`` is ``"tool_calls"``. Arguments are JSON with ``", "`` and ``": "``
  separators, one token per space-separated piece; a cut leaves them unfinished.
* **JSON** for ``response_format`` ``json_schema`` (or ``json_object`` with a schema): an
  instance of the schema; for a bare ``json_object``: ``{"sim": "<signature>", "text":
  "<words>"}``.
* **a regex match** for ``response_format`` ``regex`` when :func:`._regex.sample_match`
  handles the pattern; otherwise the ordinary words.

Eval prompts the answer key knows (:mod:`._answers`) get ``sim:<signature>``, a few filler
words and the eval's final line, or the bare answer or tool calls of a constrained eval
reply, after the eval's amount of thinking.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

from ._answers import EvalReply
from ._regex import sample_match
from ._request import (
    CHAT,
    DEFAULT_MAX_TOKENS,
    TEXT,
    InferenceRequest,
    InvalidRequest,
    parse_request,
)
from ._sample import Channel, ReasoningStyle, Sample, Token, ToolCall, spaced
from ._schema import instance

__all__ = [
    "CHAT",
    "DEFAULT_MAX_TOKENS",
    "TEXT",
    "InferenceRequest",
    "InvalidRequest",
    "ReasoningStyle",
    "parse_request",
    "reasoning_style",
    "signature",
    "synthesize",
]

_WORDS = (
    "amber anchor arrow autumn basil beacon birch bloom canyon cedar cinder clover comet "
    "coral cosmos crest delta dune ember fable fern fjord flint garnet glacier harbor hazel "
    "heron indigo island jade juniper kelp lagoon lantern linen lotus maple marble meadow "
    "mesa nectar nimbus oasis onyx orchid pebble quartz quill raven reef saffron sierra "
    "spruce tundra umber velvet willow yarrow zephyr"
).split()  # 64 words


def signature(endpoint: str, body: dict[str, Any]) -> str:
    """First 16 hex chars of sha256 over the canonical JSON of what identifies a request.

    ``endpoint`` is ``/v1/chat/completions`` or ``/v1/completions`` (the ``/v1`` may be
    left off); the hashed object is ``{"endpoint", "model", "input"}`` where ``input`` is
    ``body["messages"]`` for chat and ``body["prompt"]`` for text completions.
    """
    endpoint = _normalize_endpoint(endpoint)
    key = "messages" if endpoint == CHAT else "prompt"
    canonical = json.dumps(
        {"endpoint": endpoint, "model": body["model"], "input": body[key]},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _normalize_endpoint(endpoint: str) -> str:
    if not endpoint.startswith("/v1/"):
        endpoint = "/v1" + endpoint
    if endpoint not in (CHAT, TEXT):
        raise ValueError(f"not an inference endpoint: {endpoint!r}")
    return endpoint


def reasoning_style(model: str) -> ReasoningStyle:
    """How a model of this name shows its reasoning (see the module docstring)."""
    name = model.lower()
    if "gpt-oss" in name or "kimi" in name:
        return "field"
    if "thinking-2507" in name:
        return "inline-no-open"
    if "r1" in name or "thinking" in name or "qwq" in name:
        return "inline"
    return "none"


def synthesize(
    request: InferenceRequest,
    sig: str,
    index: int = 0,
    reply: EvalReply | None = None,
    style: ReasoningStyle | None = None,
) -> Sample:
    """Choice number ``index`` of the reply to ``request`` (whose signature is ``sig``).

    With ``reply`` (an eval prompt the answer key knows, see :mod:`._answers`) the answer is
    ``sim:<sig>``, a few filler words and ``reply.final`` (or the bare answer, or the tool
    calls), after ``reply.reasoning_words`` of thinking; a ``max_tokens`` cut inside the
    thinking leaves it unclosed and unanswered.
    """
    digest = hashlib.sha256((sig if index == 0 else f"{sig}/{index}").encode("ascii")).digest()
    key = f"{sig}/{index}"
    if request.endpoint != CHAT:
        style = "none"
    elif style is None:
        style = reasoning_style(request.model)
    if reply is not None:
        return _eval_sample(request, sig, index, key, digest, style, reply)
    planned_reasoning = 8 + digest[2] % 24 if style != "none" else 0  # 8..31 words
    thinking = _reasoning_words(digest, planned_reasoning)
    if request.calls_tool:
        name = request.tool_name or request.tools[0].name
        tool = request.tool(name)
        arguments = instance(tool.parameters, f"{key}/{name}") if tool is not None else {}
        calls = [(name, arguments if isinstance(arguments, dict) else {})]
        body, heads = _call_tokens(calls, key)
        return _planned(request, index, key, style, thinking, body, heads)
    if request.output is not None:
        text = _structured_text(request, sig, key, digest)
        if text is not None:
            return _planned(
                request, index, key, style, thinking, spaced(text.split(" "), "content")
            )
    return _text_sample(request, sig, index, key, digest, style, thinking)


def _reasoning_words(digest: bytes, count: int) -> list[str]:
    if count == 0:
        return []
    return ["sim", "reasoning", *_pick_words(digest, 17, max(0, count - 2))][:count]


def _text_sample(
    request: InferenceRequest,
    sig: str,
    index: int,
    key: str,
    digest: bytes,
    style: ReasoningStyle,
    thinking: list[str],
) -> Sample:
    """The ordinary reply: thinking, then ``sim:<sig>`` and filler; the sim word survives."""
    planned_filler = 5 + int.from_bytes(digest[:2], "big") % 56  # 5..60 words
    budget = request.max_tokens
    reasoning_n = len(thinking)
    filler_n = planned_filler
    finish = "stop"
    if budget is not None and 1 + reasoning_n + planned_filler > budget:
        finish = "length"
        reasoning_n = min(reasoning_n, max(0, budget - 1))
        filler_n = max(0, budget - 1 - reasoning_n)
    filler = _pick_words(digest, 3, filler_n)
    # "sim:<sig> " keeps its space when nothing follows (the reply as it has always been).
    answer = (
        spaced([f"sim:{sig}", *filler], "content") if filler else [Token(f"sim:{sig} ", "content")]
    )
    tokens = _with_thinking(style, thinking[:reasoning_n], answer, closed=True)
    return Sample(index, key, tuple(tokens), (), style, finish)


def _eval_sample(
    request: InferenceRequest,
    sig: str,
    index: int,
    key: str,
    digest: bytes,
    style: ReasoningStyle,
    reply: EvalReply,
) -> Sample:
    thinking = _reasoning_words(digest, reply.reasoning_words if style != "none" else 0)
    if reply.calls:
        body, heads = _call_tokens(list(reply.calls), key)
        return _planned(request, index, key, style, thinking, body, heads)
    final = reply.final.split(" ")
    if reply.bare:
        words = final
    else:
        filler = _pick_words(digest, 5, 4 + digest[4] % 12)
        words = [f"sim:{sig}", *filler, *final]
    body = spaced(words, "content")
    answer_at = alternative = None
    if reply.answer:
        wanted = reply.answer.split(" ", 1)[0]
        start = len(words) - len(final)
        answer_at = next(
            (i for i in range(len(words) - 1, start - 1, -1) if wanted in words[i]), None
        )
        if answer_at is not None and reply.alternative:
            rival = body[answer_at].text.replace(wanted, reply.alternative.split(" ", 1)[0], 1)
            alternative = rival if rival != body[answer_at].text else None
    return _planned(
        request,
        index,
        key,
        style,
        thinking,
        body,
        answer_at=answer_at,
        confidence=reply.confidence,
        alternative=alternative,
    )


def _planned(
    request: InferenceRequest,
    index: int,
    key: str,
    style: ReasoningStyle,
    thinking: list[str],
    body: list[Token],
    heads: tuple[ToolCall, ...] = (),
    *,
    answer_at: int | None = None,
    confidence: float | None = None,
    alternative: str | None = None,
) -> Sample:
    """Thinking, then ``body``, cut to ``max_tokens`` (a cut in the thinking leaves it open)."""
    budget = request.max_tokens
    reasoning_n, body_n, finish, closed = len(thinking), len(body), "", True
    if budget is not None and reasoning_n + body_n > budget:
        finish = "length"
        if reasoning_n >= budget:
            reasoning_n, body_n, closed = budget, 0, False
        else:
            body_n = budget - reasoning_n
    kept = body[:body_n]
    calls = tuple(
        h for i, h in enumerate(heads) if any(t.call == i for t in kept if t.channel == "tool")
    )
    finish = finish or ("tool_calls" if calls else "stop")
    tokens = _with_thinking(style, thinking[:reasoning_n], kept, closed=closed)
    at = None
    if answer_at is not None and answer_at < body_n:
        at = reasoning_n + answer_at
    return Sample(
        index,
        key,
        tuple(tokens),
        calls,
        style,
        finish,
        answer_at=at,
        confidence=confidence if at is not None else None,
        alternative=alternative if at is not None else None,
    )


def _with_thinking(
    style: ReasoningStyle, thinking: list[str], body: list[Token], *, closed: bool
) -> list[Token]:
    """The thinking tokens where the style puts them, then ``body``.

    For the inline styles the markup (``<think>\\n`` before, ``\\n</think>\\n\\n`` after
    when ``closed``) is glued onto the neighbouring tokens: the opening onto the first
    thinking token, the closing onto the first content token of ``body`` (else onto the
    last thinking token), so the tokens concatenate to the content the family sends.
    """
    if style == "none":
        return list(body)
    channel: Channel = "reasoning" if style == "field" else "content"
    head = spaced(thinking, channel, thinking=True)
    tail = list(body)
    if style == "field":
        return head + tail
    glue = "<think>\n" if style == "inline" else ""
    if head:
        head[0] = replace(head[0], text=glue + head[0].text)
        glue = ""
    if closed:
        glue += "\n</think>\n\n"
    if glue:
        first = next((i for i, t in enumerate(tail) if t.channel == "content"), None)
        if first is not None:
            tail[first] = replace(tail[first], text=glue + tail[first].text)
        elif head:
            head[-1] = replace(head[-1], text=head[-1].text + glue)
    return head + tail


def _call_tokens(
    calls: list[tuple[str, dict[str, Any]]], key: str
) -> tuple[list[Token], tuple[ToolCall, ...]]:
    """Argument tokens of each call, in order, and the calls' heads (id and name)."""
    tokens: list[Token] = []
    heads: list[ToolCall] = []
    for i, (name, arguments) in enumerate(calls):
        call_id = "call_" + hashlib.sha256(f"{key}/call/{i}".encode()).hexdigest()[:24]
        heads.append(ToolCall(call_id, name))
        tokens += spaced(json.dumps(arguments).split(" "), "tool", call=i)
    return tokens, tuple(heads)


def _structured_text(request: InferenceRequest, sig: str, key: str, digest: bytes) -> str | None:
    """The content a ``response_format`` asks for, or None to answer with words."""
    output = request.output
    assert output is not None
    if output.kind == "regex":
        assert output.pattern is not None
        return sample_match(output.pattern, key)
    if output.schema is not None:
        return json.dumps(instance(output.schema, key))
    words = _pick_words(digest, 3, 3 + digest[0] % 8)
    return json.dumps({"sim": sig, "text": " ".join(words)})


def _pick_words(digest: bytes, salt: int, count: int) -> list[str]:
    size = len(digest)
    return [
        _WORDS[(digest[i % size] + salt * (i // size + 1) + i) % len(_WORDS)] for i in range(count)
    ]
