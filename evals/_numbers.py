"""Numbers as replies write them: digits in every usual form, and number words.

`parse_numbers` reads every number in a text, in order. A number may carry:

- a sign (``-``, ``−``, ``+``) and a currency sign (``$12.50``, ``-$3``, ``€5``);
- thousands commas or spaces (``1,000``, ``86 400``) and a decimal part (``0.625``, ``.5``);
- an exponent: ``3e8``, ``3.00 × 10^8``, ``3 x 10**8``, ``6.02·10²³``, LaTeX
  ``6.02 \\times 10^{23}``;
- a fraction or a mixed number: ``3/4``, ``\\frac{3}{4}``, ``4 1/2``, ``4½``,
  ``2\\frac{1}{4}``; a ratio ``1 in 6`` or ``1 out of 6`` (the fraction 1/6);
- a scale word (``2.5 million``, ``3 thousand``, ``1 billion``);
- a percent sign or word (``18%``, ``18 percent``): a percentage reads as both ``18``
  and ``0.18``.

Number words are read too (``words=True``): ``forty-two``, ``one hundred and five``,
``negative one``, ``two thirds``, ``one-sixth``, ``a half``, ``one million``, ``eighteen
percent``, ``one in six``. A date like ``12/25/2024`` is not a fraction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ._frozen import builder
from ._parse import (
    bold_spans,
    clauses,
    clean,
    hedge_start,
    marked,
    refuses,
    sentences,
    without_parentheticals,
)

__all__ = [
    "HEDGE",
    "Number",
    "find_number",
    "numbers_at",
    "parse_numbers",
    "plain_numbers",
]


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

_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER = re.compile(
    r"""
    (?<![\w./^])                               # not inside a word, a decimal, a date or a power
    (?P<sign>[-−+])?
    (?P<cur>[$€£¥])?
    (?P<sign2>[-−])?
    (?P<num>(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?:[ \u00a0\u2009\u202f]\d{3})+(?!\d)|\d+)(?:\.\d+)?
           |\.\d+)
    (?:
        [eE](?P<exp>[-+]?\d+)\b
      | [ \t]*[×x*·][ \t]*10[ \t]*(?:\^|\*\*)[ \t]*\{?(?P<exp2>[-−+]?\d+)\}?
    )?
    (?:[ \t]+(?P<mixn>\d+)/(?P<mixd>\d+)(?![\d/]))?     # a mixed number: 4 1/2
    (?:/(?P<den>\d+(?:\.\d+)?)(?![\d/]))?              # a fraction, not a date 12/25/2024
    (?:[ \t]+(?:in|out[ \t]+of)[ \t]+(?P<ratio>\d+)(?![\d/]|[.,]\d))?   # 1 in 6
    (?:[ \t]*(?P<scale>thousand|million|billion|trillion)\b)?
    (?P<pct>[ \t]?%|[ \t]+per[ \t]?cent\b)?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_FRAC = re.compile(r"(\d)?[ \t]*\\[dt]?frac[ \t]*\{([^{}]*)\}[ \t]*\{([^{}]*)\}")
_LATEX_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}")
_LATEX_NOISE = re.compile(r"\\[,!;: ]|\\left|\\right")
_MATH_DELIMITERS = re.compile(r"\\[()\[\]]")
_SUPER = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPER_EXP = re.compile(r"10([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_VULGAR = {
    "½": 0.5, "⅓": 1 / 3, "⅔": 2 / 3, "¼": 0.25, "¾": 0.75, "⅕": 0.2, "⅖": 0.4, "⅗": 0.6,
    "⅘": 0.8, "⅙": 1 / 6, "⅚": 5 / 6, "⅛": 0.125, "⅜": 0.375, "⅝": 0.625, "⅞": 0.875,
}  # fmt: skip
_VULGAR_TEXT = {
    "½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅖": "2/5",
    "⅗": "3/5", "⅘": "4/5", "⅙": "1/6", "⅚": "5/6", "⅛": "1/8", "⅜": "3/8", "⅝": "5/8",
    "⅞": "7/8",
}  # fmt: skip
_VULGAR_RE = re.compile(r"(\d)?[ \t]*([½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞])")
_NEEDS_PLAIN = re.compile(r"[\\{⁰¹²³⁴⁵⁶⁷⁸⁹½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞⁄]")


def plain_numbers(text: str) -> str:
    """``text`` with number markup rewritten to plain digits: LaTeX (``{,}``, ``\\frac``,
    ``\\times 10^{n}``, ``\\$``, ``\\%``, ``\\text{}``, spacing), superscript exponents,
    vulgar fractions and the fraction slash. Positions move; read numbers from the result."""
    if not _NEEDS_PLAIN.search(text):
        return text
    if "{,}" in text:
        text = text.replace("{,}", ",")
    if "\\" in text:
        text = _LATEX_NOISE.sub("", text)
        text = _MATH_DELIMITERS.sub(" ", text)
        text = _LATEX_WRAP.sub(r"\1", text)
        text = _FRAC.sub(lambda m: f"{m[1] + ' ' if m[1] else ''}{m[2]}/{m[3]}", text)
        text = text.replace("\\times", "×").replace("\\cdot", "·").replace("\\approx", "≈")
        text = text.replace("\\$", "$").replace("\\%", "%").replace("\\pm", "±")
        text = re.sub(r"\^\{([-−+]?\d+)\}", r"^\1", text)
    if "⁄" in text:
        text = text.replace("⁄", "/")
    text = _SUPER_EXP.sub(lambda m: "10^" + m[1].translate(_SUPER), text)
    return _VULGAR_RE.sub(lambda m: f"{m[1] + ' ' if m[1] else ''}{_VULGAR_TEXT[m[2]]}", text)


def _read(m: re.Match[str]) -> Number | None:
    """The `Number` a `_NUMBER` match reads; None for a fraction over zero."""
    sign, _, sign2, num, exp, exp2, mixn, mixd, den, ratio, scale, pct = m.groups()
    if not num.isdigit():
        num = num.replace(",", "").replace(" ", "").replace("\u00a0", "")
        num = num.replace("\u2009", "").replace("\u202f", "")
    exp = exp or exp2
    value = float(num + "e" + exp.replace("−", "-")) if exp else float(num)
    if mixn is not None:  # 4 1/2: a whole number, then a proper fraction
        top, bottom = float(mixn), float(mixd)
        if den is not None or "." in num or not 0 < top < bottom:
            return None
        value += top / bottom
    if den is not None:
        den_value = float(den)
        if den_value == 0:
            return None
        value /= den_value
    if ratio is not None:  # 1 in 6
        ratio_value = float(ratio)
        if ratio_value == 0 or value > ratio_value:
            return None
        value /= ratio_value
    if scale:
        value *= _SCALES[scale.lower()]
    if sign2 is not None or (sign is not None and sign != "+"):
        if (sign in ("-", "−")) != (sign2 is not None):
            value = -value
    return _number(value, m.group(0).strip(), pct is not None)


def numbers_at(text: str, *, words: bool = False) -> list[tuple[int, Number]]:
    """Every number in ``text`` (already `plain_numbers`) with where it starts, in order;
    number words too with ``words``."""
    found = []
    for m in _NUMBER.finditer(text):
        number = _read(m)
        if number is not None:
            found.append((m.start(), number))
    if words and _WORD_HINT.search(text):
        found.extend(_word_numbers(text))
        found.sort(key=lambda pair: pair[0])
    return found


def parse_numbers(text: str, *, words: bool = False) -> list[Number]:
    """Every number in ``text``, in order (see the module docstring)."""
    return [n for _, n in numbers_at(plain_numbers(text), words=words)]


# -- number words ----------------------------------------------------------------------------

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_PARTS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
    "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "seventh": 7,
    "sevenths": 7, "eighth": 8, "eighths": 8, "ninth": 9, "ninths": 9, "tenth": 10,
    "tenths": 10,
}  # fmt: skip
_WORD_HINT = re.compile(
    r"(?i)\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"\w+teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|half)"
)
_WORD = re.compile(r"[A-Za-z]+")


def _word_numbers(text: str) -> list[tuple[int, Number]]:
    """Numbers written in words, with where each starts."""
    tokens = [(m.start(), m.end(), m.group(0).lower()) for m in _WORD.finditer(text)]
    out: list[tuple[int, Number]] = []
    i = 0
    while i < len(tokens):
        read = _word_number(tokens, i, text)
        if read is None:
            i += 1
            continue
        value, end_index, percent = read
        start, end = tokens[i][0], tokens[end_index - 1][1]
        out.append((start, _number(value, text[start:end], percent)))
        i = end_index
    return out


def _joined(text: str, end: int, start: int) -> bool:
    """Whether only a space or a hyphen separates two words."""
    return text[end:start] in (" ", "-", "- ", " - ")


def _word_number(
    tokens: list[tuple[int, int, str]], i: int, text: str
) -> tuple[float, int, bool] | None:
    """(value, index after the last token, percent) of a number in words at token ``i``."""
    negative = tokens[i][2] in ("negative", "minus")
    if negative:
        i += 1
    if i < len(tokens) - 1 and tokens[i][2] == "a" and tokens[i + 1][2] in ("half", "quarter"):
        if _joined(text, tokens[i][1], tokens[i + 1][0]):  # a half, a quarter
            value = 0.5 if tokens[i + 1][2] == "half" else 0.25
            return (-value if negative else value), i + 2, False
    start = i
    total = current = 0.0
    last = ""  # the kind of the word read last: unit, tens, hundred, scale, and
    while i < len(tokens):
        word = tokens[i][2]
        if last and not _joined(text, tokens[i - 1][1], tokens[i][0]):
            break
        if word in _UNITS:
            if last in ("unit",) or (last == "tens" and _UNITS[word] >= 10):
                break
            current += _UNITS[word]
            kind = "unit"
        elif word in _TENS:
            if last in ("unit", "tens"):
                break
            current += _TENS[word]
            kind = "tens"
        elif word == "hundred" and last in ("unit", "tens") and 0 < current < 100:
            current *= 100
            kind = "hundred"
        elif word in _SCALES and last in ("unit", "tens", "hundred"):
            total += current * _SCALES[word]
            current = 0.0
            kind = "scale"
        elif (
            word == "and"
            and last in ("hundred", "scale")
            and i + 1 < len(tokens)
            and (tokens[i + 1][2] in _UNITS or tokens[i + 1][2] in _TENS)
        ):
            kind = "and"
        else:
            break
        last = kind
        i += 1
    if i == start:
        return None
    value = total + current
    if i < len(tokens) and _joined(text, tokens[i - 1][1], tokens[i][0]):
        word = tokens[i][2]
        if word in _PARTS and last == "unit" and value <= 10:  # one-sixth, two thirds
            if not (word == "half" and value != 1):
                value, i = value / _PARTS[word], i + 1
        elif word == "in" and i + 1 < len(tokens) and tokens[i + 1][2] in _UNITS:
            ratio = _UNITS[tokens[i + 1][2]]  # one in six
            if ratio >= value > 0:
                value, i = value / ratio, i + 2
    percent = False
    if (
        i < len(tokens)
        and tokens[i][2] == "percent"
        and _joined(text, tokens[i - 1][1], tokens[i][0])
    ):
        percent, i = True, i + 1
    return (-value if negative else value), i, percent


# -- the number a reply answers with ---------------------------------------------------------

HEDGE = "?"  # what `find_number` gives for a reply that hedges between numbers
_EQUALS = re.compile(r"[=≈≃≅→]|\bequals\b")
_COPULA = re.compile(r"(?i)\s(?:is|are|was|were|comes\s+to|makes|gives)\s")


def find_number(text: str, question: str = "") -> Number | str | None:
    """The number a reply answers with; `HEDGE` for a reply that hedges between numbers
    (``either 18 or 26``), None when it gives none.

    A marked answer first (`evals._parse.marked`: the last label, ``####`` or ``\\boxed{}``,
    then the last ``the answer is``): its first number, read after the last ``=`` when it
    has one (``Answer: 3 + 4 = 7`` is 7, ``Answer: 7 (3 + 4)`` is 7). Without one, the
    conclusion: the last bold span holding a number, else the last sentence holding one,
    read past its last ``so``/``therefore``/``then``, after its last ``=``, its asides
    (``, which ...``, ``after ...``, ``(...)``) left out, and after its first ``is`` (``40%
    of 2.5 million is 1 million``), preferring a number the ``question`` does not give
    (``There are 43 books left after selling 101`` is 43).
    """
    for segment in marked(text):
        found = _in_segment(clean(segment))
        if found is not None:
            return found
    given = _given(question)
    for span in reversed(bold_spans(text)):
        found = _in_sentence(span, given)
        if found is not None:
            return found
    for sentence in reversed(sentences(text)):
        if refuses(sentence) and not any(c.isdigit() for c in sentence):
            continue  # "I'm not sure about this one."
        found = _in_sentence(sentence, given)
        if found is not None:
            return found
    return None


def _after_equals(text: str) -> str:
    """What follows the last ``=`` (or ``≈``, ``→``, ``equals``), if anything does."""
    if not _EQUALS.search(text):
        return text
    end = [m.end() for m in _EQUALS.finditer(text)][-1]
    return text[end:] if text[end:].strip() else text


_OR = re.compile(r",?\s+or\s+(?:maybe\s+|perhaps\s+|possibly\s+)?")


def _hedge(text: str) -> bool:
    """Two different numbers offered as alternatives (``either 18 or 26``, ``12 or 13``);
    a number restated in another form (``1 in 6, or about 16.7%``) is no hedge."""
    found = numbers_at(text, words=True)
    at = hedge_start(text)
    if at is not None:
        after = [pair for pair in found if pair[0] >= at]
        if len({round(n.value, 9) for _, n in after}) > 1 and not _same_in_percent(after):
            return True
    for (a_at, a), (b_at, b) in zip(found, found[1:], strict=False):
        between = text[a_at + len(a.text) : b_at]
        if _OR.fullmatch(between) and not _same_in_percent([(a_at, a), (b_at, b)]):
            return True
    return False


def _same_in_percent(found: list[tuple[int, Number]]) -> bool:
    """All the numbers say the same (``1 in 6, or about 16.7%``): restated, not hedged."""
    first = found[0][1]
    return all(
        any(abs(a - b) <= 0.01 * max(abs(a), abs(b)) for a in first.values for b in n.values)
        for _, n in found[1:]
    )


def _in_segment(segment: str) -> Number | str | None:
    """The number a marked answer gives: the first after the last ``=`` (asides left out),
    else the first in it; in words only when it has none in digits."""
    segment = plain_numbers(segment)
    if (" or " in segment or "either" in segment) and _hedge(segment):
        return HEDGE
    for text in (without_parentheticals(_after_equals(segment)), segment):
        for m in _NUMBER.finditer(text):
            number = _read(m)
            if number is not None:
                return number
    found = numbers_at(segment, words=True)
    return found[0][1] if found else None


def _in_sentence(sentence: str, given: frozenset[float]) -> Number | str | None:
    """The number a concluding sentence gives (see `find_number`)."""
    sentence = plain_numbers(sentence)
    if (" or " in sentence or "either" in sentence) and _hedge(sentence):
        return HEDGE
    last, _ = clauses(sentence)
    tail = _after_equals(last)
    _, main = clauses(tail)
    said = _COPULA.split(main, maxsplit=1)[-1]  # "40% of 2.5 million is 1 million"
    for part in (said, main, tail, last, sentence):
        found = numbers_at(without_parentheticals(part), words=True)
        if found:
            new = [n for _, n in found if round(n.value, 9) not in given]
            return new[0] if new else found[0][1]
    return None


@lru_cache(maxsize=4096)
def _given(question: str) -> frozenset[float]:
    """The numbers a question states (a reply that repeats them is not answering with them)."""
    return frozenset(round(n.value, 9) for n in parse_numbers(question, words=True))
