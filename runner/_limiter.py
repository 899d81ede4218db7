"""Rate limiting behind one interface.

The worker pool talks to a `Limiter` only: ``permit = await acquire(model, cost)`` before
each attempt and ``release(permit, ...)`` after it, always, with what the server said
(status, headers, real usage; status None when nothing was sent or nothing came back).

- `AdaptiveLimiter` (`_adaptive`): per-model request and token buckets that start from the
  account's tier or ``--rpm``/``--tpm`` and follow Together's rate-limit headers, with an
  AIMD concurrency window for overload. What ``fanout run`` uses.
- `NoLimit`: nothing but the worker count (unit tests of the pool).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ._adaptive import AdaptiveLimiter, Cost, ModelView, Permit

__all__ = ["AdaptiveLimiter", "Cost", "Limiter", "ModelView", "NoLimit", "Permit"]


class Limiter(Protocol):
    async def acquire(self, model: str, cost: Cost) -> Permit:
        """Wait until one request of about ``cost`` may be sent for ``model``."""
        ...

    def release(
        self,
        permit: Permit,
        *,
        status: int | None,
        headers: Mapping[str, str] | None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> None:
        """Learn from one attempt's answer (headers, 429s, 503s, real token use)."""
        ...

    def views(self) -> list[ModelView]:
        """Current limits per model, for the progress bar."""
        ...


class NoLimit:
    """No cap but the worker count."""

    async def acquire(self, model: str, cost: Cost) -> Permit:
        return Permit(model, 0.0, 0.0, 0, 0.0, cost.prompt)

    def release(
        self,
        permit: Permit,
        *,
        status: int | None,
        headers: Mapping[str, str] | None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> None:
        return None

    def views(self) -> list[ModelView]:
        return []
