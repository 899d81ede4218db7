"""Calibration from token log probabilities: how often an answer given with confidence p is
right.

**Confidence.** The probability the model gave its answer: find the last run of
consecutive tokens whose text, joined and stripped, equals the extracted answer (``B``,
``42``; most often one token), also when the run carries the answer's punctuation or
markup with it (``" (B)."``, ``"**B**"``, ``"$B$"``, ``"\\boxed{42}"``, ``" 42."``: what is
around the answer is stripped), and take ``exp`` of the sum of their log probabilities. A
run is at most `MAX_RUN` tokens and starts and ends on tokens holding part of the answer.
An answer that appears nowhere in the tokens, or whose tokens carry no log probability,
has no confidence: such items are counted and left out.
Items whose scorer reads a structure rather than a short answer (`STRUCTURED`: tool calls,
JSON, a judge's verdict) are not calibrated at all: their answer is no token.

**Expected calibration error** (Naeini et al. 2015; Guo et al. 2017), with ``B`` = 10
equal-width bins of confidence (``[0, 0.1)``, ..., ``[0.9, 1.0]``)::

    ECE = Σ_b (n_b / N) · | accuracy_b - mean confidence_b |

**Brier score**: the mean of ``(confidence - correct)²`` (0 is perfect; always answering
with confidence 0.5 scores 0.25). The bins are kept for a reliability diagram.

Worked example (the tests check it): confidences 0.95, 0.95, 0.15, 0.55 with correctness
1, 0, 0, 1 fill three bins: [0.9, 1] (2 items, accuracy 0.5, confidence 0.95), [0.1, 0.2)
(1 item, 0 against 0.15) and [0.5, 0.6) (1 item, 1 against 0.55), so
``ECE = 2/4·0.45 + 1/4·0.15 + 1/4·0.45 = 0.375`` and
``Brier = (0.0025 + 0.9025 + 0.0225 + 0.2025) / 4 = 0.2825``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ._extract import TokenLogprob

__all__ = [
    "BINS",
    "MAX_RUN",
    "STRUCTURED",
    "Bin",
    "Calibration",
    "answer_confidence",
    "calibration",
]

BINS = 10
MAX_RUN = 8  # tokens an answer may span
STRUCTURED = frozenset({"tool_call", "json", "json_schema", "judge"})  # not calibrated
_MARKUP = re.compile(r"\\(?:boxed|text|textbf|mathrm)\{")  # LaTeX wrappers around an answer
_EDGES = " \t\r\n*$()[]{}.,:;!?'\"`"  # what may sit around an answer in its token


@dataclass(frozen=True, slots=True)
class Bin:
    """One bin of the reliability diagram: confidences in [low, high)."""

    low: float
    high: float
    n: int
    confidence: float  # mean confidence of its items (nan when empty)
    accuracy: float  # fraction of its items that are correct (nan when empty)


@dataclass(frozen=True, slots=True)
class Calibration:
    """ECE and Brier over the ``n`` items with a confidence; ``without`` had none."""

    n: int
    without: int
    ece: float
    brier: float
    mean_confidence: float
    accuracy: float
    bins: tuple[Bin, ...]


def answer_confidence(tokens: Sequence[TokenLogprob] | None, answer: str | None) -> float | None:
    """The probability of ``answer`` read from ``tokens`` (see the module docstring)."""
    if not tokens or answer is None:
        return None
    want = answer.strip()
    if not want:
        return None
    for end in range(len(tokens) - 1, -1, -1):
        if not _bare(tokens[end][0]):
            continue  # a run ends on a token holding part of the answer
        text = ""
        for start in range(end, max(-1, end - MAX_RUN), -1):
            text = tokens[start][0] + text
            got = _bare(text)
            if text.strip() == want or got == want:
                logprobs = [lp for _, lp in tokens[start : end + 1]]
                if any(lp is None for lp in logprobs):
                    return None
                return math.exp(math.fsum(lp for lp in logprobs if lp is not None))
            if got and not want.endswith(got):
                break  # adding tokens on the left cannot make it match
    return None


def _bare(text: str) -> str:
    """``text`` without the whitespace, punctuation and markup around an answer."""
    return _MARKUP.sub("", text.strip()).strip(_EDGES)


def calibration(
    confidences: Sequence[float | None], correct: Sequence[bool], bins: int = BINS
) -> Calibration:
    """ECE, Brier and the reliability bins; items whose confidence is None are left out."""
    if len(confidences) != len(correct):
        raise ValueError(f"lengths differ: {len(confidences)} and {len(correct)}")
    pairs = [(p, ok) for p, ok in zip(confidences, correct, strict=True) if p is not None]
    without = len(confidences) - len(pairs)
    for p, _ in pairs:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a confidence is a probability, got {p!r}")
    filled: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for p, ok in pairs:
        filled[min(int(p * bins), bins - 1)].append((p, ok))
    n = len(pairs)
    nan = math.nan
    out_bins = []
    ece = 0.0
    for b, members in enumerate(filled):
        size = len(members)
        conf = math.fsum(p for p, _ in members) / size if size else nan
        acc = sum(ok for _, ok in members) / size if size else nan
        if size:
            ece += size / n * abs(acc - conf)
        out_bins.append(Bin(b / bins, (b + 1) / bins, size, conf, acc))
    if not n:
        return Calibration(0, without, nan, nan, nan, nan, tuple(out_bins))
    brier = math.fsum((p - ok) ** 2 for p, ok in pairs) / n
    mean_conf = math.fsum(p for p, _ in pairs) / n
    accuracy = sum(ok for _, ok in pairs) / n
    return Calibration(n, without, ece, brier, mean_conf, accuracy, tuple(out_bins))
