"""What a scorer is, and how one is found by name.

A scorer is a plain function ``(answer, item) -> Score``: ``answer`` is the extracted
answer text (None when the reply gave none), ``item`` the `EvalItem`. Built-in scorers
are registered under short names with `register_scorer`; `get_scorer` also accepts a
user's own as ``module:function`` (or ``path/to/file.py:function``), imported on first
use. A user's scorer may return a `Score` or just a bool::

    # my_scorers.py; run with --scorer my_scorers:ends_with_target
    def ends_with_target(answer, item):
        return answer is not None and answer.rstrip(". ").endswith(str(item.target))

A scorer normally reads the reply's text answer. One registered with
``reads="tool_calls"`` (the built-in ``tool_call``; a user function says so with an
attribute ``fn.reads = "tool_calls"``) gets instead the JSON text
``{"content": <the text answer or null>, "tool_calls": [{"name", "arguments"}, ...]}``,
``arguments`` as sent (a JSON text); it still gets None when the reply gave neither.

Whatever goes wrong with a user scorer (it does not import, is not callable, raises,
returns something else) becomes a `ScorerError` that names it.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import ScorerError
from ._evalset import EvalItem
from ._frozen import builder

__all__ = [
    "READS",
    "Score",
    "Scorer",
    "get_scorer",
    "register_scorer",
    "scorer_names",
    "scorer_reads",
]


@dataclass(frozen=True, slots=True)
class Score:
    """How one answer scored.

    ``value`` is in [0, 1] (the built-in scorers give 1 or 0); ``extracted`` is the answer
    the scorer read (a number, a letter, a JSON text) or None; ``reason`` says why in a few
    words; ``unparsed`` means no answer could be read at all: count it apart from wrong.
    """

    value: float
    correct: bool
    extracted: str | None
    reason: str
    unparsed: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.value <= 1.0:
            raise ValueError(f"a score's value is in [0, 1], got {self.value!r}")

    @classmethod
    def of(cls, correct: bool, extracted: str | None, reason: str) -> Score:
        """A right (1) or wrong (0) answer."""
        if cls is not Score:
            return cls(1.0 if correct else 0.0, correct, extracted, reason)
        return _score(1.0 if correct else 0.0, correct, extracted, reason, False)

    @classmethod
    def no_answer(cls, reason: str = "no answer") -> Score:
        """Nothing could be read from the reply (``unparsed``)."""
        if cls is not Score:
            return cls(0.0, False, None, reason, unparsed=True)
        return _score(0.0, False, None, reason, True)


_score = builder(Score)  # values 0 and 1 only, which __post_init__ would accept (see _frozen)


Scorer = Callable[[str | None, EvalItem], Score]
READS = ("answer", "tool_calls")  # what a scorer is given: the text, or the tool calls too

_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_REGISTRY: dict[str, Scorer] = {}  # name -> built-in or registered scorer
_LOADED: dict[str, Scorer] = {}  # "module:function" -> the imported scorer, guarded
_READS: dict[str, str] = {}  # name or "module:function" -> one of READS


def register_scorer(name: str, *, reads: str = "answer") -> Callable[[Scorer], Scorer]:
    """Decorator: make a scorer available by ``name`` (lower case; no ``:``); ``reads`` is
    ``"tool_calls"`` for a scorer that is given the reply's tool calls (module docstring)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"a scorer name is lower case letters, digits, - and _; got {name!r}")
    if reads not in READS:
        raise ValueError(f"reads must be one of {', '.join(READS)}, got {reads!r}")

    def add(fn: Scorer) -> Scorer:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"a scorer named {name!r} is already registered")
        _REGISTRY[name] = fn
        _READS[name] = reads
        return fn

    return add


def scorer_reads(name: str) -> str:
    """What the scorer ``name`` is given: ``"answer"`` or ``"tool_calls"`` (see `READS`)."""
    get_scorer(name)  # imports a user scorer, or raises for an unknown name
    return _READS.get(name, "answer")


def scorer_names() -> list[str]:
    """The registered names, sorted."""
    return sorted(_REGISTRY)


def get_scorer(name: str) -> Scorer:
    """The scorer registered as ``name``, or the user's ``module:function``."""
    if ":" in name:
        if name not in _LOADED:
            fn = _import(name)
            reads = getattr(fn, "reads", "answer")
            if reads not in READS:
                raise ScorerError(f"scorer {name!r}: reads must be one of {', '.join(READS)}")
            _READS[name] = reads
            _LOADED[name] = _guarded(name, fn)
        return _LOADED[name]
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(scorer_names())
        raise ScorerError(
            f"unknown scorer {name!r}: use one of {known}, or module:function for your own"
        ) from None


def _import(spec: str) -> Callable[..., Any]:
    module_name, _, attr = spec.rpartition(":")
    if not module_name or not attr.isidentifier():
        raise ScorerError(f"scorer {spec!r}: write a user scorer as module:function")
    try:
        if module_name.endswith(".py"):
            module = _load_file(Path(module_name))
        else:
            module = importlib.import_module(module_name)
    except ScorerError:
        raise
    except Exception as exc:
        raise ScorerError(
            f"scorer {spec!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    fn = getattr(module, attr, None)
    if fn is None:
        raise ScorerError(f"scorer {spec!r}: {module_name!r} has no {attr!r}")
    if not callable(fn):
        raise ScorerError(f"scorer {spec!r}: {attr!r} is a {type(fn).__name__}, not a function")
    return fn  # type: ignore[no-any-return]


def _load_file(path: Path) -> Any:
    if not path.is_file():
        raise ScorerError(f"scorer file {str(path)!r} does not exist")
    name = f"_fanout_scorer_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ScorerError(f"scorer file {str(path)!r} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _guarded(spec: str, fn: Callable[..., Any]) -> Scorer:
    """``fn`` with its failures named, and a bool result turned into a `Score`."""

    def run(answer: str | None, item: EvalItem) -> Score:
        try:
            result = fn(answer, item)
        except ScorerError:
            raise
        except Exception as exc:
            raise ScorerError(
                f"scorer {spec!r} failed on item {item.id!r}: {type(exc).__name__}: {exc}"
            ) from exc
        if isinstance(result, Score):
            return result
        if isinstance(result, bool):
            if answer is None and not result:
                return Score.no_answer()
            return Score.of(result, answer, spec)
        raise ScorerError(
            f"scorer {spec!r} returned {type(result).__name__} on item {item.id!r}; "
            "return a Score or a bool"
        )

    return run
