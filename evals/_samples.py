"""Several samples per item (a request with ``n`` > 1): pass@k and the majority vote.

**pass@k** is the chance that at least one of ``k`` samples drawn from an item's ``n`` is
correct. Drawing ``k`` from ``n`` samples of which ``c`` are correct, the unbiased
estimator (Chen et al. 2021, "Evaluating Large Language Models Trained on Code", eq. 1) is::

    pass@k = 1 - C(n - c, k) / C(n, k)            (1 when n - c < k)

It is computed per item, then averaged over the items with at least ``k`` samples; its
interval is the one `pass_rate` gives for those per-item values (t, or clustered by
``metadata.cluster`` as the accuracy is; Wilson when every value is 0 or 1, as for
``k = n``). pass@1 is the mean of
``c / n``: the expected accuracy of one sample, with less noise than sample 0 alone.

**The majority vote** takes the answer given most often among an item's samples (the
scorer's extracted answer, as text; samples with no answer do not vote), ties going to the
answer that came first, and scores it as its first sample was scored.

The main accuracy of a model stays the score of sample 0 (choice ``index`` 0), so a run
with ``n`` > 1 reports the same accuracy as a run with one sample would (and pairs the same
way in a comparison); pass@k and the majority vote are reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["k_values", "majority_vote", "pass_at_k"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate of pass@k for ``c`` correct out of ``n`` samples (``k <= n``)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)  # int / int: correctly rounded


def k_values(n: int) -> list[int]:
    """The k reported for up to ``n`` samples: 1, each power of 2 below ``n``, and ``n``."""
    ks = []
    k = 1
    while k < n:
        ks.append(k)
        k *= 2
    return [*ks, n] if n >= 1 else []


def majority_vote(answers: Sequence[str | None]) -> int | None:
    """The index of the first sample giving the most common answer; None if none answered.

    Answers compare as text with surrounding whitespace removed; None does not vote.
    """
    counts: dict[str, int] = {}
    first: dict[str, int] = {}  # answer -> the first sample that gave it
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        key = answer.strip()
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, i)
    if not counts:
        return None
    best = max(counts.values())
    return min(first[a] for a, c in counts.items() if c == best)
