"""fanout's engine: client, limiter, worker pool and state store (no CLI, no scoring).

A user imports :mod:`fanout`; this is the engine's own public face, for the eval stage and
for those who assemble a run themselves: `prepare_run` finds or imports a run in a `Store`,
`arun_jobs` (or `run_jobs` on a new loop) sends what is unfinished. The engine's parts
(the client, the limiter, the worker pool, the clock) are private: their tests import them
from their modules.
"""

from ._catalog import REASONING_STYLES, Catalog, Limits, ModelInfo
from ._client import DEFAULT_BASE_URL, TRANSPORTS
from ._engine import RunStats
from ._exceptions import (
    ConfigError,
    FanoutError,
    JobFileInvalid,
    RunAborted,
    RunMismatch,
    StateError,
    UsageError,
)
from ._lock import StateLock
from ._run import (
    LOOP_ENV,
    LOOPS,
    RunOptions,
    RunReport,
    arun_jobs,
    backend_options,
    export_results,
    prepare_run,
    run_jobs,
)
from ._schema import RunRow
from ._store import RunCounts, Store
from ._think import split_thinking
from ._usage import Usage, UsageCounts, read_usage

__all__ = [
    "DEFAULT_BASE_URL",
    "LOOPS",
    "LOOP_ENV",
    "REASONING_STYLES",
    "TRANSPORTS",
    "Catalog",
    "ConfigError",
    "FanoutError",
    "JobFileInvalid",
    "Limits",
    "ModelInfo",
    "RunAborted",
    "RunCounts",
    "RunMismatch",
    "RunOptions",
    "RunReport",
    "RunRow",
    "RunStats",
    "StateError",
    "StateLock",
    "Store",
    "Usage",
    "UsageCounts",
    "UsageError",
    "arun_jobs",
    "backend_options",
    "export_results",
    "prepare_run",
    "read_usage",
    "run_jobs",
    "split_thinking",
]
