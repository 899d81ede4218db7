"""Reading a big eval set and scoring a big result file on two cores.

All of ``fanout score``'s time goes to pure Python work per line (JSON, checks,
extraction, scoring), one core's worth. On a machine with two cores or more, each file is
cut at the first line boundary past its middle: a forked child process reads the second
half while this one reads the first, with the very code the one-process path runs, and the
halves are joined in line order. The eval set's halves run first; the child that scores
the results is forked once the items are read, so it has them without their being sent.

The results are those of the one-process path, exactly. Only the plain case is split:
files of at least `MIN_BYTES`, two usable cores, no other thread (``fork``), built-in
scorers only (a user's scorer runs once per line, here, as it always did). Anything out of
the ordinary in either half (a line that is not plain UTF-8 or not a good item, an id in
both halves, an exception, a child that dies) and the file is read again in one process,
which raises, or words, exactly what it did before.

The child sends back plain values (tuples of fields, not objects), which pickle fast.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Mapping
from operator import attrgetter
from pathlib import Path
from types import TracebackType
from typing import Any

from jobs import LineError
from runner import Catalog

from ._evalset import EvalItem, _eval_item, _iter_items, read_evalset
from ._gc import gc_paused
from ._results import ModelScore, Scoring, read_result_lines, score_results

__all__ = ["MIN_BYTES", "read_evalset_split", "score_file"]

MIN_BYTES = 4 << 20  # smaller files: a second process costs more than it saves
_BLOCK = 1 << 20
_item_fields = attrgetter(*EvalItem.__slots__)


def read_evalset_split(path: str | Path) -> list[EvalItem]:
    """`read_evalset`, the second half of the lines read by a child process (see above)."""
    mid = _middle(path)
    if mid is None:
        return read_evalset(path)
    with gc_paused(), _Child(_item_rows, path, mid) as child:
        first = _items(path, 0, mid, 0)
        second = child.result() if first is not None else None
        if first is None or second is None:
            return read_evalset(path)
        items = first + [_eval_item(*row) for row in second]
    if not items or len({item.id for item in items}) != len(items):
        return read_evalset(path)  # no item, or an id twice: its error, worded
    return items


def score_file(
    path: Path,
    items: Mapping[str, EvalItem],
    *,
    label: str,
    scorer: str | None = None,
    style: str = "auto",
    catalog: Catalog | None = None,
) -> ModelScore:
    """`score_results` on the lines of a result file, the second half scored by a child."""
    mid = _middle(path) if not _user_scorer(items, scorer) else None
    if mid is not None:
        with gc_paused(), _Child(_result_rows, path, mid, items, scorer, style) as child:
            scoring = Scoring(items, scorer, style)
            try:
                for line in read_result_lines(path, 0, mid):
                    scoring.add(line)
                rows = child.result()
            except Exception:
                rows = None
            if rows is not None:
                scoring.merge(rows)
                return scoring.score(label, catalog)
    lines = read_result_lines(path)
    return score_results(lines, items, label=label, scorer=scorer, style=style, catalog=catalog)


def _user_scorer(items: Mapping[str, EvalItem], scorer: str | None) -> bool:
    """Whether any item is scored by a user's ``module:function`` (see `scorer_of`)."""
    if scorer is not None and ":" in scorer and any(not i.scorer for i in items.values()):
        return True
    return any(i.scorer is not None and ":" in i.scorer for i in items.values())


def _middle(path: str | Path) -> int | None:
    """Where the second half starts: just after the first newline past the middle of the
    file; None when the file is not worth splitting, or the machine cannot."""
    if not _can_fork():
        return None
    path = Path(path)
    try:
        size = path.stat().st_size
        if size < MIN_BYTES:
            return None
        with path.open("rb") as fh:
            fh.seek(size // 2)
            at = size // 2
            while block := fh.read(_BLOCK):
                newline = block.find(b"\n")
                if newline >= 0:
                    mid = at + newline + 1
                    return mid if mid < size else None
                at += len(block)
    except OSError:
        return None  # the one-process path says what is wrong
    return None


def _can_fork() -> bool:
    """Two usable cores, Linux (fork is the safe default there), no thread but this one."""
    if not sys.platform.startswith("linux"):
        return False
    return len(os.sched_getaffinity(0)) >= 2 and threading.active_count() == 1


# ------------------------------------------------------------------------- the eval set


def _items(path: str | Path, start: int, end: int | None, before: int) -> list[EvalItem] | None:
    """The items of the lines in bytes [start, end), ``before`` lines preceding them; None
    if any line is bad (not text, not a good item, an id repeated)."""
    items = []
    for entry in _iter_items(path, start, end, before):
        if isinstance(entry, LineError):
            return None
        items.append(entry)
    return items


def _item_rows(path: str | Path, start: int) -> list[tuple[Any, ...]] | None:
    """In the child: the second half's items, as tuples of their fields."""
    items = _items(path, start, None, _newlines(path, start))
    return None if items is None else [_item_fields(item) for item in items]


def _newlines(path: str | Path, end: int) -> int:
    """How many lines end before byte ``end``."""
    count = 0
    with Path(path).open("rb") as fh:
        left = end
        while left and (block := fh.read(min(_BLOCK, left))):
            count += block.count(b"\n")
            left -= len(block)
    return count


# ----------------------------------------------------------------------- the result file


def _result_rows(
    path: Path, start: int, items: Mapping[str, EvalItem], scorer: str | None, style: str
) -> list[tuple[str, str | None, tuple[Any, ...]]]:
    """In the child: the second half's results, as `Scoring.rows`."""
    scoring = Scoring(items, scorer, style)
    for line in read_result_lines(path, start, None, _newlines(path, start)):
        scoring.add(line)
    return scoring.rows()


# ------------------------------------------------------------------------------ the child


class _Child:
    """``fn(*args)`` run in a forked child process; `result` waits for what it returned,
    None if it raised or died. Leaving the block ends the child if it still runs."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # or the child would write what is buffered a second time
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_run, args=(send, fn, args), daemon=True)
        self._process.start()
        send.close()

    def result(self) -> Any:
        try:
            return self._receive.recv()
        except (EOFError, OSError):
            return None

    def __enter__(self) -> _Child:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()


def _run(send: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """The child's whole life: run ``fn``, send back its value (None if it raised)."""
    try:
        value = fn(*args)
    except BaseException:  # the parent does the work again, and raises what it raises
        value = None
    send.send(value)
    send.close()
