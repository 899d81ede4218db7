"""The built-in scorers, and how an item's scorer is chosen.

Every scorer accepts any one of the item's targets (a target list is a set of accepted
answers) and gives 1 or 0; a reply it cannot read at all is ``unparsed``, not wrong.

==============  ====================================================================================
``exact``       the stripped answer equals a target (as text)
``normalized``  the answer the reply commits to (marked, or stated in its conclusion) is a
                target after `normalize` (case, accents, abbreviation dots, punctuation,
                articles), or holds it as words of its own; a date target matches the same
                date in any form (see `evals._freetext`)
``includes``    a target occurs in the answer (case and runs of whitespace ignored)
``regex``       with metadata ``pattern``: its last match (group 1 if it has a group) equals
                a target, case ignored; without it each target is itself a pattern to find
``numeric``     the number the reply commits to (see `find_number`) is within the relative
                tolerance metadata ``tolerance`` (default 1e-6) of a numeric target
``choice``      the option the reply commits to (see `find_letter`: a letter in any case or
                phrasing, or an option's text) is the target letter (or the target's text)
``json``        the answer holds JSON (bare, in a ```json fence, or embedded), valid against
                metadata ``schema`` if given, and equal to a target parsed as JSON; with
                metadata ``json_match: "valid"`` validity (and the schema) is all that counts
==============  ====================================================================================

Every reader takes the answer a reply *commits to*, as a careful grader does: the last
answer it marks (``Answer:``, ``\\boxed{}``, ``####``, ``the answer is``), else what its
conclusion states; not the last number or letter it happens to mention. A reply that
hedges between answers (``either B or C``) or declines has none: unparsed, never right.

``tool_call``, ``json_schema`` and ``regex_match`` (constrained replies) are in
`_structured`.

`score_answer` picks the item's own ``scorer`` first, then the one asked for the set, then
one inferred from the item: ``choice`` with choices, ``numeric`` for number targets,
``normalized``  otherwise. `outcome` sorts a reply into correct, wrong, unparsed, truncated
or error, so all reports count the same way. ``judge`` (a model grading by rubric) is in
`_judge`: its verdicts come from requests run through the runner by ``fanout eval``.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any, Literal

from ._errors import ScorerError
from ._evalset import LETTERS, EvalItem, Target
from ._extract import Extraction
from ._freetext import question_text, score_text
from ._jsonschema import json_equal, schema_errors
from ._letters import HEDGE, find_letter
from ._normalize import normalize
from ._numbers import Number, find_number, parse_numbers
from ._registry import Score, get_scorer, register_scorer, scorer_reads

__all__ = [
    "DEFAULT_TOLERANCE",
    "Outcome",
    "infer_scorer",
    "normalize",
    "outcome",
    "score_answer",
    "score_extraction",
    "scorer_of",
]

DEFAULT_TOLERANCE = 1e-6  # relative, for the numeric scorer
_NUMBERS = (int, float)  # isinstance with a tuple: `int | float` is built on each call
Outcome = Literal["correct", "wrong", "unparsed", "truncated", "error"]

_FENCE = re.compile(r"```[\w-]*[ \t]*\n?(.*?)```", re.DOTALL)
_JSON_START = re.compile(r"[{\[]")
_MAX_JSON_STARTS = 20  # embedded JSON: how many '{'/'[' to try decoding from
_JSON_FIRST = frozenset('{["-0123456789tfnNI')  # how a JSON text may start (NaN, Infinity too)
_DECODER = json.JSONDecoder()
# What json.loads raises on text it cannot read: JSONDecodeError (a ValueError), ValueError for
# an integer past Python's 4,300 digits, RecursionError for nesting past about 1,000 levels
_UNREADABLE = (ValueError, RecursionError)


def score_answer(answer: str | None, item: EvalItem, scorer: str | None = None) -> Score:
    """Score one answer with the item's scorer, else ``scorer``, else `infer_scorer`."""
    return get_scorer(scorer_of(item, scorer))(answer, item)


def score_extraction(ex: Extraction, item: EvalItem, scorer: str | None = None) -> Score:
    """Score one reply: like `score_answer`, but a scorer that reads tool calls is given
    `Extraction.calls_answer` instead of the text answer."""
    name = scorer_of(item, scorer)
    answer = ex.calls_answer() if scorer_reads(name) == "tool_calls" else ex.answer
    return get_scorer(name)(answer, item)


def scorer_of(item: EvalItem, scorer: str | None = None) -> str:
    """The scorer's name for ``item``: its own, else ``scorer``, else `infer_scorer`."""
    return item.scorer or scorer or infer_scorer(item)


def infer_scorer(item: EvalItem) -> str:
    """The scorer an item gets when neither it nor the set names one."""
    if item.choices:
        return "choice"
    if all(isinstance(t, int | float) for t in item.targets):
        return "numeric"
    return "normalized"


def outcome(extraction: Extraction, score: Score) -> Outcome:
    """One word for a reply: an error or a truncation outranks whatever the scorer said."""
    if extraction.error is not None:
        return "error"
    if extraction.truncated:
        return "truncated"
    if score.unparsed:
        return "unparsed"
    return "correct" if score.correct else "wrong"


@register_scorer("exact")
def exact(answer: str | None, item: EvalItem) -> Score:
    if answer is None:
        return Score.no_answer()
    got = answer.strip()
    for target in item.targets:
        if got == str(target).strip():
            return Score.of(True, got, f"equals {target!r}")
    return Score.of(False, got, f"not exactly {_show(item)}")


register_scorer("normalized")(score_text)


@register_scorer("includes")
def includes(answer: str | None, item: EvalItem) -> Score:
    if answer is None:
        return Score.no_answer()
    haystack = _loose(answer)
    for target in item.targets:
        if _loose(str(target)) in haystack:
            return Score.of(True, answer.strip(), f"contains {target!r}")
    return Score.of(False, answer.strip(), f"does not contain {_show(item)}")


@register_scorer("regex")
def regex(answer: str | None, item: EvalItem) -> Score:
    if answer is None:
        return Score.no_answer()
    pattern = item.metadata.get("pattern")
    if pattern is None:  # each target is a pattern to find
        for target in item.targets:
            text = target if isinstance(target, str) else re.escape(str(target))
            found = _compile(text, item).search(answer)
            if found:
                return Score.of(True, _group(found), f"matches /{text}/")
        return Score.of(False, None, f"no match for {_show(item)}")
    if not isinstance(pattern, str):
        raise ScorerError(f"item {item.id!r}: metadata.pattern must be a string")
    matches = list(_compile(pattern, item).finditer(answer))
    if not matches:
        return Score.no_answer(f"no match for /{pattern}/")
    got = _group(matches[-1])
    for target in item.targets:
        if _loose(got) == _loose(str(target)):
            return Score.of(True, got, f"captured {got!r}")
    return Score.of(False, got, f"captured {got!r}, not {_show(item)}")


@register_scorer("numeric")
def numeric(answer: str | None, item: EvalItem) -> Score:
    if answer is None:
        return Score.no_answer()
    tolerance = item.metadata.get("tolerance", DEFAULT_TOLERANCE)
    if isinstance(tolerance, bool) or not isinstance(tolerance, _NUMBERS) or tolerance < 0:
        raise ScorerError(f"item {item.id!r}: metadata.tolerance must be a number >= 0")
    found = find_number(answer, question_text(item))
    if found is None:
        return Score.no_answer("no number in the answer")
    if not isinstance(found, Number):
        return Score.no_answer("hedges between numbers")
    for target in item.targets:
        if isinstance(target, dict):
            raise ScorerError(f"item {item.id!r}: a numeric target is a number, not an object")
        for want in _target_values(target, item.id):
            if any(_close(got, want, tolerance) for got in found.values):
                return Score.of(True, found.text, f"{found.text} = {target!r}")
    return Score.of(False, found.text, f"{found.text} is not {_show(item)}")


@register_scorer("choice")
def choice(answer: str | None, item: EvalItem) -> Score:
    if answer is None:
        return Score.no_answer()
    letters = item.letters or LETTERS
    letter = find_letter(answer, letters, item.choices)
    if letter is None:
        return Score.no_answer("no choice letter found")
    if letter == HEDGE:
        return Score.no_answer("hedges between options")
    wanted = [_target_letter(t, item) for t in item.targets]
    if letter in wanted:
        return Score.of(True, letter, f"chose {letter}")
    return Score.of(False, letter, f"chose {letter}, not {' or '.join(wanted)}")


@register_scorer("json")
def json_scorer(answer: str | None, item: EvalItem) -> Score:
    if answer is None:
        return Score.no_answer()
    found = _find_json(answer)
    if found is None:
        return Score.no_answer("no JSON found")
    value, text = found
    schema = item.metadata.get("schema")
    if schema is not None:
        errors = _checked(value, schema, item)
        if errors:
            return Score.of(False, text, "schema: " + "; ".join(errors))
    mode = item.metadata.get("json_match", "value")
    if mode == "valid":
        return Score.of(True, text, "valid JSON" + (" for the schema" if schema else ""))
    if mode != "value":
        raise ScorerError(f"item {item.id!r}: metadata.json_match must be 'value' or 'valid'")
    for target in item.targets:
        if json_equal(value, _target_json(target, item.id)):
            return Score.of(True, text, "equals the target")
    return Score.of(False, text, "valid JSON, but not the target")


def _checked(value: Any, schema: Any, item: EvalItem) -> list[str]:
    """`schema_errors`, with the item named when its schema is at fault."""
    try:
        return schema_errors(value, schema)
    except ScorerError as exc:
        raise ScorerError(f"item {item.id!r}: {exc}") from exc


def _show(item: EvalItem) -> str:
    targets = item.targets
    text = " or ".join(repr(t) for t in targets[:3]) + (" or ..." if len(targets) > 3 else "")
    return text if len(text) <= 80 else text[:77] + "..."


def _loose(text: str) -> str:
    return " ".join(text.casefold().split())


def _group(match: re.Match[str]) -> str:
    got = match.group(1) if match.re.groups else match.group(0)
    return (got or "").strip()


@lru_cache(maxsize=1024)
def _compile_cached(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _compile(pattern: str, item: EvalItem) -> re.Pattern[str]:
    try:
        return _compile_cached(pattern)
    except re.error as exc:
        raise ScorerError(f"item {item.id!r}: bad regex {pattern!r}: {exc}") from exc


def _close(got: float, want: float, tolerance: float) -> bool:
    return math.isclose(got, want, rel_tol=tolerance, abs_tol=tolerance if want == 0 else 0.0)


def _target_values(target: str | int | float, item_id: str) -> tuple[float, ...]:
    values = _number_of(target)
    if values is None:
        raise ScorerError(f"item {item_id!r}: numeric target {target!r} is not one number")
    return values


@lru_cache(maxsize=4096)
def _number_of(target: str | int | float) -> tuple[float, ...] | None:
    """What a numeric target may mean (`Number.values`); None unless it is one number.
    Cached per target, not per item: many items share a target."""
    if isinstance(target, int | float):
        return (float(target),)
    numbers = parse_numbers(target)
    return numbers[0].values if len(numbers) == 1 else None


def _target_letter(target: Target, item: EvalItem) -> str:
    text = str(target).strip()
    letters = item.letters or LETTERS
    if len(text) == 1 and text in letters:
        return text
    if item.choices and text in (c.strip() for c in item.choices):
        return letters[[c.strip() for c in item.choices].index(text)]
    raise ScorerError(f"item {item.id!r}: choice target {target!r} is not a choice letter")


def _target_json(target: Target, item_id: str) -> Any:
    if not isinstance(target, str):
        return target
    value = _parsed_json(target)
    if isinstance(value, _BadJson):
        raise ScorerError(
            f"item {item_id!r}: json target {target!r} is not JSON ({value.msg}); set "
            "metadata.json_match to 'valid' to check only validity and the schema"
        )
    return value


class _BadJson:
    """A target that is not JSON, with the decoder's message."""

    __slots__ = ("msg",)

    def __init__(self, msg: str) -> None:
        self.msg = msg


@lru_cache(maxsize=4096)
def _parsed_json(target: str) -> Any:
    """A JSON target, parsed once per distinct text (many items share a target)."""
    try:
        return json.loads(target)
    except _UNREADABLE as exc:
        return _BadJson(exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc))


def _find_json(text: str) -> tuple[Any, str] | None:
    """(value, its text): the last fenced block that parses, else the whole text, else the
    first JSON object or array embedded in it."""
    if "```" in text:
        for body in reversed(_FENCE.findall(text)):
            try:
                return json.loads(body), body.strip()
            except _UNREADABLE:
                continue
    stripped = text.strip()
    if stripped[:1] in _JSON_FIRST:  # else json.loads fails: skip building its error
        try:
            return json.loads(stripped), stripped
        except _UNREADABLE:
            pass
    for i, start in enumerate(_JSON_START.finditer(text)):
        if i == _MAX_JSON_STARTS:
            break
        try:
            value, end = _DECODER.raw_decode(text, start.start())
        except _UNREADABLE:
            continue
        return value, text[start.start() : end]
    return None
