"""Circuit breakers: stop sending what cannot succeed, leave it pending, say why once.

Both fit the way the engine reports a run the server refused (a bad key, no credit):
the cause goes into `RunStats.aborted` (printed once at the end, exit code 1), and the jobs
concerned stay pending, so the same command resumes them once the cause is fixed.

**Per model** (`ModelGate`). A model starts *probing*: at most ``PROBES`` of its jobs are
admitted until it answers, the others wait. Its first settled answers decide:

- a success opens it: from then on only the limiter paces it;
- ``PROBES`` answers that refuse the model (`runner._retry.refuses_model`: Together's
  ``model_not_available``, a 404, a 403) in the same words (status, code and message) trip
  it: its jobs are no longer sent, those refused included are left pending (not failed),
  and `refusal_reason` says the cause with its fix;
- anything else (another error, refusals in other words) opens it: those are the
  requests' own failures, recorded as usual.

A refusal waits for the verdict before it is recorded: as failed if the model opens or
the run ends first, not at all (pending) if it trips. Other models go on either way.

Thresholds, and why:

- ``PROBES = 3``: a mistyped model name costs 3 requests (it cost one per job: 3,000 for a
  3,000-job file). Three different jobs refused in the same words is the model, not the
  jobs: a request's own error names its own figures (Together's 403 for a request over
  the context names its token counts). One refusal could be a fluke (a proxy's 404, a
  deployment in progress); each further probe is another request spent.
- ``PATIENCE = 2.0`` seconds: a refusal of the model comes from the API's front door at
  once (Together's 4xx come back before any inference), so a probe unanswered this long is
  being worked on: the wait lifts and the model's other jobs go, rather than the pool
  waiting out a reasoning model's minute-long first answer at 3 in flight. The verdict
  still comes from the first answers; if it is a trip, what went out meanwhile is at most
  the concurrency.

**The target** (`Engine`, with ``UNREACHABLE_AFTER``). When attempts fail to connect
(connection refused, reset, DNS: ``connection_error``) and no HTTP answer of any kind has
come since the first of them, ``UNREACHABLE_AFTER`` seconds later the run stops
(``UNREACHABLE_AT_START`` if nothing has answered since the process started): every job is
left pending and `unreachable_reason` says so once. Until then an attempt that failed to
connect while nothing answers does not count against its job's ``max_attempts`` (it says
nothing about the job), so a server back within the window loses no job.

- ``UNREACHABLE_AFTER = 30.0`` seconds, once the server has answered: long enough for a
  server restart, a network blip or a laptop changing networks; short against what a
  closed port cost before: six attempts a job with backoff, about 48 minutes for 20,000
  jobs at concurrency 64.
- ``UNREACHABLE_AT_START = 5.0`` seconds, before any answer: nothing has worked yet, which
  is a wrong ``--base-url`` or a server not started far more often than a blip; the user
  hears it in seconds, and the rerun resumes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import anyio

from ._retry import Decision, refuses_model
from ._store import JobOutcome

__all__ = [
    "PATIENCE",
    "PROBES",
    "UNREACHABLE_AFTER",
    "UNREACHABLE_AT_START",
    "Admission",
    "GateState",
    "ModelGate",
    "refusal_reason",
    "unreachable_reason",
]

PROBES = 3
PATIENCE = 2.0
UNREACHABLE_AFTER = 30.0
UNREACHABLE_AT_START = 5.0


class GateState(enum.Enum):
    PROBING = "probing"
    OPEN = "open"
    TRIPPED = "tripped"


class Admission(enum.Enum):
    PROBE = "probe"  # send it, as one of the model's probes
    SEND = "send"  # send it
    WAIT = "wait"  # the probes are out: wait for a verdict (or for the patience to run out)
    REFUSED = "refused"  # the model is refused: leave the job pending


Refusal = tuple[int | None, str, str]  # status, code, message


@dataclass(eq=False)
class ModelGate:
    """One model's breaker; every method is called from the event loop's thread."""

    model: str
    probes: int = PROBES
    patience: float = PATIENCE
    state: GateState = GateState.PROBING
    admitted: int = 0  # probes admitted and not given back (a refused one keeps its place)
    started: float | None = None  # when the first probe was admitted (monotonic seconds)
    lifted: bool = False  # the patience ran out: no more waiting, the verdict still to come
    held: list[JobOutcome] = field(default_factory=list)  # refusals awaiting the verdict
    refusal: Refusal | None = None  # what the held ones were answered
    reason: str | None = None  # why it tripped
    _changed: anyio.Event | None = None

    def admit(self, now: float) -> Admission:
        if self.state is GateState.OPEN or self.lifted:
            return Admission.SEND
        if self.state is GateState.TRIPPED:
            return Admission.REFUSED
        if self.admitted < self.probes:
            self.admitted += 1
            if self.started is None:
                self.started = now
            return Admission.PROBE
        return Admission.WAIT

    def seconds_left(self, now: float) -> float:
        """Patience left before `lift` (waiters call it when this runs out)."""
        return self.patience if self.started is None else self.started + self.patience - now

    async def wait(self) -> None:
        """Until something changes: a verdict, or a probe's place given back."""
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    def lift(self) -> None:
        self.lifted = True
        self._notify()

    def give_back(self) -> None:
        """A probe ended unsettled (stopped, cancelled): another job may probe."""
        if self.state is GateState.PROBING:
            self.admitted -= 1
            self._notify()

    def settle(
        self, outcome: JobOutcome, status: int | None, decision: Decision
    ) -> tuple[JobOutcome | None, list[JobOutcome]]:
        """A job of this model settled: (the outcome to record now, if any; held ones
        released for recording). Trips the gate (`reason` set) on the ``probes``-th
        refusal in the same words."""
        refused = refuses_model(status, decision)
        if self.state is GateState.TRIPPED:
            return (None if refused else outcome), []
        if self.state is GateState.OPEN:
            return outcome, []
        key = (status, decision.code, decision.message)
        if refused and self.refusal in (None, key):
            self.refusal = key
            self.held.append(outcome)
            if len(self.held) >= self.probes:
                self.state = GateState.TRIPPED
                self.reason = refusal_reason(self.model, status, decision.message, len(self.held))
                self.held = []
                self._notify()
            return None, []
        self.state = GateState.OPEN  # a success, or failures of the requests' own
        released, self.held = self.held, []
        self._notify()
        return outcome, released

    def unsettled(self) -> list[JobOutcome]:
        """The refusals still held when the run ends: recorded as failures (too few to trip)."""
        released, self.held = self.held, []
        return released

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None


def refusal_reason(model: str, status: int | None, message: str, count: int) -> str:
    """The cause of a tripped model, with its fix, in one paragraph."""
    if "non-serverless" in message or "dedicated endpoint" in message:
        fix = (
            "it runs only on a dedicated endpoint: create and start one (the page the message "
            "names) and rerun, or choose a serverless model (config/models.toml marks the "
            "others)"
        )
    elif status == 403:
        fix = (
            "check that the API key may use this model (at Together a 403 also means the "
            "prompt plus max_tokens is over the model's context: lower --max-tokens)"
        )
    else:
        fix = (
            "check the model name: `fanout run --dry-run` flags names config/models.toml "
            "does not list (if every model is refused, check --base-url)"
        )
    return (
        f"model {model!r}: {message} ({count} requests, each refused the same way). Its "
        f"jobs were left pending and jobs of other models went on; {fix}."
    )


def unreachable_reason(base_url: str, message: str, seconds: float) -> str:
    return (
        f"cannot reach {base_url}: {message} (for {seconds:g} s every request failed to "
        "connect and none was answered). The jobs were left pending; check that the server "
        "is up and that --base-url (or TOGETHER_BASE_URL) points at it."
    )
