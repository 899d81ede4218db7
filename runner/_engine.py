"""The worker pool: lanes -> workers -> writer, in one anyio task group.

::

    state.db --lane per model--> [hand-over, 16] --> N workers --> [hand-over] --> writer
              retries when due, then its         one attempt     what is ready,
              unfinished jobs in line order;     each            one transaction
              breaker, budget, limiter permit        |
                    ^-------- a retry, with the time its backoff ends

- A **lane** per model with unfinished jobs sends that model's retries when they are due,
  then its jobs in line order, read a page at a time (the pages of all lanes together
  about `EngineSettings.page_size`, so memory holds a page's worth plus N jobs whatever
  the file's length). It hands a job to a worker only once the model may send it: its
  breaker lets it go (`runner._breaker`), the ``--max-cost`` budget has room, and the
  limiter has given the attempt's permit (the model's buckets and concurrency window).
  Why lanes: with one queue in line order, workers held jobs of a model waiting on its
  bucket while another model's jobs queued behind them (head-of-line blocking): a file
  interleaving a 40/s and a 10/s model ran the first at 0.62 of its limit
  (bench/mixed_models.py). A model's waits now hold its own lane only. Jobs ready to go
  wait for a free worker in a short queue (`_HANDED`) shared by the lanes, first come
  first served, then each lane with one more: when workers are short, each model with a
  job ready gets its turn. At the start of a run a lane wakes the idle workers one per
  turn of the event loop (`_START_CROWD`), so the first requests are not held up while
  hundreds of others are built; so does a lane whose breaker lets held jobs go.
- Each **worker** makes one attempt of one job at a time and acts on the attempt's
  `Decision`: done, fail, abort the run, or retry: the job goes back to its lane with the
  time its backoff ends. So a worker waits on the server only, never on a limit, a
  breaker or a backoff. (A retry that waited for the limiter in its worker could wait for
  good, the concurrency slots it needed held by lanes' jobs waiting for a worker: a run
  with faults hung so. And a backoff in the worker held it idle: 1% of 503s idled about 4%
  of the workers.) The breakers stop sending a model whose first answers refuse it, and
  stop the run when the server cannot be reached; either way the jobs concerned stay
  pending and `RunStats.aborted` says why, once.
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
attempts finish for up to ``grace`` seconds (no new attempt starts, retries waiting for
their time stay pending), then cancels what is left; the writer commits everything it
received. A second request cancels in-flight work at once. A job whose attempt was cut
short is not recorded: it stays pending and a rerun sends it again; a result already made
is handed to the writer before any wait, so a stop never drops an answer that was read.
Cancellation is a status here, never an error.
"""

from __future__ import annotations

import heapq
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
        self._lane_of: dict[str, _Lane] = {}  # model -> its lane
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
            self._feed_scope.cancel()  # the lanes, and the retries waiting in them
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
                        lane = self._lane_of[model] = _Lane(model, self._gate(model))
                        tg.start_soon(self._lane, lane, page, tickets.clone())

    async def _lane(
        self, lane: _Lane, page_size: int, tickets: MemoryObjectSendStream[_Ticket]
    ) -> None:
        """Hand one model's jobs to the workers, each once the model may send it: its
        retries when due, then its unfinished jobs in line order, each after its breaker,
        the budget and its limiter have let it go. Ends when the model has nothing left
        to send and nothing out with a worker that could come back as a retry."""
        model, gate = lane.model, lane.gate
        ramp = 2 * self.settings.concurrency  # paced hand-offs left (see _START_CROWD)
        fresh = _Pages(self, model, page_size)
        held_at_gate = False
        async with tickets:
            try:
                while True:
                    if self.stopping or model in self._refused:
                        return  # left pending (runner/_breaker.py for a refused model)
                    now = self.clock.monotonic()
                    ticket = lane.due(now)
                    if ticket is None:
                        job = await fresh.peek()
                        if job is None or (self._down_since is not None and lane.busy()):
                            # Nothing new to send; or the server cannot be reached: only
                            # the jobs already out go again, as their backoffs end, until
                            # it answers (`_attempt` wakes the lanes) or the run stops.
                            if not lane.busy():
                                return
                            await lane.wait(self.clock, lane.next_due(), now)
                            continue
                        probe = False
                        if gate.state is not GateState.OPEN:
                            admission = gate.admit(now)
                            if admission is Admission.REFUSED:
                                return
                            if admission is Admission.WAIT:  # the probes are out
                                held_at_gate = True
                                left = gate.seconds_left(now)
                                if left <= 0:
                                    gate.lift()  # they are being worked on: go on at once
                                else:
                                    await lane.wait(self.clock, now + left, now)
                                continue
                            probe = admission is Admission.PROBE
                        if held_at_gate:  # the jobs it held go now: pace them as at the start
                            held_at_gate = False
                            ramp = 2 * self.settings.concurrency
                        fresh.take()
                        ticket = _Ticket(job, probe, started=self.clock.wall())
                        if self.budget is not None:
                            if not self.budget.admit(job):
                                if probe:
                                    gate.give_back()
                                self.stats.over_budget = self.budget.stopped
                                self.request_stop()  # --max-cost: what is in flight finishes
                                return
                            ticket.budgeted = True
                    handed = False
                    lane.out += 1
                    try:
                        ticket.permit = await self.limiter.acquire(model, _cost(ticket.job))
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
                            lane.out -= 1
                            self._drop(ticket)
            finally:
                for ticket in lane.clear():  # retries not sent: left pending
                    self._drop(ticket)

    def _gate(self, model: str) -> ModelGate:
        gate = self._gates.get(model)
        if gate is None:
            gate = self._gates[model] = ModelGate(
                model, self.settings.probes, self.settings.patience
            )
        return gate

    def _drop(self, ticket: _Ticket) -> None:
        """A ticket that will not be sent: undo what its lane took for it."""
        if ticket.permit is not None:
            self.limiter.release(ticket.permit, status=None, headers=None)
            ticket.permit = None
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
                lane = self._lane_of[ticket.job.model]
                if self.stopping:
                    self._drop(ticket)  # leave it pending; drain so the lanes are not blocked
                    lane.back(None)
                    continue
                outcome: JobOutcome | None = None
                retry = False
                try:
                    outcome, retry = await self._process(ticket)
                finally:
                    if retry:
                        ticket.taken = False
                        lane.back(ticket)  # its lane sends it again when it is due
                    else:
                        if self.budget is not None and ticket.budgeted:
                            self.budget.settle(ticket.job)
                        lane.back(None)
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

    async def _process(self, ticket: _Ticket) -> tuple[JobOutcome | None, bool]:
        """One attempt of a job: (its outcome to record, if it settled and its breaker does
        not hold it; whether it is to be retried). Neither: it is left pending (stopped,
        the run aborted, refused model) or held by its model's breaker."""
        job = ticket.job
        gate = self._gates[job.model]
        settled: _Settled | float | None = None
        try:
            settled = await self._attempt(ticket)
        finally:
            if settled is None and ticket.probe:
                gate.give_back()
        if settled is None:
            return None, False
        if isinstance(settled, float):
            ticket.due = self.clock.monotonic() + settled
            return None, True
        outcome, status, decision = settled
        if gate.state is GateState.OPEN:
            return outcome, False
        keep, released = gate.settle(outcome, status, decision)
        self._released.extend(released)
        if gate.reason is not None and job.model not in self._refused:
            self._refused.add(job.model)
            self.stats.refused[job.model] = gate.reason
        return keep, False

    async def _attempt(self, ticket: _Ticket) -> _Settled | float | None:
        """Make one attempt of the ticket's job with the permit its lane took: the job's
        settlement (outcome, last HTTP status, last decision), the seconds to back off
        before its retry, or None if it was left pending on purpose (stopped, the run
        aborted, the server unreachable for good)."""
        job = ticket.job
        permit, ticket.permit = ticket.permit, None
        assert permit is not None
        sent: Attempt | None = None
        try:
            if self.stopping:
                return None  # not sent (again): it stays pending for the rerun
            ticket.attempts += 1
            self.stats.requests += 1
            self.stats.in_flight += 1
            try:
                sent = await self.client.post(job.endpoint, job.body)
            finally:
                self.stats.in_flight -= 1
        finally:
            usage = sent.usage if sent is not None else None
            self.limiter.release(
                permit,
                status=sent.status if sent is not None else None,
                headers=sent.headers if sent is not None else None,
                prompt_tokens=usage.prompt_tokens if usage else None,
                completion_tokens=usage.completion_tokens if usage else None,
            )
        assert sent is not None  # the post returned (it never raises for HTTP trouble)
        decision = sent.decision
        attempt_no, max_attempts = ticket.attempts, self.settings.max_attempts
        if sent.status is not None:
            self._answered = True
            if self._down_since is not None:  # the server answers again: lanes, go on
                self._down_since = None
                for lane in self._lane_of.values():
                    lane.wake()
        if decision.rate_limited:
            self.stats.rate_limited += 1
        if decision.action is Action.DONE:
            return self._outcome(ticket, sent, Status.SUCCEEDED), sent.status, decision
        self.stats.errors_by_code[decision.code] = (
            self.stats.errors_by_code.get(decision.code, 0) + 1
        )
        if decision.action is Action.ABORT:
            self._abort(decision.message)
            return None
        unreachable = decision.code == CONNECTION_ERROR and sent.status is None
        if unreachable and self._unreachable_for_good(decision):
            return None
        if decision.action is Action.FAIL or (
            attempt_no >= max_attempts and not unreachable
        ):  # a failure to connect while nothing answers says nothing about the job
            return self._outcome(ticket, sent, Status.FAILED), sent.status, decision
        self.stats.retries += 1
        return float(self.backoff.delay(min(attempt_no, max_attempts), decision))

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

    def _outcome(self, ticket: _Ticket, last: Attempt, status: str) -> JobOutcome:
        job, attempt_no, started = ticket.job, ticket.attempts, ticket.started
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
    started: float = 0.0  # wall clock when its lane first let it go
    permit: Permit | None = None  # the limiter's, for its next attempt
    budgeted: bool = False  # counted in flight by --max-cost's budget
    taken: bool = False  # a worker has it: it undoes these if it does not send it
    attempts: int = 0  # made in this session
    due: float = 0.0  # (a retry) monotonic time it may be sent again


_Settled = tuple[JobOutcome, int | None, Decision]  # outcome, last HTTP status, last decision


class _Lane:
    """One model's jobs out with workers and its retries waiting for their time.

    Touched only from the event loop's thread: the lane task reads it, workers hand
    tickets back with `back`, which wakes the lane if it waits.
    """

    def __init__(self, model: str, gate: ModelGate) -> None:
        self.model = model
        self.gate = gate
        self.out = 0  # tickets handed to workers and not back
        self._retries: list[tuple[float, int, _Ticket]] = []  # a heap by due time
        self._seq = 0
        self._waker: anyio.CancelScope | None = None

    def busy(self) -> bool:
        """Something may still come to send: a retry waiting, or a job with a worker."""
        return bool(self._retries) or self.out > 0

    def due(self, now: float) -> _Ticket | None:
        """The retry whose time has come first, if any."""
        if self._retries and self._retries[0][0] <= now:
            return heapq.heappop(self._retries)[2]
        return None

    def next_due(self) -> float | None:
        return self._retries[0][0] if self._retries else None

    def back(self, retry: _Ticket | None) -> None:
        """(a worker) Done with a ticket: settled or left pending (None), or to retry."""
        self.out -= 1
        if retry is not None:
            self._seq += 1
            heapq.heappush(self._retries, (retry.due, self._seq, retry))
        self.wake()

    def wake(self) -> None:
        """Cut the lane's `wait` short, if it waits: something has changed."""
        if self._waker is not None:
            self._waker.cancel()

    async def wait(self, clock: Clock, until: float | None, now: float) -> None:
        """Until ``until`` (monotonic; None: no limit) or a ticket comes back."""
        with anyio.CancelScope() as self._waker:
            try:
                if until is None:
                    await anyio.sleep_forever()
                else:
                    await clock.sleep(max(0.0, until - now))
            finally:
                self._waker = None

    def clear(self) -> list[_Ticket]:
        """The retries still waiting (the lane ends: they stay pending)."""
        waiting = [t for _, _, t in self._retries]
        self._retries.clear()
        return waiting


class _Pages:
    """A lane's unfinished jobs, in line order, read from the state file a page at a time."""

    def __init__(self, engine: Engine, model: str, page_size: int) -> None:
        self._engine = engine
        self._model = model
        self._size = page_size
        self._page: list[PendingJob] = []
        self._pos = 0
        self._after = 0
        self._done = False

    async def peek(self) -> PendingJob | None:
        """The next job (None after the last), not taken."""
        if self._pos == len(self._page) and not self._done:
            engine = self._engine
            self._page = await engine._db(
                engine.store.unfinished_page, engine.run_id, self._after, self._size, self._model
            )
            self._pos = 0
            if self._page:
                self._after = self._page[-1].id
            else:
                self._done = True
        return self._page[self._pos] if self._pos < len(self._page) else None

    def take(self) -> None:
        self._pos += 1


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
