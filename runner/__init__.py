"""fanout's engine: client, limiter, worker pool, state store, simulator and CLI.

What a notebook or script imports is this short list; everything else is private.
"""

from ._client import DEFAULT_BASE_URL, ApiClient, Attempt, Usage
from ._clock import Clock, FakeClock, SystemClock
from ._engine import Engine, EngineSettings, RunStats
from ._exceptions import (
    FanoutError,
    JobFileInvalid,
    RunAborted,
    RunMismatch,
    StateError,
    UsageError,
)
from ._limiter import Limiter, NoLimit, StaticCaps
from ._retry import Action, Backoff, Decision, classify_exception, classify_response
from ._store import JobOutcome, PendingJob, RunCounts, Store

__all__ = [
    "DEFAULT_BASE_URL",
    "Action",
    "ApiClient",
    "Attempt",
    "Backoff",
    "Clock",
    "Decision",
    "Engine",
    "EngineSettings",
    "FakeClock",
    "FanoutError",
    "JobFileInvalid",
    "JobOutcome",
    "Limiter",
    "NoLimit",
    "PendingJob",
    "RunAborted",
    "RunCounts",
    "RunMismatch",
    "RunStats",
    "StateError",
    "StaticCaps",
    "Store",
    "SystemClock",
    "Usage",
    "UsageError",
    "classify_exception",
    "classify_response",
]
