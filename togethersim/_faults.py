"""Faults the simulator injects, their rates, and the per-request draw.

A fault replaces (or delays) the normal answer to one inference request:

=============  ==========================================================================
``http_500``   500, Together's envelope, ``"Internal server error"``
``http_503``   503, Together's envelope, ``"Engine overloaded"``
``http_520``   520, ``text/plain`` body ``error code: 520`` (what Cloudflare sends)
``reset``      no response: the TCP connection is closed with RST (``SO_LINGER`` 0)
``truncate``   200 headers with the full ``Content-Length``, half the body, then close
``slow``       sleep ``SimConfig.slow_seconds`` first, then answer normally
=============  ==========================================================================

Three more act on streamed requests only (``"stream": true``; a non-streamed request that
draws or forces one is answered normally):

==================  =====================================================================
``stream_cut``      the first half of the events (at least one), then the connection
                    closes with the chunked body unfinished: no ``[DONE]``
``stream_error``    the first half of the events, then ``data: {"error": {"message",
                    "type": "server_error"}}`` and the end of the body, no ``[DONE]``
``stream_no_done``  every event, usage included, and a clean end, but no ``data: [DONE]``
==================  =====================================================================

Before a stream starts the others act as on any request (``truncate`` on a stream cuts it
like ``stream_cut``).

:class:`FaultPicker` makes one draw from ``random.Random(seed)`` per inference request, in
arrival order, so a sequential client sees the same faults on every run with the same seed.
A request header ``x-sim-fault: 500|503|520|reset|truncate|slow|stream-cut|stream-error|
stream-no-done|429|none`` overrides the draw (``429`` is a rate-limit rejection; it has no
random rate because rate limiting is modelled by :mod:`._ratelimit`).
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass, fields


class Fault(enum.Enum):
    """What to do to one request instead of (or before) answering it normally."""

    NONE = "none"
    HTTP_429 = "429"
    HTTP_500 = "500"
    HTTP_503 = "503"
    HTTP_520 = "520"
    RESET = "reset"
    TRUNCATE = "truncate"
    SLOW = "slow"
    STREAM_CUT = "stream-cut"
    STREAM_ERROR = "stream-error"
    STREAM_NO_DONE = "stream-no-done"

    @property
    def streams_only(self) -> bool:
        return self in (Fault.STREAM_CUT, Fault.STREAM_ERROR, Fault.STREAM_NO_DONE)


@dataclass(frozen=True)
class FaultRates:
    """Probability of each fault per request; each in [0, 1] and their sum at most 1."""

    http_500: float = 0.0
    http_503: float = 0.0
    http_520: float = 0.0
    reset: float = 0.0
    truncate: float = 0.0
    slow: float = 0.0
    stream_cut: float = 0.0
    stream_error: float = 0.0
    stream_no_done: float = 0.0

    def __post_init__(self) -> None:
        total = 0.0
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"fault rate {f.name} must be a number, got {value!r}")
            if not (0.0 <= value <= 1.0):  # also rejects NaN
                raise ValueError(f"fault rate {f.name} must be between 0 and 1, got {value}")
            total += value
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total:g}; the sum must be at most 1")

    def table(self) -> list[tuple[Fault, float]]:
        """(fault, rate) in the fixed order the cumulative draw walks them."""
        return [
            (Fault.HTTP_500, self.http_500),
            (Fault.HTTP_503, self.http_503),
            (Fault.HTTP_520, self.http_520),
            (Fault.RESET, self.reset),
            (Fault.TRUNCATE, self.truncate),
            (Fault.SLOW, self.slow),
            (Fault.STREAM_CUT, self.stream_cut),
            (Fault.STREAM_ERROR, self.stream_error),
            (Fault.STREAM_NO_DONE, self.stream_no_done),
        ]


# Spelling in a spec string -> FaultRates field.
_SPEC_KEYS = {
    "500": "http_500",
    "503": "http_503",
    "520": "http_520",
    "reset": "reset",
    "truncate": "truncate",
    "slow": "slow",
    "stream-cut": "stream_cut",
    "stream-error": "stream_error",
    "stream-no-done": "stream_no_done",
}


def parse_faults(spec: str) -> FaultRates:
    """Parse ``"500=0.05,503=0.02,520=0.01,reset=0.02,truncate=0.01,slow=0.01"``; the stream
    faults are ``stream-cut``, ``stream-error`` and ``stream-no-done``.

    Any subset of the keys, in any order; ``""``, ``"0"`` and ``"none"`` mean no faults.
    Raises ``ValueError`` naming the offending part.
    """
    text = spec.strip()
    if text.lower() in ("", "0", "none"):
        return FaultRates()
    rates: dict[str, float] = {}
    for raw_part in text.split(","):
        part = raw_part.strip()
        if not part:
            continue
        key, sep, raw_value = part.partition("=")
        key = key.strip().lower()
        if not sep:
            raise ValueError(f"fault spec part {part!r} is not KEY=RATE (e.g. '500=0.05')")
        field = _SPEC_KEYS.get(key)
        if field is None:
            known = ", ".join(_SPEC_KEYS)
            raise ValueError(f"unknown fault {key!r} in {spec!r}; known faults: {known}")
        if field in rates:
            raise ValueError(f"fault {key!r} is given twice in {spec!r}")
        try:
            value = float(raw_value)
        except ValueError:
            raise ValueError(f"rate for fault {key!r} is not a number: {raw_value!r}") from None
        if not math.isfinite(value) or not (0.0 <= value <= 1.0):
            raise ValueError(f"rate for fault {key!r} must be between 0 and 1, got {raw_value!r}")
        rates[field] = value
    return FaultRates(**rates)


def forced_fault(header_value: bytes) -> Fault | None:
    """The fault an ``x-sim-fault`` header value names (``none`` forces no fault).

    None when the value names no fault at all.
    """
    try:
        return Fault(header_value.decode("ascii", "replace").strip().lower())
    except ValueError:
        return None


class FaultPicker:
    """Draws one fault per request from a seeded RNG, walking cumulative rates.

    One ``random()`` per call, whatever the rates, so the sequence of draws depends only on
    the seed and the number of requests before this one.
    """

    def __init__(self, rates: FaultRates, seed: int) -> None:
        self._rng = random.Random(seed)  # the only source of fault randomness
        # (upper bound of the cumulative interval, fault); faults with rate 0 are dropped.
        self._cumulative: list[tuple[float, Fault]] = []
        edge = 0.0
        for fault, rate in rates.table():
            if rate > 0.0:
                edge += rate
                self._cumulative.append((edge, fault))

    def draw(self) -> Fault:
        u = self._rng.random()
        for edge, fault in self._cumulative:
            if u < edge:
                return fault
        return Fault.NONE

    def __repr__(self) -> str:
        return f"FaultPicker(cumulative={self._cumulative!r})"
