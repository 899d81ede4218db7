"""Together-style rate limiting: per-model token buckets measured per second.

Together publishes limits per minute but enforces them per second (API notes, section 4):
60 RPM means one request per second, not a burst of 60 then a minute's wait. Each model
gets up to two :class:`TokenBucket`\\ s, one counting requests and one counting tokens.

Bucket math, for a limit of ``per_minute``:

* ``rate = per_minute / 60`` units flow in per second, continuously;
* ``capacity = max(1, rate)``: a second's worth, but always room for one request;
* at time ``t`` the level is ``min(capacity, level_then + (t - t_then) * rate)``.

A request costs 1 request and ``prompt_tokens + max_tokens`` tokens. It is admitted when
every bucket holds at least ``min(cost, capacity)``; admission subtracts the full cost, so
a request bigger than a whole second's tokens is still possible but leaves the bucket in
debt (negative) until it refills. A rejected request costs nothing and gets 429 with
``retry-after`` = whole seconds until it would fit (at least 1).

Every answer checked here carries the header names Together was seen sending:
``x-ratelimit-limit`` / ``x-ratelimit-remaining`` (requests per second),
``x-ratelimit-limit-tokens`` / ``x-ratelimit-remaining-tokens`` (tokens per second),
``x-ratelimit-reset`` (whole seconds until the buckets are full) and ``x-ratelimit``
(``true`` on a rejection). A pair is left out when its limit is not set.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._errors import format_rate

Headers = list[tuple[bytes, bytes]]


class TokenBucket:
    """A bucket that refills at ``rate`` units per second up to ``capacity``."""

    __slots__ = ("rate", "capacity", "_level", "_stamp")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate  # units added per second
        self.capacity = max(1.0, rate)  # most units the bucket holds
        self._level = self.capacity  # units available at time _stamp; negative = debt
        self._stamp = now  # clock reading when _level was last brought up to date

    def level(self, now: float) -> float:
        """Bring the level up to date and return it."""
        if now > self._stamp:
            self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
            self._stamp = now
        return self._level

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` fits (0 if it fits now); costs above capacity wait for full."""
        need = min(cost, self.capacity) - self.level(now)
        return max(0.0, need / self.rate)

    def take(self, cost: float, now: float) -> None:
        self.level(now)
        self._level -= cost

    def seconds_to_full(self, now: float) -> float:
        return (self.capacity - self.level(now)) / self.rate

    def __repr__(self) -> str:
        return (
            f"TokenBucket(rate={self.rate:g}/s, capacity={self.capacity:g}, "
            f"level={self._level:.3f} at {self._stamp:.3f})"
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The limiter's answer for one request."""

    allowed: bool
    retry_after: int  # whole seconds, >= 1 when not allowed, 0 when allowed
    headers: Headers  # the x-ratelimit-* headers (plus retry-after on a rejection)


class RateLimiter:
    """Per-model request and token buckets; time comes only from ``clock``."""

    def __init__(
        self,
        rpm: float | None,
        tpm: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self._clock = clock
        # model name -> (request bucket or None, token bucket or None), created on first use
        self._buckets: dict[str, tuple[TokenBucket | None, TokenBucket | None]] = {}
        self._limit_header = format_rate(rpm / 60).encode() if rpm else b""
        self._token_limit_header = format_rate(tpm / 60).encode() if tpm else b""

    @property
    def enabled(self) -> bool:
        return bool(self.rpm or self.tpm)

    def _for(self, model: str, now: float) -> tuple[TokenBucket | None, TokenBucket | None]:
        pair = self._buckets.get(model)
        if pair is None:
            pair = (
                TokenBucket(self.rpm / 60, now) if self.rpm else None,
                TokenBucket(self.tpm / 60, now) if self.tpm else None,
            )
            self._buckets[model] = pair
        return pair

    def check(self, model: str, tokens: int) -> Verdict:
        """Admit (and charge) or reject one request for ``model`` costing ``tokens``."""
        now = self._clock()
        requests, token_bucket = self._for(model, now)
        wait = 0.0
        if requests is not None:
            wait = requests.wait_for(1, now)
        if token_bucket is not None:
            wait = max(wait, token_bucket.wait_for(tokens, now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            headers = self._headers(requests, token_bucket, now, retry_after)
            return Verdict(False, retry_after, headers)
        if requests is not None:
            requests.take(1, now)
        if token_bucket is not None:
            token_bucket.take(tokens, now)
        return Verdict(True, 0, self._headers(requests, token_bucket, now, None))

    def reject(self, model: str) -> Verdict:
        """A forced rejection (``x-sim-fault: 429``): charges nothing, says retry in 1 s."""
        now = self._clock()
        requests, token_bucket = self._for(model, now)
        return Verdict(False, 1, self._headers(requests, token_bucket, now, 1))

    def _headers(
        self,
        requests: TokenBucket | None,
        tokens: TokenBucket | None,
        now: float,
        retry_after: int | None,
    ) -> Headers:
        """The x-ratelimit-* headers; ``retry_after`` is set on a rejection."""
        headers: Headers = [(b"x-ratelimit", b"false" if retry_after is None else b"true")]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        reset = 0.0
        if requests is not None:
            remaining = max(0, math.floor(requests.level(now)))
            headers.append((b"x-ratelimit-limit", self._limit_header))
            headers.append((b"x-ratelimit-remaining", str(remaining).encode()))
            reset = requests.seconds_to_full(now)
        if tokens is not None:
            remaining = max(0, math.floor(tokens.level(now)))
            headers.append((b"x-ratelimit-limit-tokens", self._token_limit_header))
            headers.append((b"x-ratelimit-remaining-tokens", str(remaining).encode()))
            reset = max(reset, tokens.seconds_to_full(now))
        headers.append((b"x-ratelimit-reset", str(math.ceil(reset)).encode()))
        return headers

    def __repr__(self) -> str:
        return f"RateLimiter(rpm={self.rpm}, tpm={self.tpm}, models={len(self._buckets)})"
