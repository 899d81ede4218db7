"""The fake model: validate an inference request and synthesize its deterministic reply.

Every reply is derived from the request alone (temperature and seed are ignored), so the
same request always gets the same words, and a reply can be traced to its request:

* :func:`signature` hashes ``(endpoint, model, messages or prompt)``; the answer's first
  word is ``sim:<signature>``.
* The filler words after it (5 to 60 of them) and, for reasoning models, the reasoning
  words (8 to 31, starting ``sim reasoning``) are picked from a fixed word list by bytes
  of ``sha256(signature)``.
* One word is one token. ``max_tokens`` cuts the word sequence (reasoning first, then the
  answer) and sets ``finish_reason: "length"``; the ``sim:<signature>`` word itself is
  never cut, so a reply always names its request.
* ``prompt_tokens`` is ``characters // 4`` plus 4 per chat message (at least 1).

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
open ``<think>`` block: the block is closed and the ``sim:`` word follows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from ._answers import EvalReply

CHAT = "/v1/chat/completions"
TEXT = "/v1/completions"
DEFAULT_MAX_TOKENS = 512  # what a request without max_tokens is charged against the TPM limit

_WORDS = (
    "amber anchor arrow autumn basil beacon birch bloom canyon cedar cinder clover comet "
    "coral cosmos crest delta dune ember fable fern fjord flint garnet glacier harbor hazel "
    "heron indigo island jade juniper kelp lagoon lantern linen lotus maple marble meadow "
    "mesa nectar nimbus oasis onyx orchid pebble quartz quill raven reef saffron sierra "
    "spruce tundra umber velvet willow yarrow zephyr"
).split()  # 64 words

ReasoningStyle = Literal["none", "field", "inline", "inline-no-open"]


class InvalidRequest(ValueError):
    """A request body Together would answer with 400 ``invalid_request_error``."""


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


@dataclass(frozen=True, slots=True)
class InferenceRequest:
    """A validated inference request and what the simulator needs from it."""

    endpoint: str  # CHAT or TEXT
    model: str
    body: dict[str, Any]
    prompt_tokens: int
    max_tokens: int | None

    @property
    def estimated_tokens(self) -> int:
        """What the request costs against a TPM limit: prompt plus requested completion."""
        budget = DEFAULT_MAX_TOKENS if self.max_tokens is None else self.max_tokens
        return self.prompt_tokens + budget


def parse_request(endpoint: str, raw: bytes) -> InferenceRequest:
    """Decode and check a request body; raise :class:`InvalidRequest` with Together's words."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("Input validation error: request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("Input validation error: request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("Input validation error: `model` is required")
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise InvalidRequest("Input validation error: `max_tokens` must be an integer >= 1")
    if body.get("stream") is True:
        raise InvalidRequest("Input validation error: the simulator does not support streaming")
    if endpoint == CHAT:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InvalidRequest("Input validation error: `messages` must be a non-empty list")
        if not all(isinstance(m, dict) for m in messages):
            raise InvalidRequest("Input validation error: each message must be an object")
        chars = sum(_message_chars(m) for m in messages)
        prompt_tokens = max(1, chars // 4 + 4 * len(messages))
    else:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise InvalidRequest("Input validation error: `prompt` must be a string")
        if not prompt:
            raise InvalidRequest("Prompt cannot be empty")
        prompt_tokens = max(1, len(prompt) // 4)
    return InferenceRequest(endpoint, model, body, prompt_tokens, max_tokens)


def _message_chars(message: dict[str, Any]) -> int:
    content = message.get("content")
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):  # OpenAI-style parts: [{"type": "text", "text": ...}]
        return sum(
            len(part["text"])
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return 0


@dataclass(frozen=True, slots=True)
class Completion:
    """The synthesized words of one reply, already cut to ``max_tokens``."""

    answer: str  # starts with "sim:<signature> "
    reasoning: str | None  # None for models that do not reason
    style: ReasoningStyle
    finish_reason: str  # "stop" or "length"
    completion_tokens: int
    reasoning_tokens: int
    cut_in_reasoning: bool = False  # an eval reply cut off while still thinking


def synthesize(
    request: InferenceRequest,
    sig: str,
    reply: EvalReply | None = None,
    style: ReasoningStyle | None = None,
) -> Completion:
    """The deterministic words for ``request`` (whose signature is ``sig``).

    With ``reply`` (an eval prompt the answer key knows, see :mod:`._answers`) the answer is
    ``sim:<sig>``, a few filler words and ``reply.final``, after ``reply.reasoning_words``
    of thinking; a ``max_tokens`` cut inside the thinking leaves it unclosed and unanswered.
    """
    digest = hashlib.sha256(sig.encode("ascii")).digest()
    if request.endpoint != CHAT:
        style = "none"
    elif style is None:
        style = reasoning_style(request.model)
    if reply is not None:
        return _eval_completion(request, sig, digest, style, reply)
    planned_filler = 5 + int.from_bytes(digest[:2], "big") % 56  # 5..60 words
    planned_reasoning = 8 + digest[2] % 24 if style != "none" else 0  # 8..31 words
    budget = request.max_tokens
    # The sim:<sig> word is one token and is always kept; reasoning is spent next.
    reasoning_n = planned_reasoning
    filler_n = planned_filler
    finish = "stop"
    if budget is not None and 1 + planned_reasoning + planned_filler > budget:
        finish = "length"
        reasoning_n = min(planned_reasoning, max(0, budget - 1))
        filler_n = max(0, budget - 1 - reasoning_n)
    answer = f"sim:{sig} " + " ".join(_pick_words(digest, 3, filler_n))
    reasoning: str | None = None
    if style != "none":
        words = ["sim", "reasoning", *_pick_words(digest, 17, max(0, planned_reasoning - 2))]
        reasoning = " ".join(words[:reasoning_n])
    return Completion(
        answer=answer,
        reasoning=reasoning,
        style=style,
        finish_reason=finish,
        completion_tokens=1 + reasoning_n + filler_n,
        reasoning_tokens=reasoning_n,
    )


def _eval_completion(
    request: InferenceRequest, sig: str, digest: bytes, style: ReasoningStyle, reply: EvalReply
) -> Completion:
    filler = _pick_words(digest, 5, 4 + digest[4] % 12)
    answer_words = [f"sim:{sig}", *filler, *reply.final.split(" ")]
    planned_reasoning = reply.reasoning_words if style != "none" else 0
    budget = request.max_tokens
    reasoning_n, answer_n, finish, cut = planned_reasoning, len(answer_words), "stop", False
    if budget is not None and planned_reasoning + len(answer_words) > budget:
        finish = "length"
        if planned_reasoning >= budget:
            reasoning_n, answer_n, cut = budget, 0, True
        else:
            answer_n = budget - planned_reasoning
    reasoning = None
    if style != "none":
        words = ["sim", "reasoning", *_pick_words(digest, 17, max(0, planned_reasoning - 2))]
        reasoning = " ".join(words[:reasoning_n])
    return Completion(
        answer=" ".join(answer_words[:answer_n]),
        reasoning=reasoning,
        style=style,
        finish_reason=finish,
        completion_tokens=reasoning_n + answer_n,
        reasoning_tokens=reasoning_n,
        cut_in_reasoning=cut,
    )


def _pick_words(digest: bytes, salt: int, count: int) -> list[str]:
    size = len(digest)
    return [
        _WORDS[(digest[i % size] + salt * (i // size + 1) + i) % len(_WORDS)] for i in range(count)
    ]


def _usage(request: InferenceRequest, completion: Completion) -> dict[str, int]:
    usage = {
        "prompt_tokens": request.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": request.prompt_tokens + completion.completion_tokens,
    }
    if completion.style != "none":
        usage["reasoning_tokens"] = completion.reasoning_tokens
    return usage


def chat_body(
    request: InferenceRequest, completion: Completion, reply_id: str, created: int
) -> dict[str, Any]:
    """A ``chat.completion`` object in Together's shape (API notes, section 1)."""
    content = completion.answer
    reasoning = None
    if completion.cut_in_reasoning:  # as real models: the thinking is left open, no answer
        if completion.style == "field":
            content, reasoning = "", completion.reasoning
        elif completion.style == "inline":
            content = f"<think>\n{completion.reasoning}"
        else:
            content = completion.reasoning or ""
    elif completion.style == "field":
        reasoning = completion.reasoning
    elif completion.style == "inline":
        content = f"<think>\n{completion.reasoning}\n</think>\n\n{completion.answer}"
    elif completion.style == "inline-no-open":
        content = f"{completion.reasoning}\n</think>\n\n{completion.answer}"
    return {
        "id": reply_id,
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "prompt": [],
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "tool_calls": [],
                    "reasoning": reasoning,
                },
                "logprobs": None,
                "finish_reason": completion.finish_reason,
                "seed": None,
            }
        ],
        "usage": _usage(request, completion),
    }


def text_body(
    request: InferenceRequest, completion: Completion, reply_id: str, created: int
) -> dict[str, Any]:
    """A ``text.completion`` object in Together's shape (API notes, section 3)."""
    return {
        "id": reply_id,
        "object": "text.completion",
        "created": created,
        "model": request.model,
        "prompt": [],
        "choices": [
            {
                "text": completion.answer,
                "finish_reason": completion.finish_reason,
                "logprobs": None,
                "index": 0,
            }
        ],
        "usage": _usage(request, completion),
    }


# GET /v1/models: a bare JSON array, as Together returns it (prices are USD per 1M tokens).
_CATALOGUE = [
    ("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "Meta", 131072, 0.18, 0.18),
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "Meta", 131072, 0.88, 0.88),
    ("Qwen/Qwen2.5-7B-Instruct-Turbo", "Qwen", 32768, 0.30, 0.30),
    ("Qwen/Qwen3-235B-A22B-Thinking-2507", "Qwen", 262144, 0.65, 3.00),
    ("deepseek-ai/DeepSeek-R1", "DeepSeek", 163840, 3.00, 7.00),
    ("openai/gpt-oss-120b", "OpenAI", 131072, 0.15, 0.60),
    ("moonshotai/Kimi-K2-Instruct", "Moonshot", 131072, 1.00, 3.00),
]


def models_body() -> list[dict[str, Any]]:
    return [
        {
            "id": model_id,
            "object": "model",
            "created": 1_700_000_000,
            "type": "chat",
            "display_name": model_id.split("/", 1)[1],
            "organization": org,
            "context_length": context,
            "pricing": {
                "hourly": 0,
                "input": price_in,
                "output": price_out,
                "base": 0,
                "finetune": 0,
            },
        }
        for model_id, org, context, price_in, price_out in _CATALOGUE
    ]
