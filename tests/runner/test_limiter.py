"""The plain --rpm/--tpm cap: per model, per second, as Together counts."""

from __future__ import annotations

import asyncio

import pytest

from runner import StaticCaps
from runner._limiter import per_second_bucket


def test_per_second_bucket_shape() -> None:
    b = per_second_bucket(600)  # 10/s
    assert (b.max_rate, b.time_period) == (10.0, 1.0)
    slow = per_second_bucket(30)  # one every 2 s
    assert (slow.max_rate, slow.time_period) == (1.0, 2.0)
    with pytest.raises(ValueError):
        per_second_bucket(0)


class LoopClock:
    """Jump aiolimiter's clock (the event loop's time) forward by hand.

    The loop's time is real time plus an offset we move: asyncio's own timers keep
    working, and a refill happens when the test says so, not after a real wait.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.offset = 0.0
        real = loop.time
        loop.time = lambda: real() + self.offset  # type: ignore[method-assign]


@pytest.mark.asyncio
async def test_request_cap_is_per_model_and_refills_per_second() -> None:
    clock = LoopClock(asyncio.get_running_loop())
    caps = StaticCaps(rpm=120, tpm=None)  # 2 per second
    for _ in range(2):
        await asyncio.wait_for(caps.acquire("a", 1), 0.1)
    await asyncio.wait_for(caps.acquire("b", 1), 0.1)  # another model has its own bucket
    blocked = asyncio.ensure_future(caps.acquire("a", 1))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    clock.offset += 0.5  # one request's worth of refill
    await asyncio.wait_for(blocked, 1.0)


@pytest.mark.asyncio
async def test_token_cap_takes_the_estimate_and_clamps_oversized_requests() -> None:
    clock = LoopClock(asyncio.get_running_loop())
    caps = StaticCaps(rpm=None, tpm=6000)  # 100 tokens per second
    await asyncio.wait_for(caps.acquire("a", 5000), 0.1)  # larger than the bucket: takes all
    blocked = asyncio.ensure_future(caps.acquire("a", 50))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    clock.offset += 0.5
    await asyncio.wait_for(blocked, 1.0)
