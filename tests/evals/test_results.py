"""score_results on hand-built result lines: tool calls, schema validity, n > 1 samples,
log probabilities; and how summary, comparison and report show them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from evals import EvalItem
from evals._report import write_report
from evals._results import compare, score_results

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


def line(cid: str, *choices: dict[str, Any]) -> dict[str, Any]:
    body = {
        "model": MODEL,
        "choices": [{"index": i, **c} for i, c in enumerate(choices)],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5 * len(choices)},
    }
    return {
        "id": "x",
        "custom_id": cid,
        "response": {"status_code": 200, "request_id": "r", "body": body},
        "error": None,
    }


def says(text: str, logprobs: Any = None, finish: str = "stop") -> dict[str, Any]:
    return {
        "message": {"role": "assistant", "content": text},
        "finish_reason": finish,
        "logprobs": logprobs,
    }


def calls(*made: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    tool_calls = [
        {
            "id": f"call_{i}",
            "index": i,
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for i, (name, args) in enumerate(made)
    ]
    return {
        "message": {"role": "assistant", "content": "", "tool_calls": tool_calls},
        "finish_reason": "tool_calls",
        "logprobs": None,
    }


def numeric(n: int) -> dict[str, EvalItem]:
    return {f"q{i}": EvalItem(id=f"q{i}", target=i, input=f"{i}?") for i in range(n)}


def test_tool_call_results_are_scored_from_the_calls() -> None:
    weather = {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
    items = {
        "a": EvalItem(id="a", target=(weather,), input="?", scorer="tool_call"),
        "b": EvalItem(id="b", target=(weather,), input="?", scorer="tool_call"),
        "c": EvalItem(id="c", target=(weather,), input="?", scorer="tool_call"),
    }
    lines = [
        line("a", calls(("get_weather", {"unit": "celsius", "city": "Paris"}))),
        line("b", calls(("get_weather", {"unit": "celsius", "city": "Lyon"}))),
        line("c", says("It is sunny.")),
    ]
    s = score_results(lines, items, label="x")
    got = {r.id: r for r in s.items}
    assert got["a"].outcome == "correct" and got["a"].scorer == "tool_call"
    assert got["b"].outcome == "wrong" and "expected 'Paris', got 'Lyon'" in got["b"].reason
    assert got["c"].outcome == "wrong" and got["c"].reason == "no tool call (answered in text)"
    data = s.to_json()
    assert data["by_scorer"]["tool_call"]["accuracy"] == pytest.approx(1 / 3)
    assert "samples" not in data and "calibration" not in data and "validity" not in data


def test_validity_rate_for_json_schema_items() -> None:
    schema = {"type": "object", "properties": {"p": {"enum": ["low", "high"]}}, "required": ["p"]}
    params = {"response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}
    items = {
        f"s{i}": EvalItem(
            id=f"s{i}", target={"p": "low"}, input="?", scorer="json_schema", params=params
        )
        for i in range(4)
    }
    items["n"] = EvalItem(id="n", target=3, input="?")
    lines = [
        line("s0", says('{"p": "low"}')),
        line("s1", says('```json\n{"p": "high"}\n```')),
        line("s2", says('{"p": "urgent"}')),
        line("s3", says("low")),
        line("n", says("Answer: 3")),
    ]
    s = score_results(lines, items, label="x")
    validity = s.to_json()["validity"]
    assert validity["n"] == 4 and validity["valid"] == 2 and validity["rate"] == 0.5
    assert validity["ci_low"] < 0.5 < validity["ci_high"]
    assert s.accuracy().mean == pytest.approx(3 / 5)  # the numeric item counts in accuracy


def test_samples_pass_at_k_and_majority_keep_accuracy_on_sample_zero() -> None:
    items = numeric(4)
    lines = [
        # q0: 4 samples, sample 0 right, 2 of 4 right, majority "0" (tie "0"/"9" -> first)
        line("q0", says("Answer: 0"), says("Answer: 9"), says("Answer: 0"), says("Answer: 9")),
        # q1: sample 0 wrong, 3 of 4 right, majority right
        line("q1", says("Answer: 7"), says("Answer: 1"), says("Answer: 1"), says("Answer: 1")),
        # q2: none right
        line("q2", says("Answer: 5"), says("Answer: 5"), says("Answer: 6"), says("Answer: 6")),
        # q3: one sample cut off, the others right
        line(
            "q3",
            says("<think>long", finish="length"),
            says("Answer: 3"),
            says("Answer: 3"),
            says("Answer: 3"),
        ),
    ]
    s = score_results(lines, items, label="x")
    assert s.accuracy().mean == pytest.approx(1 / 4)  # sample 0 only: q0
    by = {r.id: r for r in s.items}
    assert (by["q0"].samples, by["q0"].samples_correct, by["q0"].majority) == (4, 2, "0")
    assert by["q1"].majority_correct and not by["q1"].correct
    assert by["q3"].outcome == "truncated" and by["q3"].samples_correct == 3
    passes = s.pass_at()
    assert list(passes) == [1, 2, 4]
    assert passes[1].mean == pytest.approx((2 / 4 + 3 / 4 + 0 + 3 / 4) / 4)
    # pass@2 = 1 - C(n-c, 2)/C(4, 2): q0 1 - 1/6, q1 1, q2 0, q3 1
    assert passes[2].mean == pytest.approx((5 / 6 + 1 + 0 + 1) / 4)
    assert passes[4].mean == pytest.approx(3 / 4) and passes[4].method == "wilson"
    majority = s.majority()
    assert majority is not None and majority.mean == pytest.approx(3 / 4)
    data = s.to_json()
    assert data["accuracy"] == 0.25
    samples = data["samples"]
    assert samples["max_n"] == 4 and "choice 0" in samples["accuracy_is"]
    assert set(samples["pass_at_k"]) == {"1", "2", "4"}
    assert samples["majority"]["accuracy"] == 0.75
    item = data["items"][0]
    assert item["samples"] == 4 and item["samples_correct"] == 2 and item["majority"] == "0"


def test_failed_items_count_as_zero_samples() -> None:
    items = numeric(2)
    lines = [
        line("q0", says("Answer: 0"), says("Answer: 0")),
        {"custom_id": "q1", "response": None, "error": {"code": "x", "message": "gave up"}},
    ]
    s = score_results(lines, items, label="x")
    assert s.items[1].samples == 0
    assert s.pass_at()[1].mean == pytest.approx(0.5)
    assert s.pass_at()[2].mean == pytest.approx(0.5)


def tokens(*pairs: tuple[str, float]) -> dict[str, Any]:
    return {"tokens": [t for t, _ in pairs], "token_logprobs": [math.log(p) for _, p in pairs]}


def test_calibration_from_logprobs() -> None:
    items = numeric(5)
    lines = [
        line("q0", says("Answer: 0", tokens(("Answer", 1.0), (":", 1.0), (" 0", 0.95)))),
        line("q1", says("Answer: 7", tokens(("Answer", 1.0), (":", 1.0), (" 7", 0.95)))),
        line("q2", says("Answer: 9", tokens(("Answer", 1.0), (":", 1.0), (" 9", 0.15)))),
        line(
            "q3",
            says(
                "Answer: 3",
                {
                    "content": [
                        {"token": "Answer: ", "logprob": 0.0},
                        {"token": "3", "logprob": math.log(0.55)},
                    ]
                },
            ),
        ),
        line("q4", says("Answer: 4")),  # no logprobs: counted, left out
    ]
    s = score_results(lines, items, label="x")
    cal = s.calibration()
    assert cal is not None and (cal.n, cal.without) == (4, 1)
    assert cal.ece == pytest.approx(0.375) and cal.brier == pytest.approx(0.2825)
    data = s.to_json()
    assert data["calibration"]["ece"] == 0.375 and data["calibration"]["without_confidence"] == 1
    assert len(data["calibration"]["bins"]) == 10
    assert data["items"][0]["confidence"] == pytest.approx(0.95)
    assert "confidence" not in data["items"][4]


def test_comparison_and_report_show_the_new_figures(tmp_path: Path) -> None:
    items = numeric(6)

    def run(right: int) -> list[dict[str, Any]]:
        out = []
        for i in range(6):
            first = f"Answer: {i if i < right else 99}"
            lp = tokens(("Answer", 1.0), (":", 1.0), (f" {i if i < right else 99}", 0.9))
            out.append(line(f"q{i}", says(first, lp), says(f"Answer: {i}")))
        return out

    a = score_results(run(2), items, label="a")
    b = score_results(run(5), items, label="b")
    b.model = "other/model"
    data = compare(a, b).to_json()
    assert data["diff"] == pytest.approx(0.5)
    assert data["a"]["samples"]["pass_at_k"]["2"]["accuracy"] == 1.0
    assert data["b"]["calibration"]["n"] == 6
    page = write_report([a, b], tmp_path / "r.html", title="t").read_text()
    for words in ("pass@2", "majority vote", "Reliability diagram", "ECE", "Calibration"):
        assert words in page, words
    assert page.count("<svg") == 2
    md = (tmp_path / "r.md").read_text()
    assert "Samples (n > 1)" in md and "Reliability bins" in md
    assert "validity" not in md.lower()


def test_report_without_new_figures_is_unchanged_in_shape(tmp_path: Path) -> None:
    items = numeric(3)
    s = score_results([line(f"q{i}", says(f"Answer: {i}")) for i in range(3)], items, label="x")
    page = write_report([s], tmp_path / "r.html", title="t").read_text()
    assert page.count("<svg") == 1
    assert "pass@" not in page and "Reliability" not in page and "Validity" not in page
