"""A token bucket that can be refunded, drained and re-rated while in use.

aiolimiter's `AsyncLimiter` is a fine leaky bucket, but the adaptive limiter needs four
things it does not offer: a weighted take larger than the bucket (a 40k-token request on a
3k-token-per-second limit), refunds and debts when the real ``usage`` arrives, a level set
from the server's ``x-ratelimit-remaining``, and a rate changed live from its headers. Its
level and timestamp are private, so those would mean reaching into its internals. This
bucket is the few lines of arithmetic that does, and it does no waiting itself: the caller
(`_adaptive`) asks how long to wait and sleeps on its own clock, so tests drive it with
plain numbers.

The math, for ``rate`` units per second and ``capacity`` units at most:

* at time ``t`` the level is ``min(capacity, level_then + (t - t_then) * rate)``;
* a cost ``c`` may be taken once the level holds ``min(c, capacity)``; taking subtracts the
  whole ``c``, so a cost above the capacity leaves the bucket in debt (negative level) and
  later takes wait until the debt is paid back by the refill: the long-run rate holds;
* ``refund(x)`` adds ``x`` (capped at the capacity); a negative ``x`` is a debt;
* ``set_rate(r)`` brings the level up to date at the old rate first, then changes the rate
  and capacity (``capacity = max(1, r * burst_seconds)``) and clips the level to it.

The simulator has a ``TokenBucket`` too (``togethersim/_ratelimit.py``), with the same refill
arithmetic but another job: it is the server enforcing a limit, this is the client pacing
itself under one. So the accounting differs where the two sides do: the server charges at
most its capacity and never goes into debt (a request is admitted or refused), and gives
back the unused completion budget; this bucket takes the whole cost into debt so that the
long-run rate holds, takes refunds and debts from the real ``usage``, and lowers its level
to what the server's headers say is left. They are two models, not a copy, and they cannot
share code anyway: the simulator imports nothing of ours and the runner never imports it.
"""

from __future__ import annotations

import math

__all__ = ["TokenBucket"]

_SLACK = 1e-9  # units: a shortfall this small is float rounding, not a reason to wait


class TokenBucket:
    __slots__ = ("rate", "capacity", "burst_seconds", "_level", "_stamp")

    def __init__(self, rate: float, now: float, *, burst_seconds: float = 1.0) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number, got {rate!r}")
        self.rate = rate
        self.burst_seconds = burst_seconds
        self.capacity = max(1.0, rate * burst_seconds)
        self._level = self.capacity  # starts full
        self._stamp = now

    def level(self, now: float) -> float:
        """Bring the level up to date at ``now`` and return it."""
        if now > self._stamp:
            self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
            self._stamp = now
        return self._level

    def wait_time(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` may be taken (0 when it may be taken now).

        A shortfall within `_SLACK` of nothing is nothing: after refunds and re-rates the
        level can sit a rounding error below the cost, and a wait of 1e-16 s would not move
        a clock that counts in seconds of 1e3 magnitude (it would wait for ever).
        """
        need = min(cost, self.capacity) - self.level(now)
        return 0.0 if need <= _SLACK else need / self.rate

    def cap_level(self, most: float, now: float) -> bool:
        """Lower the level to ``most`` if it is above (the server says there is less);
        whether it was lowered."""
        if self.level(now) > most:
            self._level = most
            return True
        return False

    def take(self, cost: float, now: float) -> None:
        self.level(now)
        self._level -= cost

    def refund(self, amount: float, now: float) -> None:
        """Give back ``amount`` (negative: charge a debt), never above the capacity."""
        self.level(now)
        self._level = min(self.capacity, self._level + amount)

    def set_rate(self, rate: float, now: float) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number, got {rate!r}")
        self.level(now)
        self.rate = rate
        self.capacity = max(1.0, rate * self.burst_seconds)
        self._level = min(self._level, self.capacity)

    def __repr__(self) -> str:
        return (
            f"TokenBucket(rate={self.rate:g}/s, capacity={self.capacity:g}, "
            f"level={self._level:.3f} at {self._stamp:.3f})"
        )
