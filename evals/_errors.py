"""The eval stage's errors. They hang from runner's one tree (``runner/_exceptions.py``)::

    FanoutError
    └── UsageError                 bad options or input (exit 2, nothing sent)
        ├── EvalSetInvalid         the eval set has bad lines; ``errors`` holds the first few
        ├── ResultFileInvalid      a result file has a line that is not a Batch output line
        └── ScorerError            a scorer cannot be used: unknown name, a ``module:function``
                                   that does not import, a bad regex or JSON Schema, a target
                                   the scorer cannot read, or a user scorer that raised

All are mistakes in what the user gave, found before or while scoring; neither is a
wrong answer (a wrong answer is a `Score`, never an exception).
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs import LineError
from runner import UsageError

__all__ = ["EvalSetInvalid", "ResultFileInvalid", "ScorerError"]


class EvalSetInvalid(UsageError):
    """The eval set has lines that cannot be used, or no items at all.

    ``errors`` holds the first few `jobs.LineError` (each names file, line and reason) and
    ``total`` how many lines were bad in all.
    """

    def __init__(self, path: str, errors: Sequence[LineError], total: int) -> None:
        self.path = path
        self.errors = list(errors)
        self.total = total
        if total == 0:
            super().__init__(f"{path}: the eval set has no items")
            return
        lines = [str(e) for e in self.errors]
        if total > len(self.errors):
            lines.append(f"... and {total - len(self.errors)} more")
        noun = "line" if total == 1 else "lines"
        super().__init__(f"{path}: {total} invalid {noun}; nothing was run\n" + "\n".join(lines))


class ScorerError(UsageError):
    """A scorer cannot be used as asked; the message says which and why."""


class ResultFileInvalid(UsageError):
    """A line of a result file is not a Batch output line: not UTF-8, not JSON, or not an
    object. The message names the file and the line (``path:line: reason``)."""

    def __init__(self, path: str, line_no: int, reason: str) -> None:
        self.path = path
        self.line_no = line_no
        self.reason = reason
        super().__init__(f"{path}:{line_no}: {reason}")
