"""Reading Together's rate-limit headers into one value.

Together sends (API notes, section 4), on 200s as well as 429s, all values **per second**:

=====================================  ================================================
``x-ratelimit-limit`` / ``-remaining``  requests; remaining can exceed the limit (burst)
``x-ratelimit-limit-tokens`` / ...      tokens, the names actually seen on the wire
``x-tokenlimit-limit`` / ``-remaining`` tokens, the documented names (never seen; read too)
``*-dynamic`` variants of each          the dynamic limit, for accounts that have one
``x-ratelimit-reset``                   whole seconds until the buckets are full
``retry-after`` / ``retry-after-ms``    on a 429: when to try again
=====================================  ================================================

A limit may be fractional (``0.1666666667`` is 10 per minute). Where both a static and a
dynamic limit are given, the lower is the one that binds. Values that do not parse, are
negative or not finite are ignored, never trusted.

OpenAI names its headers ``x-ratelimit-limit-requests`` / ``-tokens`` and counts **per
minute** over a window; ``x-ratelimit-limit-tokens`` is shared with Together's name but not
its unit. A response carrying ``x-ratelimit-limit-requests`` is read the OpenAI way: limits
divided by 60, and its ``remaining`` values (left in the current minute, not comparable
with a per-second bucket) ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RateLimitInfo", "parse_rate_headers"]


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What one response said about the limits, per second (None: not said)."""

    request_limit: float | None = None
    request_remaining: float | None = None
    token_limit: float | None = None
    token_remaining: float | None = None
    reset: float | None = None

    @property
    def empty(self) -> bool:
        return self.request_limit is None and self.token_limit is None


def _number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


def _first(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        value = _number(headers, name)
        if value is not None:
            return value
    return None


def _lower(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def parse_rate_headers(headers: Mapping[str, str]) -> RateLimitInfo:
    """The binding limits and what remains of them (``headers`` look up case-insensitively)."""
    openai_requests = _number(headers, "x-ratelimit-limit-requests")
    if openai_requests is not None:
        openai_tokens = _number(headers, "x-ratelimit-limit-tokens")
        return RateLimitInfo(
            request_limit=openai_requests / 60 or None,
            token_limit=(openai_tokens / 60 or None) if openai_tokens is not None else None,
        )
    req_limit = _number(headers, "x-ratelimit-limit")
    req_remaining = _number(headers, "x-ratelimit-remaining")
    tok_limit = _first(headers, "x-ratelimit-limit-tokens", "x-tokenlimit-limit")
    tok_remaining = _first(headers, "x-ratelimit-remaining-tokens", "x-tokenlimit-remaining")
    dyn_req_limit = _number(headers, "x-ratelimit-limit-dynamic")
    dyn_req_remaining = _number(headers, "x-ratelimit-remaining-dynamic")
    dyn_tok_limit = _first(
        headers, "x-ratelimit-limit-tokens-dynamic", "x-tokenlimit-limit-dynamic"
    )
    dyn_tok_remaining = _first(
        headers, "x-ratelimit-remaining-tokens-dynamic", "x-tokenlimit-remaining-dynamic"
    )
    # A limit of 0 says nothing usable (and would stop the run forever): ignore it.
    return RateLimitInfo(
        request_limit=_lower(req_limit or None, dyn_req_limit or None),
        request_remaining=_lower(req_remaining, dyn_req_remaining),
        token_limit=_lower(tok_limit or None, dyn_tok_limit or None),
        token_remaining=_lower(tok_remaining, dyn_tok_remaining),
        reset=_number(headers, "x-ratelimit-reset"),
    )
