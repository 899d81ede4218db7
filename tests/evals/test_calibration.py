"""Confidence from log probabilities (both shapes), ECE and Brier against a hand-worked case."""

from __future__ import annotations

import math
from typing import Any

import pytest

from evals import answer_confidence, calibration, extract


def test_ece_and_brier_by_hand() -> None:
    # The worked example of the module docstring. Bins: [0.9, 1] holds 0.95 (right) and
    # 0.95 (wrong): accuracy 0.5 against confidence 0.95, weight 2/4; [0.1, 0.2) holds
    # 0.15 (wrong): |0 - 0.15|, weight 1/4; [0.5, 0.6) holds 0.55 (right): |1 - 0.55|.
    cal = calibration([0.95, 0.95, 0.15, 0.55], [True, False, False, True])
    assert cal.ece == pytest.approx(2 / 4 * 0.45 + 1 / 4 * 0.15 + 1 / 4 * 0.45)  # 0.375
    assert cal.ece == pytest.approx(0.375)
    assert cal.brier == pytest.approx((0.05**2 + 0.95**2 + 0.15**2 + 0.45**2) / 4)  # 0.2825
    assert cal.brier == pytest.approx(0.2825)
    assert (cal.n, cal.without) == (4, 0)
    assert cal.mean_confidence == pytest.approx(0.65) and cal.accuracy == 0.5
    filled = {(b.low, b.high): (b.n, b.confidence, b.accuracy) for b in cal.bins if b.n}
    assert list(filled) == [(0.1, 0.2), (0.5, 0.6), (0.9, 1.0)]
    assert filled[(0.1, 0.2)] == pytest.approx((1, 0.15, 0.0))
    assert filled[(0.5, 0.6)] == pytest.approx((1, 0.55, 1.0))
    assert filled[(0.9, 1.0)] == pytest.approx((2, 0.95, 0.5))
    assert len(cal.bins) == 10 and sum(b.n for b in cal.bins) == 4


def test_perfect_calibration_and_edges() -> None:
    cal = calibration([1.0, 1.0, 0.0], [True, True, False])
    assert cal.ece == 0.0 and cal.brier == 0.0
    assert cal.bins[9].n == 2 and cal.bins[0].n == 1  # 1.0 falls in the last bin


def test_items_without_confidence_are_counted_and_left_out() -> None:
    cal = calibration([None, 0.8, None], [True, True, False])
    assert (cal.n, cal.without) == (1, 2)
    assert cal.ece == pytest.approx(0.2)
    empty = calibration([None], [True])
    assert empty.n == 0 and empty.without == 1 and math.isnan(empty.ece)


def test_calibration_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="probability"):
        calibration([1.5], [True])
    with pytest.raises(ValueError, match="lengths differ"):
        calibration([0.5], [True, False])


def body(logprobs: Any, content: str = "Answer: B") -> dict[str, Any]:
    return {
        "choices": [
            {
                "index": 0,
                "message": {"content": content},
                "logprobs": logprobs,
                "finish_reason": "stop",
            }
        ]
    }


LP_B = math.log(0.8)


def test_together_native_shape() -> None:
    ex = extract(
        body(
            {
                "token_ids": [1, 2, 3],
                "tokens": ["Answer", ":", " B"],
                "token_logprobs": [-0.01, -0.02, LP_B],
                "top_logprobs": [{"Answer": -0.01}, {":": -0.02}, {" B": LP_B, " C": -2.0}],
            }
        )
    )
    assert ex.logprobs == (("Answer", -0.01), (":", -0.02), (" B", LP_B))
    assert answer_confidence(ex.logprobs, "B") == pytest.approx(0.8)


def test_openai_shape() -> None:
    content = [
        {"token": "Answer", "bytes": [65], "logprob": -0.01, "top_logprobs": []},
        {"token": ": ", "logprob": -0.02, "top_logprobs": []},
        {"token": "B", "logprob": LP_B, "top_logprobs": [{"token": "C", "logprob": -2.0}]},
    ]
    ex = extract(body({"content": content}))
    assert ex.logprobs == (("Answer", -0.01), (": ", -0.02), ("B", LP_B))
    assert answer_confidence(ex.logprobs, "B") == pytest.approx(0.8)


def test_no_logprobs_is_none() -> None:
    assert extract(body(None)).logprobs is None
    assert extract(body({"unexpected": 1})).logprobs is None
    assert answer_confidence(None, "B") is None


def test_the_last_occurrence_counts() -> None:
    tokens = (("B", math.log(0.3)), (" is", -0.1), (" wrong", -0.1), ("B", math.log(0.9)))
    assert answer_confidence(tokens, "B") == pytest.approx(0.9)


def test_an_answer_over_several_tokens_multiplies_them() -> None:
    tokens = (
        ("Answer", 0.0),
        (":", 0.0),
        (" 4", math.log(0.5)),
        ("2", math.log(0.8)),
        (".", -0.01),
    )
    assert answer_confidence(tokens, "42") == pytest.approx(0.4)
    assert answer_confidence(tokens, "2") == pytest.approx(0.8)
    assert answer_confidence(tokens, "43") is None  # not in the tokens: no confidence
    assert answer_confidence(tokens, "") is None
    assert answer_confidence((("4", None), ("2", 0.0)), "42") is None  # a token without logprob


@pytest.mark.parametrize("token", [" (B).", "**B**", " $B$", " B", "B\n", " \\boxed{B}"])
def test_punctuation_and_markup_around_the_answer_token(token: str) -> None:
    tokens = (("ANSWER:", 0.0), (token, math.log(0.7)), ("\n", -0.01))
    assert answer_confidence(tokens, "B") == pytest.approx(0.7)


def test_markup_in_tokens_of_its_own_is_not_counted() -> None:
    tokens = (("(", -0.5), ("B", math.log(0.6)), (").", -0.3))
    assert answer_confidence(tokens, "B") == pytest.approx(0.6)
    numbers = ((" \\boxed{", -0.2), ("16", math.log(0.5)), ("3", math.log(0.5)), ("}", -0.1))
    assert answer_confidence(numbers, "163") == pytest.approx(0.25)
    assert answer_confidence(((" 197.", math.log(0.4)),), "197") == pytest.approx(0.4)
    assert answer_confidence(((" 1970.", math.log(0.4)),), "197") is None
