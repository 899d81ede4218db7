"""``--max-cost``: stop dispatching before the spend would pass a budget.

Before a job is sent, `Budget.admit` adds up what the run has spent (the server's reported
usage at ``config/models.toml`` prices, earlier sessions included), what the jobs in flight
may still cost, and what this job may cost (its estimated prompt and its output budget:
``max_tokens`` × ``n``, or the estimate the store made for it), each at its model's price.
If that passes the budget the job is not sent: the engine stops dispatching, lets the jobs
in flight finish, and the run stays resumable (a rerun with a higher ``--max-cost`` goes
on). The estimate of what is in flight is an upper bound, so the spend stays at or under
the budget unless a model answers past its ``max_tokens`` or a line set none and the
default estimate was low.

A model with no price cannot be budgeted: its jobs are refused at the start (`unpriced`),
rather than spending an unknown amount.
"""

from __future__ import annotations

from collections.abc import Callable

from ._catalog import Catalog
from ._store import PendingJob

__all__ = ["Budget"]


class Budget:
    """The budget of one run (USD) and what is committed against it."""

    def __init__(self, max_cost: float, catalog: Catalog, spent: Callable[[], float | None]):
        self.max_cost = max_cost
        self._catalog = catalog
        self._spent = spent  # USD reported so far; None: a model used has no price
        self._in_flight: dict[int, float] = {}  # job id -> its cost at most, while sent
        self._in_flight_total = 0.0  # their sum, kept as jobs come and go (admit is per job)
        self.stopped: str | None = None  # why dispatching stopped, once it has

    def estimate(self, job: PendingJob) -> float | None:
        """USD this job may cost at most; None when its model has no price."""
        prompt = job.est_prompt if job.est_prompt is not None else job.est_tokens
        completion = job.max_completion
        if completion is None:
            completion = max(job.est_tokens - prompt, 0)
        return self._catalog.model(job.model).cost(prompt, completion)

    def admit(self, job: PendingJob) -> bool:
        """Whether the job may be sent; if not, `stopped` says why."""
        if self.stopped is not None:
            return False
        cost = self.estimate(job)
        spent = self._spent()
        if cost is None or spent is None:
            self.stopped = (
                f"--max-cost ${self.max_cost:,.2f}: model {job.model!r} has no price in "
                "config/models.toml, so its cost cannot be kept under a budget. Nothing of "
                "it was sent; add its price, or run without --max-cost."
            )
            return False
        committed = spent + self._in_flight_total
        if committed + cost > self.max_cost:
            self.stopped = (
                f"--max-cost ${self.max_cost:,.2f} reached: ${spent:,.4f} spent, "
                f"${committed - spent:,.4f} more at most in flight, and the next job may cost "
                f"${cost:,.4f}. The rest is left pending: rerun the same command with a "
                "higher --max-cost to go on."
            )
            return False
        self._in_flight[job.id] = cost
        self._in_flight_total += cost
        return True

    def settle(self, job: PendingJob) -> None:
        """The job's answer is in (its usage now counts as spent), or it was not sent."""
        cost = self._in_flight.pop(job.id, None)
        if cost is not None:
            self._in_flight_total = max(self._in_flight_total - cost, 0.0)

    def __repr__(self) -> str:
        return (
            f"<Budget max ${self.max_cost:,.2f} spent {self._spent()} "
            f"in flight {len(self._in_flight)} stopped={self.stopped is not None}>"
        )
