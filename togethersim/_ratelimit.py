"""Together-style rate limiting: per-model token buckets measured per second.

Together publishes limits per minute but enforces them per second (API notes, section 4):
60 RPM means one request per second, not a burst of 60 then a minute's wait. Each model
gets up to three :class:`TokenBucket`\\ s: one counting requests (static ``rpm``), one
counting tokens (``tpm``) and, in dynamic mode, one counting requests at the dynamic rate.

Bucket math, for a limit of ``per_minute``:

* ``rate = per_minute / 60`` units flow in per second, continuously;
* ``capacity = max(1, burst * rate)``: ``burst`` seconds' worth (2 by default), but always
  room for one request. Together was seen answering ``X-Ratelimit-Remaining: 18`` with
  ``X-Ratelimit-Limit: 10``, so its buckets hold more than a second's worth too;
* at time ``t`` the level is ``min(capacity, level_then + (t - t_then) * rate)``.

**Token accounting (a modelling assumption: Together does not publish how it counts).**
A request's token budget is ``prompt_tokens + (max_tokens or 512)``. It is admitted when
the token bucket holds ``min(budget, capacity)`` and is charged exactly that, so one huge
request empties the bucket but never drives it into debt. When its answer is produced the
part it did not use is given back: ``charged - prompt_tokens - completion_tokens`` (never
negative; for an answer with no completion, such as a 500, the whole completion budget),
with the level capped at capacity. A client that asks for ``max_tokens=4096`` and gets 20
words back is therefore held up while the request runs, not for the next minute.

A request costs one unit of every request bucket. A rejected request costs nothing and gets
429 with ``retry-after`` = whole seconds until it would fit (at least 1).

**Per-model limits** (``SimConfig.model_limits``) replace the global ``rpm`` / ``tpm`` for
one model (None keeps the global value). A rejection for such a model is Together's
``model_rate_limit``.

**Dynamic mode** (``SimConfig.dynamic``): per model, the dynamic request rate is
``clamp(2 * S / window, base_rpm / 60, cap_rpm / 60)`` requests per second, where ``S``
counts the successful (200) answers sent for the model during the last ``window`` seconds
(to within ``min(1 s, window / 10)``: successes are kept as per-slot counts in a deque, so
updating is cheap). The dynamic bucket's rate and capacity follow that rate each time the
model is touched; its level is kept (cut to the new capacity if that shrank). ``cap_rpm``
defaults to the model's ``rpm``, else 6000. The static request bucket, when ``rpm`` is set,
still applies alongside it, which is why Together can show ``Remaining: 18`` next to
``Remaining-Dynamic: 0``.

Why a request was rejected (:attr:`Verdict.kind`), first match wins:

1. the dynamic bucket was short -> ``dynamic_request_limited``;
2. the model has its own limits -> ``model_rate_limit``;
3. dynamic mode -> ``dynamic_request_limited`` if a request bucket was short, else
   ``dynamic_token_limited``;
4. ``rate_limit``.

Every answer checked here carries the header names Together was seen sending:
``x-ratelimit-limit`` / ``x-ratelimit-remaining`` (requests per second),
``x-ratelimit-limit-tokens`` / ``x-ratelimit-remaining-tokens`` (tokens per second),
in dynamic mode ``x-ratelimit-limit-dynamic`` / ``x-ratelimit-remaining-dynamic``,
``x-ratelimit-reset`` (whole seconds until the buckets are full) and ``x-ratelimit``
(``true`` on a rejection). A pair is left out when its limit is not set; an admitted
request for a model with no limit at all gets no rate-limit headers.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from ._errors import format_rate

Headers = list[tuple[bytes, bytes]]
RejectionKind = Literal[
    "rate_limit", "model_rate_limit", "dynamic_request_limited", "dynamic_token_limited"
]

DEFAULT_BURST = 2.0
FALLBACK_CAP_RPM = 6000.0  # the dynamic cap when neither it nor an rpm is configured


class TokenBucket:
    """A bucket that refills at ``rate`` units per second up to ``max(1, burst * rate)``.

    The server's side of a limit: a request is admitted or refused, the charge is capped at
    the capacity (no debt), and a refund returns an unused budget. The runner's
    ``TokenBucket`` (``runner/_bucket.py``) refills the same way but models the client
    pacing itself (a cost above the capacity goes into debt, levels follow the server's
    headers); this is not a copy of it, and could not import it: the simulator imports
    nothing of ours by design.
    """

    __slots__ = ("rate", "capacity", "burst", "_level", "_stamp")

    def __init__(self, rate: float, now: float, burst: float = 1.0) -> None:
        self.burst = burst  # capacity in seconds of rate
        self.rate = rate  # units added per second
        self.capacity = max(1.0, burst * rate)  # most units the bucket holds
        self._level = self.capacity  # units available at time _stamp
        self._stamp = now  # clock reading when _level was last brought up to date

    def level(self, now: float) -> float:
        """Bring the level up to date and return it."""
        if now > self._stamp:
            self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
            self._stamp = now
        return self._level

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until ``min(cost, capacity)`` fits (0 if it fits now)."""
        need = min(cost, self.capacity) - self.level(now)
        return max(0.0, need / self.rate)

    def take(self, cost: float, now: float) -> float:
        """Charge ``min(cost, capacity)`` and return what was charged."""
        charged = min(cost, self.capacity)
        self.level(now)
        self._level -= charged
        return charged

    def give(self, amount: float, now: float) -> None:
        """Put ``amount`` back (a refund), never above capacity."""
        self.level(now)
        self._level = min(self.capacity, self._level + amount)

    def set_rate(self, rate: float, now: float) -> None:
        """Change the rate (and so the capacity) from now on, keeping the level."""
        self.level(now)  # what flowed in so far flowed at the old rate
        self.rate = rate
        self.capacity = max(1.0, self.burst * rate)
        self._level = min(self._level, self.capacity)

    def seconds_to_full(self, now: float) -> float:
        return (self.capacity - self.level(now)) / self.rate

    def __repr__(self) -> str:
        return (
            f"TokenBucket(rate={self.rate:g}/s, capacity={self.capacity:g}, "
            f"level={self._level:.3f} at {self._stamp:.3f})"
        )


class SuccessWindow:
    """How many successes happened in the last ``window`` seconds, kept as slot counts."""

    __slots__ = ("window", "slot", "_slots", "_total")

    def __init__(self, window: float) -> None:
        self.window = window
        self.slot = min(1.0, window / 10)  # seconds per counter
        self._slots: deque[list[int]] = deque()  # [slot index, successes], oldest first
        self._total = 0  # sum of the counts in _slots

    def add(self, now: float) -> None:
        index = math.floor(now / self.slot)
        if self._slots and self._slots[-1][0] == index:
            self._slots[-1][1] += 1
        else:
            self._slots.append([index, 1])
        self._total += 1

    def count(self, now: float) -> int:
        """Successes in the slots that start after ``now - window``."""
        horizon = (now - self.window) / self.slot
        while self._slots and self._slots[0][0] <= horizon:
            self._total -= self._slots.popleft()[1]
        return self._total

    def __repr__(self) -> str:
        return f"SuccessWindow(window={self.window:g}s, total={self._total})"


@dataclass(frozen=True, slots=True)
class DynamicLimits:
    """Dynamic-mode settings: the rate's floor and ceiling (RPM) and the history window."""

    base_rpm: float = 60.0
    cap_rpm: float | None = None  # None: the model's rpm, else FALLBACK_CAP_RPM
    window: float = 10.0  # seconds


class _Model:
    """The limits and buckets of one model."""

    __slots__ = (
        "rpm",
        "tpm",
        "own_limits",
        "requests",
        "tokens",
        "dynamic",
        "successes",
        "base_rate",
        "cap_rate",
        "limit_header",
        "token_limit_header",
    )

    def __init__(
        self,
        rpm: float | None,
        tpm: float | None,
        own_limits: bool,
        burst: float,
        dynamic: DynamicLimits | None,
        now: float,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.own_limits = own_limits  # limits come from SimConfig.model_limits
        self.requests = TokenBucket(rpm / 60, now, burst) if rpm else None
        self.tokens = TokenBucket(tpm / 60, now, burst) if tpm else None
        self.limit_header = format_rate(rpm / 60).encode() if rpm else b""
        self.token_limit_header = format_rate(tpm / 60).encode() if tpm else b""
        self.dynamic: TokenBucket | None = None
        self.successes: SuccessWindow | None = None
        self.base_rate = self.cap_rate = 0.0
        if dynamic is not None:
            cap_rpm = dynamic.cap_rpm or rpm or FALLBACK_CAP_RPM
            self.cap_rate = cap_rpm / 60
            self.base_rate = min(dynamic.base_rpm / 60, self.cap_rate)
            self.dynamic = TokenBucket(self.base_rate, now, burst)
            self.successes = SuccessWindow(dynamic.window)

    def update_dynamic(self, now: float) -> None:
        """Set the dynamic bucket's rate from the successes still in the window."""
        if self.dynamic is None or self.successes is None:
            return
        observed = 2 * self.successes.count(now) / self.successes.window
        rate = min(self.cap_rate, max(self.base_rate, observed))
        if rate != self.dynamic.rate:
            self.dynamic.set_rate(rate, now)

    def request_buckets(self) -> list[TokenBucket]:
        return [b for b in (self.requests, self.dynamic) if b is not None]

    @property
    def limited(self) -> bool:
        return self.requests is not None or self.tokens is not None or self.dynamic is not None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The limiter's answer for one request."""

    allowed: bool
    retry_after: int  # whole seconds, >= 1 when not allowed, 0 when allowed
    headers: Headers  # the x-ratelimit-* headers (plus retry-after on a rejection)
    kind: RejectionKind | None = None  # why it was rejected (see the module docstring)
    charged_tokens: float = 0.0  # what an admitted request took from the token bucket
    rpm: float | None = None  # the limits that apply to the model, for the 429 body
    tpm: float | None = None
    dynamic_rpm: float | None = None  # the model's dynamic rate now (dynamic mode)


class RateLimiter:
    """Per-model request and token buckets; time comes only from ``clock``."""

    def __init__(
        self,
        rpm: float | None,
        tpm: float | None,
        clock: Callable[[], float] = time.monotonic,
        *,
        burst: float = DEFAULT_BURST,
        model_limits: Mapping[str, tuple[float | None, float | None]] | None = None,
        dynamic: DynamicLimits | None = None,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.burst = burst
        self.model_limits = dict(model_limits or {})
        self.dynamic = dynamic
        self._clock = clock
        self._models: dict[str, _Model] = {}  # created on first use

    @property
    def enabled(self) -> bool:
        return bool(self.rpm or self.tpm or self.model_limits or self.dynamic is not None)

    def _model(self, model: str, now: float) -> _Model:
        state = self._models.get(model)
        if state is None:
            own = self.model_limits.get(model)
            rpm, tpm = self.rpm, self.tpm
            if own is not None:
                rpm = own[0] if own[0] is not None else rpm
                tpm = own[1] if own[1] is not None else tpm
            state = _Model(rpm, tpm, own is not None, self.burst, self.dynamic, now)
            self._models[model] = state
        state.update_dynamic(now)
        return state

    def check(self, model: str, tokens: float) -> Verdict:
        """Admit (and charge) or reject one request for ``model`` with a ``tokens`` budget."""
        now = self._clock()
        state = self._model(model, now)
        request_wait = max((b.wait_for(1, now) for b in state.request_buckets()), default=0.0)
        dynamic_wait = state.dynamic.wait_for(1, now) if state.dynamic is not None else 0.0
        token_wait = state.tokens.wait_for(tokens, now) if state.tokens is not None else 0.0
        wait = max(request_wait, token_wait)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            kind = self._kind(state, dynamic_wait > 0, request_wait > 0)
            return self._verdict(state, now, retry_after, kind)
        for bucket in state.request_buckets():
            bucket.take(1, now)
        charged = state.tokens.take(tokens, now) if state.tokens is not None else 0.0
        return self._verdict(state, now, None, None, charged)

    def reject(self, model: str) -> Verdict:
        """A forced rejection (``x-sim-fault: 429``): charges nothing, says retry in 1 s."""
        now = self._clock()
        state = self._model(model, now)
        return self._verdict(state, now, 1, self._kind(state, False, True))

    def refund(self, model: str, tokens: float, requests: int = 0) -> None:
        """Give back ``tokens`` (and ``requests`` to every request bucket), capped at capacity."""
        now = self._clock()
        state = self._model(model, now)
        if requests:
            for bucket in state.request_buckets():
                bucket.give(requests, now)
        if tokens > 0 and state.tokens is not None:
            state.tokens.give(tokens, now)

    def finished(self, model: str, unused_tokens: float, success: bool) -> None:
        """A request's answer was produced: refund ``unused_tokens``; count a success."""
        now = self._clock()
        state = self._model(model, now)
        if unused_tokens > 0 and state.tokens is not None:
            state.tokens.give(unused_tokens, now)
        if success and state.successes is not None:
            state.successes.add(now)
            state.update_dynamic(now)

    def dynamic_rpm(self, model: str) -> float | None:
        """The model's dynamic rate in RPM now (None outside dynamic mode)."""
        state = self._model(model, self._clock())
        return state.dynamic.rate * 60 if state.dynamic is not None else None

    def _kind(self, state: _Model, by_dynamic: bool, by_requests: bool) -> RejectionKind:
        if by_dynamic:
            return "dynamic_request_limited"
        if state.own_limits:
            return "model_rate_limit"
        if self.dynamic is not None:
            return "dynamic_request_limited" if by_requests else "dynamic_token_limited"
        return "rate_limit"

    def _verdict(
        self,
        state: _Model,
        now: float,
        retry_after: int | None,
        kind: RejectionKind | None,
        charged: float = 0.0,
    ) -> Verdict:
        return Verdict(
            allowed=retry_after is None,
            retry_after=retry_after or 0,
            headers=self._headers(state, now, retry_after),
            kind=kind,
            charged_tokens=charged,
            rpm=state.rpm,
            tpm=state.tpm,
            dynamic_rpm=state.dynamic.rate * 60 if state.dynamic is not None else None,
        )

    def _headers(self, state: _Model, now: float, retry_after: int | None) -> Headers:
        """The x-ratelimit-* headers; ``retry_after`` is set on a rejection."""
        if not state.limited and retry_after is None:
            return []
        headers: Headers = [(b"x-ratelimit", b"false" if retry_after is None else b"true")]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        reset = 0.0
        if state.requests is not None:
            remaining = max(0, math.floor(state.requests.level(now)))
            headers.append((b"x-ratelimit-limit", state.limit_header))
            headers.append((b"x-ratelimit-remaining", str(remaining).encode()))
            reset = state.requests.seconds_to_full(now)
        if state.tokens is not None:
            remaining = max(0, math.floor(state.tokens.level(now)))
            headers.append((b"x-ratelimit-limit-tokens", state.token_limit_header))
            headers.append((b"x-ratelimit-remaining-tokens", str(remaining).encode()))
            reset = max(reset, state.tokens.seconds_to_full(now))
        if state.dynamic is not None:
            remaining = max(0, math.floor(state.dynamic.level(now)))
            headers.append((b"x-ratelimit-limit-dynamic", format_rate(state.dynamic.rate).encode()))
            headers.append((b"x-ratelimit-remaining-dynamic", str(remaining).encode()))
            reset = max(reset, state.dynamic.seconds_to_full(now))
        headers.append((b"x-ratelimit-reset", str(math.ceil(reset)).encode()))
        return headers

    def __repr__(self) -> str:
        return (
            f"RateLimiter(rpm={self.rpm}, tpm={self.tpm}, burst={self.burst:g}, "
            f"model_limits={len(self.model_limits)}, dynamic={self.dynamic}, "
            f"models={len(self._models)})"
        )
