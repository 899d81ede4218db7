"""The statistics against scipy and cases worked by hand."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats

from evals import (
    clustered_se,
    mcnemar,
    mcnemar_p,
    paired_bootstrap,
    paired_comparison,
    pass_rate,
    percentile,
    summarize,
    wilson_interval,
)

Z95 = 1.959963984540054


# Wilson ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n"), [(0, 10), (1, 10), (5, 10), (10, 10), (37, 50), (1, 1), (812, 1000), (3, 7)]
)
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(ref.low, abs=1e-12)
    assert high == pytest.approx(ref.high, abs=1e-12)


def test_wilson_known_values() -> None:
    # Worked by hand: 0/10 -> (0, z²/(n+z²)); 5/10 -> 0.5 ± (z/(1+z²/n))·sqrt(0.025+z²/400).
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(Z95**2 / (10 + Z95**2), rel=1e-12)
    assert high == pytest.approx(0.277533, abs=1e-6)
    low, high = wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(9, 10, confidence=0.99)[0] < wilson_interval(9, 10)[0]
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


# Clustered standard errors -----------------------------------------------------------------


def test_clustered_se_by_hand() -> None:
    # mean 0.5; cluster sums of deviations +1 and -1 -> sqrt(2)/4.
    assert clustered_se([1, 1, 0, 0], ["g1", "g1", "g2", "g2"]) == pytest.approx(math.sqrt(2) / 4)
    # Clusters that mix right and wrong cancel: sums 0 and 0 -> SE 0.
    assert clustered_se([1, 0, 1, 0], ["a", "a", "b", "b"]) == pytest.approx(0.0)
    # mean 2/3; deviations 1/3,-2/3 | 1/3,1/3 | -2/3 | 1/3 (alone): sums -1/3, 2/3, -2/3, 1/3
    # -> sqrt((1 + 4 + 4 + 1)/9) / 6 = sqrt(10)/18.
    value = clustered_se([1, 0, 1, 1, 0, 1], ["a", "a", "b", "b", "c", None])
    assert value == pytest.approx(math.sqrt(10) / 18)


def test_clustered_se_with_singletons_is_the_population_sd_over_root_n() -> None:
    rng = random.Random(3)
    xs = [float(rng.random() < 0.6) for _ in range(200)]
    expected = float(np.std(xs, ddof=0) / math.sqrt(len(xs)))
    assert clustered_se(xs, [str(i) for i in range(200)]) == pytest.approx(expected)
    assert clustered_se(xs, [None] * 200) == pytest.approx(expected)


def test_pass_rate_clustered() -> None:
    # mean 0.5; cluster sums of deviations +1, -1, 0, 0 -> sqrt(2)/8.
    est = pass_rate([1, 1, 0, 0, 1, 0, 1, 0], ["g1", "g1", "g2", "g2", "g3", "g3", "g4", "g4"])
    se = math.sqrt(2) / 8
    assert est.method == "clustered" and est.clusters == 4
    assert est.se == pytest.approx(se)
    assert (est.ci_low, est.ci_high) == pytest.approx((0.5 - Z95 * se, 0.5 + Z95 * se))
    clipped = pass_rate([1, 1, 1, 0], ["a", "a", "b", "b"])
    assert clipped.ci_high == 1.0  # 0.75 + 1.96 * 0.25 clipped to 1


def test_pass_rate_wilson_and_normal() -> None:
    est = pass_rate([1, 0, 1, 1, 0])
    assert est.method == "wilson" and est.n == 5 and est.mean == pytest.approx(0.6)
    assert (est.ci_low, est.ci_high) == wilson_interval(3, 5)
    assert pass_rate([1, 0], [None, None]).method == "wilson"  # no group given: Wilson
    graded = [0.5, 1.0, 0.25, 0.75, 1.0, 0.0]
    est = pass_rate(graded)
    mean, sem = float(np.mean(graded)), float(stats.sem(graded))
    assert est.method == "normal"
    assert est.se == pytest.approx(sem)
    assert (est.ci_low, est.ci_high) == pytest.approx((mean - Z95 * sem, mean + Z95 * sem))
    empty = pass_rate([])
    assert empty.n == 0 and math.isnan(empty.mean) and (empty.ci_low, empty.ci_high) == (0, 1)


# Paired comparison -------------------------------------------------------------------------


def test_paired_comparison_by_hand_and_against_scipy() -> None:
    a = [1, 1, 1, 0, 0, 1]
    b = [0, 1, 0, 0, 1, 1]
    cmp = paired_comparison(a, b)
    # d = 1,0,1,0,-1,0: mean 1/6, sum of squares about it 17/6, sd = sqrt(17/30).
    se = math.sqrt(17 / 30) / math.sqrt(6)
    assert cmp.n == 6 and cmp.diff == pytest.approx(1 / 6)
    assert cmp.mean_a == pytest.approx(4 / 6) and cmp.mean_b == pytest.approx(3 / 6)
    assert cmp.se == pytest.approx(se)
    assert cmp.se == pytest.approx(float(stats.sem(np.subtract(a, b))))
    assert (cmp.ci_low, cmp.ci_high) == pytest.approx((1 / 6 - Z95 * se, 1 / 6 + Z95 * se))
    assert not cmp.clustered
    assert cmp.mcnemar is not None
    assert (cmp.mcnemar.b, cmp.mcnemar.c, cmp.mcnemar.p_value) == (2, 1, 1.0)


def test_paired_comparison_clustered_and_graded() -> None:
    a, b = [1, 1, 0, 0], [0, 0, 0, 0]
    cmp = paired_comparison(a, b, groups=["g", "g", "h", "h"])
    # d = 1,1,0,0: mean 0.5, cluster sums +1 and -1 -> sqrt(2)/4.
    assert cmp.clustered and cmp.se == pytest.approx(math.sqrt(2) / 4)
    graded = paired_comparison([0.5, 1.0, 0.0], [0.0, 1.0, 0.5])
    assert graded.mcnemar is None and graded.diff == pytest.approx(0.0)
    with pytest.raises(ValueError, match="differ in length"):
        paired_comparison([1], [1, 0])


# McNemar ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c"),
    [
        (0, 1),
        (0, 5),
        (3, 10),
        (10, 3),
        (7, 7),
        (25, 40),
        (100, 140),
        (1, 60),
        (2000, 2100),
        (6000, 6400),  # past the exact-integer limit: summed in logs
        (50_100, 49_900),
    ],
)
def test_mcnemar_p_matches_scipy_binomtest(b: int, c: int) -> None:
    ref = stats.binomtest(b, b + c, 0.5, alternative="two-sided").pvalue
    assert mcnemar_p(b, c) == pytest.approx(ref, rel=1e-9, abs=1e-300)


def test_mcnemar_counts_discordant_pairs() -> None:
    a = [True, True, False, False, True, False, True]
    b = [True, False, True, False, False, False, False]
    result = mcnemar(a, b)
    assert (result.b, result.c) == (3, 1)
    assert result.p_value == pytest.approx(stats.binomtest(1, 4).pvalue)
    assert mcnemar_p(0, 0) == 1.0


# Bootstrap, percentiles ---------------------------------------------------------------------


def test_paired_bootstrap_is_seeded_and_near_the_normal_interval() -> None:
    rng = random.Random(11)
    a = [float(rng.random() < 0.7) for _ in range(400)]
    b = [float(rng.random() < 0.6) for _ in range(400)]
    first = paired_bootstrap(a, b, seed=5, resamples=1000)
    assert first == paired_bootstrap(a, b, seed=5, resamples=1000)
    assert first != paired_bootstrap(a, b, seed=6, resamples=1000)
    cmp = paired_comparison(a, b)
    assert first[0] < cmp.diff < first[1]
    assert first[0] == pytest.approx(cmp.ci_low, abs=0.02)
    assert first[1] == pytest.approx(cmp.ci_high, abs=0.02)


def test_paired_bootstrap_by_cluster_is_wider_for_correlated_items() -> None:
    # Ten clusters of ten identical outcomes: resampling clusters sees only ten units.
    a = [float(i // 10 % 2) for i in range(100)]
    b = [0.0] * 100
    groups = [str(i // 10) for i in range(100)]
    plain = paired_bootstrap(a, b, resamples=500)
    clustered = paired_bootstrap(a, b, groups=groups, resamples=500)
    assert clustered[1] - clustered[0] > 2 * (plain[1] - plain[0])


@pytest.mark.parametrize("q", [0, 5, 50, 95, 99, 100])
def test_percentile_matches_numpy(q: float) -> None:
    rng = random.Random(q)
    xs = [rng.expovariate(1.0) for _ in range(137)]
    assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))


def test_summarize() -> None:
    s = summarize([10, None, 30, 20, 40])
    assert (s.n, s.mean, s.p50) == (4, 25.0, 25.0)
    assert s.p95 == pytest.approx(float(np.percentile([10, 20, 30, 40], 95)))
    assert summarize([]).n == 0 and math.isnan(summarize([None]).p50)
