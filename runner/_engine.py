"""The worker pool: lanes -> workers -> writer, in one anyio task group.

::

    state.db --lane per model--> [hand-over, no buffer] --> N workers --> [hand-over] --> writer
              its unfinished jobs in line    one job each: the         what is ready,
              order; breaker, budget and     request, retries as       one transaction
              its limiter's permit           values

- A **lane** per model with unfinished jobs reads that model's jobs a page at a time (the
  pages of all lanes together about `EngineSettings.page_size`, so memory holds a page's
  worth plus N jobs whatever the file's length), and hands each to a worker only once the
  model may send it: its breaker lets it go (`runner._breaker`), the ``--max-cost`` budget
  has room, and the limiter has given the first attempt's permit (the model's buckets and
  concurrency window). Why lanes: with one queue in line order, workers held jobs of a
  model waiting on its bucket while another model's jobs queued behind them (head-of-line
  blocking): a file interleaving a 40/s and a 10/s model ran the first at 0.62 of its limit
  (bench/mixed_models.py). A model's waits now hold its own lane only. Jobs ready to go
  wait for a free worker in a short queue (`_HANDED`) shared by the lanes, first come
  first served, then each lane with one more: when workers are short, each model with a
  job ready gets its turn.
  At the start of a run a lane wakes the idle workers one per turn of the event loop
  (`_START_CROWD`), so the first requests are not held up while hundreds of others are
  built; so does a lane whose breaker lets held jobs go.
- Each **worker** owns one job at a time: it makes an attempt and acts on the attempt's
  `Decision`: done, fail, retry after a backoff (waiting for the limiter again), or abort
  the run. A job keeps its worker while it backs off; the pool has that many jobs in hand
  at most. The breakers stop sending a model whose first answers refuse it, and stop the
  run when the server cannot be reached; either way the jobs concerned stay pending and
  `RunStats.aborted` says why, once.
- The **writer** is the only task that writes results, by group commit: it waits for a
  result, takes every one made meanwhile, commits them in one transaction, and repeats. No
  timer and no batch size hold a result back.

Results are recorded by job id; the output file is written in id (input) order from the
state file, so the order in which lanes send changes nothing in it.

What a SIGKILL loses. A worker hands its result to the writer and waits until it is
committed before it takes another job (`_Handover`: one turn of the event loop), and the
writer commits on the loop's thread (`Engine._writer` says why). A job answered and not
committed is therefore its worker's: the answer on its way or being read, or the result
waiting for that commit. At most ``concurrency`` jobs, whatever the timing
(`tests/runner/test_crash.py` kills runs to check it). Measured with `bench/kill_window.py`
(bench/RESULTS.md, "kill window"): at zero latency the server answers faster than one
Python process reads, so a kill finds many of the requests in flight answered and unread;
at 50 ms latency, a few.

Stopping. `Engine.request_stop` (first Ctrl-C / SIGTERM) stops the lanes, lets in-flight
attempts finish for up to ``grace`` seconds (no new attempt starts, backoff sleeps end at
once), then cancels what is left; the writer commits everything it received. A second
request cancels in-flight work at once. A job whose attempt was cut short is not recorded:
it stays pending and a rerun sends it again; a result already made is handed to the writer
before any wait, so a stop never drops an answer that was read. Cancellation is a status
here, never an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, TypeVarTuple

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._breaker import (
    PATIENCE,
    PROBES,
    UNREACHABLE_AFTER,
    UNREACHABLE_AT_START,
    Admission,
    GateState,
    ModelGate,
    unreachable_reason,
)
from ._budget import Budget
from ._client import ApiClient, Attempt
from ._clock import Clock, SystemClock
from ._exceptions import StateError, first_fanout_error
from ._limiter import Cost, Limiter, Permit
from ._retry import CONNECTION_ERROR, Action, Backoff, Decision
from ._schema import Status
from ._store import JobOutcome, PendingJob, Store

__all__ = ["Engine", "EngineSettings", "RunStats"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# The smallest page a lane reads (runner/_store.py `Store.unfinished_page`); the pages of
# all lanes together are about `EngineSettings.page_size`, so memory stays flat whatever the
# number of models (a file of 1,000 models holds 16,000 jobs in pages, not a million).
_MIN_LANE_PAGE = 16

# Jobs ready to send (their permits taken) that may wait for a free worker, from all lanes,
# first come first served; a lane waits with one more when it is full. Not 0: each job then
# costs its lane a wake-up of its own (5% more CPU per job at zero latency, 15,000 jobs at
# concurrency 64, three runs each: 5.69-5.87 s of CPU against 5.39-5.54 s with the single
# queue of before; 5.23-5.58 s with 16). Not the concurrency: a job in it holds a permit
# taken early, and at most this many (plus one a lane) go out later than their permits.
_HANDED = 16

# The start of a run: while more workers than this wait for a job, a lane wakes them one
# per turn of the event loop (for at most 2 x concurrency jobs, then never again). Woken
# together, a thousand workers would each build and send a request in the same turn (0.3-
# 0.6 ms of CPU each here) while the first ones' connections wait on the rest: measured at
# 1,000 in flight, first-wave latency was 1.1 s over the server's 2 s. Pacing for good
# instead costs 10-25% of the throughput at zero latency, where workers finish faster
# than one per turn and some would always be waiting.
_START_CROWD = 16

# Seconds between WAL checkpoints while the writer commits (see `Engine._writer`). What a
# checkpoint copies is at most this long's commits (a few MB at 3,000 results/s); it holds
# no result back: results are committed to the WAL before any checkpoint.
_CHECKPOINT_EVERY = 0.5


@dataclass
class EngineSettings:
    concurrency: int = 64
    max_attempts: int = 6
    grace: float = 10.0  # seconds in-flight requests may finish after a stop request
    page_size: int = 1000
    # the breakers' thresholds (runner/_breaker.py says why these)
    probes: int = PROBES  # a model's jobs in flight until it answers; as many refusals trip it
    patience: float = PATIENCE  # seconds a model's probes may go unanswered before the rest go
    unreachable_after: float = UNREACHABLE_AFTER  # seconds of failed connections: stop the run
    unreachable_at_start: float = UNREACHABLE_AT_START  # the same, before any answer came


@dataclass
class RunStats:
    """Live counters, read by the progress display."""

    requests: int = 0  # attempts that reached the server or failed in transport
    retries: int = 0
    rate_limited: int = 0
    succeeded: int = 0  # settled in this process
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # model -> [prompt, completion] tokens settled in this process (for the live cost)
    tokens_by_model: dict[str, list[int]] = field(default_factory=dict)
    in_flight: int = 0
    # Why the server refused the run, or some of its models, with the fix; None if it did
    # not. Jobs it concerns are left pending (the same command resumes them).
    aborted: str | None = None
    refused: dict[str, str] = field(default_factory=dict)  # model -> why it was stopped
    over_budget: str | None = None  # --max-cost stopped dispatching: why, with the way on
    errors_by_code: dict[str, int] = field(default_factory=dict)


class Engine:
    """Runs the unfinished jobs of one run to completion (or until stopped)."""

    def __init__(
        self,
        store: Store,
        run_id: int,
        client: ApiClient,
        limiter: Limiter,
        settings: EngineSettings | None = None,
        *,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        on_commit: Callable[[list[JobOutcome]], None] | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.store = store
        self.budget = budget  # --max-cost: checked before each job is sent
        self.run_id = run_id
        self.client = client
        self.limiter = limiter
        self.settings = settings or EngineSettings()
        self.clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.stats = RunStats()
        self.on_commit = on_commit
        self.stopping = False  # no new job and no new attempt
        self.interrupted = False  # some work was left undone on purpose
        self._feed_scope: anyio.CancelScope | None = None
        self._work_scope: anyio.CancelScope | None = None
        self._db_lock = anyio.Lock()
        self._sleepers: set[anyio.CancelScope] = set()  # workers waiting out a backoff
        self._gates: dict[str, ModelGate] = {}  # per model: probing, open or tripped
        self._refused: set[str] = set()  # models tripped: their lanes stop
        self._released: list[JobOutcome] = []  # held refusals to record, for the workers
        self._down_since: float | None = None  # first failed connection since an answer
        self._answered = False  # some HTTP answer came in this session

    # -- control ----------------------------------------------------------------

    def request_stop(self, *, hard: bool = False) -> None:
        """Stop dispatching; with ``hard``, also cancel in-flight requests now."""
        self.interrupted = True
        self.stopping = True
        if self._feed_scope is not None:
            self._feed_scope.cancel()
        for scope in self._sleepers:
            scope.cancel()
        if hard and self._work_scope is not None:
            self._work_scope.cancel()
        elif self._work_scope is not None and self.settings.grace >= 0:
            self._work_scope.deadline = min(
                self._work_scope.deadline, anyio.current_time() + self.settings.grace
            )

    # -- the pool ---------------------------------------------------------------

    async def run(self) -> RunStats:
        """Send every unfinished job; a state write failure ends the run as one `StateError`.

        When the writer cannot commit (disk full, file gone read-only), what was committed
        stays committed; the workers' sends then fail on the closed stream, and those
        follow-on errors are dropped so the user sees the cause, once.
        """
        try:
            return await self._run()
        except BaseExceptionGroup as group:
            state = first_fanout_error(group)
            if not isinstance(state, StateError):
                raise
            raise StateError(
                f"{state}. Results committed before this are safe: fix the cause and rerun "
                "the same command to resume."
            ) from None

    async def _run(self) -> RunStats:
        n = self.settings.concurrency
        results = _Handover()
        async with anyio.create_task_group() as outer:
            outer.start_soon(self._writer, results)
            try:
                with anyio.CancelScope() as self._work_scope:
                    if self.stopping:
                        self._work_scope.cancel()
                    async with anyio.create_task_group() as tg:
                        send, receive = anyio.create_memory_object_stream[_Ticket](_HANDED)
                        tg.start_soon(self._lanes, send)
                        async with receive:
                            for _ in range(n):
                                tg.start_soon(self._worker, receive.clone(), results)
                if self._work_scope.cancelled_caught:
                    self.interrupted = True
                for gate in self._gates.values():  # refusals too few to trip a model
                    self._released.extend(gate.unsettled())
                results.items.extend(self._take_released())
            finally:
                results.close()
        if self.stats.refused:
            reasons = list(self.stats.refused.values())
            if self.stats.aborted is not None:
                reasons.insert(0, self.stats.aborted)
            self.stats.aborted = (
                reasons[0]
                if len(reasons) == 1
                else f"{len(reasons)} causes:\n  " + "\n  ".join(reasons)
            )
        return self.stats

    async def _lanes(self, tickets: MemoryObjectSendStream[_Ticket]) -> None:
        """Start one lane per model that has unfinished jobs; return when all have ended."""
        async with tickets:
            with anyio.CancelScope() as self._feed_scope:
                if self.stopping:
                    return
                models = await self._db(self.store.unfinished_models, self.run_id)
                # Look-ahead: a page per lane, the pages together about one page_size.
                page = max(_MIN_LANE_PAGE, self.settings.page_size // max(1, len(models)))
                async with anyio.create_task_group() as tg:
                    for model in models:
                        tg.start_soon(self._lane, model, page, tickets.clone())

    async def _lane(
        self, model: str, page_size: int, tickets: MemoryObjectSendStream[_Ticket]
    ) -> None:
        """Hand ``model``'s unfinished jobs, in line order, to the workers, each once the
        model may send it (its breaker, the budget and its limiter): the waits of one model
        hold up no worker and no other model."""
        async with tickets:
            gate = self._gate(model)
            ramp = 2 * self.settings.concurrency  # paced hand-offs left (see _START_CROWD)
            after = 0
            while True:
                page = await self._db(
                    self.store.unfinished_page, self.run_id, after, page_size, model
                )
                if not page:
                    return
                for job in page:
                    if self.stopping or model in self._refused:
                        return  # left pending (runner/_breaker.py for a refused model)
                    probe = False
                    if gate.state is not GateState.OPEN:
                        admitted = await self._admit(gate)
                        if admitted is None:
                            return
                        probe = admitted[0] is Admission.PROBE
                        if admitted[1]:  # the jobs it held go now: pace them as at the start
                            ramp = 2 * self.settings.concurrency
                    ticket = _Ticket(job, probe)
                    handed = False
                    try:
                        if self.budget is not None:
                            if not self.budget.admit(job):
                                self.stats.over_budget = self.budget.stopped
                                self.request_stop()  # --max-cost: what is in flight finishes
                                return
                            ticket.budgeted = True
                        ticket.permit = await self.limiter.acquire(model, _cost(job))
                        crowd = tickets.statistics().tasks_waiting_receive > _START_CROWD
                        await _put(tickets, ticket)
                        handed = True
                        if ramp and crowd:
                            ramp -= 1  # the idle worker that took it starts it alone
                            await anyio.lowlevel.checkpoint()
                        else:
                            ramp = 0  # from now on as fast as the workers take them
                    finally:
                        # (cancelled in `send` after a worker took it: the worker has it)
                        if not handed and not ticket.taken:
                            self._drop(ticket)
                after = page[-1].id

    def _gate(self, model: str) -> ModelGate:
        gate = self._gates.get(model)
        if gate is None:
            gate = self._gates[model] = ModelGate(
                model, self.settings.probes, self.settings.patience
            )
        return gate

    def _drop(self, ticket: _Ticket) -> None:
        """A ticket no worker will act on: undo what its lane took for it."""
        if ticket.permit is not None:
            self.limiter.release(ticket.permit, status=None, headers=None)
        if ticket.probe:
            self._gates[ticket.job.model].give_back()
        if self.budget is not None and ticket.budgeted:
            self.budget.settle(ticket.job)

    async def _worker(
        self, tickets: MemoryObjectReceiveStream[_Ticket], results: _Handover
    ) -> None:
        async with tickets:
            while True:
                try:
                    ticket = await _next(tickets)
                except anyio.EndOfStream:
                    return
                ticket.taken = True  # this worker's now (its lane undoes nothing)
                if self.stopping:
                    self._drop(ticket)  # leave it pending; drain so the lanes are not blocked
                    continue
                try:
                    outcome = await self._process(ticket)
                finally:
                    if self.budget is not None and ticket.budgeted:
                        self.budget.settle(ticket.job)
                if outcome is not None:
                    self._count(outcome)
                    results.items.append(outcome)
                if self._released:
                    results.items.extend(self._take_released())
                if results.items:
                    await results.committed()

    def _count(self, outcome: JobOutcome) -> None:
        if outcome.status == Status.SUCCEEDED:
            self.stats.succeeded += 1
        else:
            self.stats.failed += 1

    def _take_released(self) -> list[JobOutcome]:
        released, self._released = self._released, []
        for outcome in released:
            self._count(outcome)
        return released

    async def _process(self, ticket: _Ticket) -> JobOutcome | None:
        """Attempt one job until it settles: its outcome to record, or None if it is left
        pending (stopped, refused model) or held by its model's breaker."""
        job = ticket.job
        gate = self._gates[job.model]
        settled = None
        try:
            settled = await self._attempts(job, ticket.permit)
        finally:
            if settled is None and ticket.probe:
                gate.give_back()
        if settled is None:
            return None
        outcome, status, decision = settled
        if gate.state is GateState.OPEN:
            return outcome
        keep, released = gate.settle(outcome, status, decision)
        self._released.extend(released)
        if gate.reason is not None and job.model not in self._refused:
            self._refused.add(job.model)
            self.stats.refused[job.model] = gate.reason
        return keep

    async def _admit(self, gate: ModelGate) -> tuple[Admission, bool] | None:
        """Wait for the model's breaker to let the job go: (how, whether it waited); None:
        leave it pending."""
        waited = False
        while True:
            if self.stopping:
                return None
            admission = gate.admit(self.clock.monotonic())
            if admission is Admission.REFUSED:
                return None
            if admission is not Admission.WAIT:
                return admission, waited
            waited = True
            with anyio.move_on_after(gate.seconds_left(self.clock.monotonic())) as scope:
                await gate.wait()  # (a stop cancels the lanes' scope)
            if scope.cancelled_caught and not self.stopping:
                gate.lift()  # the probes are being worked on: the model's refusals come at once

    async def _attempts(
        self, job: PendingJob, permit: Permit | None
    ) -> tuple[JobOutcome, int | None, Decision] | None:
        """Attempt one job until it settles: (outcome, last HTTP status, last decision);
        None if it was left pending on purpose (stopped, the run aborted). ``permit`` is
        the limiter's for the first attempt (its lane waited for it); a retry waits for the
        model's buckets again and keeps the job's concurrency slot (``keep_slot``: a worker
        never queues for a slot behind jobs that wait for a worker, runner/_adaptive.py)."""
        started = self.clock.wall()
        attempt_no = 0
        last: Attempt | None = None
        max_attempts = self.settings.max_attempts
        held: Permit | None = None  # the last attempt's permit, its slot kept for a retry
        try:
            while True:
                if permit is None:
                    permit = await self.limiter.acquire(job.model, _cost(job), retry_of=held)
                    held = None
                sent: Attempt | None = None
                try:
                    if self.stopping:
                        return None  # not sent (again): it stays pending for the rerun
                    attempt_no += 1
                    self.stats.requests += 1
                    self.stats.in_flight += 1
                    try:
                        sent = await self.client.post(job.endpoint, job.body)
                    finally:
                        self.stats.in_flight -= 1
                finally:
                    usage = sent.usage if sent is not None else None
                    used, permit = permit, None
                    keep = sent is not None and sent.decision.action is not Action.DONE
                    self.limiter.release(
                        used,
                        status=sent.status if sent is not None else None,
                        headers=sent.headers if sent is not None else None,
                        prompt_tokens=usage.prompt_tokens if usage else None,
                        completion_tokens=usage.completion_tokens if usage else None,
                        keep_slot=keep,
                    )
                    if keep:
                        held = used
                assert sent is not None  # the post returned (it never raises for HTTP trouble)
                last = sent
                decision = last.decision
                if last.status is not None:
                    self._down_since = None  # the server answered: it is reachable
                    self._answered = True
                if decision.rate_limited:
                    self.stats.rate_limited += 1
                if decision.action is Action.DONE:
                    outcome = self._outcome(job, last, attempt_no, started, Status.SUCCEEDED)
                    return outcome, last.status, decision
                self.stats.errors_by_code[decision.code] = (
                    self.stats.errors_by_code.get(decision.code, 0) + 1
                )
                if decision.action is Action.ABORT:
                    self._abort(decision.message)
                    return None
                unreachable = decision.code == CONNECTION_ERROR and last.status is None
                if unreachable and self._unreachable_for_good(decision):
                    return None
                if decision.action is Action.FAIL or (
                    attempt_no >= max_attempts and not unreachable
                ):  # a failure to connect while nothing answers says nothing about the job
                    outcome = self._outcome(job, last, attempt_no, started, Status.FAILED)
                    return outcome, last.status, decision
                self.stats.retries += 1
                delay = self.backoff.delay(min(attempt_no, max_attempts), decision)
                await self._backoff_sleep(delay)
                if self.stopping:
                    return None
        finally:
            if held is not None:
                self.limiter.release(held, status=None, headers=None)  # gives its slot up

    def _abort(self, reason: str) -> None:
        """The whole run is refused: stop, leave every unsettled job pending."""
        if self.stats.aborted is None:
            self.stats.aborted = reason
        self.request_stop()

    def _unreachable_for_good(self, decision: Decision) -> bool:
        """Note a failed connection; True (and the run aborted) once nothing has answered
        for ``unreachable_after`` seconds since the first (``unreachable_at_start`` if
        nothing has answered at all yet: runner/_breaker.py)."""
        now = self.clock.monotonic()
        if self._down_since is None:
            self._down_since = now
            return False
        settings = self.settings
        window = settings.unreachable_after if self._answered else settings.unreachable_at_start
        if now - self._down_since < window:
            return False
        base_url = getattr(self.client, "base_url", "the server")
        self._abort(unreachable_reason(base_url, decision.message, window))
        return True

    async def _backoff_sleep(self, seconds: float) -> None:
        """Sleep before a retry; a stop request cuts the sleep short."""
        with anyio.CancelScope() as scope:
            self._sleepers.add(scope)
            try:
                await self.clock.sleep(seconds)
            finally:
                self._sleepers.discard(scope)

    def _outcome(
        self, job: PendingJob, last: Attempt, attempt_no: int, started: float, status: str
    ) -> JobOutcome:
        decision = last.decision
        usage = last.usage
        code = message = None
        if status == Status.FAILED:
            code = decision.code
            message = decision.message
            if decision.retryable:
                code = f"{decision.code}_exhausted"
                message = f"{decision.message} (gave up after {attempt_no} attempts)"
        body_text = None
        if last.body is not None and last.status is not None:
            # A success's body was parsed as a JSON object already; store it verbatim.
            if status == Status.SUCCEEDED:
                body_text = last.body.decode("utf-8", "replace")
            else:
                body_text = _as_json_text(last.body)
        if usage is not None:
            prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
            self.stats.prompt_tokens += prompt  # None: not counted
            self.stats.completion_tokens += completion
            tokens = self.stats.tokens_by_model.get(job.model)
            if tokens is None:
                tokens = self.stats.tokens_by_model[job.model] = [0, 0]
            tokens[0] += prompt
            tokens[1] += completion
        return JobOutcome(
            id=job.id,
            status=status,
            attempts=job.attempts + attempt_no,
            response_status=last.status,
            response_body=body_text,
            request_id=last.request_id,
            error_code=code,
            error_message=message,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            total_tokens=usage.total_tokens if usage else None,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
            latency_ms=round(last.latency * 1000.0, 3),
            started_at=started,
            finished_at=self.clock.wall(),
            ttft_ms=None if last.ttft is None else round(last.ttft * 1000.0, 3),
            ttfa_ms=None if last.ttfa is None else round(last.ttfa * 1000.0, 3),
        )

    async def _writer(self, results: _Handover) -> None:
        """Group commit: wait for a result, take every one made meanwhile, commit them in one
        transaction, repeat.

        No timer holds a result back, and the commit runs here, on the event loop's thread:
        run in a worker thread, a commit of 1 ms took 38 ms (median) to come back at zero
        latency (the thread's wake-up waits for the loop, and the GIL), while results piled
        up behind it. A commit does no fsync (`Store`: WAL, synchronous=NORMAL); the
        checkpoints, which do, run in a thread beside it every `_CHECKPOINT_EVERY` seconds.
        """
        with self.store.deferred_checkpoints():
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._checkpointer)
                while (batch := await results.take()) is not None:
                    self._commit(batch)
                    results.done()
                tg.cancel_scope.cancel()

    async def _checkpointer(self) -> None:
        while True:
            await anyio.sleep(_CHECKPOINT_EVERY)
            await self._db(self.store.checkpoint)

    def _commit(self, items: list[JobOutcome]) -> None:
        self.store.record(items)
        if self.on_commit is not None:
            self.on_commit(items)

    async def _db(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run a store call (a page read, a checkpoint) in a worker thread, one at a time."""
        async with self._db_lock:
            return await anyio.to_thread.run_sync(fn, *args)


async def _next(stream: MemoryObjectReceiveStream[T]) -> T:
    """The next item, at once if one is waiting (`anyio.EndOfStream` after the last).

    ``receive()`` yields to the event loop first even when an item is waiting; skipping
    that when one is ready saves a loop iteration per job (so does `_put`).
    """
    try:
        return stream.receive_nowait()
    except anyio.WouldBlock:
        return await stream.receive()


class _Handover:
    """Results from the workers to the writer, each worker waiting for its own commit.

    A worker appends its result to ``items`` and awaits `committed`, so it starts no other
    request while a result of its own is not committed: what a SIGKILL can lose is one
    answer per worker (module docstring). The wait is one turn of the event loop when the
    writer is free: `committed` wakes the writer and yields, and the loop runs the woken
    writer (which commits everything appended so far, synchronously) before the worker. A
    stop that cancels the wait loses nothing: the result is in ``items`` already.
    """

    def __init__(self) -> None:
        self.items: list[JobOutcome] = []
        self._closed = False
        self._taken = 0  # commits the writer has taken items for
        self._done = 0  # ... and finished
        self._wake = anyio.Event()  # the writer waits on it for items
        self._commit = anyio.Event()  # set when a commit is done, then replaced

    async def committed(self) -> None:
        """Until everything in ``items`` now is committed."""
        needed = self._taken + 1  # the next commit takes what is here
        self._wake.set()
        await anyio.lowlevel.checkpoint()  # the writer, woken first, commits meanwhile
        while self._done < needed:  # it was busy: wait for its next commit
            await self._commit.wait()

    async def take(self) -> list[JobOutcome] | None:
        """(writer) Everything appended so far, at least one; None once closed and empty."""
        while not self.items:
            if self._closed:
                return None
            await self._wake.wait()
            self._wake = anyio.Event()
        items, self.items = self.items, []
        self._taken += 1
        return items

    def done(self) -> None:
        """(writer) The items last taken are committed."""
        self._done = self._taken
        self._commit.set()
        self._commit = anyio.Event()

    def close(self) -> None:
        """No more items will come: the writer commits what is left and ends."""
        self._closed = True
        self._wake.set()


@dataclass(slots=True, eq=False)
class _Ticket:
    """A job on its way from its lane to a worker, with what the lane took for it."""

    job: PendingJob
    probe: bool  # one of its model's probes (runner/_breaker.py)
    permit: Permit | None = None  # the limiter's, for the first attempt
    budgeted: bool = False  # counted in flight by --max-cost's budget
    taken: bool = False  # a worker has it: it undoes these if it does not send it


def _cost(job: PendingJob) -> Cost:
    """What the limiter charges for one attempt of ``job`` before its usage is known."""
    if job.est_prompt is None:  # a state file from before migration 0002
        return Cost(job.est_tokens, 0)
    return Cost(job.est_prompt, job.max_completion)


async def _put(stream: MemoryObjectSendStream[T], item: T) -> None:
    """Send ``item``, at once if the buffer has room, else waiting for room."""
    try:
        stream.send_nowait(item)
    except anyio.WouldBlock:
        await stream.send(item)


def _as_json_text(body: bytes) -> str:
    """The body as JSON text; non-JSON bodies (52x pages) are stored as a JSON string.

    Checked with ``json.loads``, not orjson: orjson takes 0.86 µs against 2.55 µs on a
    typical body, but in bench/overhead.py at concurrency 64 fanout's CPU per job was
    0.337-0.360 ms with it and 0.356-0.377 ms without, within the noise (bench/RESULTS.md,
    "orjson, issue 11"); and orjson accepts what ``json`` refuses and the other way round.
    """
    text = body.decode("utf-8", "replace")
    try:
        json.loads(text)
    except ValueError:
        return json.dumps(text)
    return text
