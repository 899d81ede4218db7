"""The progress bar: tqdm, fed by the writer's commits, with live figures in its postfix.

The postfix shows, in this order of priority: failed jobs, 429s, the cost so far, requests
and tokens per minute, retries, and each model's current request limit (what the adaptive
limiter is following: the tier, the caps or the server's headers). The line fits the
terminal: fields are dropped from the end of that list until it does (at 80 columns the
line keeps failed, 429 and cost), and tqdm shrinks the bar itself to what is left. Rates are
measured over a sliding window (the last `WINDOW` seconds of commits), so a resumed run or
a pause does not skew them: requests/min counts attempts sent (retries included),
tokens/min counts prompt and completion tokens of settled jobs.
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Callable

from tqdm import tqdm

from ._clock import Clock, SystemClock
from ._engine import RunStats
from ._limiter import Limiter, ModelView
from ._store import JobOutcome

__all__ = ["Progress"]

WINDOW = 30.0
MIN_BAR = 5  # columns the bar itself keeps before postfix fields are dropped


class _Bar(tqdm):  # type: ignore[type-arg]
    """tqdm without its monitor thread (``monitor_interval = 0``).

    The monitor only wakes bars that are not updated for a while; ours is updated by every
    commit and on a timer. A thread left running would also keep `fanout eval` from
    forking its second scoring process (evals/_parallel.py forks only a one-thread process).
    """

    monitor_interval = 0


class Progress:
    def __init__(
        self,
        *,
        total: int,
        done: int,
        stats: RunStats,
        limiter: Limiter | None = None,
        enabled: bool = True,
        clock: Clock | None = None,
        desc: str = "fanout",
        cost: Callable[[], float | None] | None = None,
        columns: Callable[[], int] | None = None,
    ) -> None:
        self.stats = stats
        self._limiter = limiter
        self._cost = cost  # USD so far (None: a price unknown)
        self._columns = columns or (lambda: shutil.get_terminal_size((80, 24)).columns)
        self._desc = desc
        self._total = total
        self._clock = clock or SystemClock()
        # (time, requests so far, tokens so far), oldest first, spanning about WINDOW s
        self._samples: deque[tuple[float, int, int]] = deque()
        self._bar = _Bar(
            total=total,
            initial=done,
            desc=desc,
            unit="job",
            disable=not enabled,
            dynamic_ncols=True,
            mininterval=0.25,
            smoothing=0.1,
        )

    def on_commit(self, items: list[JobOutcome]) -> None:
        self._bar.update(len(items))
        if self._bar.disable:
            return
        now = self._clock.monotonic()
        s = self.stats
        tokens = s.prompt_tokens + s.completion_tokens
        self._samples.append((now, s.requests, tokens))
        while len(self._samples) > 2 and now - self._samples[0][0] > WINDOW:
            self._samples.popleft()
        t0, r0, k0 = self._samples[0]
        span = now - t0
        fields = [f"fail={s.failed}", f"429={s.rate_limited}"]
        if self._cost is not None:
            cost = self._cost()
            fields.append("$?" if cost is None else f"${cost:,.2f}")
        if span > 0.5:
            fields.append(f"{(s.requests - r0) * 60 / span:,.0f} req/min")
            fields.append(f"{(tokens - k0) * 60 / span:,.0f} tok/min")
        fields.append(f"retry={s.retries}")
        if self._limiter is not None:
            limits = ", ".join(_limit_text(v) for v in self._limiter.views())
            if limits:
                fields.append(f"limit={limits}")
        self._bar.set_postfix_str(self._fit(fields), refresh=False)

    def _fit(self, fields: list[str]) -> str:
        """As many fields as fit beside the rest of the line, in order of priority."""
        total = self._total
        # tqdm's own part: "fanout:  12%|" + bar + "| 37/300 [00:01<00:08, 31.41job/s" + ", ]"
        fixed = (
            len(f"{self._desc}: 100%|")
            + MIN_BAR
            + len(f"| {total}/{total} [00:00<00:00, 9999.99job/s, ]")
        )
        room = self._columns() - fixed - 1
        kept: list[str] = []
        used = 0
        for field in fields:
            extra = len(field) + (2 if kept else 0)
            if used + extra > room:
                break
            kept.append(field)
            used += extra
        return ", ".join(kept)

    def close(self) -> None:
        self._bar.close()


def _limit_text(view: ModelView) -> str:
    """``Llama-3.1-8B: 600 rpm`` (per minute, as tiers are quoted), plus the window if cut."""
    name = view.model.rsplit("/", 1)[-1]
    rate = "unlimited" if view.requests_per_s is None else f"{view.requests_per_s * 60:,.0f} rpm"
    text = f"{name}: {rate}"
    if view.overloaded:
        text += f" x{view.window:.0f} in flight"
    return text
