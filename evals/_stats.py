"""The numbers behind a claim: intervals for a pass rate, and paired tests between models.

Pure Python (``math``, ``statistics``, ``random``); the tests check each against scipy or
cases worked by hand.

**One model.** `pass_rate` gives the mean score and a 95% interval:

- 0/1 scores, no clusters: the Wilson score interval. With ``p`` the pass rate and ``z``
  the normal quantile (1.96 for 95%)::

      centre = (p + z²/2n) / (1 + z²/n)
      half   = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)

  Unlike ``p ± z·sqrt(p(1-p)/n)`` it stays inside [0, 1] and keeps its coverage at 0/n
  and n/n.
- items with a ``group``: clustered standard errors (Miller, "Adding Error Bars to Evals",
  2024, eq. 4). Items of one group (several questions on one passage) are not independent,
  so the squared deviations are summed per cluster before squaring::

      SE = sqrt( Σ_clusters ( Σ_{i in cluster} (x_i - mean) )² ) / n

  and the interval is ``mean ± z·SE`` (clipped to [0, 1]). An item without a group is a
  cluster of its own; with every cluster a singleton, SE is the plain ``sd/√n``
  (population sd).
- fractional scores, no clusters: ``mean ± z·sd/√n`` (sample sd).

**Two models on the same items.** `paired_comparison` takes per-item scores in the same
item order. The difference ``d_i = a_i - b_i`` cancels the item's own difficulty, so the
paired SE ``sd(d, ddof=1)/√n`` is smaller than comparing two independent intervals
(Miller section 4; clustered as above when groups are given). With 0/1 scores it also runs
McNemar's exact test: of the discordant items, ``b`` where only A is right and ``c``
where only B is right; under "no difference" ``b ~ Binomial(b + c, ½)``, and the
two-sided p is ``min(1, 2·P(X ≤ min(b, c)))``. `paired_bootstrap` resamples items (or
whole clusters) with a seeded generator for a percentile interval of the difference.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Estimate",
    "McNemar",
    "PairedComparison",
    "Summary",
    "clustered_se",
    "mcnemar",
    "mcnemar_p",
    "paired_bootstrap",
    "paired_comparison",
    "pass_rate",
    "percentile",
    "summarize",
    "wilson_interval",
    "z_value",
]

_EXACT_BINOMIAL_UP_TO = 10_000  # discordant pairs: beyond this, the tail is summed in logs


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean score with its interval; ``method`` says how the interval was made."""

    n: int
    mean: float
    se: float
    ci_low: float
    ci_high: float
    method: Literal["wilson", "clustered", "normal"]
    clusters: int | None = None  # with method "clustered": how many


@dataclass(frozen=True, slots=True)
class McNemar:
    """McNemar's exact test: ``b`` items only A got right, ``c`` only B; two-sided ``p``."""

    b: int
    c: int
    p_value: float


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """A minus B on their shared items: mean difference, paired SE and interval."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    se: float
    ci_low: float
    ci_high: float
    clustered: bool
    mcnemar: McNemar | None  # when both score 0/1


@dataclass(frozen=True, slots=True)
class Summary:
    """The spread of a per-item quantity (tokens, latency, cost)."""

    n: int
    mean: float
    p50: float
    p95: float


def z_value(confidence: float = 0.95) -> float:
    """The two-sided normal quantile: 1.959964 for 0.95."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return statistics.NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``n``; (0, 1) when ``n`` is 0."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exactly, not 1e-17
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def clustered_se(values: Sequence[float], groups: Sequence[str | None]) -> float:
    """Miller's clustered standard error of the mean; an item with group None stands alone."""
    _same_length(values, groups)
    n = len(values)
    if n == 0:
        return math.nan
    mean = math.fsum(values) / n
    sums: dict[str, float] = {}  # cluster -> sum of deviations from the mean
    alone = 0.0  # squared deviations of items in no cluster
    for x, group in zip(values, groups, strict=True):
        if group is None:
            alone += (x - mean) ** 2
        else:
            sums[group] = sums.get(group, 0.0) + (x - mean)
    return math.sqrt(alone + math.fsum(s * s for s in sums.values())) / n


def pass_rate(
    values: Sequence[float],
    groups: Sequence[str | None] | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """The mean score and its interval (see the module docstring for which interval)."""
    n = len(values)
    if n == 0:
        return Estimate(0, math.nan, math.nan, 0.0, 1.0, "wilson")
    mean = math.fsum(values) / n
    z = z_value(confidence)
    if groups is not None and any(g is not None for g in groups):
        se = clustered_se(values, groups)
        clusters = len({g for g in groups if g is not None}) + sum(g is None for g in groups)
        low, high = _clip(mean - z * se, mean + z * se)
        return Estimate(n, mean, se, low, high, "clustered", clusters)
    if all(x in (0, 1) for x in values):
        successes = int(sum(values))
        low, high = wilson_interval(successes, n, confidence)
        return Estimate(n, mean, math.sqrt(mean * (1 - mean) / n), low, high, "wilson")
    se = statistics.stdev(values) / math.sqrt(n) if n > 1 else math.nan
    low, high = _clip(mean - z * se, mean + z * se)
    return Estimate(n, mean, se, low, high, "normal")


def paired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    groups: Sequence[str | None] | None = None,
    confidence: float = 0.95,
) -> PairedComparison:
    """A minus B over the same items (same order): difference, paired SE, interval, McNemar."""
    _same_length(a, b)
    n = len(a)
    if n == 0:
        nan = math.nan
        return PairedComparison(0, nan, nan, nan, nan, nan, nan, False, None)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    mean_a, mean_b = math.fsum(a) / n, math.fsum(b) / n
    diff = math.fsum(diffs) / n
    clustered = groups is not None and any(g is not None for g in groups)
    if clustered:
        assert groups is not None
        se = clustered_se(diffs, groups)
    else:
        se = statistics.stdev(diffs) / math.sqrt(n) if n > 1 else math.nan
    z = z_value(confidence)
    binary = all(x in (0, 1) for x in a) and all(y in (0, 1) for y in b)
    test = mcnemar([x == 1 for x in a], [y == 1 for y in b]) if binary else None
    return PairedComparison(
        n, mean_a, mean_b, diff, se, diff - z * se, diff + z * se, clustered, test
    )


def mcnemar(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> McNemar:
    """McNemar's exact test on paired right/wrong outcomes."""
    _same_length(a_correct, b_correct)
    b = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if x and not y)
    c = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if y and not x)
    return McNemar(b, c, mcnemar_p(b, c))


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact p for ``b`` and ``c`` discordant pairs: ``min(1, 2·P(X ≤ min(b, c)))``,
    X ~ Binomial(b + c, ½). Exact in integers up to 10,000 pairs, in logs beyond."""
    if b < 0 or c < 0:
        raise ValueError(f"counts must be >= 0, got b={b}, c={c}")
    n, k = b + c, min(b, c)
    if n == 0 or 2 * k >= n:
        return 1.0
    if n <= _EXACT_BINOMIAL_UP_TO:
        term, tail = 1, 1  # C(n, 0), and the running sum C(n, 0) + ... + C(n, i)
        for i in range(k):
            term = term * (n - i) // (i + 1)
            tail += term
        return min(1.0, 2 * tail / (1 << n))  # int / int is correctly rounded
    logs = [_log_comb(n, i) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, 2 * math.exp(top) * math.fsum(math.exp(x - top) for x in logs))


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    groups: Sequence[str | None] | None = None,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """A percentile interval for mean(A - B), resampling items (or whole groups) with a
    seeded ``random.Random``: the same inputs and seed give the same interval."""
    _same_length(a, b)
    if not a:
        return math.nan, math.nan
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    rng = random.Random(seed)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    means: list[float] = []
    if groups is not None and any(g is not None for g in groups):
        _same_length(a, groups)
        units: dict[object, list[float]] = {}  # cluster -> [sum of diffs, items]
        for i, (d, g) in enumerate(zip(diffs, groups, strict=True)):
            unit = units.setdefault(g if g is not None else ("item", i), [0.0, 0.0])
            unit[0] += d
            unit[1] += 1
        clusters = list(units.values())
        for _ in range(resamples):
            drawn = rng.choices(clusters, k=len(clusters))
            means.append(sum(u[0] for u in drawn) / sum(u[1] for u in drawn))
    else:
        n = len(diffs)
        for _ in range(resamples):
            means.append(sum(rng.choices(diffs, k=n)) / n)
    alpha = 1 - confidence
    return percentile(means, 100 * alpha / 2), percentile(means, 100 * (1 - alpha / 2))


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating linearly between order statistics
    (numpy's default); nan for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, got {q!r}")
    ordered = sorted(values)
    if not ordered:
        return math.nan
    h = (len(ordered) - 1) * q / 100
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (h - lo)


def summarize(values: Iterable[float | None]) -> Summary:
    """Mean, p50 and p95 of the values that are known (None is skipped)."""
    known = sorted(v for v in values if v is not None)
    if not known:
        return Summary(0, math.nan, math.nan, math.nan)
    return Summary(
        len(known), math.fsum(known) / len(known), percentile(known, 50), percentile(known, 95)
    )


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _clip(low: float, high: float) -> tuple[float, float]:
    return max(0.0, low), min(1.0, high)


def _same_length(a: Sequence[object], b: Sequence[object]) -> None:
    if len(a) != len(b):
        raise ValueError(f"paired sequences differ in length: {len(a)} and {len(b)}")
