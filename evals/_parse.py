"""Reading a final answer out of free text: answer markers, ``\\boxed{}``, numbers, letters.

The scorers share these readers. Each looks for the most explicit signal first and takes
the *last* instance of it, because models restate, correct themselves, and conclude at
the end:

1. an answer marker: ``Answer: X``, ``ANSWER: X``, ``**Answer:** X``, ``Final answer: X``,
   ``the answer is X``, ``the correct option is X``;
2. ``\\boxed{X}`` (braces may nest: ``\\boxed{\\frac{3}{4}}``);
3. for numbers, the last number in the text; for letters, the last formatted mention of
   a choice letter (``(B)``, ``$B$``, ``**B**``, ``B)`` or ``B.`` opening a line), or a
   reply that is a lone letter.

Numbers (`parse_numbers`) may carry a sign (``-``, ``−``), a currency sign (``$12.50``),
thousands commas (``1,000``), a decimal part, an exponent (``1e3``), a fraction (``3/4``,
``\\frac{3}{4}``) and a percent sign; a percentage reads as both ``50`` and ``0.5``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._frozen import builder

__all__ = [
    "Number",
    "final_segment",
    "find_letter",
    "find_number",
    "last_boxed",
    "parse_numbers",
]

# "Answer:", "**Answer:**", "Final answer -", "the answer is", "correct option is"
_MARK = (
    r"(?i:\b(?:answer|(?:correct|right)\s+(?:option|choice))"
    r"(?:\s+is\b\s*[:：]?|\s*\**\s*[:：]|\s+-\s))[\s*]*"
)
_MARK_RE = re.compile(_MARK)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_NOISE = re.compile(r"\\[,!;: ]|\\left|\\right")
_NUMBER = re.compile(
    r"""
    (?<![\w.])                                # not inside a word or a decimal
    (?P<sign>[-−+])?
    (?P<cur>[$€£¥])?
    (?P<sign2>[-−])?
    (?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)
    (?:[eE](?P<exp>[-+]?\d+))?
    (?:/(?P<den>\d+(?:\.\d+)?)(?![\d/]))?     # a fraction, not a date like 12/25/2024
    (?P<pct>\s?%)?
    """,
    re.VERBOSE,
)
_LETTER_MARK = re.compile(
    _MARK + r"(?:\\(?:boxed|text|textbf|mathrm)\{|[$(\[{*\s])*([A-Z])(?![A-Za-z0-9])"
)
_LETTER_BOXED = re.compile(r"\\boxed\{\s*(?:\\text(?:bf)?\{)?\s*([A-Z])\s*\}")
_LETTER_FORMATTED = re.compile(
    r"\(([A-Z])\)"  # (B)
    r"|\$([A-Z])\$"  # $B$
    r"|\*\*([A-Z])\*\*"  # **B**
    r"|(?m:^)[ \t]*([A-Z])[.)](?=\s|$)"  # B) or B. opening a line
    r"|(?<![\w(])([A-Z])\)(?=\s|$)"  # B) after a space
)
_LETTER_ALONE = re.compile(r"[\s*$(\[{]*([A-Z])[\s*$)\]}.]*")


@dataclass(frozen=True, slots=True)
class Number:
    """A number read from text: its value, the text it was read from, and whether it had %."""

    value: float
    text: str
    percent: bool = False

    @property
    def values(self) -> tuple[float, ...]:
        """What it may mean: a percentage is both ``50`` and ``0.5``."""
        return (self.value, self.value / 100) if self.percent else (self.value,)


_number = builder(Number)  # Number(*every field), built fast (see _frozen)


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (nested braces allowed), or None."""
    if "\\" not in text:  # no \boxed, no \fbox
        return None
    starts = [m.end() for m in _BOXED.finditer(text)]
    for start in reversed(starts):
        depth = 1
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    return text[start:i]
    return None


def final_segment(text: str) -> str | None:
    """What follows the last answer marker, to the end of its line (or the next line when
    the marker ends its own), with a ``\\boxed{}`` in it unwrapped; None without a marker."""
    marks = list(_MARK_RE.finditer(text))
    if not marks:
        return None
    segment = next((line for line in text[marks[-1].end() :].split("\n") if line.strip()), "")
    return last_boxed(segment) or segment


def parse_numbers(text: str) -> list[Number]:
    """Every number in ``text``, in order."""
    numbers = (_read_number(m) for m in _NUMBER.finditer(_plain_numbers(text)))
    return [n for n in numbers if n is not None]


def _plain_numbers(text: str) -> str:
    """``text`` with LaTeX number markup rewritten: ``{,}``, ``\\frac``, ``\\$``, spacing."""
    if "{,}" in text:
        text = text.replace("{,}", ",")
    if "\\" in text:  # every other rewrite starts at a backslash
        text = _FRAC.sub(r"\1/\2", _LATEX_NOISE.sub("", text))
        text = text.replace("\\$", "$").replace("\\%", "%")
    return text


def _read_number(m: re.Match[str]) -> Number | None:
    """The `Number` a `_NUMBER` match reads; None for a fraction over zero."""
    num, exp, den, sign, sign2, pct = m.group("num", "exp", "den", "sign", "sign2", "pct")
    value = float(num.replace(",", "") + (f"e{exp}" if exp else ""))
    if den is not None:
        den_value = float(den)
        if den_value == 0:
            return None
        value /= den_value
    if (sign in ("-", "−")) != (sign2 is not None):
        value = -value
    return _number(value, m.group(0).strip(), pct is not None)


def find_number(text: str) -> Number | None:
    """The number a reply gives as its answer (see the module docstring), or None.

    After an answer marker it is the first number on the marker's line, read after the
    line's last ``=`` if it has one (``Answer: 3 + 4 = 7`` gives 7, ``Answer: 7 (3 + 4)``
    gives 7); then the last ``\\boxed{}``; then the last number anywhere.
    """
    for segment in (final_segment(text), last_boxed(text)):
        if segment is None:
            continue
        if "=" in segment:
            segment = segment.rsplit("=", 1)[1]
        for m in _NUMBER.finditer(_plain_numbers(segment)):  # the first number
            if (number := _read_number(m)) is not None:
                return number
    for m in reversed(list(_NUMBER.finditer(_plain_numbers(text)))):  # the last number
        if (number := _read_number(m)) is not None:
            return number
    return None


def find_letter(text: str, letters: str) -> str | None:
    """The choice letter a reply gives (one of ``letters``), or None.

    Tiers, each taking its last match: an answer marker or ``\\boxed{B}``; a formatted
    letter (``(B)``, ``$B$``, ``**B**``, ``B)``, ``B.`` opening a line); a lone letter.
    """
    for tier in (_marked_letters(text), _formatted_letters(text)):
        found = [(pos, letter) for pos, letter in tier if letter in letters]
        if found:
            return max(found)[1]
    alone = _LETTER_ALONE.fullmatch(text.strip())
    if alone and alone.group(1) in letters:
        return alone.group(1)
    return None


def _marked_letters(text: str) -> list[tuple[int, str]]:
    found = [(m.start(1), m.group(1)) for m in _LETTER_MARK.finditer(text)]
    found += [(m.start(1), m.group(1)) for m in _LETTER_BOXED.finditer(text)]
    return found


def _formatted_letters(text: str) -> list[tuple[int, str]]:
    out = []
    for m in _LETTER_FORMATTED.finditer(text):
        group = next(g for g in range(1, 6) if m.group(g) is not None)
        out.append((m.start(group), m.group(group)))
    return out
