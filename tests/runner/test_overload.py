"""The concurrency window's answer to 503s (runner/_adaptive.py), on a fake clock.

Isolated 503s leave the window alone; a burst (4 among the last 10 answers) halves it,
once per overload; successes grow it back by 1/window each.
"""

from __future__ import annotations

from collections import deque

import pytest

from runner._adaptive import AdaptiveLimiter, Cost, Permit
from runner._clock import FakeClock

COST = Cost(prompt=10, max_completion=16)


def window(lim: AdaptiveLimiter) -> float:
    return lim.views()[0].window


async def full(lim: AdaptiveLimiter, n: int) -> deque[Permit]:
    """``n`` requests in flight (the window must hold them: acquire would wait)."""
    return deque([await lim.acquire("m", COST) for _ in range(n)])


async def answer(lim: AdaptiveLimiter, flight: deque[Permit], statuses: list[int]) -> None:
    """Answer the oldest requests in flight with ``statuses``, each replaced by a new one
    as long as the window has room."""
    for status in statuses:
        lim.release(flight.popleft(), status=status, headers={})
        view = lim.views()[0]
        if view.in_flight < int(view.window):
            flight.append(await lim.acquire("m", COST))


@pytest.mark.asyncio
async def test_isolated_503s_leave_the_window_alone() -> None:
    clock = FakeClock(start=0.0)
    lim = AdaptiveLimiter(max_concurrency=64, clock=clock)
    flight = await full(lim, 64)
    seen = []
    for _ in range(100):  # one 503 in 8 answers, 100 times: a 12.5% share, never a burst
        await answer(lim, flight, [503, 200, 200, 200, 200, 200, 200, 200])
        seen.append(window(lim))
        clock.advance(0.05)
    assert min(seen) == 64.0
    assert lim.views()[0].overloaded == 100


@pytest.mark.asyncio
async def test_three_503s_among_ten_answers_are_not_yet_a_burst() -> None:
    lim = AdaptiveLimiter(max_concurrency=64, clock=FakeClock())
    flight = await full(lim, 64)
    await answer(lim, flight, [503, 200, 200, 503, 200, 200, 200, 200, 200, 503])
    assert window(lim) == 64.0
    await answer(lim, flight, [503])  # the first has left the last ten: still three
    assert window(lim) == 64.0
    await answer(lim, flight, [503])  # the fourth among the last ten
    assert window(lim) == 32.0  # half of the 64 in flight


@pytest.mark.asyncio
async def test_a_burst_halves_what_was_in_flight() -> None:
    lim = AdaptiveLimiter(max_concurrency=64, clock=FakeClock())
    flight = await full(lim, 40)  # the window is 64, 40 of it in use
    for _ in range(4):
        lim.release(flight.popleft(), status=503, headers={})
    assert window(lim) == 18.5  # 37 in flight when the fourth 503 came: half of that
    assert lim.views()[0].overloaded == 4


@pytest.mark.asyncio
async def test_one_overload_halves_once_however_long_its_503s_take() -> None:
    clock = FakeClock(start=0.0)
    lim = AdaptiveLimiter(max_concurrency=64, clock=clock)
    flight = await full(lim, 64)
    for _ in range(4):
        lim.release(flight.popleft(), status=503, headers={})
    assert window(lim) == 30.5  # min(64, 61 in flight) / 2
    clock.advance(5.0)  # time alone does not make the rest of the wave a new overload
    for _ in range(30):  # sent before the halving: the same overload
        lim.release(flight.popleft(), status=503, headers={})
    assert window(lim) == 30.5
    assert lim.views()[0].overloaded == 34
    # The ones sent after it: a new burst of theirs halves again.
    for _ in range(30):
        lim.release(flight.popleft(), status=200, headers={})
    assert lim.views()[0].in_flight == 0
    after = await full(lim, 31)
    grown = window(lim)
    assert 31.0 < grown < 32.0  # 30 successes at +1/window
    for _ in range(4):
        lim.release(after.popleft(), status=503, headers={})
    assert window(lim) == pytest.approx(min(grown, 28) / 2)


@pytest.mark.asyncio
async def test_answers_from_before_a_halving_do_not_count_towards_the_next() -> None:
    lim = AdaptiveLimiter(max_concurrency=64, clock=FakeClock())
    old = await full(lim, 64)
    for _ in range(4):
        lim.release(old.popleft(), status=503, headers={})
    halved = window(lim)
    while lim.views()[0].in_flight >= int(halved):  # room for new requests
        lim.release(old.popleft(), status=200, headers={})
    new = [await lim.acquire("m", COST)]
    for _ in range(3):  # three more 503s of the old wave, then one of the new
        lim.release(old.popleft(), status=503, headers={})
    before = window(lim)
    lim.release(new[0], status=503, headers={})
    assert window(lim) == before  # one 503 since the halving: no burst


@pytest.mark.asyncio
async def test_successes_grow_the_window_back_to_the_cap() -> None:
    lim = AdaptiveLimiter(max_concurrency=64, clock=FakeClock())
    flight = await full(lim, 64)
    await answer(lim, flight, [503] * 4)
    assert window(lim) == 32.0
    # +1/window a success: w*w grows by about 2 a success, 32 -> 64 takes about 1,540.
    await answer(lim, flight, [200] * 1000)
    assert 54.0 < window(lim) < 56.0  # sqrt(32**2 + 2 * 1000) = 55.0
    await answer(lim, flight, [200] * 1000)
    assert window(lim) == 64.0  # and no further


@pytest.mark.asyncio
async def test_other_errors_neither_grow_nor_shrink_the_window() -> None:
    lim = AdaptiveLimiter(max_concurrency=64, clock=FakeClock())
    flight = await full(lim, 64)
    await answer(lim, flight, [503] * 4)
    halved = window(lim)
    await answer(lim, flight, [500, 502, 429] * 10)
    assert window(lim) == halved
