"""fanout's engine: client, limiter, worker pool, state store, simulator and CLI.

What a notebook or script imports is this short list; everything else is private.
"""

from ._catalog import Catalog, Limits, ModelInfo
from ._client import DEFAULT_BASE_URL, ApiClient, Attempt, Usage
from ._clock import Clock, FakeClock, SystemClock
from ._engine import Engine, EngineSettings, RunStats
from ._exceptions import (
    ConfigError,
    FanoutError,
    JobFileInvalid,
    RunAborted,
    RunMismatch,
    StateError,
    UsageError,
)
from ._limiter import AdaptiveLimiter, Cost, Limiter, ModelView, NoLimit, Permit
from ._retry import Action, Backoff, Decision, classify_exception, classify_response
from ._store import JobOutcome, PendingJob, RunCounts, Store

__all__ = [
    "DEFAULT_BASE_URL",
    "Action",
    "AdaptiveLimiter",
    "ApiClient",
    "Attempt",
    "Backoff",
    "Catalog",
    "Clock",
    "ConfigError",
    "Cost",
    "Decision",
    "Engine",
    "EngineSettings",
    "FakeClock",
    "FanoutError",
    "JobFileInvalid",
    "JobOutcome",
    "Limiter",
    "Limits",
    "ModelInfo",
    "ModelView",
    "NoLimit",
    "PendingJob",
    "Permit",
    "RunAborted",
    "RunCounts",
    "RunMismatch",
    "RunStats",
    "StateError",
    "Store",
    "SystemClock",
    "Usage",
    "UsageError",
    "classify_exception",
    "classify_response",
]
