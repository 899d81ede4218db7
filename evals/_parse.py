"""Where a reply states its final answer, read the way a careful grader reads it.

A grader looks for the answer the reply *commits to*, not for the last thing it mentions:

1. **Marked answers** (`marked`), the last one first: an answer label (``Answer: X``,
   ``**Final answer:** X``, ``ANSWER - X``, a heading ``**Final Answer**`` over its line),
   GSM8K's ``#### X``, or ``\\boxed{X}``; then the prose markers (``the answer is X``,
   ``the correct option is X``, ``the best match is X``), skipping those in a condition
   (``if ..., the answer would be Y``) or denied (``the answer is not Y``). A label outranks
   prose, so a later note that mentions "the answer" does not override ``Answer: X``.
2. Without one, the reply's **conclusion** (each scorer reads it in its own way): its bold
   spans, its last short line, and its sentences, pleasantries (``Hope this helps!``) and
   checks (``You can check: ...``) left out.

A reply that commits to nothing (`hedged`: ``either B or C``; `refuses`: ``I don't have
enough information``) has no answer: scorers call it unparsed, never right.

The readers built on it: `evals._letters` (choice letters), `evals._numbers` (numbers),
`evals._dates` (dates), and the ``normalized`` scorer (free text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache

__all__ = [
    "COMMIT",
    "bold_at",
    "bold_spans",
    "clean",
    "clauses",
    "committed",
    "hedge_start",
    "hedged",
    "last_boxed",
    "last_short_line",
    "marked",
    "refuses",
    "rejected",
    "sentences",
    "without_parentheticals",
]

# -- markers ---------------------------------------------------------------------------------

# "Answer:", "**Answer:**", "Final answer -", "Correct answer: B", "Correct choice: B"
_LABEL = re.compile(
    r"(?i:\b(?:(?:final|correct|right|best|my|short)\s+(?:answer|choice|option)|answer)\b"
    r"[ \t]*(?:\*\*|__|\*)?[ \t]*"
    r"(?:[:：]|[-–—](?=[ \t])))[ \t*_]*"
)
# a line that is only a heading: "**Final Answer**", "## Answer", "Final answer:"
_HEADING = re.compile(
    r"(?im)^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*(?:final[ \t]+)?answer[ \t]*[:：]?[ \t]*"
    r"(?:\*\*|__)?[ \t]*[:：]?[ \t]*$"
)
# the last line is an answer label and its value: what `_labelled` would find last
_LAST_LABEL = re.compile(
    r"[ \t*_]*(?i:(?:(?:final|correct|right|best|my|short)\s+(?:answer|choice|option)|answer))"
    r"[ \t]*(?:\*\*|__|\*)?[ \t]*"
    r"[:：][ \t*_]*(\S[^\n]*)\Z"
)
_LABEL_WORDS = ("nswer", "NSWER", "hoice", "HOICE", "ption", "PTION")  # before a regex scan
_OTHER_MARK = re.compile(r"(?i)nswer|choice|option|####|\\(?:boxed|fbox)")
_HASHES = re.compile(r"(?m)^[ \t]*####[ \t]*(?=\S)")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
# "the answer is", "the correct option is", "my final answer would be", "best match is"
_PROSE = re.compile(
    r"(?i:\b(?:(?:the|my|our|your|final|correct|right|best)\s+)+"
    r"(?:answer|option|choice|match|pick|word|one)\s+(?:here\s+)?"
    r"(?:is|would\s+be|will\s+be|should\s+be|=)(?![\w'])"
    r"|\banswer\s+is(?![\w'])"
    r"|\b(?:closest|best)\s+(?:word|match|fit|synonym)\s+(?:here\s+)?is\b)"
    r"[ \t:]*"
)
_CONDITION = re.compile(r"(?i)\b(?:if|unless|assuming|suppose|supposing|were)\b")
_NOT = re.compile(r"(?i)^(?:not|never|neither)\b")
_VERDICT = re.compile(r"(?i)\bgrade\s*:\s*\**\s*(?:in)?correct\b")  # a judge's (evals._judge)
_SENTENCE_END = re.compile(r"[.!?](?=[\s)\"'*]|$)|\n")

# a phrase picking an option: "I'd go with C", "option C", "C is correct", "..., so C."
COMMIT = re.compile(
    r"(?i:\b(?:i(?:'d|’d|\s+would|'ll|’ll|\s+will)?|let'?s|we(?:'ll|\s+will)?)\s+"
    r"(?:pick|choose|select|go\s+(?:with|for)|say|lean\s+towards?|opt\s+for)\s+)"
    r"(?:(?i:option|choice|answer)\s+)?[(*$\[\"']*([A-Za-z])(?![A-Za-z0-9'’])"
    r"|\b(?i:option|choice)\s+[(*$\[]*([A-Za-z])(?![A-Za-z0-9'’])"
    r"|(?<![A-Za-z0-9'’\\])[(*$\[]*([A-Z])[)*$\]]*\s+(?i:is\s+(?:the\s+)?(?:correct|right|"
    r"best|true)\b|is\s+the\s+(?:answer|one)\b)"
    r"|\b(?i:so|thus|hence|therefore)[,:]?\s+[(*$\[]*([A-Z])[)*$\]]*(?=[.!]?[ \t]*(?:\n|\Z))"
)


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (nested braces allowed), or None."""
    if "\\" not in text:  # no \boxed, no \fbox
        return None
    for start in reversed([m.end() for m in _BOXED.finditer(text)]):
        end = _closing(text, start)
        if end is not None:
            return text[start:end]
    return None


def _closing(text: str, start: int) -> int | None:
    """Where the brace opened just before ``start`` closes, or None."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return None


def _line_after(text: str, at: int) -> str:
    """The rest of the line from ``at``, or the next non-blank line when that is blank."""
    for line in text[at:].split("\n"):
        if line.strip(" \t*_:"):
            return line
    return ""


def marked(text: str) -> Iterator[str]:
    """The text each answer marker gives, the one to believe first: labelled ones (an
    ``Answer:`` label, a heading, ``####``, ``\\boxed{}``) last to first, then prose ones
    (``the answer is``) last to first (see the module docstring). Lazy: a reader stops at
    the first it can read."""
    last = _LAST_LABEL.match(text, text.rfind("\n") + 1)
    if last is not None and not _OTHER_MARK.search(last.group(1)):
        yield last.group(1)  # the usual reply: "Answer: X" on the last line; no need to scan
    yield from reversed(_labelled(text))
    yield from reversed(_prose(text))


def _labelled(text: str) -> list[str]:
    strong: list[tuple[int, str]] = []
    if any(word in text for word in _LABEL_WORDS):
        strong += [(m.start(), _line_after(text, m.end())) for m in _LABEL.finditer(text)]
        if "\n" in text:
            strong += [(m.start(), _line_after(text, m.end())) for m in _HEADING.finditer(text)]
    if "####" in text:
        strong += [(m.start(), _line_after(text, m.end())) for m in _HASHES.finditer(text)]
    if "\\" in text:
        for m in _BOXED.finditer(text):
            end = _closing(text, m.end())
            if end is not None:
                strong.append((m.start(), text[m.end() : end]))
    if len(strong) > 1:
        strong.sort(key=lambda pair: pair[0])
    return [s for _, s in strong]


def _prose(text: str) -> list[str]:
    prose = []
    for m in _PROSE.finditer(text):
        start = _sentence_start(text, m.start())
        if _CONDITION.search(text, start, m.start()):
            continue  # "if she had sold more, the answer would be 30"
        end = _SENTENCE_END.search(text, m.end())
        segment = text[m.end() : end.start() if end else len(text)]
        if segment.strip() and not _NOT.match(segment.lstrip(" *_$(")):
            prose.append(segment)
    return prose


def committed(text: str) -> bool:
    """Whether a reply marks an answer somewhere (`marked`), picks an option by a phrase
    (``I'd go with C``), gives a judge's verdict (``GRADE: CORRECT``) or is a complete JSON
    value: a reply cut off at ``max_tokens`` without any of these stopped before it
    answered."""
    if next(marked(text), None) is not None or COMMIT.search(text) or _VERDICT.search(text):
        return True
    stripped = text.strip()
    if stripped[:1] in ("{", "[", "`"):
        body = stripped.strip("`")
        body = body[4:] if body.startswith("json") else body
        try:
            json.loads(body)
        except (ValueError, RecursionError):
            return False
        return True
    return False


def _sentence_start(text: str, at: int) -> int:
    """Where the sentence holding position ``at`` starts."""
    start = 0
    for m in _SENTENCE_END.finditer(text, 0, at):
        start = m.end()
    return start


_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}")
_MATH = re.compile(r"\\[()\[\]]|\$")


def clean(segment: str) -> str:
    """A marked answer without its markup: ``\\boxed{}`` and ``\\text{}`` unwrapped, math
    delimiters, bold and trailing punctuation removed."""
    if "\\" in segment:
        segment = last_boxed(segment) or segment
        segment = _WRAP.sub(r"\1", segment)
    if "$" in segment or "\\" in segment:
        segment = _MATH.sub("", segment)
    if "**" in segment or "__" in segment:
        segment = segment.replace("**", "").replace("__", "")
    return segment.strip().strip("*_`").rstrip(" .!;,").strip()


# -- the conclusion --------------------------------------------------------------------------

_BOLD = re.compile(r"\*\*([^*\n]+?)\*\*(?!\*)|__([^_\n]+?)__")
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]*]*[ \t]+(?=[\"'(\[*]*[A-Z0-9$\\])")
_BULLET = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,2}[.)])[ \t]+")
_PLEASANTRY = re.compile(
    r"(?i)^[\W_]*(?:(?:great|good|excellent|interesting|fun|nice|tricky|sure|certainly|"
    r"of course|ah|oh|okay|ok|hmm|wow|absolutely|alright|all right)\b[^.!?]*!"
    r"|(?:i|we)\s+hope\b|hope\s+(?:this|that|it)\b|let\s+me\s+know\b|feel\s+free\b"
    r"|if\s+you\s+(?:have|need|want|would|'d|’d)\b|is\s+there\s+anything\b|happy\s+to\b"
    r"|good\s+luck\b|glad\s+to\b|pretty\s+(?:neat|cool)\b|not\s+bad\b|isn'?t\s+that\b"
    r"|what\s+an?\s+\w+\s+\w+!|fun\s+fact\b|enjoy\b)"
)
_CHECK = re.compile(
    r"(?i)^[\W_]*(?:(?:you\s+can\s+|we\s+can\s+|let'?s\s+|to\s+)?(?:check|verify|verification"
    r"|double[- ]check|sanity[- ]check)\b|check:|✓)"
)


@lru_cache(maxsize=256)
def sentences(text: str) -> tuple[str, ...]:
    """The reply's sentences that may state an answer, in order: lines and sentences,
    list bullets removed, pleasantries, checks and questions left out."""
    out = []
    for line in text.split("\n"):
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        for sentence in _SPLIT.split(line):
            sentence = sentence.strip()
            bare = sentence.strip("*_ \t")
            if not bare or bare.endswith("?") or _PLEASANTRY.match(bare) or _CHECK.match(bare):
                continue
            out.append(sentence)
    return tuple(out)


def bold_spans(text: str) -> list[str]:
    """The text in ``**bold**`` (or ``__bold__``), in order, headings (a bold ending in a
    colon, or followed by one) left out."""
    return [inner for _, inner in bold_at(text)]


def bold_at(text: str) -> list[tuple[int, str]]:
    """`bold_spans` with where each starts in ``text``."""
    if "**" not in text and "__" not in text:
        return []
    out = []
    for m in _BOLD.finditer(text):
        group = 1 if m.group(1) is not None else 2
        inner = m.group(group).strip()
        if not inner or inner.endswith(":") or text[m.end() : m.end() + 1] == ":":
            continue
        out.append((m.start(group), inner))
    return out


def last_short_line(text: str, words: int = 6) -> str | None:
    """The reply's last line when it is short (at most ``words`` words) and follows other
    lines: an answer set apart at the end. None otherwise."""
    lines = [line.strip() for line in text.strip().split("\n") if line.strip()]
    if len(lines) < 2:
        return None
    last = lines[-1].strip("*_#> \t")
    if not last or len(last.split()) > words or last.endswith((":", "?")):
        return None
    if _PLEASANTRY.match(last) or _CHECK.match(last):
        return None
    return last


_CONCLUDES = re.compile(r"(?i)[;:]\s|,?\s+(?:so|thus|hence|therefore|then)\b,?")
_LEADING = re.compile(
    r"(?i)\s*(?:since|because|as|given|after|although|though|while|if|when|once)\b[^,]*,\s*"
)
_SUBORDINATE = re.compile(
    r"(?i),\s*(?:and\s+)?(?:which|since|because|as|while|whereas|saving|leaving|i\.e\.|"
    r"e\.g\.|meaning|or\s+about|about|approximately|roughly)\b|\s+(?:since|because|after|"
    r"before|from|while|whereas|given|assuming)\b|\s+[—–]\s+|\s*\("
)


def clauses(sentence: str) -> tuple[str, str]:
    """(conclusion, main): the part after the sentence's last ``so``/``therefore``/``then``
    or ``:``/``;`` (the whole sentence if none), and that part cut at its first subordinate
    clause or parenthesis (``, which ...``, ``since ...``, ``after ...``, ``(...)``)."""
    last = sentence
    for m in _CONCLUDES.finditer(sentence):
        if sentence[m.end() :].strip():
            last = sentence[m.end() :]
    lead = _LEADING.match(last)
    if lead and last[lead.end() :].strip():
        last = last[lead.end() :]
    cut = _SUBORDINATE.search(last)
    main = last[: cut.start()] if cut and last[: cut.start()].strip() else last
    return last, main


_PARENS = re.compile(r"\s*\([^()]*\)|\s*\[[^\[\]]*\]")


def without_parentheticals(text: str) -> str:
    """``text`` with its ``(...)`` and ``[...]`` asides removed."""
    if "(" not in text and "[" not in text:
        return text
    return _PARENS.sub("", text)


# -- no committed answer --------------------------------------------------------------------

_HEDGE = re.compile(
    r"(?i)\beither\b.{1,80}?\bor\b|\b(?:torn|choose|deciding)\s+between\b|\bnot\s+sure\s+"
    r"(?:whether|if)\b|\bcould\s+be\s+\S+\s+or\b|\bmight\s+be\s+\S+\s+or\b"
)
_REFUSAL = re.compile(
    r"(?i)\bi(?:\s+am|'m|’m)\s+(?:not\s+(?:sure|certain|able\s+to)|unable\s+to)\b"
    r"|\bi\s+(?:do\s+not|don'?t|don’t|cannot|can'?t|can’t)\s+(?:\w+\s+)?"
    r"(?:know|answer|determine|tell|say|help|provide)\b"
    r"|(?:\bnot|n't|n’t)\s+(?:have\s+)?enough\s+information\b|\binsufficient\s+information\b"
    r"|\bcannot\s+be\s+answered\b|\bi(?:'m|’m|\s+am)\s+sorry,?\s+but\s+i\b"
)


def hedged(text: str) -> bool:
    """The text hedges between answers (``either B or C``, ``torn between``)."""
    return _HEDGE.search(text) is not None


def hedge_start(text: str) -> int | None:
    """Where the text starts to hedge between answers, or None."""
    m = _HEDGE.search(text)
    return m.start() if m else None


def refuses(text: str) -> bool:
    """The text declines to answer (``I don't know``, ``not enough information``)."""
    return _REFUSAL.search(text) is not None


_BEFORE_REJECT = re.compile(
    r"(?i)(?:\bnot|n't|n’t|\bnever|\brather\s+than|\binstead\s+of|\bunlike|\bother\s+than"
    r"|\bexcept(?:\s+for)?|\brule\s+out|\bruled\s+out|\beliminate|\bconfused\s+with"
    r"|\bmistake\s+is\s+to\s+think(?:\s+it\s+is|\s+it's)?|\bnor)"
    r"\s+(?:(?:the|a|an|option|choice|answer|it's|it\s+is|is|be|with)\s+)*[(*$\"'“]*$"
)
_AFTER_REJECT = re.compile(
    r"(?i)^[)*$\"'”\]]*\s*(?:\([^)]*\)\s*)?,?\s*(?:which\s+)?(?:is|was|are|would\s+be|seems)\s+"
    r"(?:actually\s+|also\s+|clearly\s+|definitely\s+|just\s+)?(?:not\b|incorrect|wrong|false"
    r"|the\s+opposite|an?\s+(?:distractor|trap|antonym|common\s+mistake)|tempting"
    r"|ruled\s+out|eliminated|out\b)"
)


def rejected(text: str, start: int, end: int) -> bool:
    """Whether the mention at ``text[start:end]`` is rejected where it stands (``not X``,
    ``rather than X``, ``X is wrong``, ``X is actually the opposite``)."""
    return bool(
        _BEFORE_REJECT.search(text, max(0, start - 40), start)
        or _AFTER_REJECT.match(text[end : end + 60])
    )
