"""The ``normalized`` scorer: a free-text answer judged against its targets as a grader would.

The answer is the one the reply marks (`evals._parse.marked`: ``Answer: X``, ``\\boxed{X}``,
``#### X``, ``the answer is X``, the last first), else the one its conclusion states: the
whole reply when it is short, its bold spans, its last short line, its last sentence, and
its first sentence unless a later one turns against it (``However, ...``).

An answer matches a target when, after `normalize` (case, accents, abbreviation dots,
punctuation, articles):

- it *is* the target (``The U.S.A.`` is ``USA``), or holds it as words of its own, not
  rejected there (``Canberra (since 1913)``, ``The capital is Canberra.``, but not ``Sydney,
  not Canberra``), or holds it without the words the question already gives (``The
  Pacific.`` for ``Pacific Ocean`` when the question asks which *ocean*);
- for a target that is an abbreviation (``U.K.``), it spells it out (``United Kingdom``);
- for a name, it is the whole answer and the name's last words (``Fleming`` for
  ``Alexander Fleming``; not ``Korea`` for ``North Korea``);
- for a target that is one number, a short answer says that number (``two`` for ``2``);
- for a target that is a date, it states that date in any form (``March 5, 2024``,
  ``5 March 2024``, ``03/05/2024`` for ``2024-03-05``), not counting the dates the
  question gives.

A marked answer is judged alone: right or wrong. A reply that marks none is right if any
part of its conclusion matches; it has no answer (unparsed) if it hedges (``either Zurich or
Geneva``) or declines; else it is wrong.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ._dates import Date, as_date, find_dates, same_date
from ._evalset import EvalItem
from ._normalize import normalize, normalized
from ._numbers import parse_numbers, plain_numbers
from ._parse import (
    bold_at,
    clean,
    hedge_start,
    last_short_line,
    marked,
    refuses,
    rejected,
    sentences,
)
from ._registry import Score

__all__ = ["question_text", "score_text"]

MATCH, HEDGED, MISS = "match", "hedged", "miss"
_SHORT = 12  # words: a reply this short is its own answer
_TURN = re.compile(
    r"(?i)^[\W_]*(?:however|but|actually|in\s+fact|that\s+said|wait|correction|no,|although"
    r"|though|nevertheless|still|instead)\b"
)
_CAPITALIZED = re.compile(r"[A-Z][\w'’-]*|of|and|the|for|&")
_ABBREVIATION = re.compile(r"(?:[A-Z]\.?){2,6}")


def score_text(answer: str | None, item: EvalItem) -> Score:
    """The ``normalized`` scorer (see the module docstring)."""
    if answer is None:
        return Score.no_answer()
    text = answer.strip()
    if not text:
        return Score.no_answer("empty answer")
    for segment in marked(text):
        got = clean(segment)
        if not got:
            continue
        verdict, target = _judge(got, item)
        if verdict == MATCH:
            return Score.of(True, got, f"matches {target!r}")
        if verdict == HEDGED:
            return Score.no_answer(f"hedges: {got!r}")
        return Score.of(False, got, f"{normalize(got)!r} is not {_show(item)}")
    hedge = False
    said = None
    for start, span in _conclusion(text):
        verdict, target = _judge(span, item, text, start)
        if verdict == MATCH:
            return Score.of(True, span, f"states {target!r}")
        hedge = hedge or verdict == HEDGED
        said = said or span
    if hedge:
        return Score.no_answer("hedges between answers")
    if refuses(text):
        return Score.no_answer("declines to answer")
    got = said or text
    return Score.of(False, got, f"does not state {_show(item)}")


def _conclusion(text: str) -> list[tuple[int, str]]:
    """(where it starts in ``text`` or -1, span): the parts of a reply that may state its
    answer, in the order they are tried (module docstring)."""
    spans: list[tuple[int, str]] = []
    if len(text.split()) <= _SHORT:
        spans.append((0, text))
    spans += reversed(bold_at(text))
    last = last_short_line(text)
    if last is not None:
        spans.append((-1, last))
    found = sentences(text)
    if found:
        spans.append((-1, found[-1]))
        if len(found) > 1 and not any(_TURN.match(s.strip("*_ ")) for s in found[1:]):
            spans.append((-1, found[0]))
    return spans


def _judge(span: str, item: EvalItem, text: str = "", at: int = -1) -> tuple[str, object]:
    """(verdict, the target it concerns): whether ``span`` states one of the item's
    targets (`MATCH`), hedges between answers (`HEDGED`) or states none (`MISS`).
    ``text`` and ``at`` place the span in the reply, to see whether it is rejected there."""
    norm = normalize(span)
    hedged_at = hedge_start(norm)
    verdict: str = MISS
    for target in item.targets:
        want = normalized(str(target))
        if norm == want:
            return MATCH, target
        date = as_date(str(target))
        if date is not None:
            got = _date_in(span, item)
            if got is not None and same_date(got, date):
                return MATCH, target
            continue
        for pattern in _forms(str(target), _question(item)):
            for m in pattern.finditer(norm):
                if rejected(norm, m.start(), m.end()):
                    continue
                if hedged_at is not None and hedged_at <= m.start():
                    verdict = HEDGED
                    continue
                if at >= 0 and text and _rejected_in(text, at, span):
                    continue
                return MATCH, target
        if norm in _short_forms(str(target)) or _spelled_out(span, str(target)):
            return MATCH, target
        value = _number_of(str(target))
        if value is not None and len(norm.split()) <= 4:
            found = parse_numbers(span, words=True)
            if found and all(abs(n.value - value) <= 1e-9 * max(1.0, abs(value)) for n in found):
                return MATCH, target
    return verdict, None


def _rejected_in(text: str, at: int, span: str) -> bool:
    """A bold span or the reply itself placed in ``text``: rejected where it stands."""
    return at > 0 and rejected(text, at, at + len(span))


@lru_cache(maxsize=4096)
def _forms(target: str, question: str) -> tuple[re.Pattern[str], ...]:
    """Patterns finding the target as words of an answer: the target, and the target
    without the words the question gives (at least one word left)."""
    want = normalize(target)
    if not want:
        return ()
    forms = [want]
    asked = set(normalize(question).split())
    kept = [w for w in want.split() if w not in asked]
    if kept and len(kept) < len(want.split()):
        forms.append(" ".join(kept))
    return tuple(re.compile(r"(?<![\w.])" + re.escape(f) + r"(?![\w]|\.\d)") for f in forms)


_PARTICLES = frozenset("da de del della di du la le van von der den bin al ibn y".split())
_QUALIFIERS = frozenset(
    "north south east west northern southern eastern western new upper lower greater "
    "central united republic of the".split()
)


@lru_cache(maxsize=4096)
def _short_forms(target: str) -> frozenset[str]:
    """What a reply may give as the whole answer for a name: its last words (``Fleming``
    for ``Alexander Fleming``, ``García Márquez``, ``Everest`` for ``Mount Everest``). Not
    when the words left out only qualify a place (``Korea`` is not ``North Korea``)."""
    words = target.split()
    if len(words) < 2 or not words[-1][:1].isupper():
        return frozenset()
    if not all(w[:1].isupper() or w.lower() in _PARTICLES for w in words):
        return frozenset()
    forms = set()
    for i in range(1, len(words)):
        dropped = {w.lower().strip(".") for w in words[:i]}
        if words[i][:1].isupper() and not dropped <= _QUALIFIERS and len(words[i]) > 2:
            forms.add(normalize(" ".join(words[i:])))
    return frozenset(forms)


@lru_cache(maxsize=4096)
def _number_of(target: str) -> float | None:
    """The value of a target that is one number and nothing else (``"2"``, ``"1,000"``)."""
    found = parse_numbers(target)
    if len(found) == 1 and found[0].text == target.strip():
        return found[0].value
    return None


def _spelled_out(span: str, target: str) -> bool:
    """A target that is an abbreviation (``U.K.``, ``USA``) spelled out in ``span``
    (``United Kingdom``, ``United States of America``): the initials of its capitalized
    words, small words between them skipped."""
    bare = target.strip()
    if not _ABBREVIATION.fullmatch(bare) or not any(c.isupper() for c in span):
        return False
    letters = bare.replace(".", "")
    words = [m.group(0) for m in _CAPITALIZED.finditer(span)]
    for i, first in enumerate(words):
        if not first[0].isupper():
            continue
        initials = ""
        for word in words[i:]:
            if word[0].isupper():
                initials += word[0]
            if initials == letters:
                return True
            if len(initials) >= len(letters):
                break
    return False


def _date_in(span: str, item: EvalItem) -> Date | None:
    """The date ``span`` states: its last one that the question does not give."""
    found = find_dates(plain_numbers(span).replace("\\text{-}", "-"))
    asked = _question_dates(_question(item))
    new = [d for d in found if not any(same_date(d, a) or same_date(a, d) for a in asked)]
    return new[-1] if new else (found[-1] if found else None)


@lru_cache(maxsize=4096)
def _question_dates(question: str) -> tuple[Date, ...]:
    return tuple(find_dates(question))


def _question(item: EvalItem) -> str:
    """The question's text: the input, or the last user message."""
    if item.input is not None:
        return item.input
    for message in reversed(item.messages or []):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def question_text(item: EvalItem) -> str:
    """The question an item asks, as text (see `_question`)."""
    return _question(item)


def _show(item: EvalItem) -> str:
    targets = item.targets
    text = " or ".join(repr(t) for t in targets[:3]) + (" or ..." if len(targets) > 3 else "")
    return text if len(text) <= 80 else text[:77] + "..."
