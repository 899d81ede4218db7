"""score_results on hand-built result lines: tool calls, schema validity, n > 1 samples,
log probabilities; and how summary, comparison and report show them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from evals import EvalItem, format_table
from evals._evalset import parse_item
from evals._report import write_report
from evals._results import compare, score_results
from jobs import LineError

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


# Intervals: group is a breakdown, cluster clusters; one interval everywhere ----------------


def rated(n: int, right: int, **metadata: Any) -> tuple[dict[str, EvalItem], list[dict[str, Any]]]:
    """``n`` numeric items of which the first ``right`` are answered right; ``metadata``
    maps a key to a function of the item's index."""
    items = {
        f"q{i}": EvalItem(
            id=f"q{i}", target=i, input=f"{i}?", metadata={k: f(i) for k, f in metadata.items()}
        )
        for i in range(n)
    }
    lines = [line(f"q{i}", says(f"Answer: {i if i < right else -1}")) for i in range(n)]
    return items, lines


def test_group_is_a_breakdown_and_changes_no_interval(tmp_path: Path) -> None:
    # 18/24 in 3 groups: the case, once [63.5%, 86.5%]; now Wilson's [55.1%, 88.0%].
    items, lines = rated(24, 18, group=lambda i: f"g{i % 3}")
    s = score_results(lines, items, label="x")
    data = s.to_json()
    assert data["ci_method"] == "wilson" and "clusters" not in data
    assert (round(data["ci_low"], 3), round(data["ci_high"], 3)) == (0.551, 0.880)
    assert {g: e["n"] for g, e in data["by_group"].items()} == {"g0": 8, "g1": 8, "g2": 8}
    assert data["by_group"]["g0"]["accuracy"] == 6 / 8  # q0, q3, ..., q15 right; q18, q21 not
    write_report([s], tmp_path / "r.html", title="t")
    md = (tmp_path / "r.md").read_text()
    assert "| group | items |" in md and "| g0 | 8 | 75.0% (40.9% to 92.9%) |" in md


def test_clusters_are_opt_in_and_too_few_say_so() -> None:
    few_items, lines = rated(24, 18, cluster=lambda i: f"c{i % 3}")
    few = score_results(lines, few_items, label="x").to_json(items=False)
    assert few["ci_method"] == "wilson, too few clusters" and few["clusters"] == 3
    assert (round(few["ci_low"], 3), round(few["ci_high"], 3)) == (0.551, 0.880)
    items, lines = rated(60, 45, cluster=lambda i: f"c{i // 4}")  # 15 clusters of 4
    many = score_results(lines, items, label="x")
    data = many.to_json(items=False)
    assert data["ci_method"] == "wilson, clustered" and data["clusters"] == 15
    # q0-q44 right: clusters 0-10 all right, 11-14 all wrong: a design effect of about 4.
    assert data["design_effect"] > 3
    plain = score_results(lines, rated(60, 45)[0], label="x").to_json(items=False)
    assert plain["ci_method"] == "wilson" and "clusters" not in plain
    assert data["ci_low"] < plain["ci_low"] and plain["ci_high"] < data["ci_high"]


def test_one_interval_per_model_in_json_table_and_report(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"p": {"enum": ["low", "high"]}}, "required": ["p"]}
    params = {"response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}
    items = {
        f"s{i}": EvalItem(
            id=f"s{i}",
            target={"p": "low"},
            input="?",
            scorer="json_schema",
            params=params,
            metadata={"cluster": f"c{i // 3}", "group": f"g{i % 2}"},
        )
        for i in range(60)
    }
    lines = [line(f"s{i}", says('{"p": "low"}' if i < 53 else "no")) for i in range(60)]
    s = score_results(lines, items, label="x")
    data = s.to_json(items=False)
    acc, validity = s.accuracy(), s.validity()
    assert validity == acc and data["validity"]["ci_method"] == data["ci_method"]
    assert (data["validity"]["ci_low"], data["validity"]["ci_high"]) == (
        data["ci_low"],
        data["ci_high"],
    )
    shown = f"{100 * acc.mean:.1f}% [{100 * acc.ci_low:.1f}%, {100 * acc.ci_high:.1f}%]"
    table = format_table([s])
    assert table.count(shown) == 2  # the accuracy row and the validity line
    write_report([s], tmp_path / "r.html", title="t")
    md = (tmp_path / "r.md").read_text()
    assert f"{100 * acc.ci_low:.1f}% to {100 * acc.ci_high:.1f}%" in md
    assert md.count(f"({100 * acc.ci_low:.1f}% to {100 * acc.ci_high:.1f}%)") == 1  # validity


def test_comparison_interval_agrees_with_its_test_everywhere(tmp_path: Path) -> None:
    items, a_lines = rated(60, 44)
    _, b_lines = rated(60, 52)
    a = score_results(a_lines, items, label="a")
    b = score_results(b_lines, items, label="b")
    b.model = "other/model"
    c = compare(a, b)
    data = c.to_json()
    # b = 0 (only A right), c = 8: Z = sqrt(8), p = 0.0047; exact p = 2^-7.
    assert (data["mcnemar"]["b"], data["mcnemar"]["c"]) == (0, 8)
    assert data["mcnemar"]["p"] == data["diff_p"] == c.paired.p_value
    assert data["mcnemar"]["p"] == pytest.approx(math.erfc(2.0), rel=1e-12)
    assert data["mcnemar"]["p_exact"] == 2.0**-7 and data["mcnemar"]["test"] == "score"
    assert data["diff_method"] == "tango" and 0 < data["diff_ci_low"] < data["diff_ci_high"]
    line_text = format_table([a, b]).splitlines()[-1]
    low, high = c.paired.ci_low, c.paired.ci_high
    assert f"[{100 * low:+.1f}, {100 * high:+.1f}] (Tango score interval)" in line_text
    assert "p=0.00468 (score test" in line_text and "exact p=0.00781" in line_text
    write_report([a, b], tmp_path / "r.html", title="t")
    md = (tmp_path / "r.md").read_text()
    assert f"{100 * low:+.1f} to {100 * high:+.1f} (Tango score interval) | 0.00468 (score) |" in md


def test_tiny_p_values_are_not_rounded_to_zero_in_json() -> None:
    items, a_lines = rated(60, 0)
    _, b_lines = rated(60, 60)
    data = compare(
        score_results(a_lines, items, label="a"), score_results(b_lines, items, label="b")
    ).to_json()
    # Issue 16: p = 6.2e-11 was written as 0.0 (rounded to 6 decimals).
    assert data["mcnemar"]["p"] == pytest.approx(math.erfc(math.sqrt(30)), rel=1e-12)
    assert 0 < data["mcnemar"]["p"] < 1e-13 and data["mcnemar"]["p_exact"] == 2.0**-59
    assert json.loads(json.dumps(data))["mcnemar"]["p"] == data["mcnemar"]["p"]
    assert data["diff"] == 1.0 and data["diff_ci_high"] == 1.0 and 0.85 < data["diff_ci_low"] < 1


def test_clustered_comparison_in_json() -> None:
    items, a_lines = rated(60, 30, cluster=lambda i: f"c{i // 3}")
    _, b_lines = rated(60, 45)
    c = compare(score_results(a_lines, items, label="a"), score_results(b_lines, items, label="b"))
    data = c.to_json()
    assert data["diff_method"] == "tango, clustered" and data["clusters"] == 20
    assert data["mcnemar"]["test"] == "score, clustered" and data["clustered"] is True
    assert data["a"]["ci_method"] == "wilson, clustered" and data["a"]["clusters"] == 20
    assert data["bootstrap"]["clustered"] is True
    assert (data["diff_ci_low"] > 0) == (data["mcnemar"]["p"] < 0.05)


def test_metadata_cluster_is_read_and_checked() -> None:
    item = parse_item(
        "e.jsonl", 1, '{"id": 1, "input": "x", "target": 1, "metadata": {"cluster": 4}}'
    )
    assert item.cluster == "4" and item.group is None
    with pytest.raises(LineError, match="metadata.cluster must be a string"):
        parse_item(
            "e.jsonl", 2, '{"id": 2, "input": "x", "target": 1, "metadata": {"cluster": [1]}}'
        )
