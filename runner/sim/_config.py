"""The simulator's settings, and the latency spec parser the CLI uses.

:class:`SimConfig` is a frozen value: build it once, hand it to :class:`SimServer`.
Every field is checked on construction so a bad setting fails before a socket is opened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ._faults import FaultRates


def _check_seconds(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


def parse_latency(spec: str) -> tuple[float, float]:
    """Parse ``"0"``, ``"0.2"`` (fixed) or ``"0.1-2.0"`` (uniform between) into (low, high).

    Seconds, non-negative, low <= high. Raises ``ValueError`` naming the problem.
    """
    text = spec.strip()
    low_text, sep, high_text = text.partition("-")
    try:
        low = float(low_text)
        high = float(high_text) if sep else low
    except ValueError:
        raise ValueError(
            f"latency {spec!r} is not SECONDS or LOW-HIGH (e.g. '0.2' or '0.1-2.0')"
        ) from None
    _check_seconds("latency", low)
    _check_seconds("latency", high)
    if low > high:
        raise ValueError(f"latency {spec!r}: low bound {low:g} is above high bound {high:g}")
    return (low, high)


@dataclass(frozen=True)
class SimConfig:
    """How the simulator behaves.

    ``rpm`` and ``tpm`` are per model and, like Together's, enforced per second: a bucket
    refills at ``rpm / 60`` requests (``tpm / 60`` tokens) per second and holds at most
    ``max(1, rate per second)``. A request costs one request and its estimated tokens,
    ``prompt_tokens + max_tokens`` (``max_tokens`` 512 when absent). With ``api_key`` set,
    inference requests without ``Authorization: Bearer <api_key>`` get Together's 401.
    """

    latency: tuple[float, float] = (0.0, 0.0)  # uniform per request, seconds
    faults: FaultRates = field(default_factory=FaultRates)
    slow_seconds: float = 30.0  # how long the "slow" fault sleeps before answering
    seed: int = 0  # seeds the fault draw (and, separately, the latency draw)
    rpm: float | None = None
    tpm: float | None = None
    api_key: str | None = None

    def __post_init__(self) -> None:
        low, high = self.latency
        _check_seconds("latency", low)
        _check_seconds("latency", high)
        if low > high:
            raise ValueError(f"latency low bound {low:g} is above high bound {high:g}")
        _check_seconds("slow_seconds", self.slow_seconds)
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise ValueError(f"{name} must be a positive number or None, got {value!r}")
