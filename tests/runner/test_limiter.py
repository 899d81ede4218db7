"""The adaptive limiter, its bucket and header parsing, on a fake clock."""

from __future__ import annotations

import anyio
import httpx
import pytest

from runner import Limits
from runner._adaptive import AdaptiveLimiter, Cost
from runner._bucket import TokenBucket
from runner._clock import FakeClock
from runner._ratelimit import parse_rate_headers

# -- bucket math ---------------------------------------------------------------------------


def test_bucket_refills_per_second_up_to_capacity() -> None:
    b = TokenBucket(10.0, now=0.0)
    assert b.capacity == 10.0
    assert b.level(0.0) == 10.0
    b.take(10, 0.0)
    assert b.level(0.0) == 0.0
    assert b.level(0.25) == pytest.approx(2.5)
    assert b.level(100.0) == 10.0  # never above capacity


def test_bucket_slow_rate_still_holds_one_request() -> None:
    b = TokenBucket(1 / 6, now=0.0)  # 10 per minute
    assert b.capacity == 1.0
    b.take(1, 0.0)
    assert b.wait_time(1, 0.0) == pytest.approx(6.0)


def test_weighted_take_above_capacity_leaves_debt() -> None:
    b = TokenBucket(100.0, now=0.0)
    assert b.wait_time(500, 0.0) == 0.0  # a full bucket admits it
    b.take(500, 0.0)
    assert b.level(0.0) == -400.0
    assert b.wait_time(50, 0.0) == pytest.approx(4.5)  # pay 400 back, then 50 more
    assert b.wait_time(500, 4.0) == pytest.approx(1.0)  # a big one waits for a full bucket


def test_refund_and_debt_after_real_usage() -> None:
    b = TokenBucket(100.0, now=0.0)
    b.take(80, 0.0)
    b.refund(30, 0.0)  # used 50 of the 80 charged
    assert b.level(0.0) == pytest.approx(50.0)
    b.refund(-70, 0.0)  # used 70 more than charged
    assert b.level(0.0) == pytest.approx(-20.0)
    b.refund(1_000, 0.0)
    assert b.level(0.0) == 100.0  # refunds never overfill


def test_live_rate_change_keeps_level_and_clips_to_new_capacity() -> None:
    b = TokenBucket(10.0, now=0.0)
    b.take(8, 0.0)
    b.set_rate(4.0, 0.5)  # level first brought up at the old rate: 2 + 5 = 7, clipped to 4
    assert b.capacity == 4.0
    assert b.level(0.5) == 4.0
    b.take(4, 0.5)
    b.set_rate(20.0, 0.5)
    assert b.level(0.6) == pytest.approx(2.0)  # the new rate refills from here
    with pytest.raises(ValueError):
        b.set_rate(0.0, 1.0)


def test_cap_level_only_lowers() -> None:
    b = TokenBucket(10.0, now=0.0)
    b.cap_level(3.0, 0.0)
    assert b.level(0.0) == 3.0
    b.cap_level(7.0, 0.0)
    assert b.level(0.0) == 3.0


# -- headers -------------------------------------------------------------------------------


def test_headers_as_seen_on_the_wire() -> None:
    info = parse_rate_headers(
        {
            "x-ratelimit": "false",
            "x-ratelimit-limit": "10",
            "x-ratelimit-remaining": "18",  # remaining above the limit: a burst bucket
            "x-ratelimit-limit-tokens": "3000",
            "x-ratelimit-remaining-tokens": "2990",
            "x-ratelimit-reset": "2",
        }
    )
    assert info.request_limit == 10
    assert info.request_remaining == 18
    assert info.token_limit == 3000
    assert info.token_remaining == 2990
    assert info.reset == 2
    assert not info.empty


def test_documented_tokenlimit_names_are_read_too() -> None:
    info = parse_rate_headers({"x-tokenlimit-limit": "1000", "x-tokenlimit-remaining": "10"})
    assert (info.token_limit, info.token_remaining) == (1000, 10)
    assert info.request_limit is None


def test_fractional_limit() -> None:
    info = parse_rate_headers({"x-ratelimit-limit": "0.1666666667"})
    assert info.request_limit == pytest.approx(10 / 60)


def test_dynamic_limit_binds_when_lower() -> None:
    info = parse_rate_headers(
        {
            "x-ratelimit-limit": "10",
            "x-ratelimit-remaining": "18",
            "x-ratelimit-limit-dynamic": "1",
            "x-ratelimit-remaining-dynamic": "0",
            "x-tokenlimit-limit": "3000",
            "x-tokenlimit-limit-dynamic": "500",
            "x-tokenlimit-remaining-dynamic": "20",
        }
    )
    assert info.request_limit == 1
    assert info.request_remaining == 0
    assert info.token_limit == 500
    assert info.token_remaining == 20


@pytest.mark.parametrize("bad", ["", "abc", "-1", "nan", "inf"])
def test_garbage_header_values_are_ignored(bad: str) -> None:
    info = parse_rate_headers({"x-ratelimit-limit": bad, "x-ratelimit-remaining": bad})
    assert info.request_limit is None
    assert info.request_remaining is None


def test_zero_limit_is_ignored_not_obeyed() -> None:
    assert parse_rate_headers({"x-ratelimit-limit": "0"}).request_limit is None


def test_no_headers_is_empty() -> None:
    assert parse_rate_headers({"content-type": "application/json"}).empty


# -- adaptive limiter ----------------------------------------------------------------------

COST = Cost(prompt=10, max_completion=90)  # 100 tokens


def limiter(clock: FakeClock, **kw: object) -> AdaptiveLimiter:
    return AdaptiveLimiter(clock=clock, **kw)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_tier_start_paces_requests_per_second() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, start=lambda m: Limits(600, 1_000_000))  # 10 req/s
    for _ in range(10):
        p = await lim.acquire("m", COST)
        lim.release(p, status=200, headers={}, prompt_tokens=10, completion_tokens=90)
    assert clock.now == 0.0  # a full bucket: the first second's ten go at once
    p = await lim.acquire("m", COST)
    assert clock.now == pytest.approx(0.1)  # then one every 0.1 s
    lim.release(p, status=200, headers=None)
    assert lim.views()[0].source == "tier"


@pytest.mark.asyncio
async def test_models_have_their_own_buckets() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, caps=Limits(60, None))  # 1 req/s each
    await lim.acquire("a", COST)
    await lim.acquire("b", COST)
    assert clock.now == 0.0
    await lim.acquire("a", COST)
    assert clock.now == pytest.approx(1.0)


@pytest.mark.asyncio
async def test_token_estimate_is_corrected_by_real_usage() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, caps=Limits(None, 6_000))  # 100 tokens/s
    p = await lim.acquire("m", Cost(prompt=10, max_completion=90))  # charges 100
    lim.release(p, status=200, headers={}, prompt_tokens=10, completion_tokens=20)  # used 30
    p = await lim.acquire("m", Cost(prompt=10, max_completion=60))  # 70 refunded: no wait
    assert clock.now == 0.0
    lim.release(p, status=200, headers={}, prompt_tokens=10, completion_tokens=60)
    p = await lim.acquire("m", Cost(prompt=10, max_completion=60))
    assert clock.now == pytest.approx(0.7)  # all used as charged: 70 tokens at 100/s


@pytest.mark.asyncio
async def test_learned_average_completion_when_no_max_tokens() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock)
    assert lim.estimate("m", Cost(prompt=10, max_completion=None)) == 10 + 256
    p = await lim.acquire("m", Cost(prompt=10, max_completion=None))
    lim.release(p, status=200, headers={}, prompt_tokens=10, completion_tokens=40)
    assert lim.estimate("m", Cost(prompt=10, max_completion=None)) == 50
    p = await lim.acquire("m", Cost(prompt=10, max_completion=None))
    lim.release(p, status=200, headers={}, prompt_tokens=10, completion_tokens=140)
    assert lim.estimate("m", Cost(prompt=10, max_completion=None)) == pytest.approx(60)


def together_headers(limit: str, remaining: str) -> dict[str, str]:
    return {"x-ratelimit-limit": limit, "x-ratelimit-remaining": remaining}


@pytest.mark.asyncio
async def test_headers_replace_a_tier_that_is_too_high() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, start=lambda m: Limits(1200, None))  # 20/s claimed
    p = await lim.acquire("m", COST)
    lim.release(p, status=200, headers=together_headers("2", "1"))  # the server says 2/s
    view = lim.views()[0]
    assert view.requests_per_s == 2
    assert view.source == "headers"
    await lim.acquire("m", COST)  # the server had 1 left: one more now
    assert clock.now == 0.0
    await lim.acquire("m", COST)
    assert clock.now == pytest.approx(0.5)


@pytest.mark.asyncio
async def test_remaining_counts_what_was_sent_after_the_answered_request() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, start=lambda m: Limits(600, None))  # 10/s, matches the server
    first = await lim.acquire("m", COST)
    for _ in range(4):  # four more sent before the first answer comes back
        await lim.acquire("m", COST)
    clock.advance(0.2)
    # The server had 6 left when it admitted the first, and refilled 2 since; we sent 4
    # after it, so it has about 4 now. Our own bucket says 5 + 2 = 7: it must come down.
    lim.release(first, status=200, headers=together_headers("10", "6"))
    for _ in range(4):
        await lim.acquire("m", COST)
    assert clock.now == pytest.approx(0.2)
    await lim.acquire("m", COST)
    assert clock.now == pytest.approx(0.3)


@pytest.mark.asyncio
async def test_remaining_above_our_level_does_not_raise_it() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, start=lambda m: Limits(600, None))
    for _ in range(10):
        p = await lim.acquire("m", COST)
    lim.release(p, status=200, headers=together_headers("10", "19"))  # burst on the server
    await lim.acquire("m", COST)
    assert clock.now == pytest.approx(0.1)


@pytest.mark.asyncio
async def test_429_drains_that_model_only_and_slows_down() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, start=lambda m: Limits(600, None))
    p = await lim.acquire("m", COST)
    lim.release(p, status=200, headers=together_headers("10", "9"))
    p = await lim.acquire("m", COST)
    lim.release(p, status=429, headers={**together_headers("10", "0"), "retry-after": "1"})
    view = {v.model: v for v in lim.views()}["m"]
    assert view.rate_limited == 1
    assert view.requests_per_s == pytest.approx(9.0)  # 10% slower
    await lim.acquire("other", COST)
    assert clock.now == 0.0  # another model is not held back
    await lim.acquire("m", COST)
    assert clock.now == pytest.approx(1 / 9)  # drained: wait for the refill
    clock.advance(10.0)
    await lim.acquire("m", COST)
    assert {v.model: v for v in lim.views()}["m"].requests_per_s == pytest.approx(10.0)


@pytest.mark.asyncio
async def test_caps_bound_what_headers_allow() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, caps=Limits(120, None))  # the user wants 2/s at most
    p = await lim.acquire("m", COST)
    lim.release(p, status=200, headers=together_headers("10", "10"))
    assert lim.views()[0].requests_per_s == 2


@pytest.mark.asyncio
async def test_a_guess_is_lifted_by_a_server_without_headers() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, start=lambda m: Limits(60, None), provisional=True)
    p = await lim.acquire("m", COST)
    lim.release(p, status=200, headers={"content-type": "application/json"})
    assert lim.views()[0].requests_per_s is None
    for _ in range(100):
        p = await lim.acquire("m", COST)
        lim.release(p, status=200, headers={})
    assert clock.now == 0.0


@pytest.mark.asyncio
async def test_a_given_tier_stays_without_headers() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, start=lambda m: Limits(60, None))
    p = await lim.acquire("m", COST)
    lim.release(p, status=200, headers={})
    assert lim.views()[0].requests_per_s == 1


# The window's answer to 503s: tests/runner/test_overload.py


@pytest.mark.asyncio
async def test_concurrency_window_blocks_and_hands_over_in_order() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, max_concurrency=1)
    first = await lim.acquire("m", COST)
    order: list[int] = []

    async def take(i: int) -> None:
        p = await lim.acquire("m", COST)
        order.append(i)
        lim.release(p, status=200, headers={})

    async with anyio.create_task_group() as tg:
        for i in range(3):
            tg.start_soon(take, i)
            await anyio.wait_all_tasks_blocked()
        assert order == []
        lim.release(first, status=200, headers={})
    assert order == [0, 1, 2]
    assert lim.views()[0].in_flight == 0


@pytest.mark.asyncio
async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, max_concurrency=1)
    first = await lim.acquire("m", COST)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lim.acquire, "m", COST)
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    lim.release(first, status=200, headers={})
    assert lim.views()[0].in_flight == 0
    p = await lim.acquire("m", COST)
    lim.release(p, status=None, headers=None)
    lim.release(p, status=None, headers=None)  # a second release is ignored
    assert lim.views()[0].in_flight == 0


def test_openai_headers_are_per_minute_and_their_remaining_is_ignored() -> None:
    info = parse_rate_headers(
        {
            "x-ratelimit-limit-requests": "5000",
            "x-ratelimit-remaining-requests": "4999",
            "x-ratelimit-limit-tokens": "600000",
            "x-ratelimit-remaining-tokens": "10",
            "x-ratelimit-reset-requests": "12ms",
        }
    )
    assert info.request_limit == pytest.approx(5000 / 60)
    assert info.token_limit == pytest.approx(10_000)
    assert info.request_remaining is None and info.token_remaining is None


def test_rate_headers_are_picked_out_of_httpx_headers_and_plain_mappings() -> None:
    from runner._adaptive import _rate_headers

    raw = [
        ("Date", "x"),
        ("X-RateLimit-Limit", "5"),
        ("x-ratelimit-remaining-tokens", "70"),
        ("X-TokenLimit-Limit", "100"),
        ("content-type", "application/json"),
    ]
    want = {
        "x-ratelimit-limit": "5",
        "x-ratelimit-remaining-tokens": "70",
        "x-tokenlimit-limit": "100",
    }
    assert _rate_headers(httpx.Headers(raw)) == want
    assert _rate_headers(dict(raw)) == want
    info = parse_rate_headers(_rate_headers(httpx.Headers(raw)))
    assert (info.request_limit, info.token_limit, info.token_remaining) == (5.0, 100.0, 70.0)


@pytest.mark.asyncio
async def test_a_newcomer_does_not_pass_a_waiter_queued_for_the_bucket() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(caps=Limits(60.0, None), clock=clock)  # 1 request/s, burst 1
    order: list[str] = []

    async def take(name: str) -> None:
        permit = await limiter.acquire("m", Cost(1, 1))
        order.append(name)
        limiter.release(permit, status=None, headers=None)

    await take("first")  # empties the bucket
    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "queued")  # waits under the model's lock
        await anyio.lowlevel.checkpoint()
        tg.start_soon(take, "newcomer")
    assert order == ["first", "queued", "newcomer"]


@pytest.mark.asyncio
@pytest.mark.parametrize("refusals_first", [True, False])
async def test_refused_requests_are_not_counted_as_spent(refusals_first: bool) -> None:
    """The start against a 1/s limit (burst 2) of a client that guessed 10/s: ten sent at
    once, two admitted, eight refused. A refused request takes nothing from the server's
    bucket, so once the answers are in, the server has about what it refilled since: the
    next request may go within a second, not after eight (the eight counted as spent)."""
    clock = FakeClock(start=0.0)
    lim = limiter(clock, start=lambda m: Limits(600, None))  # the tier-1 guess: 10/s
    permits = [await lim.acquire("m", COST) for _ in range(10)]
    assert clock.now == 0.0
    admitted, refused = permits[:2], permits[2:]
    refusal = {**together_headers("1", "0"), "retry-after": "1"}

    def answer_admitted() -> None:
        lim.release(admitted[0], status=200, headers=together_headers("1", "1"))
        lim.release(admitted[1], status=200, headers=together_headers("1", "0"))

    clock.advance(0.05)
    if not refusals_first:
        answer_admitted()
    for p in refused:  # in the order they were sent, each with the server's figures
        lim.release(p, status=429, headers=refusal)
    if refusals_first:
        answer_admitted()
    view = lim.views()[0]
    assert view.rate_limited == 8
    assert view.requests_per_s == pytest.approx(0.9)  # one wave of refusals: slowed once
    await lim.acquire("m", COST)
    # At 0.9/s from a level of about 0.05 (what the server refilled since): about a second.
    assert 0.5 < clock.now < 1.5, clock.now


@pytest.mark.asyncio
async def test_a_429_for_a_request_sent_after_the_slow_down_slows_again() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(clock, start=lambda m: Limits(600, None))
    refusal = {**together_headers("10", "0"), "retry-after": "1"}
    first, second = await lim.acquire("m", COST), await lim.acquire("m", COST)
    lim.release(first, status=429, headers=refusal)
    lim.release(second, status=429, headers=refusal)  # sent before the slow-down: same wave
    assert lim.views()[0].requests_per_s == pytest.approx(9.0)
    third = await lim.acquire("m", COST)  # sent at the slowed rate, and refused again
    lim.release(third, status=429, headers=refusal)
    assert lim.views()[0].requests_per_s == pytest.approx(8.1, rel=0.01)
