"""Rate limiting behind one interface.

The worker pool talks to a `Limiter` only: ``await acquire(model, tokens)`` before each
attempt, and ``observe(...)`` after it with what the server said (headers, real usage).
The tier-aware limiter that adapts to Together's headers replaces `StaticCaps` behind this
interface without touching the pool.

`StaticCaps` is the plain cap from ``--rpm`` / ``--tpm``: per model, one aiolimiter
`AsyncLimiter` for requests and one for tokens. Together counts its limits per second, so a
limit of R per minute becomes a bucket of capacity ``c = max(1, R/60)`` refilled over
``c / (R/60)`` seconds: 600 RPM is 10 requests per 1 s window, 30 RPM one request per 2 s.
A request estimated at more tokens than a bucket holds takes the whole bucket (aiolimiter
refuses an acquire larger than its capacity).
"""

from __future__ import annotations

from typing import Protocol

import httpx
from aiolimiter import AsyncLimiter

__all__ = ["Limiter", "NoLimit", "StaticCaps", "per_second_bucket"]


class Limiter(Protocol):
    async def acquire(self, model: str, tokens: int) -> None:
        """Wait until one request of about ``tokens`` tokens may be sent for ``model``."""
        ...

    def observe(
        self,
        model: str,
        *,
        status: int | None,
        headers: httpx.Headers | None,
        estimated_tokens: int,
        used_tokens: int | None,
    ) -> None:
        """Learn from one attempt's answer (headers, 429s, real token use)."""
        ...


class NoLimit:
    """No cap but the worker count."""

    async def acquire(self, model: str, tokens: int) -> None:
        return None

    def observe(
        self,
        model: str,
        *,
        status: int | None,
        headers: httpx.Headers | None,
        estimated_tokens: int,
        used_tokens: int | None,
    ) -> None:
        return None


def per_second_bucket(per_minute: float) -> AsyncLimiter:
    """An aiolimiter bucket holding a per-minute limit as Together enforces it, per second."""
    if per_minute <= 0:
        raise ValueError(f"a rate limit must be positive, got {per_minute}")
    per_second = per_minute / 60.0
    capacity = max(1.0, per_second)
    return AsyncLimiter(capacity, capacity / per_second)


class StaticCaps:
    """Fixed requests/min and tokens/min caps per model (``--rpm`` / ``--tpm``)."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self._requests: dict[str, AsyncLimiter] = {}  # model -> request bucket
        self._tokens: dict[str, AsyncLimiter] = {}  # model -> token bucket

    async def acquire(self, model: str, tokens: int) -> None:
        if self.rpm is not None:
            bucket = self._requests.get(model)
            if bucket is None:
                bucket = self._requests[model] = per_second_bucket(self.rpm)
            await bucket.acquire(1)
        if self.tpm is not None:
            tbucket = self._tokens.get(model)
            if tbucket is None:
                tbucket = self._tokens[model] = per_second_bucket(self.tpm)
            await tbucket.acquire(min(float(max(tokens, 1)), tbucket.max_rate))

    def observe(
        self,
        model: str,
        *,
        status: int | None,
        headers: httpx.Headers | None,
        estimated_tokens: int,
        used_tokens: int | None,
    ) -> None:
        return None

    def __repr__(self) -> str:
        return f"StaticCaps(rpm={self.rpm}, tpm={self.tpm}, models={sorted(self._requests)})"
