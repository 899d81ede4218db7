"""The statistics against scipy, statsmodels, published worked examples and cases worked by
hand; and the promise that a paired interval never contradicts the test reported with it."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportion_confint

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
from evals._stats import (
    MIN_CLUSTERS,
    _agree,
    describe,
    mcnemar_score_p,
    t_quantile,
    t_two_sided_p,
    tango_interval,
    tango_z,
)

Z95 = 1.959963984540054


def cr1(values: list[float], clusters: list[str]) -> tuple[float, float, float, float]:
    """statsmodels' cluster-robust OLS of the values on a constant: (mean, CR1 SE, and the
    95% interval with t on G - 1 degrees of freedom)."""
    fit = sm.OLS(np.asarray(values, float), np.ones(len(values))).fit(
        cov_type="cluster",
        cov_kwds={"groups": np.unique(clusters, return_inverse=True)[1]},
        use_t=True,  # with the default df_correction: t on G - 1 degrees of freedom
    )
    low, high = fit.conf_int(alpha=0.05)[0]
    return float(fit.params[0]), float(fit.bse[0]), float(low), float(high)


# Wilson ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n"),
    [(0, 1), (1, 1), (0, 10), (1, 10), (5, 10), (10, 10), (18, 24), (8, 12), (53, 60)]
    + [(37, 50), (812, 1000), (3, 7), (0, 1000), (1000, 1000)],
)
def test_wilson_matches_scipy_and_statsmodels(k: int, n: int) -> None:
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    sm_low, sm_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    low, high = wilson_interval(k, n)
    assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert (low, high) == pytest.approx((sm_low, sm_high), abs=1e-12)
    est = pass_rate([1.0] * k + [0.0] * (n - k))
    assert est.method == "wilson" and (est.ci_low, est.ci_high) == (low, high)


def test_wilson_is_never_of_zero_width_at_0_and_100_percent() -> None:
    for n in range(1, 301):
        for k in range(n + 1):
            low, high = wilson_interval(k, n)
            assert 0.0 <= low < k / n < high <= 1.0 or (k in (0, n) and high - low > 0.0)
    assert wilson_interval(0, 12) == (0.0, pytest.approx(Z95**2 / (12 + Z95**2)))
    assert wilson_interval(12, 12) == (pytest.approx(12 / (12 + Z95**2)), 1.0)


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


# Student's t ---------------------------------------------------------------------------------


@pytest.mark.parametrize("df", [1, 2, 3, 4, 9, 10, 19, 29, 59, 100, 1000, 10**5])
def test_t_distribution_matches_scipy(df: int) -> None:
    for t in (0.0, 0.01, 0.5, 1.0, 1.96, 2.262, 3.0, 6.0, 25.0):
        ref = 2 * stats.t.sf(t, df)
        assert t_two_sided_p(t, df) == pytest.approx(ref, rel=1e-8, abs=1e-300)
        assert t_two_sided_p(-t, df) == t_two_sided_p(t, df)
    for conf in (0.8, 0.9, 0.95, 0.99):
        assert t_quantile(conf, df) == pytest.approx(stats.t.ppf(0.5 + conf / 2, df), rel=1e-10)


# Clustered intervals -------------------------------------------------------------------------


def test_clustered_se_is_cr1_by_hand() -> None:
    # mean 0.5; cluster sums of deviations +1 and -1: CR0 sqrt(2)/4, CR1 times sqrt(2/1).
    assert clustered_se([1, 1, 0, 0], ["g1", "g1", "g2", "g2"]) == pytest.approx(0.5)
    # Clusters that mix right and wrong cancel: sums 0 and 0 -> SE 0.
    assert clustered_se([1, 0, 1, 0], ["a", "a", "b", "b"]) == pytest.approx(0.0)
    # mean 2/3; deviations 1/3,-2/3 | 1/3,1/3 | -2/3 | 1/3 (alone): sums -1/3, 2/3, -2/3, 1/3
    # -> CR0 sqrt(10/9)/6, and G = 4: CR1 = sqrt(4/3 · 10/9)/6.
    value = clustered_se([1, 0, 1, 1, 0, 1], ["a", "a", "b", "b", "c", None])
    assert value == pytest.approx(math.sqrt(4 / 3 * 10 / 9) / 6)
    assert math.isnan(clustered_se([1, 0], ["a", "a"]))  # one cluster: no variance to estimate


def test_clustered_se_matches_statsmodels_ols_cluster_robust() -> None:
    rng = random.Random(7)
    for trial in range(20):
        g = rng.randint(2, 40)
        clusters = [f"c{rng.randrange(g)}" for _ in range(rng.randint(g, 200))]
        level = {c: rng.random() for c in set(clusters)}
        values = [float(rng.random() < level[c]) for c in clusters]
        if trial % 3 == 0:  # fractional scores too
            values = [rng.random() for _ in clusters]
        if len(set(clusters)) < 2 or len(set(values)) < 2:
            continue
        _, se, _, _ = cr1(values, clusters)
        assert clustered_se(values, clusters) == pytest.approx(se, rel=1e-10)


def clustered_data(
    rng: random.Random, g: int, binary: bool, spread: float
) -> tuple[list[float], list[str]]:
    values, clusters = [], []
    for c in range(g):
        level = min(1.0, max(0.0, 0.6 + spread * (rng.random() - 0.5)))
        for _ in range(rng.randint(1, 8)):
            clusters.append(f"c{c}")
            values.append(float(rng.random() < level) if binary else rng.random() * level)
    return values, clusters


def test_clustered_fractional_interval_matches_statsmodels() -> None:
    rng = random.Random(3)
    checked = 0
    for _ in range(40):
        values, clusters = clustered_data(rng, rng.randint(10, 40), False, 1.5)
        est = pass_rate(values, clusters)
        assert est.method == "t, clustered" and est.clusters == len(set(clusters))
        mean, se, low, high = cr1(values, clusters)
        iid = stats.sem(values)
        assert est.design_effect == pytest.approx((se / iid) ** 2, rel=1e-9)
        assert est.mean == pytest.approx(mean)
        if se >= iid:  # design effect >= 1: exactly statsmodels' interval (t, G - 1 df)
            assert (est.ci_low, est.ci_high) == pytest.approx((low, high), rel=1e-9)
            checked += 1
        else:  # taken as 1: the unclustered SE with the clustered degrees of freedom
            q = stats.t.ppf(0.975, len(set(clusters)) - 1)
            assert est.ci_high - est.ci_low == pytest.approx(2 * q * iid, rel=1e-9)
    assert checked >= 10


def test_clustered_binary_interval_is_wilson_on_the_effective_sample_size() -> None:
    rng = random.Random(5)
    for _ in range(60):
        g = rng.randint(MIN_CLUSTERS, 60)
        values, clusters = clustered_data(rng, g, True, rng.choice([0.0, 0.5, 1.0]))
        n, k = len(values), int(sum(values))
        est = pass_rate(values, clusters)
        assert est.method == "wilson, clustered" and est.clusters == g
        plain = wilson_interval(k, n)
        # Never narrower than the plain Wilson interval, on either side, never zero width.
        assert est.ci_low <= plain[0] and plain[1] <= est.ci_high
        assert est.ci_high - est.ci_low > 0
        # Independently: statsmodels' Wilson at n* = n / deff · (z/t)² (what t and deff do).
        _, se, _, _ = cr1(values, clusters) if 0 < k < n else (0, 0.0, 0, 0)
        deff = se**2 / (k / n * (1 - k / n) / n) if 0 < k < n else None
        assert est.design_effect == (None if deff is None else pytest.approx(deff, rel=1e-9))
        used = max(1.0, deff or 1.0)
        t = stats.t.ppf(0.975, g - 1)
        n_star = n / used * (Z95 / t) ** 2
        ref = proportion_confint(k / n * n_star, n_star, alpha=0.05, method="wilson")
        assert (est.ci_low, est.ci_high) == pytest.approx(ref, abs=1e-9)


def test_few_clusters_fall_back_to_wilson_and_say_so() -> None:
    # The cases of the issue: 18/24 in 3 groups was [63.5%, 86.5%] (clustered, no
    # correction) against Wilson's [55.1%, 88.0%]; now Wilson's, and the method says why.
    values = [1.0] * 18 + [0.0] * 6
    clusters = [f"c{i % 3}" for i in range(24)]
    est = pass_rate(values, clusters)
    assert est.method == "wilson, too few clusters" and est.clusters == 3
    assert (est.ci_low, est.ci_high) == wilson_interval(18, 24)
    assert (round(est.ci_low, 3), round(est.ci_high, 3)) == (0.551, 0.880)
    assert describe(est) == "wilson: 3 clusters, too few to cluster (needs 10)"
    # 8/12, every cluster 2 of 3 right: was 66.7% [66.7%, 66.7%].
    equal = pass_rate([1.0, 1.0, 0.0] * 4, ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["d"] * 3)
    assert (equal.ci_low, equal.ci_high) == wilson_interval(8, 12)
    assert equal.ci_high - equal.ci_low > 0.4
    # 100%: was [100%, 100%].
    full = pass_rate([1.0] * 12, [f"c{i % 4}" for i in range(12)])
    assert (full.ci_low, full.ci_high) == wilson_interval(12, 12) and full.ci_low < 0.8
    assert pass_rate([0.5, 0.25, 1.0], ["a", "a", "b"]).method == "t, too few clusters"


def test_enough_clusters_all_alike_or_at_the_edges_keep_a_real_interval() -> None:
    # 20 clusters each 2 of 3 right: the cluster sums are all 0 (design effect 0, taken as
    # 1): the Wilson interval with t on 19 df, not zero width.
    values = [1.0, 1.0, 0.0] * 20
    clusters = [f"c{i // 3}" for i in range(60)]
    est = pass_rate(values, clusters)
    assert est.method == "wilson, clustered" and est.design_effect == pytest.approx(0.0)
    plain = wilson_interval(40, 60)
    assert est.ci_low < plain[0] and plain[1] < est.ci_high
    assert "deff 0.00 taken as 1" in describe(est)
    for k in (0, 60):  # 0% and 100% with clusters: 0/0 design effect, taken as 1
        edge = pass_rate([float(k == 60)] * 60, clusters)
        assert edge.design_effect is None and edge.ci_high - edge.ci_low > 0.05
        plain = wilson_interval(k, 60)
        assert edge.ci_low <= plain[0] and plain[1] <= edge.ci_high
        assert (edge.ci_low, edge.ci_high)[k == 60] == float(k == 60)  # the edge stays exact


def test_pass_rate_wilson_and_t() -> None:
    est = pass_rate([1, 0, 1, 1, 0])
    assert est.method == "wilson" and est.n == 5 and est.mean == pytest.approx(0.6)
    assert (est.ci_low, est.ci_high) == wilson_interval(3, 5)
    assert pass_rate([1, 0], [None, None]).method == "wilson"  # no cluster named: Wilson
    graded = [0.5, 1.0, 0.25, 0.75, 1.0, 0.0]
    est = pass_rate(graded)
    mean, sem = float(np.mean(graded)), float(stats.sem(graded))
    assert est.method == "t"
    assert est.se == pytest.approx(sem)
    ref = stats.t.interval(0.95, len(graded) - 1, loc=mean, scale=sem)
    assert (est.ci_low, est.ci_high) == pytest.approx((max(0, ref[0]), min(1, ref[1])))
    empty = pass_rate([])
    assert empty.n == 0 and math.isnan(empty.mean) and (empty.ci_low, empty.ci_high) == (0, 1)


# Paired: the published example, and an independent Tango --------------------------------------


def test_tango_and_mcnemar_reproduce_the_published_cavo_example() -> None:
    # Cavo et al. (2012), complete response before and after consolidation therapy, worked
    # in Fagerland, Lydersen & Laake (2014, Stat Med 33:2850) and their book, ch. 8:
    # n12 = 6, n21 = 16, N = 161: difference -0.0621, Tango's score interval
    # -0.1240 to -0.0054, McNemar asymptotic P = 0.033006 (Z = -2.132), exact conditional
    # P = 0.052479.
    low, high = tango_interval(6, 16, 161, Z95)
    assert (round(low, 4), round(high, 4)) == (-0.1240, -0.0054)
    assert round(mcnemar_score_p(6, 16), 6) == 0.033006
    assert round(mcnemar_p(6, 16), 6) == 0.052479
    assert tango_z(6, 16, 161, 0.0) == pytest.approx(-10 / math.sqrt(22))
    table = [[59, 6], [16, 80]]
    assert sm_mcnemar(table, exact=False, correction=False).pvalue == pytest.approx(
        mcnemar_score_p(6, 16), rel=1e-12
    )
    assert sm_mcnemar(table, exact=True).pvalue == pytest.approx(mcnemar_p(6, 16), rel=1e-12)
    # The same through paired_comparison: interval and test agree, the exact p does not.
    a = [1.0] * 59 + [1.0] * 6 + [0.0] * 16 + [0.0] * 80
    b = [1.0] * 59 + [0.0] * 6 + [1.0] * 16 + [0.0] * 80
    cmp = paired_comparison(a, b)
    assert cmp.method == "tango" and cmp.diff == pytest.approx(-10 / 161)
    assert (cmp.ci_low, cmp.ci_high) == pytest.approx((low, high), abs=1e-15) and high < 0
    assert cmp.mcnemar is not None and cmp.p_value == pytest.approx(0.033006, abs=1e-6)
    assert cmp.p_value < 0.05 < cmp.mcnemar.p_exact


def tango_by_profile_likelihood(b: int, c: int, n: int) -> tuple[float, float]:
    """Tango's interval found another way: the constrained maximum likelihood by numerical
    optimisation (scipy), the bounds by Brent's method on the score statistic."""
    rest = n - b - c

    def q21(delta: float) -> float:  # MLE of P(only second right) given the difference
        lo, hi = max(0.0, -delta), (1 - delta) / 2

        def nll(q: float) -> float:
            p12, other = q + delta, 1 - 2 * q - delta
            terms = [(b, p12), (c, q), (rest, other)]
            return -sum(k * math.log(max(p, 1e-300)) for k, p in terms if k)

        res = optimize.minimize_scalar(
            nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}
        )
        return float(res.x)

    def score(delta: float) -> float:
        var = n * (2 * q21(delta) + delta * (1 - delta))
        return (b - c - n * delta) / math.sqrt(var)

    est = (b - c) / n
    low = optimize.brentq(lambda d: score(d) - Z95, -1 + 1e-9, est, xtol=1e-12)
    high = optimize.brentq(lambda d: score(d) + Z95, est, 1 - 1e-9, xtol=1e-12)
    return low, high


@pytest.mark.parametrize(
    ("b", "c", "n"),
    [(6, 16, 161), (5, 13, 60), (4, 12, 20), (1, 7, 21), (40, 20, 160), (3, 0, 30), (2, 9, 11)],
)
def test_tango_matches_an_independent_profile_likelihood_computation(
    b: int, c: int, n: int
) -> None:
    low, high = tango_interval(b, c, n, Z95)
    ref = tango_by_profile_likelihood(b, c, n)
    assert (low, high) == pytest.approx(ref, abs=2e-6)


def test_tango_without_discordant_pairs_is_not_of_zero_width() -> None:
    cmp = paired_comparison([1.0] * 7 + [0.0] * 13, [1.0] * 7 + [0.0] * 13)
    half = Z95**2 / (20 + Z95**2)
    assert cmp.diff == 0 and cmp.p_value == 1.0
    assert (cmp.ci_low, cmp.ci_high) == pytest.approx((-half, half), rel=1e-9)
    assert tango_interval(20, 0, 20, Z95)[1] == 1.0  # all pairs favour A: up to 1
    assert tango_interval(0, 20, 20, Z95)[0] == -1.0


# Paired: the interval never contradicts the test ----------------------------------------------


def pairs(b: int, c: int, n: int) -> tuple[list[float], list[float]]:
    both = (n - b - c) // 2
    a = [1.0] * both + [1.0] * b + [0.0] * c + [0.0] * (n - b - c - both)
    bb = [1.0] * both + [0.0] * b + [1.0] * c + [0.0] * (n - b - c - both)
    return a, bb


def assert_consistent(low: float, high: float, diff: float, p: float) -> None:
    assert -1.0 <= low <= diff <= high <= 1.0 and high > low
    assert (low > 0 or high < 0) == (p < 0.05), (low, high, p)


def test_interval_and_test_never_disagree_over_every_small_table() -> None:
    checked = 0
    for n in range(1, 41):
        for b in range(n + 1):
            for c in range(n + 1 - b):
                a, bb = pairs(b, c, n)
                cmp = paired_comparison(a, bb)
                assert cmp.mcnemar is not None and (cmp.mcnemar.b, cmp.mcnemar.c) == (b, c)
                assert cmp.p_value == cmp.mcnemar.p_value == mcnemar_score_p(b, c)
                assert_consistent(cmp.ci_low, cmp.ci_high, cmp.diff, cmp.p_value)
                checked += 1
    assert checked == sum((n + 1) * (n + 2) // 2 for n in range(1, 41))


def test_interval_and_test_agree_at_the_boundary_for_large_tables() -> None:
    # Tables whose McNemar Z is closest to 1.96 from either side, up to 20,000 pairs.
    for n in (100, 1000, 20_000):
        for m in (5, 30, 99, 400, 3000, 15_000):
            if m > n:
                continue
            for b in range(m + 1):
                z = abs(m - 2 * b) / math.sqrt(m)
                if abs(z - Z95) < 0.05:
                    p = mcnemar_score_p(b, m - b)
                    # the side of 0 decided by the p-value, and by |Z(0)| against z alone
                    for verdict in (p < 0.05, None):
                        low, high = tango_interval(b, m - b, n, Z95, verdict)
                        assert_consistent(low, high, (2 * b - m) / n, p)


def test_the_interval_is_exactly_the_set_the_test_accepts() -> None:
    for b, c, n in [(5, 13, 60), (4, 12, 20), (0, 3, 10), (7, 7, 30), (6, 16, 161)]:
        low, high = tango_interval(b, c, n, Z95)
        for i in range(1, 400):
            delta = -1 + i / 200
            accepted = abs(tango_z(b, c, n, delta)) <= Z95
            if low + 1e-9 < delta < high - 1e-9:
                assert accepted, (b, c, n, delta)
            elif delta < low - 1e-9 or delta > high + 1e-9:
                assert not accepted, (b, c, n, delta)


def test_agree_moves_only_a_bound_that_rounding_put_on_the_wrong_side() -> None:
    assert _agree(0.1, -1e-17, 0.2, 0.049, 0.05) == (math.ulp(0.0), 0.2)
    assert _agree(-0.1, -0.2, 1e-17, 0.049, 0.05) == (-0.2, -math.ulp(0.0))
    assert _agree(0.1, 1e-17, 0.2, 0.051, 0.05) == (0.0, 0.2)
    assert _agree(0.1, 0.01, 0.2, 0.01, 0.05) == (0.01, 0.2)


# Paired: clusters and fractional scores -------------------------------------------------------


def test_clustered_paired_comparison_is_rao_scott_with_t() -> None:
    rng = random.Random(9)
    for _ in range(30):
        g = rng.randint(MIN_CLUSTERS, 40)
        clusters, a, b = [], [], []
        for k in range(g):
            skill = rng.random()
            for _ in range(rng.randint(1, 6)):
                clusters.append(f"c{k}")
                a.append(float(rng.random() < skill))
                b.append(float(rng.random() < min(1.0, skill + 0.15)))
        cmp = paired_comparison(a, b, clusters)
        assert cmp.method == "tango, clustered" and cmp.clusters == g
        d = [x - y for x, y in zip(a, b, strict=True)]
        n = len(d)
        only_a, only_b = d.count(1.0), d.count(-1.0)
        if only_a + only_b == 0:
            continue
        _, se, _, _ = cr1(d, clusters)
        iid = math.sqrt(np.var(d) / n)
        deff = (se / iid) ** 2
        assert cmp.design_effect == pytest.approx(deff, rel=1e-9)
        used = max(1.0, deff)
        z0 = (only_a - only_b) / math.sqrt(only_a + only_b)
        assert cmp.p_value == pytest.approx(
            2 * stats.t.sf(abs(z0) / math.sqrt(used), g - 1), rel=1e-8
        )
        crit = stats.t.ppf(0.975, g - 1) * math.sqrt(used)
        assert (cmp.ci_low, cmp.ci_high) == pytest.approx(
            tango_interval(only_a, only_b, n, crit), abs=1e-9
        )
        plain = paired_comparison(a, b)  # never narrower than the unclustered interval
        assert cmp.ci_low <= plain.ci_low and plain.ci_high <= cmp.ci_high
        assert_consistent(cmp.ci_low, cmp.ci_high, cmp.diff, cmp.p_value)
        assert cmp.mcnemar is not None and cmp.mcnemar.p_value == cmp.p_value
        assert cmp.mcnemar.method == "score, clustered"
        assert mcnemar([x == 1 for x in a], [y == 1 for y in b], clusters) == cmp.mcnemar


def test_paired_comparison_with_few_clusters_is_unclustered_and_says_so() -> None:
    a, b = pairs(5, 13, 60)
    few = paired_comparison(a, b, [f"c{i % 4}" for i in range(60)])
    plain = paired_comparison(a, b)
    assert few.method == "tango, too few clusters" and few.clusters == 4
    assert (few.ci_low, few.ci_high, few.p_value) == (plain.ci_low, plain.ci_high, plain.p_value)
    assert "4 clusters, too few" in describe(few)


def test_fractional_paired_comparison_is_the_paired_t_test_and_its_interval() -> None:
    rng = random.Random(2)
    for trial in range(30):
        n = rng.randint(3, 80)
        a = [rng.random() for _ in range(n)]
        b = [min(1.0, x + rng.gauss(0.05 * (trial % 3), 0.2)) for x in a]
        b = [max(0.0, y) for y in b]
        cmp = paired_comparison(a, b)
        ref = stats.ttest_rel(a, b)
        assert cmp.method == "t" and cmp.mcnemar is None
        assert cmp.p_value == pytest.approx(ref.pvalue, rel=1e-8)
        low, high = ref.confidence_interval(0.95)
        assert (cmp.ci_low, cmp.ci_high) == pytest.approx((low, high), rel=1e-9)
        assert_consistent(cmp.ci_low, cmp.ci_high, cmp.diff, cmp.p_value)
    # Clustered: statsmodels' cluster-robust OLS of the differences (when deff >= 1).
    clusters = [f"c{i // 3}" for i in range(60)]
    a = [rng.random() for _ in range(60)]
    b = [max(0.0, min(1.0, x - 0.1 + 0.3 * ((i // 3) % 2))) for i, x in enumerate(a)]
    cmp = paired_comparison(a, b, clusters)
    _, se, low, high = cr1([x - y for x, y in zip(a, b, strict=True)], clusters)
    assert cmp.method == "t, clustered" and cmp.design_effect is not None
    assert cmp.design_effect > 1 and cmp.se == pytest.approx(se, rel=1e-9)
    assert (cmp.ci_low, cmp.ci_high) == pytest.approx((low, high), rel=1e-9)


def test_paired_comparison_by_hand() -> None:
    a = [1, 1, 1, 0, 0, 1]
    b = [0, 1, 0, 0, 1, 1]
    cmp = paired_comparison(a, b)
    assert cmp.n == 6 and cmp.diff == pytest.approx(1 / 6)
    assert cmp.mean_a == pytest.approx(4 / 6) and cmp.mean_b == pytest.approx(3 / 6)
    assert cmp.mcnemar is not None
    # b = 2 (only A), c = 1 (only B): Z = 1/sqrt(3); exact p = 1.
    assert (cmp.mcnemar.b, cmp.mcnemar.c, cmp.mcnemar.p_exact) == (2, 1, 1.0)
    assert cmp.p_value == pytest.approx(2 * stats.norm.sf(1 / math.sqrt(3)))
    assert not cmp.clustered and cmp.ci_low < 0 < cmp.ci_high
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
def test_mcnemar_p_matches_scipy_binomtest_and_statsmodels(b: int, c: int) -> None:
    ref = stats.binomtest(b, b + c, 0.5, alternative="two-sided").pvalue
    assert mcnemar_p(b, c) == pytest.approx(ref, rel=1e-9, abs=1e-300)
    table = [[0, b], [c, 0]]
    score = sm_mcnemar(table, exact=False, correction=False).pvalue
    assert mcnemar_score_p(b, c) == pytest.approx(score, rel=1e-9, abs=1e-300)


def test_mcnemar_counts_discordant_pairs() -> None:
    a = [True, True, False, False, True, False, True]
    b = [True, False, True, False, False, False, False]
    result = mcnemar(a, b)
    assert (result.b, result.c) == (3, 1)
    assert result.p_exact == pytest.approx(stats.binomtest(1, 4).pvalue)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(2 / math.sqrt(4)))
    assert mcnemar_p(0, 0) == 1.0 and mcnemar_score_p(0, 0) == 1.0
    assert mcnemar([], []).p_value == 1.0


def test_tiny_p_values_keep_their_digits() -> None:
    a, b = pairs(0, 60, 60)
    cmp = paired_comparison(a, b)
    assert cmp.p_value == pytest.approx(math.erfc(math.sqrt(60) / math.sqrt(2)), rel=1e-12)
    assert 0 < cmp.p_value < 1e-13
    assert cmp.mcnemar is not None and cmp.mcnemar.p_exact == 2.0**-59


# Bootstrap, percentiles ---------------------------------------------------------------------


def test_paired_bootstrap_is_seeded_and_near_the_score_interval() -> None:
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
    clusters = [str(i // 10) for i in range(100)]
    plain = paired_bootstrap(a, b, resamples=500)
    clustered = paired_bootstrap(a, b, clusters=clusters, resamples=500)
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
