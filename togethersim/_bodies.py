"""Non-streamed response bodies in Together's shapes, from the samples of a reply.

* ``chat.completion`` (API notes, section 1): one choice per sample, ``message`` with
  ``role``, ``content``, ``tool_calls`` (``[]`` when none; else ``{"id", "index", "type":
  "function", "function": {"name", "arguments"}}``) and ``reasoning`` (a string for the
  ``field`` style, else null); ``logprobs`` null unless asked for (:mod:`._logprobs`).
* ``text.completion`` (section 3): one ``{"text", "finish_reason", "logprobs", "index"}``
  per sample.
* ``usage``: ``prompt_tokens``, ``completion_tokens`` (summed over the choices),
  ``total_tokens``, and ``reasoning_tokens`` for reasoning models.
* ``GET /v1/models``: a bare array with prices (:func:`models_body`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _logprobs
from ._logprobs import Shape
from ._request import TEXT, InferenceRequest
from ._sample import Sample

__all__ = ["chat_body", "choice_logprobs", "models_body", "text_body", "tool_calls", "usage"]


def usage(request: InferenceRequest, samples: Sequence[Sample]) -> dict[str, int]:
    completion = sum(s.completion_tokens for s in samples)
    out = {
        "prompt_tokens": request.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": request.prompt_tokens + completion,
    }
    if samples and samples[0].style != "none":
        out["reasoning_tokens"] = sum(s.reasoning_tokens for s in samples)
    return out


def choice_logprobs(
    request: InferenceRequest, sample: Sample, shape: Shape
) -> dict[str, Any] | None:
    """The whole choice's logprobs, or None when the request did not ask for them."""
    k = request.logprobs
    if k is None:
        return None
    items = list(_logprobs.entries(sample, k).values())
    return _logprobs.render(items, k, shape, text_completion=request.endpoint == TEXT)


def tool_calls(sample: Sample) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id,
            "index": i,
            "type": "function",
            "function": {"name": call.name, "arguments": sample.arguments(i)},
        }
        for i, call in enumerate(sample.calls)
    ]


def chat_body(
    request: InferenceRequest,
    samples: Sequence[Sample],
    reply_id: str,
    created: int,
    shape: Shape = "together",
) -> dict[str, Any]:
    """A ``chat.completion`` object in Together's shape (API notes, section 1)."""
    return {
        "id": reply_id,
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "prompt": [],
        "choices": [
            {
                "index": sample.index,
                "message": {
                    "role": "assistant",
                    "content": sample.content,
                    "tool_calls": tool_calls(sample),
                    "reasoning": sample.reasoning,
                },
                "logprobs": choice_logprobs(request, sample, shape),
                "finish_reason": sample.finish_reason,
                "seed": None,
            }
            for sample in samples
        ],
        "usage": usage(request, samples),
    }


def text_body(
    request: InferenceRequest,
    samples: Sequence[Sample],
    reply_id: str,
    created: int,
    shape: Shape = "together",
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
                "text": sample.content,
                "finish_reason": sample.finish_reason,
                "logprobs": choice_logprobs(request, sample, shape),
                "index": sample.index,
            }
            for sample in samples
        ],
        "usage": usage(request, samples),
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
