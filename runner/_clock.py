"""Time comes from one place, so tests can move it.

Everything that waits or measures in the runner takes a `Clock`. `SystemClock` reads the
process's monotonic and wall clocks and sleeps on the event loop; tests pass a `FakeClock`
whose `sleep` advances time at once.
"""

from __future__ import annotations

import time
from typing import Protocol

import anyio

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def wall(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The process's clocks: ``time.monotonic`` and ``time.time``; sleeps on the event loop.

    Not the event loop's own clock (``anyio.current_time()``): uvloop's counts whole
    milliseconds and only moves once per loop iteration, too coarse for request latencies,
    and looking the loop up costs more than the read (a profile of a zero-latency run
    showed ``anyio.current_time`` at 2% of the event loop's time).
    """

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to, or when something sleeps on it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()

    def advance(self, seconds: float) -> None:
        self.now += seconds
