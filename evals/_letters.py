"""Which option a multiple-choice reply commits to.

Letters are read in either case, in the phrasings replies use (``Answer: c``, ``I'd pick
C``, ``option C``, ``C is correct``, ``(C)``, ``**C) text**``), and an option may be named by
its text (``Mars is the Red Planet.``). The answer is the option the reply commits to, not
the last one it mentions: an option it rejects where it names it (``not (C)``, ``(C) is
wrong``, ``rather than C``) is passed over, and a reply that hedges between options
(``either B or C``) has chosen none. With ten options a pronoun ``I`` (``Answer: I think
it is C``) and an article ``A`` (``A good choice is C``) are words, not options.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ._normalize import normalize
from ._parse import (
    COMMIT,
    bold_spans,
    clauses,
    clean,
    hedge_start,
    hedged,
    marked,
    rejected,
    sentences,
    without_parentheticals,
)

__all__ = ["HEDGE", "find_letter"]

# -- choice letters --------------------------------------------------------------------------

HEDGE = "?"  # what `find_letter` gives for a reply that hedges between options


_STANDALONE = re.compile(r"(?<![A-Za-z0-9'’\\-])([A-Za-z])(?![A-Za-z0-9'’])")
_ARTICLE_NEXT = re.compile(r"[ \t]+([a-z][a-z'’]*)")
_CONNECTIVE = frozenset(
    "is was because since as and or but which for with seems appears fits matches makes "
    "would should could must gives describes stands represents corresponds".split()
)
_LETTER_HEDGE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z])\)?[ \t]*(?:,?[ \t]+or[ \t]+|[ \t]*/[ \t]*|[ \t]+and/or[ \t]+)"
    r"(?:option[ \t]+|\()?([A-Za-z])(?![A-Za-z0-9])"
)
_BETWEEN = re.compile(
    r"(?i)\bbetween\s+(?:options?\s+)?\(?([A-Za-z])\)?\s+and\s+(?:option\s+)?\(?([A-Za-z])\b"
)
_FORMATTED = re.compile(
    r"\(([A-Za-z])\)"  # (B)
    r"|\$([A-Za-z])\$"  # $B$
    r"|\*\*[ \t]*([A-Za-z])[ \t]*(?:\*\*|[.):–—-][^*\n]*\*\*)"  # **B**, **B) Mars**, **B – 1989**
    r"|(?m:^)[ \t]*(?:[-*+][ \t]+)?([A-Z])[.)](?=[ \t]|$)"  # B) or B. opening a line
    r"|(?<![\w(])([A-Z])\)(?=[ \t]|$)"  # B) after a space
)
_ALONE = re.compile(r"[\s*$(\[{]*(?:option\s+|choice\s+)?([A-Za-z])[\s*$)\]}.]*", re.IGNORECASE)


def _letter_in(segment: str, letters: str) -> str | None:
    """The first choice letter a marked segment names (`HEDGE` for two joined by "or");
    a pronoun ``I`` or an article ``A``/``a`` before a word is no letter."""
    segment = clean(segment)
    hedge = _LETTER_HEDGE.search(segment)
    if hedge and hedge.group(1).upper() != hedge.group(2).upper():
        if hedge.group(1).upper() in letters and hedge.group(2).upper() in letters:
            return HEDGE
    for m in _STANDALONE.finditer(segment):
        letter = m.group(1)
        upper = letter.upper()
        if upper not in letters:
            continue
        if letter in "IAa":
            after = _ARTICLE_NEXT.match(segment, m.end())
            if after and after.group(1) not in _CONNECTIVE:
                continue  # "I think ...", "a bit", "A good choice is ..."
        if letter.islower() and m.start() > 0 and segment[m.start() - 1] == "/":
            continue
        return upper
    return None


def find_letter(text: str, letters: str, choices: tuple[str, ...] | None = None) -> str | None:
    """The letter of the option a reply commits to (`HEDGE` when it hedges between
    options), or None when it names none.

    In order: the last answer marker that names a letter (or an option's text); the last
    phrase that picks one (``I'd go with C``, ``option C``, ``C is correct``); a hedge
    between options (`HEDGE`); the last formatted letter (``(C)``, ``**C**``, ``$C$``,
    ``C)``) that is not rejected where it stands; a reply that is a lone letter; an option's
    text in the conclusion. Letters are read in either case.
    """
    for segment in marked(text):
        letter = _letter_in(segment, letters)
        if letter is None and choices:
            letter = _choice_text(clean(segment), letters, choices)
        if letter is not None:
            return letter
    found = []
    for m in COMMIT.finditer(text):
        group = next(g for g in (1, 2, 3, 4) if m.group(g) is not None)
        letter = m.group(group)
        if letter.upper() in letters and not (letter in "Ia" and group == 1 and _is_word(text, m)):
            if not rejected(text, m.start(), m.end()):
                found.append(letter.upper())
    if found:
        return found[-1]
    if _letter_hedged(text, letters, choices):
        return HEDGE
    formatted = []
    for m in _FORMATTED.finditer(text):
        group = next(g for g in range(1, 6) if m.group(g) is not None)
        letter = m.group(group).upper()
        if letter in letters and not rejected(text, m.start(), m.end()):
            formatted.append(letter)
    if formatted:
        return formatted[-1]
    alone = _ALONE.fullmatch(text.strip())
    if alone and alone.group(1).upper() in letters:
        return alone.group(1).upper()
    if choices:
        letter = _choice_in_conclusion(text, letters, choices)
        if letter is not None:
            return letter
    return None


def _is_word(text: str, m: re.Match[str]) -> bool:
    after = _ARTICLE_NEXT.match(text, m.end())
    return after is not None and after.group(1) not in _CONNECTIVE


def _letter_hedged(text: str, letters: str, choices: tuple[str, ...] | None) -> bool:
    for pattern in (_LETTER_HEDGE, _BETWEEN):
        for m in pattern.finditer(text):
            a, b = m.group(1), m.group(2)
            if a.upper() != b.upper() and a.upper() in letters and b.upper() in letters:
                if a.isupper() and b.isupper():
                    return True
    if choices and hedged(text):
        for sentence in sentences(text):
            at = hedge_start(sentence)
            if at is not None and len(_choices_named(sentence[at:], choices)) > 1:
                return True
    return False


# -- an option's text ------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _choice_patterns(choices: tuple[str, ...]) -> tuple[re.Pattern[str] | None, ...]:
    folded = [normalize(c) for c in choices]
    out: list[re.Pattern[str] | None] = []
    for f in folded:
        if not f or folded.count(f) > 1:  # empty, or two options the same once folded
            out.append(None)
        else:
            out.append(re.compile(r"(?<![\w.])" + re.escape(f) + r"(?![\w]|\.\d)"))
    return tuple(out)


def _choices_named(text: str, choices: tuple[str, ...]) -> list[int]:
    """The options whose text ``text`` names (not rejected there), in order of mention."""
    folded = normalize(text)
    hits: list[tuple[int, int]] = []
    for index, pattern in enumerate(_choice_patterns(choices)):
        if pattern is None:
            continue
        for m in pattern.finditer(folded):
            if not rejected(folded, m.start(), m.end()):
                hits.append((m.start(), index))
    hits.sort()
    seen: list[int] = []
    for _, index in hits:
        if index not in seen:
            seen.append(index)
    return seen


def _choice_text(segment: str, letters: str, choices: tuple[str, ...]) -> str | None:
    """The letter of the one option a marked segment names by its text."""
    named = _choices_named(without_parentheticals(segment), choices)
    if len(named) == 1:
        return letters[named[0]]
    if len(named) > 1:
        _, main = clauses(segment)
        named = _choices_named(main, choices)
        if len(named) == 1:
            return letters[named[0]]
    return None


def _choice_in_conclusion(text: str, letters: str, choices: tuple[str, ...]) -> str | None:
    """The option the reply's conclusion names by its text: the whole reply, its last
    bold span, its last sentence (its last clause when it names several), its first."""
    candidates = [text] if len(text.split()) <= 8 else []
    candidates += bold_spans(text)[-1:]
    found = sentences(text)
    if found:
        candidates += [found[-1], found[0]]
    for candidate in candidates:
        named = _choices_named(without_parentheticals(candidate), choices)
        if len(named) == 1:
            return letters[named[0]]
        if len(named) > 1:
            for part in clauses(candidate):
                named = _choices_named(part, choices)
                if len(named) == 1:
                    return letters[named[0]]
    return None
