"""fanout's one exception tree.

::

    FanoutError                    anything fanout raises on purpose
    ├── UsageError                 bad options or environment (exit 2, nothing sent)
    │   ├── JobFileInvalid         the job file has bad lines (exit 2, nothing sent)
    │   ├── RunMismatch            the file or options changed since the run began (exit 2)
    │   └── ConfigError            config/tiers.toml or models.toml is wrong, or --tier unknown
    ├── StateError                 the state file cannot be opened, written or trusted
    └── RunAborted                 the server refused the whole run (bad key, no credit):
                                   jobs stay pending, rerun resumes once fixed

Lower-layer errors are wrapped with ``raise ... from exc``; the CLI turns each into a message
and the exit code of DESIGN.md. No message ever carries the API key.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs import LineError

__all__ = [
    "ConfigError",
    "first_fanout_error",
    "FanoutError",
    "JobFileInvalid",
    "RunAborted",
    "RunMismatch",
    "StateError",
    "UsageError",
]


class FanoutError(Exception):
    """Base of every error fanout raises on purpose."""

    exit_code = 1


class UsageError(FanoutError):
    exit_code = 2


class JobFileInvalid(UsageError):
    """The job file has lines that cannot be run; ``errors`` holds the first few."""

    def __init__(self, path: str, errors: Sequence[LineError], total: int) -> None:
        self.path = path
        self.errors = list(errors)
        self.total = total
        lines = [str(e) for e in self.errors]
        if total > len(self.errors):
            lines.append(f"... and {total - len(self.errors)} more")
        noun = "line" if total == 1 else "lines"
        super().__init__(f"{path}: {total} invalid {noun}; nothing was sent\n" + "\n".join(lines))


class RunMismatch(UsageError):
    """The same job file was run before with other content or options."""


class ConfigError(UsageError):
    """A config file is malformed, or an option names a tier that does not exist."""


class StateError(FanoutError):
    exit_code = 1


class RunAborted(FanoutError):
    exit_code = 1


def first_fanout_error(group: BaseExceptionGroup[BaseException]) -> FanoutError | None:
    """The first `FanoutError` in a (nested) exception group from a task group, if any."""
    for exc in group.exceptions:
        if isinstance(exc, FanoutError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = first_fanout_error(exc)
            if found is not None:
                return found
    return None
