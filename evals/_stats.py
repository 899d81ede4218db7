"""The numbers behind a claim: intervals for a pass rate, and paired tests between models.

Pure Python (``math``, ``statistics``, ``random``); tests/evals/test_stats.py checks each
formula against scipy, statsmodels and published worked examples.

**One model.** `pass_rate` gives the mean score and a 95% interval; ``Estimate.method``
says which (``ci_method`` in tables, reports and JSON):

- ``wilson``: 0/1 scores. With ``p`` the pass rate and ``z`` the normal quantile (1.96)::

      centre = (p + z²/2n) / (1 + z²/n)
      half   = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)

  Unlike ``p ± z·sqrt(p(1-p)/n)`` it stays inside [0, 1], keeps its coverage near 0 and 1,
  and never has zero width: 0/10 is [0, 27.8%], 10/10 is [72.2%, 100%].
- ``t``: fractional scores (a custom scorer's 0.5): ``mean ± t(n-1)·s/√n``, s the sample sd.

Clusters are opt-in: items that share a passage or a source name the same
``metadata.cluster`` and are not independent (``metadata.group`` is only a breakdown).
An item without one is a cluster of its own. With G clusters:

- ``wilson, too few clusters`` / ``t, too few clusters``: G < `MIN_CLUSTERS` (10). A
  variance estimated from a handful of cluster sums is itself mostly noise (with 3 clusters
  it rests on 2 degrees of freedom, and is 0 whenever the clusters score alike), so the
  unclustered interval is given, and its method says why.
- ``wilson, clustered`` / ``t, clustered``: G ≥ 10. The cluster-robust variance of the
  mean with the CR1 small-sample factor (Cameron & Miller 2015; Miller, "Adding Error
  Bars to Evals", 2024, eq. 4 without it)::

      V_CR1 = G/(G-1) · Σ_clusters ( Σ_{i in cluster} (x_i - mean) )² / n²

  and the t quantile with G - 1 degrees of freedom. Its ratio to the unclustered variance
  (``p(1-p)/n`` for 0/1 scores, ``s²/n`` otherwise) is the design effect ``deff``; it is
  taken as at least 1, so a clustered interval is never narrower than the unclustered
  one (a ratio under 1 is noise or clusters that mix right and wrong by design; the
  Estimate keeps the ratio as measured). For 0/1 scores the interval is Wilson's with the
  effective sample size ``n / deff`` and the t quantile in place of z (Wilson's interval
  depends on them only through ``q²/n``, so this is the set of ``π`` with
  ``(p - π)² ≤ t² · deff · π(1-π)/n``: the effective-sample-size construction of survey
  statistics, Korn & Graubard 1998, there with Clopper-Pearson's interval). It contains
  the plain Wilson interval (``q²/n`` only grows), stays inside [0, 1] and is never of
  zero width, at 0% and 100% included (there the design effect is 0/0 and taken as 1).
  For fractional scores it is ``mean ± t(G-1)·sqrt(deff · s²/n)``.

**Two models on the same items.** `paired_comparison` takes per-item scores in the same
item order; the difference ``A - B`` cancels each item's own difficulty. The interval and
the p-value come from one test, inverted, so they cannot disagree: the interval excludes 0
exactly when ``p < 1 - confidence``.

- 0/1 scores: of the ``n`` pairs, ``b`` items only A got right, ``c`` only B; the
  difference is ``(b - c)/n``. The test is McNemar's score test (the asymptotic one,
  without continuity correction): ``Z = (b - c)/sqrt(b + c)``, two-sided normal ``p``. The
  interval is Tango's score interval (Tango 1998), the set of differences ``Δ`` that the
  score test of "difference = Δ" does not reject::

      Z(Δ) = (b - c - nΔ) / sqrt( n·(2·q(Δ) + Δ(1 - Δ)) ),    |Z(Δ)| ≤ z

  with ``q(Δ)`` the maximum-likelihood share of "only B right" pairs when the difference
  is Δ, the root ``(sqrt(B² - 4AC) - B)/(2A)`` of ``A = 2n``, ``B = -b - c + (2n - b + c)Δ``,
  ``C = -cΔ(1 - Δ)``. At ``Δ = 0``, ``q = (b + c)/2n`` and ``Z(0)`` is McNemar's Z: the
  interval is the inversion of the very test reported, so "0 outside the interval" and
  "p < 0.05" are the same statement. Both are what Fagerland, Lydersen & Laake (2013, 2014)
  recommend for paired proportions; Tango's interval stays inside [-1, 1] and is not of
  zero width when b = c = 0 (it is then ``±z²/(n + z²)``, and p = 1). The bounds are found
  by bisection on the side of 0 that the p-value decides, so rounding cannot move them
  across 0 either.

  McNemar's *exact* test (``b ~ Binomial(b + c, ½)``, ``p = min(1, 2·P(X ≤ min(b, c)))``)
  is kept as ``McNemar.p_exact`` but is not the test the interval goes with: it is
  conservative (its real level is well under 5% for small b + c), and near 0.05 the two
  disagree. Published example (Cavo et al. 2012, in Fagerland et al. 2014): b = 6, c = 16,
  n = 161 gives the score p 0.033 with Tango's interval -12.4 to -0.5 points, and the
  exact p 0.052; an interval from one and a p from the other would contradict.
- With G ≥ 10 clusters, a first-order Rao-Scott correction: ``Z(Δ)`` is divided by
  ``sqrt(deff)`` (the design effect of the per-item differences, CR1, at least 1) and
  referred to t with G - 1 degrees of freedom, both in the test and in the interval that
  inverts it. Under 10 clusters the unclustered test and interval are given, and the
  method says so.
- Fractional scores: the paired t interval ``d̄ ± t(n-1)·s_d/√n`` and the paired t-test it
  inverts (clustered as for one model: CR1, t(G-1), deff ≥ 1).

`paired_bootstrap` resamples items (or whole clusters) with a seeded generator for a
percentile interval of the difference: a check on the others, not tied to a test.
"""

from __future__ import annotations

import functools
import math
import random
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MIN_CLUSTERS",
    "Estimate",
    "McNemar",
    "PairedComparison",
    "Summary",
    "clustered_se",
    "describe",
    "mcnemar",
    "mcnemar_p",
    "mcnemar_score_p",
    "paired_bootstrap",
    "paired_comparison",
    "pass_rate",
    "percentile",
    "summarize",
    "t_quantile",
    "t_two_sided_p",
    "tango_interval",
    "tango_z",
    "wilson_interval",
    "z_value",
]

MIN_CLUSTERS = 10  # fewer clusters than this: the unclustered interval, and the method says so
_EXACT_BINOMIAL_UP_TO = 10_000  # discordant pairs: beyond this, the tail is summed in logs

Method = Literal[
    "wilson",
    "t",
    "wilson, clustered",
    "t, clustered",
    "wilson, too few clusters",
    "t, too few clusters",
]
PairedMethod = Literal[
    "tango",
    "t",
    "tango, clustered",
    "t, clustered",
    "tango, too few clusters",
    "t, too few clusters",
]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean score with its interval; ``method`` says how the interval was made.

    ``clusters``: how many clusters the items named (None when they named none);
    ``design_effect``: with a clustered method, the variance ratio as measured (the
    interval uses at least 1); None when undefined (every score the same).
    """

    n: int
    mean: float
    se: float
    ci_low: float
    ci_high: float
    method: Method
    clusters: int | None = None
    design_effect: float | None = None


@dataclass(frozen=True, slots=True)
class McNemar:
    """McNemar's test: ``b`` items only A got right, ``c`` only B.

    ``p_value`` is the score test that the paired interval inverts (clustered as its
    ``method`` says); ``p_exact`` the exact conditional binomial test, unclustered.
    """

    b: int
    c: int
    p_value: float
    p_exact: float
    method: Literal["score", "score, clustered", "score, too few clusters"] = "score"


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """A minus B on their shared items: the difference, its interval and the test it
    inverts (``p_value``); ``mcnemar`` when both score 0/1."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    se: float
    ci_low: float
    ci_high: float
    method: PairedMethod
    p_value: float
    clusters: int | None = None
    design_effect: float | None = None
    mcnemar: McNemar | None = None

    @property
    def clustered(self) -> bool:
        return self.method.endswith(", clustered")


@dataclass(frozen=True, slots=True)
class Summary:
    """The spread of a per-item quantity (tokens, latency, cost)."""

    n: int
    mean: float
    p50: float
    p95: float


def z_value(confidence: float = 0.95) -> float:
    """The two-sided normal quantile: 1.959964 for 0.95."""
    _check_confidence(confidence)
    return statistics.NormalDist().inv_cdf(0.5 + confidence / 2)


# Student's t ------------------------------------------------------------------------------


def t_two_sided_p(t: float, df: float) -> float:
    """``P(|T| ≥ |t|)`` for T ~ Student's t with ``df`` degrees of freedom.

    The regularized incomplete beta ``I_x(df/2, 1/2)`` at ``x = df/(df + t²)``, by its
    continued fraction (modified Lentz); within 1e-9 of scipy up to 10⁶ df.
    """
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df!r}")
    if math.isnan(t):
        return math.nan
    t2 = t * t
    if math.isinf(t2):
        return 0.0
    return _betai(df / 2, 0.5, df / (df + t2), t2 / (df + t2))


@functools.lru_cache(maxsize=256)
def t_quantile(confidence: float, df: float) -> float:
    """The two-sided t quantile: ``t`` with ``t_two_sided_p(t, df) = 1 - confidence``
    (2.262 for 0.95 and 9 df), by bisection to the last bits."""
    _check_confidence(confidence)
    alpha = 1 - confidence
    low = z_value(confidence)  # t's quantile is never below the normal one
    high = 2 * low
    while t_two_sided_p(high, df) > alpha:
        low, high = high, 2 * high
    for _ in range(200):
        mid = (low + high) / 2
        if mid in (low, high):
            break
        if t_two_sided_p(mid, df) > alpha:
            low = mid
        else:
            high = mid
    return high


def _betai(a: float, b: float, x: float, y: float) -> float:
    """The regularized incomplete beta ``I_x(a, b)``; ``y`` is ``1 - x``, given exactly."""
    if x <= 0:
        return 0.0
    if y <= 0:
        return 1.0
    front = math.exp(
        a * math.log(x) + b * math.log(y) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1 - front * _betacf(b, a, y) / b


def _betacf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1_000_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1) < 1e-16:
            break
    return h


# One model --------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``n``; (0, 1) when ``n`` is 0."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    return _wilson(successes / n, n, z_value(confidence))


def _wilson(p: float, n: float, q: float) -> tuple[float, float]:
    """Wilson's interval for the rate ``p`` of ``n`` (possibly an effective, fractional n)
    with the quantile ``q``."""
    k = q * q / n
    denom = 1 + k
    centre = (p + k / 2) / denom
    half = q / denom * math.sqrt(max(0.0, p * (1 - p)) / n + k / (4 * n))
    low = 0.0 if p <= 0 else max(0.0, centre - half)  # exactly, not 1e-17
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return low, high


def clustered_se(values: Sequence[float], clusters: Sequence[str | None]) -> float:
    """The cluster-robust standard error of the mean with the CR1 factor ``G/(G-1)``;
    an item with cluster None stands alone. nan for no values or a single cluster."""
    _same_length(values, clusters)
    n = len(values)
    if n == 0:
        return math.nan
    sums, g = _cluster_sums(values, clusters, math.fsum(values) / n)
    if g < 2:
        return math.nan
    return math.sqrt(g / (g - 1) * math.fsum(s * s for s in sums)) / n


def _cluster_sums(
    values: Sequence[float], clusters: Sequence[str | None], mean: float
) -> tuple[list[float], int]:
    """The sum of deviations from ``mean`` per cluster (an item of None alone), and G."""
    named: dict[str, float] = {}
    alone: list[float] = []
    for x, cluster in zip(values, clusters, strict=True):
        if cluster is None:
            alone.append(x - mean)
        else:
            named[cluster] = named.get(cluster, 0.0) + (x - mean)
    sums = [*named.values(), *alone]
    return sums, len(sums)


def _named(clusters: Sequence[str | None] | None) -> bool:
    return clusters is not None and any(c is not None for c in clusters)


def pass_rate(
    values: Sequence[float],
    clusters: Sequence[str | None] | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """The mean score and its interval (the module docstring says which interval)."""
    n = len(values)
    if n == 0:
        return Estimate(0, math.nan, math.nan, 0.0, 1.0, "wilson")
    mean = math.fsum(values) / n
    binary = all(x in (0, 1) for x in values)
    if binary:
        v_iid = mean * (1 - mean) / n
    else:
        v_iid = statistics.variance(values) / n if n > 1 else math.nan
    g = None
    if _named(clusters):
        assert clusters is not None
        _same_length(values, clusters)
        sums, g = _cluster_sums(values, clusters, mean)
        if g >= MIN_CLUSTERS:
            v_cr1 = g / (g - 1) * math.fsum(s * s for s in sums) / (n * n)
            deff = v_cr1 / v_iid if v_iid > 0 else None
            used = max(1.0, deff or 1.0)
            q = t_quantile(confidence, g - 1)
            se = math.sqrt(used * v_iid)
            if binary:
                low, high = _wilson(mean, n / used, q)
                return Estimate(n, mean, se, low, high, "wilson, clustered", g, deff)
            low, high = _clip(mean - q * se, mean + q * se)
            return Estimate(n, mean, se, low, high, "t, clustered", g, deff)
    few = g is not None  # clusters named, but fewer than MIN_CLUSTERS
    if binary:
        low, high = wilson_interval(sum(1 for x in values if x == 1), n, confidence)
        method: Method = "wilson, too few clusters" if few else "wilson"
        return Estimate(n, mean, math.sqrt(v_iid), low, high, method, g)
    method = "t, too few clusters" if few else "t"
    if n < 2:
        return Estimate(n, mean, math.nan, 0.0, 1.0, method, g)
    se = math.sqrt(v_iid)
    q = t_quantile(confidence, n - 1)
    low, high = _clip(mean - q * se, mean + q * se)
    return Estimate(n, mean, se, low, high, method, g)


def describe(e: Estimate | PairedComparison) -> str:
    """The interval's method in words, for tables and reports: ``wilson``, ``wilson, 12
    clusters, deff 1.80``, ``wilson: 3 clusters, too few to cluster (needs 10)``,
    ``Tango score interval``."""
    base = e.method.split(",")[0]
    if isinstance(e, PairedComparison):
        base = {"tango": "Tango score interval", "t": "paired t interval"}[base]
    if e.method.endswith("too few clusters"):
        return f"{base}: {e.clusters} clusters, too few to cluster (needs {MIN_CLUSTERS})"
    if e.method.endswith("clustered"):
        deff = e.design_effect
        if deff is None:
            shown = "deff taken as 1 (no variance)"
        elif deff < 1:
            shown = f"deff {deff:.2f} taken as 1"
        else:
            shown = f"deff {deff:.2f}"
        return f"{base}, {e.clusters} clusters, {shown}"
    return base


# Two models -------------------------------------------------------------------------------


def tango_z(b: int, c: int, n: int, delta: float) -> float:
    """Tango's score statistic for "difference = ``delta``", the difference being
    ``(b - c)/n`` (``b`` pairs only the first right, ``c`` only the second, ``n`` pairs)."""
    a_ = 2 * n
    b_ = -b - c + (2 * n - b + c) * delta
    c_ = -c * delta * (1 - delta)
    root = math.sqrt(max(0.0, b_ * b_ - 4 * a_ * c_))
    # the larger root of a_·q² + b_·q + c_ = 0, in the form that does not cancel
    q = (root - b_) / (2 * a_) if b_ <= 0 else 2 * c_ / (-b_ - root)
    top = b - c - n * delta
    var = n * (2 * q + delta * (1 - delta))
    if var <= 0:
        return 0.0 if top == 0 else math.copysign(math.inf, top)
    return top / math.sqrt(var)


def tango_interval(
    b: int, c: int, n: int, crit: float, zero_excluded: bool | None = None
) -> tuple[float, float]:
    """Tango's score interval: the differences ``Δ`` with ``|tango_z(b, c, n, Δ)| ≤ crit``
    (``crit`` is ``z``, or ``t·sqrt(deff)`` with clusters).

    ``zero_excluded`` (the test's verdict, ``p < alpha``) picks the side of 0 each bound
    is searched on, so that the interval excludes 0 exactly when the test rejects; None
    decides it from ``|tango_z(0)| > crit``.
    """
    if n <= 0:
        return -1.0, 1.0
    est = (b - c) / n
    if zero_excluded is None:
        zero_excluded = abs(tango_z(b, c, n, 0.0)) > crit

    def accepted(delta: float) -> bool:
        return abs(tango_z(b, c, n, delta)) <= crit

    if est <= -1:
        low = -1.0
    elif est > 0 and zero_excluded:
        low = _boundary(accepted, est, 0.0)
    else:
        low = _boundary(accepted, min(est, 0.0), -1.0)
    if est >= 1:
        high = 1.0
    elif est < 0 and zero_excluded:
        high = _boundary(accepted, est, 0.0)
    else:
        high = _boundary(accepted, max(est, 0.0), 1.0)
    return low, high


def _boundary(accepted: Callable[[float], bool], inside: float, outside: float) -> float:
    """Bisect between a point the test accepts and one it rejects; return the last point
    found accepted (so a bound never crosses to the rejected side of ``outside``)."""
    for _ in range(200):
        mid = (inside + outside) / 2
        if mid in (inside, outside):
            break
        if accepted(mid):
            inside = mid
        else:
            outside = mid
    return inside


def mcnemar(
    a_correct: Sequence[bool],
    b_correct: Sequence[bool],
    clusters: Sequence[str | None] | None = None,
) -> McNemar:
    """McNemar's test on paired right/wrong outcomes: the score test (clustered with 10
    or more clusters) as ``p_value``, the exact test as ``p_exact``."""
    _same_length(a_correct, b_correct)
    if not a_correct:
        return McNemar(0, 0, 1.0, 1.0)
    a = [1.0 if x else 0.0 for x in a_correct]
    b = [1.0 if y else 0.0 for y in b_correct]
    test = _binary_paired(a, b, clusters, 0.95).mcnemar
    assert test is not None
    return test


def mcnemar_score_p(b: int, c: int) -> float:
    """McNemar's score (asymptotic, no continuity correction) two-sided p:
    ``Z = (b - c)/sqrt(b + c)``; 1 when there is no discordant pair."""
    if b < 0 or c < 0:
        raise ValueError(f"counts must be >= 0, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    return math.erfc(abs(b - c) / math.sqrt(b + c) / math.sqrt(2))


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


def paired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    clusters: Sequence[str | None] | None = None,
    confidence: float = 0.95,
) -> PairedComparison:
    """A minus B over the same items (same order): the difference, the interval and the
    test it inverts (module docstring); McNemar's counts when both score 0/1."""
    _same_length(a, b)
    if clusters is not None:
        _same_length(a, clusters)
    n = len(a)
    if n == 0:
        nan = math.nan
        return PairedComparison(0, nan, nan, nan, nan, -1.0, 1.0, "tango", 1.0)
    mean_a, mean_b = math.fsum(a) / n, math.fsum(b) / n
    if all(x in (0, 1) for x in a) and all(y in (0, 1) for y in b):
        return _binary_paired(a, b, clusters, confidence)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    diff = math.fsum(diffs) / n
    v_iid = statistics.variance(diffs) / n if n > 1 else math.nan
    g, deff, used = None, None, 1.0
    df = n - 1
    method: PairedMethod = "t"
    if _named(clusters):
        assert clusters is not None
        sums, g = _cluster_sums(diffs, clusters, diff)
        method = "t, too few clusters"
        if g >= MIN_CLUSTERS:
            v_cr1 = g / (g - 1) * math.fsum(s * s for s in sums) / (n * n)
            deff = v_cr1 / v_iid if v_iid > 0 else None
            used, df, method = max(1.0, deff or 1.0), g - 1, "t, clustered"
    if n < 2:
        return PairedComparison(n, mean_a, mean_b, diff, math.nan, -1.0, 1.0, method, 1.0, g)
    se = math.sqrt(used * v_iid)
    if se > 0:
        p = t_two_sided_p(diff / se, df)
    else:
        p = 1.0 if diff == 0 else 0.0
    q = t_quantile(confidence, df)
    low, high = max(-1.0, diff - q * se), min(1.0, diff + q * se)
    low, high = _agree(diff, low, high, p, 1 - confidence)
    return PairedComparison(n, mean_a, mean_b, diff, se, low, high, method, p, g, deff)


def _binary_paired(
    a: Sequence[float],
    b: Sequence[float],
    clusters: Sequence[str | None] | None,
    confidence: float,
) -> PairedComparison:
    """McNemar's score test and Tango's interval on 0/1 pairs (A minus B), Rao-Scott
    corrected with enough clusters."""
    n = len(a)
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x == 1 and y == 0)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if x == 0 and y == 1)
    diff = (only_a - only_b) / n
    v_iid = ((only_a + only_b) / n - diff * diff) / n  # the variance of the mean of a_i - b_i
    z0 = (only_a - only_b) / math.sqrt(only_a + only_b) if only_a + only_b else 0.0
    g, deff = None, None
    method: PairedMethod = "tango"
    test_method: Literal["score", "score, clustered", "score, too few clusters"] = "score"
    crit = z_value(confidence)
    p = mcnemar_score_p(only_a, only_b)
    used = 1.0
    if _named(clusters):
        assert clusters is not None
        diffs = [x - y for x, y in zip(a, b, strict=True)]
        sums, g = _cluster_sums(diffs, clusters, math.fsum(diffs) / n)
        method, test_method = "tango, too few clusters", "score, too few clusters"
        if g >= MIN_CLUSTERS:
            v_cr1 = g / (g - 1) * math.fsum(s * s for s in sums) / (n * n)
            deff = v_cr1 / v_iid if v_iid > 0 else None
            used = max(1.0, deff or 1.0)
            crit = t_quantile(confidence, g - 1) * math.sqrt(used)
            p = t_two_sided_p(z0 / math.sqrt(used), g - 1)
            method, test_method = "tango, clustered", "score, clustered"
    alpha = 1 - confidence
    low, high = tango_interval(only_a, only_b, n, crit, zero_excluded=p < alpha)
    low, high = _agree(diff, low, high, p, alpha)
    test = McNemar(only_a, only_b, p, mcnemar_p(only_a, only_b), test_method)
    mean_a, mean_b = math.fsum(a) / n, math.fsum(b) / n
    se = math.sqrt(used * v_iid)
    return PairedComparison(n, mean_a, mean_b, diff, se, low, high, method, p, g, deff, test)


def _agree(diff: float, low: float, high: float, p: float, alpha: float) -> tuple[float, float]:
    """Make "0 outside [low, high]" and "p < alpha" the same statement where rounding in
    the last bits (a quantile and a tail computed apart) could part them."""
    if p < alpha:
        if low <= 0 <= high:  # the bound on 0 moves just past it, to the side of diff
            if diff > 0:
                low = math.ulp(0.0)
            else:
                high = -math.ulp(0.0)
    elif low > 0:
        low = 0.0
    elif high < 0:
        high = 0.0
    return low, high


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    clusters: Sequence[str | None] | None = None,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """A percentile interval for mean(A - B), resampling items (or whole clusters) with a
    seeded ``random.Random``: the same inputs and seed give the same interval."""
    _same_length(a, b)
    if not a:
        return math.nan, math.nan
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    rng = random.Random(seed)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    means: list[float] = []
    if _named(clusters):
        assert clusters is not None
        _same_length(a, clusters)
        units: dict[object, list[float]] = {}  # cluster -> [sum of diffs, items]
        for i, (d, g) in enumerate(zip(diffs, clusters, strict=True)):
            unit = units.setdefault(g if g is not None else ("item", i), [0.0, 0.0])
            unit[0] += d
            unit[1] += 1
        drawn_from = list(units.values())
        for _ in range(resamples):
            drawn = rng.choices(drawn_from, k=len(drawn_from))
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


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


def _clip(low: float, high: float) -> tuple[float, float]:
    return max(0.0, low), min(1.0, high)


def _same_length(a: Sequence[object], b: Sequence[object]) -> None:
    if len(a) != len(b):
        raise ValueError(f"paired sequences differ in length: {len(a)} and {len(b)}")
