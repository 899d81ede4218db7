"""The tier-aware limiter that follows Together's headers, per model.

Together limits each model separately, per organisation, per second; it says what the
limits are on every response, and since 2026 they move (dynamic limits). So per model
this keeps:

- a **request bucket** and a **token bucket** (`_bucket.TokenBucket`), starting from the
  tier's row (``config/tiers.toml``), or from ``--rpm`` / ``--tpm``;
- a **concurrency window** for overload (AIMD), separate from the rate.

Acquire (before each attempt)
    Wait for a concurrency slot (FIFO), then, under the model's FIFO lock, until both
    buckets hold the cost: 1 request and the estimated tokens, ``prompt + max_tokens`` or,
    when the request sets no ``max_tokens``, ``prompt +`` the model's running average of
    completion tokens. The permit remembers when it was issued and how many requests and
    tokens had been issued before it.

Release (after each attempt), with what the server said
    1. Real usage corrects the estimate: the difference is refunded, or charged as debt.
    2. Headers move the buckets. The rate becomes the server's limit (the lower of static
       and dynamic, capped by ``--rpm``/``--tpm``). The level is lowered to what the server
       can have left *now*: its ``remaining`` when it admitted this request, plus the refill
       since then, minus what we have sent since then (counted by the permit) and not had
       refused (a refusal takes nothing from the server's bucket). A level above that would
       send requests the server will refuse; one below is left alone.
    3. 429: the request took nothing, so its charge is given back unless a header since
       has set the level from the server's own figures; then the model's buckets are
       drained to zero (that model only; the job itself waits ``retry-after`` in the
       worker) and the rate is scaled down by 10%, recovering 5% a second: the server's
       figures are right, but we were not exactly on them. A wave of 429s is one event: a
       429 for a request sent before the last slow-down does not slow down again (as TCP
       halves its window once per window of losses). Without the refunds, a first wave of
       refusals (a guessed tier against a lower limit) would count every refused request
       as spent: against 1/s, eight refusals cost eight idle seconds.
    4. 503 (overloaded): a burst of them halves the concurrency window, isolated ones leave
       it alone (below); each success adds ``1/window`` (additive increase, one slot per
       window of successes).

The concurrency window and 503s
    A 503 says the server is busy, not that we are why: a shared endpoint sends a few at
    random. Halving on each one (at most once a second, until issue 12) cost a run with 1%
    503s half its speed: at 1,100 answers/s, eleven 503s a second halved the window every
    second, and at +1/window a success it takes about 1,500 successes to grow back from 32
    to 64. A server over its capacity answers every request above it at once, so its 503s
    come together. So the window is halved, to half of what is in flight, only when a 503
    makes four among the last ten answers (``_OVERLOAD_BURST``, ``_OVERLOAD_SEEN``). With
    503s at random at a share p, about C(9,3) p^3 of them do: one in 12,000 at 1%. That is
    why four and not three (one in 290): a halving at a window of 512 takes 256 round trips
    to grow back. An overload is one event, as TCP halves once per window of losses:
    answers to requests sent before the last halving neither halve again nor count towards
    the next burst. Against a server that holds N requests the window then saws between
    N/2 and N + 1, about 3/4 of the capacity on average, each tooth costing four 503s among
    the 3/8 N^2 successes of the climb.

    Measured (``bench/overload.py``, 50 ms latency, concurrency 64, before / after): 1%
    503s ran at 0.46-0.50 / 0.90-0.94 of the no-fault rate (what is left is the jobs that
    wait out a retry's backoff, each holding a worker, and the last of them at the end);
    a server holding 16 got 20-21% / 3.7-4.9% of requests as 503s at 0.50-0.63 / 0.72-0.74
    of its capacity, with 2-7 / 0 jobs failed after six 503s; one holding 32 got 7.4-8.9%
    / 1.2-2.0%. Over a million answers on a fake clock (``--halvings``), 1% and 2% random
    503s halved the window 799 and 835 / 0 and 11 times. Also measured against 16, not
    kept: three among ten (2.7-4.0% of 503s, but 29 false halvings per million answers at 1%),
    three in a row (3.5-3.8%), a cut to 0.7 instead of half (with three among ten: 0.79-0.81
    of capacity, 4.0-4.3% of 503s), and growing 4x slower near the window of the last overload
    (0.77-0.79, 3.2-3.7%: a second rule for a few points, fewer the larger the server).

Told nothing (no tier, no caps), a model starts at tier 1's row as a guess; the first
response carrying rate-limit headers replaces it, and a first response without any (vLLM,
llama.cpp) lifts the guessed limit, leaving only the concurrency window and the 429
reaction. A given tier or cap stays in force when the server sends no headers.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import anyio
import httpx

from ._bucket import TokenBucket
from ._catalog import Limits
from ._clock import Clock, SystemClock
from ._ratelimit import parse_rate_headers

__all__ = ["AdaptiveLimiter", "Cost", "ModelView", "Permit"]

_MAX_SLEEP = 0.25  # re-check at least this often: a header may raise the rate meanwhile
_SCALE_FLOOR = 0.5
_SCALE_RECOVERY = 0.05  # per second
_EMA = 0.1  # weight of the newest completion in the running average
_FIRST_GUESS_COMPLETION = 256.0
_NO_CAPS = Limits(None, None)
_REFUSED_KEPT = 4096  # refusals remembered per model for header corrections (newest kept)
_OVERLOAD_SEEN = 10  # answers looked back on for a burst of 503s
_OVERLOAD_BURST = 4  # 503s among them that make an overload


@dataclass(frozen=True, slots=True)
class Cost:
    """What one request may cost: estimated prompt tokens and its completion budget."""

    prompt: int
    max_completion: int | None  # max_tokens (times n) when the request sets it


@dataclass(slots=True)
class Permit:
    model: str
    tokens: float  # tokens charged to the bucket
    issued_at: float  # monotonic
    requests_before: int  # requests issued for this model before this one
    tokens_before: float  # tokens issued for this model before this one
    prompt: int
    released: bool = False


@dataclass(frozen=True, slots=True)
class ModelView:
    """One model's limiter state, for the progress bar and tests."""

    model: str
    requests_per_s: float | None  # current rate (None: unlimited)
    tokens_per_s: float | None
    window: float  # concurrency window
    in_flight: int
    source: str  # where the limit comes from: tier, caps, headers, none
    rate_limited: int  # 429s seen
    overloaded: int  # 503s seen


@dataclass(slots=True)
class _Model:
    name: str
    requests: TokenBucket | None
    tokens: TokenBucket | None
    source: str
    provisional: bool  # a guessed limit that a header-less server lifts
    window: float
    in_flight: int = 0
    waiters: deque[anyio.Event] = field(default_factory=deque)
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    issued_requests: int = 0
    issued_tokens: float = 0.0
    server_rps: float | None = None
    server_tps: float | None = None
    scale: float = 1.0
    scale_stamp: float = 0.0
    # Requests issued when the rate was last scaled down for a 429: a 429 for a request
    # sent before that is the same wave of refusals, already reacted to.
    scaled_at: int = -1
    # The newest permit (by `Permit.requests_before`) whose headers lowered each bucket:
    # what was issued before it is in the server's own figures from then on.
    requests_synced: int = -1
    tokens_synced: int = -1
    # Refused requests, sorted by `Permit.requests_before`, with the tokens each was
    # charged: they took nothing from the server's buckets (at most `_REFUSED_KEPT`).
    refused: list[tuple[int, float]] = field(default_factory=list)
    # Whether each of the last `_OVERLOAD_SEEN` answers (to requests sent since the window
    # was last halved) was a 503: a ring, oldest first.
    answers: deque[bool] = field(default_factory=lambda: deque(maxlen=_OVERLOAD_SEEN))
    # Requests issued when the window was last halved: a 503 for a request sent before that
    # is the same overload, already reacted to.
    halved_at: int = -1
    completion_avg: float | None = None
    rate_limited: int = 0
    overloaded: int = 0


class AdaptiveLimiter:
    """Per-model request/token buckets and concurrency window that follow the server."""

    def __init__(
        self,
        *,
        start: Callable[[str], Limits] | None = None,
        caps: Limits = _NO_CAPS,
        max_concurrency: int = 64,
        clock: Clock | None = None,
        provisional: bool = False,
    ) -> None:
        """``start(model)`` gives the starting per-minute limits (a tier's row);
        ``caps`` are the user's ``--rpm``/``--tpm``, never exceeded whatever the server
        says; ``provisional`` marks the start as a guess to drop if no headers come."""
        self._start = start
        self._caps = caps
        self._max_window = float(max_concurrency)
        self._clock = clock or SystemClock()
        self._provisional = provisional
        self._models: dict[str, _Model] = {}

    # -- state per model ------------------------------------------------------------------

    def _model(self, name: str) -> _Model:
        m = self._models.get(name)
        if m is None:
            now = self._clock.monotonic()
            start = self._start(name) if self._start else Limits(None, None)
            rpm = _lower(start.rpm, self._caps.rpm)
            tpm = _lower(start.tpm, self._caps.tpm)
            source = "tier" if self._start else ("caps" if rpm or tpm else "none")
            m = _Model(
                name,
                TokenBucket(rpm / 60.0, now) if rpm else None,
                TokenBucket(tpm / 60.0, now) if tpm else None,
                source,
                self._provisional,
                self._max_window,
                scale_stamp=now,
            )
            self._models[name] = m
        return m

    def views(self) -> list[ModelView]:
        return [
            ModelView(
                m.name,
                m.requests.rate if m.requests else None,
                m.tokens.rate if m.tokens else None,
                m.window,
                m.in_flight,
                m.source,
                m.rate_limited,
                m.overloaded,
            )
            for m in self._models.values()
        ]

    # -- acquire ----------------------------------------------------------------------------

    def estimate(self, model: str, cost: Cost) -> float:
        """Tokens to charge for ``cost`` now (prompt + budget or learned completion)."""
        if cost.max_completion is not None:
            return float(cost.prompt + cost.max_completion)
        m = self._model(model)
        avg = _FIRST_GUESS_COMPLETION if m.completion_avg is None else m.completion_avg
        return cost.prompt + avg

    async def acquire(self, model: str, cost: Cost) -> Permit:
        m = self._model(model)
        await self._slot(m)
        try:
            tokens = self.estimate(model, cost)
            if not m.lock.locked():  # nobody queued for the buckets: no lock if they hold it
                permit, _ = self._take(m, tokens, cost.prompt)
                if permit is not None:
                    return permit
            async with m.lock:  # FIFO: waiters are served in arrival order
                while True:
                    permit, wait = self._take(m, tokens, cost.prompt)
                    if permit is not None:
                        return permit
                    await self._clock.sleep(min(wait, _MAX_SLEEP))
        except BaseException:
            self._free_slot(m)
            raise

    def _take(self, m: _Model, tokens: float, prompt: int) -> tuple[Permit | None, float]:
        """Charge both buckets and issue a permit, or (None, seconds to wait) if short."""
        now = self._clock.monotonic()
        self._recover_scale(m, now)
        wait = 0.0
        if m.requests is not None:
            wait = m.requests.wait_time(1, now)
        if m.tokens is not None:
            wait = max(wait, m.tokens.wait_time(tokens, now))
        if wait > 0:
            return None, wait
        if m.requests is not None:
            m.requests.take(1, now)
        if m.tokens is not None:
            m.tokens.take(tokens, now)
        permit = Permit(m.name, tokens, now, m.issued_requests, m.issued_tokens, prompt)
        m.issued_requests += 1
        m.issued_tokens += tokens
        return permit, 0.0

    async def _slot(self, m: _Model) -> None:
        if m.in_flight < max(1, int(m.window)) and not m.waiters:
            m.in_flight += 1
            return
        event = anyio.Event()
        m.waiters.append(event)
        try:
            await event.wait()  # _free_slot hands the slot over (in_flight already counted)
        except BaseException:
            if event.is_set():
                self._free_slot(m)  # handed over as we were cancelled: pass it on
            else:
                m.waiters.remove(event)
            raise

    def _free_slot(self, m: _Model) -> None:
        m.in_flight -= 1
        while m.waiters and m.in_flight < max(1, int(m.window)):
            m.waiters.popleft().set()
            m.in_flight += 1

    # -- release ----------------------------------------------------------------------------

    def release(
        self,
        permit: Permit,
        *,
        status: int | None,
        headers: Mapping[str, str] | None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> None:
        """Learn from one attempt; ``status`` None means nothing was sent or answered."""
        if permit.released:
            return
        permit.released = True
        m = self._model(permit.model)
        now = self._clock.monotonic()
        try:
            self._correct_tokens(m, permit, now, status, prompt_tokens, completion_tokens)
            if (
                status == 429
                and m.requests is not None
                and permit.requests_before > m.requests_synced
            ):
                m.requests.refund(1.0, now)  # refused: it took nothing (the drain follows)
            if headers is not None and status is not None:
                self._follow_headers(m, permit, headers, now)
            if status == 429:
                insort(m.refused, (permit.requests_before, permit.tokens))
                if len(m.refused) > _REFUSED_KEPT:
                    del m.refused[: len(m.refused) - _REFUSED_KEPT // 2]
                self._on_rate_limited(m, permit, now)
            if status is not None:
                self._follow_overload(m, permit, status)
        finally:
            self._free_slot(m)

    def _correct_tokens(
        self,
        m: _Model,
        permit: Permit,
        now: float,
        status: int | None,
        prompt_tokens: int | None,
        completion_tokens: int | None,
    ) -> None:
        if completion_tokens is not None:
            avg = m.completion_avg
            m.completion_avg = (
                float(completion_tokens) if avg is None else avg + _EMA * (completion_tokens - avg)
            )
        if m.tokens is None:
            return
        if status is None:
            used = 0.0  # never reached the server (stopped, or no answer): give it all back
        elif completion_tokens is not None:
            used = float((prompt_tokens or permit.prompt) + completion_tokens)
        elif status == 429:
            # A refused request costs nothing (the drain in _on_rate_limited follows); unless
            # a header since has set the level from the server's figures, which knew that.
            used = 0.0 if permit.requests_before > m.tokens_synced else permit.tokens
        else:
            used = float(permit.prompt)  # an error: assume the prompt was counted
        m.tokens.refund(permit.tokens - used, now)

    def _follow_headers(
        self, m: _Model, permit: Permit, headers: Mapping[str, str], now: float
    ) -> None:
        info = parse_rate_headers(_rate_headers(headers))
        if info.empty:
            if m.provisional:  # a server that sends no limits: drop the guess
                m.requests = m.tokens = None
                m.source = "none"
            m.provisional = False
            return
        m.provisional = False
        m.source = "headers"
        since = max(0.0, now - permit.issued_at)
        refused, refused_tokens = _refused_after(m.refused, permit.requests_before)
        if info.request_limit is not None:
            m.server_rps = info.request_limit
            m.requests = self._set_rate(m.requests, info.request_limit, self._caps.rpm, m, now)
            if info.request_remaining is not None:
                later = m.issued_requests - permit.requests_before - 1 - refused
                left = info.request_remaining + since * info.request_limit - later
                if m.requests.cap_level(left, now):
                    m.requests_synced = max(m.requests_synced, permit.requests_before)
        if info.token_limit is not None:
            m.server_tps = info.token_limit
            m.tokens = self._set_rate(m.tokens, info.token_limit, self._caps.tpm, m, now)
            if info.token_remaining is not None:
                later_tokens = (
                    m.issued_tokens - permit.tokens_before - permit.tokens - refused_tokens
                )
                left = info.token_remaining + since * info.token_limit - later_tokens
                if m.tokens.cap_level(left, now):
                    m.tokens_synced = max(m.tokens_synced, permit.requests_before)

    def _set_rate(
        self,
        bucket: TokenBucket | None,
        server_per_s: float,
        cap_per_min: float | None,
        m: _Model,
        now: float,
    ) -> TokenBucket:
        rate = server_per_s * m.scale
        if cap_per_min is not None:
            rate = min(rate, cap_per_min / 60.0)
        rate = max(rate, 1e-6)
        if bucket is None:
            bucket = TokenBucket(rate, now)
            bucket.cap_level(0.0, now)  # a limit just learned: start empty, not with a burst
            return bucket
        if abs(bucket.rate - rate) > 1e-9 * rate:
            bucket.set_rate(rate, now)
        return bucket

    def _on_rate_limited(self, m: _Model, permit: Permit, now: float) -> None:
        m.rate_limited += 1
        m.provisional = False
        if m.requests is not None:
            m.requests.cap_level(0.0, now)
        if m.tokens is not None:
            m.tokens.cap_level(0.0, now)
        if permit.requests_before < m.scaled_at:
            return  # sent before the last slow-down: the same wave of refusals
        m.scaled_at = m.issued_requests
        m.scale = max(_SCALE_FLOOR, m.scale * 0.9)
        m.scale_stamp = now
        self._apply_scale(m, now)

    def _recover_scale(self, m: _Model, now: float) -> None:
        if m.scale >= 1.0:
            m.scale_stamp = now
            return
        m.scale = min(1.0, m.scale + (now - m.scale_stamp) * _SCALE_RECOVERY)
        m.scale_stamp = now
        self._apply_scale(m, now)

    def _apply_scale(self, m: _Model, now: float) -> None:
        if m.requests is not None and m.server_rps is not None:
            m.requests = self._set_rate(m.requests, m.server_rps, self._caps.rpm, m, now)
        if m.tokens is not None and m.server_tps is not None:
            m.tokens = self._set_rate(m.tokens, m.server_tps, self._caps.tpm, m, now)

    def _follow_overload(self, m: _Model, permit: Permit, status: int) -> None:
        """The concurrency window after an answer: +1/window for a success; halved when
        this 503 makes `_OVERLOAD_BURST` among the last `_OVERLOAD_SEEN` answers."""
        overloaded = status == 503
        m.overloaded += overloaded
        if status < 400:
            m.window = min(self._max_window, m.window + 1.0 / max(1.0, m.window))
        if permit.requests_before < m.halved_at:
            return  # sent before the last halving: it tells nothing about the window now
        m.answers.append(overloaded)
        if overloaded and sum(m.answers) >= _OVERLOAD_BURST:
            m.window = max(1.0, min(m.window, float(m.in_flight)) / 2.0)
            m.halved_at = m.issued_requests
            m.answers.clear()

    def __repr__(self) -> str:
        return f"AdaptiveLimiter(models={sorted(self._models)}, caps={self._caps})"


_RATE_PREFIXES = ("x-ratelimit", "x-tokenlimit")
_RATE_PREFIXES_RAW = tuple(p.encode() for p in _RATE_PREFIXES)


def _rate_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The rate-limit headers alone, names lower-cased, in one pass over the response's.

    Parsing looks a dozen names up, and each lookup in `httpx.Headers` scans all of its
    headers; so does ``items()``, decoding every name and value on the way (py-spy, zero
    latency: 3% of the event loop's time in the lookups, 10-13% of the engine's own time
    with Together's 16 headers). The raw byte pairs are filtered before anything is decoded.
    """
    if isinstance(headers, httpx.Headers):
        return {
            name.lower().decode("latin-1"): value.decode("latin-1")
            for name, value in headers.raw
            if name.lower().startswith(_RATE_PREFIXES_RAW)
        }
    return {
        low: value
        for name, value in headers.items()
        if (low := name.lower()).startswith(_RATE_PREFIXES)
    }


def _refused_after(refused: list[tuple[int, float]], index: int) -> tuple[int, float]:
    """How many refused requests were issued after request ``index``, and their tokens.

    ``refused`` is sorted; answers come back roughly in the order requests went out, so
    the walk from its end is short (at most the refusals still in flight after ``index``).
    """
    count, tokens = 0, 0.0
    for i in range(len(refused) - 1, -1, -1):
        issued, charged = refused[i]
        if issued <= index:
            break
        count += 1
        tokens += charged
    return count, tokens


def _lower(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
