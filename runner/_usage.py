"""A response's ``usage``: the one reader of token counts, for the engine and the eval stage.

`Usage.from_body` (or `read_usage`, the same counts as a tuple) reads ``prompt_tokens``,
``completion_tokens``, ``total_tokens`` and the reasoning tokens, which servers put either
at ``usage.reasoning_tokens`` (Together) or at
``usage.completion_tokens_details.reasoning_tokens`` (OpenAI); the first that holds a count
wins. A body without a ``usage`` object has no `Usage` (None).

What counts as a count (`token_count`): a JSON integer >= 0, or a finite float >= 0 (some
servers write ``12.0``), truncated to an integer. Anything else is not a count and reads as
None, "the server did not say", never as 0 and never as an error: ``true`` (a bool is not
the number 1), a negative number, a string (``"12"``), null, a missing key, and NaN or
infinity (Python's ``json.loads`` accepts ``NaN`` and ``1e999``; ``int()`` of either would
raise in the middle of an HTTP attempt, which must not raise).

``total_tokens`` missing or 0 is the sum of the parts the server gave (when it gave one).
The engine adds unknown counts as 0 to its totals and tells the limiter "unknown" (its
estimate stands); the eval stage reports them as unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Usage", "UsageCounts", "read_usage", "token_count"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one response; None where the server gave no count."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Usage | None:
        """The ``usage`` of a response body (see the module docstring); None without one."""
        counts = read_usage(body)
        return None if counts is None else cls(*counts)


UsageCounts = tuple[int | None, int | None, int | None, int | None]


def read_usage(body: Mapping[str, Any]) -> UsageCounts | None:
    """``(prompt, completion, total, reasoning)`` tokens of a response body, what `Usage`
    holds, as a plain tuple (for loops over many bodies); None without a ``usage``."""
    raw = body.get("usage")
    if not isinstance(raw, dict):
        return None
    prompt = token_count(raw.get("prompt_tokens"))
    completion = token_count(raw.get("completion_tokens"))
    total = token_count(raw.get("total_tokens"))
    if not total and (prompt is not None or completion is not None):
        total = (prompt or 0) + (completion or 0)
    reasoning = token_count(raw.get("reasoning_tokens"))
    if reasoning is None:
        details = raw.get("completion_tokens_details")
        if isinstance(details, dict):
            reasoning = token_count(details.get("reasoning_tokens"))
    return prompt, completion, total, reasoning


def token_count(value: object) -> int | None:
    """``value`` as a token count, or None when it is not one (see the module docstring)."""
    if type(value) is int:  # the common case, first
        return value if value >= 0 else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):  # an int subclass other than bool
        return int(value) if value >= 0 else None
    return int(value) if 0 <= value < math.inf else None  # NaN fails both comparisons
