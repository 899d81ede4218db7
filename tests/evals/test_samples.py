"""pass@k (checked against counting every draw) and the majority vote."""

from __future__ import annotations

import itertools
import math

import pytest

from evals import majority_vote, pass_at_k
from evals._samples import k_values


def brute_force(n: int, c: int, k: int) -> float:
    """The share of the k-subsets of n samples (c of them correct) holding a correct one."""
    samples = [True] * c + [False] * (n - c)
    draws = list(itertools.combinations(samples, k))
    return sum(any(d) for d in draws) / len(draws)


@pytest.mark.parametrize(
    ("n", "c", "k"),
    [(n, c, k) for n in (1, 2, 5, 8) for c in range(n + 1) for k in range(1, n + 1)],
)
def test_pass_at_k_is_the_chance_a_draw_of_k_holds_a_correct_one(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(brute_force(n, c, k), abs=1e-12)


def test_pass_at_k_edges() -> None:
    assert pass_at_k(10, 0, 1) == 0.0 and pass_at_k(10, 0, 10) == 0.0  # c = 0
    assert pass_at_k(10, 10, 1) == 1.0 and pass_at_k(10, 10, 4) == 1.0  # c = n
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 is c / n
    assert pass_at_k(10, 3, 8) == 1.0  # n - c < k: every draw holds a correct one
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_at_k(200, 20, 100) == pytest.approx(1 - math.comb(180, 100) / math.comb(200, 100))


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)])
def test_pass_at_k_refuses_impossible_counts(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match="need 0 <= c <= n"):
        pass_at_k(n, c, k)


def test_k_values() -> None:
    assert k_values(1) == [1]
    assert k_values(2) == [1, 2]
    assert k_values(5) == [1, 2, 4, 5]
    assert k_values(8) == [1, 2, 4, 8]
    assert k_values(10) == [1, 2, 4, 8, 10]


def test_majority_vote_most_common_wins() -> None:
    assert majority_vote(["A", "B", "B", "C"]) == 1
    assert majority_vote(["42", " 41", "41 ", "42", "41"]) == 1  # whitespace ignored


def test_majority_vote_tie_goes_to_the_first_given() -> None:
    assert majority_vote(["B", "A", "A", "B"]) == 0
    assert majority_vote(["C", "A", "B", "B", "A"]) == 1


def test_majority_vote_ignores_samples_without_an_answer() -> None:
    assert majority_vote([None, None, "A"]) == 2
    assert majority_vote([None, "B", None, "B", "A"]) == 1
    assert majority_vote([None, None]) is None
    assert majority_vote([]) is None
