"""fanout eval / score / compare / report, end to end: real runner, real simulator, real files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fanout.cli import main

ROOT = Path(__file__).resolve().parents[2]
LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
R1 = "deepseek-ai/DeepSeek-R1"


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)


def small_set(tmp_path: Path, per_task: int = 6) -> Path:
    """The first items of each bundled task."""
    seen: dict[str, int] = {}
    lines = []
    for line in (ROOT / "jobs/evals/mixed.jsonl").read_text().splitlines():
        task = json.loads(line)["metadata"]["task"]
        if seen.get(task, 0) < per_task:
            seen[task] = seen.get(task, 0) + 1
            lines.append(line)
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def fanout(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_eval_runs_scores_compares_reports_and_resumes(tmp_path: Path) -> None:
    evalset = small_set(tmp_path)
    out = tmp_path / "out"
    args = (
        "eval",
        str(evalset),
        "--sim",
        "--model",
        LLAMA,
        "--model",
        R1,
        "--db",
        str(tmp_path / "s.db"),
        "--out-dir",
        str(out),
        "--no-progress",
    )
    code, output = fanout(*args)
    assert code == 0, output
    assert "McNemar b=" in output and "Simulated models" in output
    summary = json.loads((out / "summary.json").read_text())
    models = {m["model"]: m for m in summary["models"]}
    assert set(models) == {LLAMA, R1}
    for m in models.values():
        assert m["n"] == 36
        assert m["errors"] == 0 and m["missing"] == 0
        assert m["ci_low"] <= m["accuracy"] <= m["ci_high"]
        assert len(m["items"]) == 36
    assert models[R1]["tokens"]["reasoning"]["mean"] > 100
    assert models[LLAMA]["cost"] is not None and models[R1]["cost"] > models[LLAMA]["cost"]
    comparison = summary["comparisons"][0]
    assert comparison["n"] == 36
    assert comparison["diff"] == pytest.approx(models[R1]["accuracy"] - models[LLAMA]["accuracy"])
    page = (out / "report.html").read_text()
    assert "<svg" in page and "<table>" in page
    for fetch in ("<script", "<link", "src=", "href=", "@import", "url("):
        assert fetch not in page  # opens offline: nothing to fetch
    assert (out / "report.md").read_text().startswith("# fanout eval")

    with sqlite3.connect(tmp_path / "s.db") as conn:
        before = conn.execute("SELECT sum(attempts), count(*) FROM jobs").fetchone()
    code, output = fanout(*args)  # the same command again: nothing is sent twice
    assert code == 0, output
    assert output.count("already done") == 2
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT sum(attempts), count(*) FROM jobs").fetchone() == before
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    assert json.loads((out / "summary.json").read_text()) == summary


def result(
    cid: str,
    content: str | None,
    *,
    finish: str = "stop",
    error: bool = False,
    reasoning: str | None = None,
) -> dict[str, Any]:
    if error:
        return {
            "id": "x",
            "custom_id": cid,
            "response": None,
            "error": {"code": "server_error_exhausted", "message": "gave up"},
        }
    body = {
        "model": LLAMA,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": content, "reasoning": reasoning},
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    }
    return {
        "id": "x",
        "custom_id": cid,
        "response": {"status_code": 200, "request_id": "r", "body": body},
        "error": None,
    }


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_score_json_counts_truncated_and_unparsed_apart(tmp_path: Path) -> None:
    evalset = write(
        tmp_path / "e.jsonl",
        [
            {"id": "a", "input": "2+2?", "target": 4},
            {"id": "b", "input": "3+3?", "target": 6},
            {"id": "c", "input": "Pick", "target": "B", "choices": ["x", "y", "z"]},
            {"id": "d", "input": "4+4?", "target": 8},
            {"id": "e", "input": "5+5?", "target": 10},
            {"id": "f", "input": "6+6?", "target": 12},
            {"id": "g", "input": "7+7?", "target": 14},
        ],
    )
    results = write(
        tmp_path / "r.jsonl",
        [
            result("a", "<think>2 and 2</think>\n\nAnswer: 4"),
            result("b", "I think it is 7. Answer: 7"),
            result("c", "ANSWER: $B$"),
            result("d", "<think>let me think about 4+4", finish="length"),
            result("e", "no idea"),
            result("f", "", error=True),
            # g has no line at all
        ],
    )
    res = CliRunner().invoke(main, ["score", str(results), "--evalset", str(evalset), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)  # stderr notes that g has no result line
    assert "6 of 7 items have a result line" in res.stderr
    assert (data["n"], data["correct"]) == (7, 2)
    assert data["accuracy"] == pytest.approx(2 / 7)
    assert data["ci_low"] < 2 / 7 < data["ci_high"]
    assert (data["truncated"], data["unparsed"], data["errors"], data["missing"]) == (1, 1, 1, 1)
    items = {i["id"]: i for i in data["items"]}
    assert items["a"]["answer"] == "4" and items["a"]["correct"]
    assert items["b"]["answer"] == "7" and not items["b"]["correct"]
    assert items["c"]["answer"] == "B" and items["c"]["correct"]
    assert items["d"]["outcome"] == "truncated" and items["d"]["answer"] is None
    assert items["e"]["outcome"] == "unparsed"
    assert all({"id", "answer", "correct", "reason"} <= set(i) for i in data["items"])


def test_a_bad_result_line_is_named_by_its_line_in_the_file(tmp_path: Path) -> None:
    evalset = write(tmp_path / "e.jsonl", [{"id": "a", "input": "2+2?", "target": 4}])
    good = json.dumps(result("a", "Answer: 4"))
    for bad, reason in (
        ("{oops", "not a JSON result line"),
        ('"just a string"', "a result line must be a JSON object, got str"),
    ):
        results = tmp_path / "r.jsonl"
        results.write_text(f"{good}\n\n{bad}\n")  # the third line, after a blank one
        code, output = fanout("score", str(results), "--evalset", str(evalset))
        assert code == 2, output
        assert f"{results}:3: {reason}" in output
        assert "Traceback" not in output


def test_compare_json_pairs_two_result_files(tmp_path: Path) -> None:
    items = [{"id": f"q{i}", "input": f"{i}+1?", "target": i + 1} for i in range(20)]
    evalset = write(tmp_path / "e.jsonl", items)
    a = write(
        tmp_path / "a.jsonl",
        [result(f"q{i}", f"Answer: {i + 1 if i < 8 else 0}") for i in range(20)],
    )
    b = write(
        tmp_path / "b.jsonl",
        [result(f"q{i}", f"Answer: {i + 1 if i >= 4 else 0}") for i in range(20)],
    )
    code, output = fanout("compare", str(a), str(b), "--evalset", str(evalset), "--json")
    assert code == 0, output
    data = json.loads(output)
    assert data["n"] == 20
    assert data["a"]["accuracy"] == pytest.approx(8 / 20)
    assert data["b"]["accuracy"] == pytest.approx(16 / 20)
    assert data["diff"] == pytest.approx(0.4)
    assert data["mcnemar"]["b"] == 4 and data["mcnemar"]["c"] == 12  # only A / only B right
    # p: McNemar's score test, Z = (12 - 4)/sqrt(16) = 2, the test Tango's interval inverts
    assert data["mcnemar"]["p"] == pytest.approx(0.0455, abs=1e-4) == data["diff_p"]
    assert data["mcnemar"]["p_exact"] == pytest.approx(0.0768, abs=1e-4)  # 2*P(X<=4), Bin(16,.5)
    assert 0 < data["diff_ci_low"] < 0.4 < data["diff_ci_high"]  # p < 0.05: 0 is outside
    assert data["bootstrap"]["ci_low"] < 0.4 < data["bootstrap"]["ci_high"]
    code, output = fanout(
        "report", str(a), str(b), "--evalset", str(evalset), "--out", str(tmp_path / "r.html")
    )
    assert code == 0, output
    assert "McNemar" in (tmp_path / "r.html").read_text()


def test_bad_eval_set_names_the_line_and_sends_nothing(tmp_path: Path) -> None:
    evalset = tmp_path / "e.jsonl"
    evalset.write_text('{"id": "a", "input": "x", "target": 1}\n{"id": "a", "input": "y"}\n')
    code, output = fanout(
        "eval", str(evalset), "--sim", "--model", LLAMA, "--db", str(tmp_path / "s.db")
    )
    assert code == 2
    assert f"{evalset}:2:" in output
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(
    ("scorer", "says"),
    [("nope", "unknown scorer 'nope'"), ("no_such_module:fn", "cannot import 'no_such_module'")],
)
def test_an_item_scorer_that_does_not_resolve_stops_eval_before_anything_is_sent(
    tmp_path: Path, scorer: str, says: str
) -> None:
    items = [{"id": f"i{n}", "input": f"{n}+1?", "target": n + 1} for n in range(5)]
    items.append({"id": "bad", "input": "x", "target": "y", "scorer": scorer})
    evalset = write(tmp_path / "e.jsonl", items)
    code, output = fanout(
        "eval", str(evalset), "--sim", "--model", LLAMA, "--db", str(tmp_path / "s.db")
    )
    assert code == 2, output
    assert f"{evalset}: item 'bad': " in output and says in output
    assert "nothing was sent" in output
    assert not (tmp_path / "s.db").exists()


def test_eval_takes_new_run_after_the_eval_set_changed(tmp_path: Path) -> None:
    evalset = write(tmp_path / "e.jsonl", [{"id": "a", "input": "1+1?", "target": 2}])
    args = (
        "eval",
        str(evalset),
        "--sim",
        "--model",
        LLAMA,
        "--db",
        str(tmp_path / "s.db"),
        "--no-progress",
        "--json",
    )
    assert fanout(*args)[0] == 0
    write(tmp_path / "e.jsonl", [{"id": "a", "input": "2+2?", "target": 4}])
    code, output = fanout(*args)
    assert code == 2 and "--new-run" in output
    code, output = fanout(*args, "--new-run")
    assert code == 0, output
    assert json.loads(output.splitlines()[-1])["models"][0]["n"] == 1


def test_unknown_scorer_is_a_usage_error(tmp_path: Path) -> None:
    evalset = write(tmp_path / "e.jsonl", [{"id": "a", "input": "x", "target": 1}])
    results = write(tmp_path / "r.jsonl", [result("a", "Answer: 1")])
    code, output = fanout("score", str(results), "--evalset", str(evalset), "--scorer", "nope")
    assert code == 2 and "unknown scorer 'nope'" in output


def test_judge_scorer_grades_through_the_runner_and_resumes(tmp_path: Path) -> None:
    capitals = [
        ("France", "Paris"),
        ("Japan", "Tokyo"),
        ("Kenya", "Nairobi"),
        ("Peru", "Lima"),
        ("Norway", "Oslo"),
        ("Egypt", "Cairo"),
        ("Chile", "Santiago"),
        ("Iran", "Tehran"),
    ]
    evalset = write(
        tmp_path / "e.jsonl",
        [
            {
                "id": f"cap-{i}",
                "input": f"What is the capital of {country}? End with 'Answer: X'.",
                "target": city,
                "scorer": "judge",
                "metadata": {"rubric": "Correct if it names the city.", "difficulty": "medium"},
            }
            for i, (country, city) in enumerate((capitals * 3)[:20])
        ],
    )
    db = str(tmp_path / "s.db")
    args = (
        "eval",
        str(evalset),
        "--sim",
        "--model",
        LLAMA,
        "--db",
        db,
        "--out-dir",
        str(tmp_path / "out"),
        "--no-progress",
    )
    code, output = fanout(*args)
    assert code == 2 and "--judge-model" in output  # judged items need a judge
    code, output = fanout(*args, "--judge-model", R1)
    assert code == 0, output
    assert "judge of " + LLAMA in output
    judge_jobs = (tmp_path / "out" / f"{LLAMA.replace('/', '_')}.judge.jobs.jsonl").read_text()
    assert judge_jobs.count("GRADE: CORRECT") == 20  # the instruction, once per answer
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    items = summary["models"][0]["items"]
    assert {i["outcome"] for i in items} <= {"correct", "wrong"}
    assert all(i["reason"] == "judged by rubric" for i in items)
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT sum(attempts) FROM jobs").fetchone()
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    code, output = fanout(*args, "--judge-model", R1)
    assert code == 0, output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT sum(attempts) FROM jobs").fetchone() == before


def first_lines(name: str, n: int, tmp_path: Path) -> Path:
    lines = (ROOT / "jobs/evals" / name).read_text().splitlines()[:n]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_eval_function_calling_and_structured_output_with_samples_and_logprobs(
    tmp_path: Path,
) -> None:
    for name, figure in (("function_calling.jsonl", None), ("structured_output.jsonl", "validity")):
        evalset = first_lines(name, 9, tmp_path)
        out = tmp_path / f"{name}.out"
        args = (
            "eval",
            str(evalset),
            "--sim",
            "--model",
            LLAMA,
            "--samples",
            "3",
            "--temperature",
            "0.7",
            "--logprobs",
            "2",
            "--db",
            str(tmp_path / "s.db"),
            "--out-dir",
            str(out),
            "--no-progress",
        )
        code, output = fanout(*args)
        assert code == 0, output
        assert "3 samples: pass@1" in output and "majority vote" in output
        job = json.loads(
            (out / f"{LLAMA.replace('/', '_')}.jobs.jsonl").read_text().splitlines()[0]
        )
        assert job["body"]["n"] == 3 and job["body"]["logprobs"] == 2
        assert ("tools" in job["body"]) == (figure is None)
        model = json.loads((out / "summary.json").read_text())["models"][0]
        assert model["n"] == 9 and model["errors"] == 0 and model["missing"] == 0
        assert model["samples"]["max_n"] == 3 and set(model["samples"]["pass_at_k"]) == {
            "1",
            "2",
            "3",
        }
        assert all(i["samples"] == 3 for i in model["items"])
        assert "calibration" not in model  # calls and JSON values are no answer token
        if figure == "validity":
            assert model["validity"]["n"] == 9 and "JSON Schema validity" in output
            assert model["validity"]["rate"] == model["accuracy"]
        else:
            assert "validity" not in model
        page = (out / "report.html").read_text()
        assert "pass@3" in page and ("Validity" in page) == (figure == "validity")
        code, again = fanout(*args)  # resumes: nothing sent twice
        assert code == 0 and "already done" in again


def tool_result(cid: str, *calls: tuple[str, dict[str, Any]], content: str = "") -> dict[str, Any]:
    line = result(cid, content, finish="tool_calls")
    line["response"]["body"]["choices"][0]["message"]["tool_calls"] = [
        {
            "id": f"call_{i}",
            "index": i,
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for i, (name, args) in enumerate(calls)
    ]
    return line


def test_score_and_compare_tool_calls_from_result_files(tmp_path: Path) -> None:
    weather: dict[str, Any] = {
        "name": "get_weather",
        "arguments": {"city": "Paris", "unit": "celsius"},
    }
    stock: dict[str, Any] = {"name": "get_stock_price", "arguments": {"symbol": "AAPL"}}
    evalset = write(
        tmp_path / "e.jsonl",
        [
            {"id": "one", "input": "Weather?", "scorer": "tool_call", "target": [weather]},
            {"id": "two", "input": "Both?", "scorer": "tool_call", "target": [weather, stock]},
            {"id": "txt", "input": "Weather?", "scorer": "tool_call", "target": [weather]},
        ],
    )
    a = write(
        tmp_path / "a.jsonl",
        [
            tool_result("one", ("get_weather", {"city": "Paris", "unit": "celsius"})),
            tool_result(
                "two",
                ("get_stock_price", {"symbol": "AAPL"}),
                ("get_weather", weather["arguments"]),
            ),
            result("txt", "It is sunny."),
        ],
    )
    b = write(
        tmp_path / "b.jsonl",
        [
            tool_result("one", ("get_weather", {"city": "Paris", "unit": "fahrenheit"})),
            tool_result("two", ("get_weather", weather["arguments"])),
            tool_result("txt", ("get_weather", weather["arguments"])),
        ],
    )
    code, output = fanout("score", str(a), "--evalset", str(evalset), "--json")
    assert code == 0, output
    data = json.loads(output)
    assert (data["n"], data["correct"]) == (3, 2)
    items = {i["id"]: i for i in data["items"]}
    assert items["two"]["correct"] and items["two"]["outcome"] == "correct"
    assert items["txt"]["reason"] == "no tool call (answered in text)"
    code, output = fanout("compare", str(a), str(b), "--evalset", str(evalset), "--json")
    assert code == 0, output
    data = json.loads(output)
    assert data["a"]["accuracy"] == pytest.approx(2 / 3) and data["b"]["accuracy"] == pytest.approx(
        1 / 3
    )
    assert data["mcnemar"]["b"] == 2 and data["mcnemar"]["c"] == 1
    code, output = fanout("score", str(b), "--evalset", str(evalset), "--json")
    reasons = {i["id"]: i["reason"] for i in json.loads(output)["items"]}
    assert reasons == {
        "one": "argument unit: expected 'celsius', got 'fahrenheit'",
        "two": "missing call get_stock_price",
        "txt": "made the expected call",
    }


def test_results_of_another_eval_set_stop_score_compare_and_report(tmp_path: Path) -> None:
    evalset = write(
        tmp_path / "e.jsonl", [{"id": f"q{i}", "input": "x", "target": 1} for i in range(5)]
    )
    other = write(tmp_path / "o.jsonl", [result(f"z{i}", "Answer: 1") for i in range(5)])
    for args in (
        ("score", str(other)),
        ("compare", str(other), str(other)),
        ("report", str(other), "--out", str(tmp_path / "r.html")),
    ):
        code, output = fanout(*args, "--evalset", str(evalset))
        assert code == 2, (args, output)
        assert "no result line matches an item of the eval set" in output
        assert "'q0', 'q1', 'q2'" in output
    assert not (tmp_path / "r.html").exists()


def test_missing_items_are_named_apart_from_wrong_ones(tmp_path: Path) -> None:
    evalset = write(
        tmp_path / "e.jsonl", [{"id": f"q{i}", "input": "x", "target": 1} for i in range(4)]
    )
    partial = write(tmp_path / "p.jsonl", [result("q0", "Answer: 1"), result("q1", "Answer: 2")])
    runner = CliRunner()
    res = runner.invoke(main, ["score", str(partial), "--evalset", str(evalset), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert (data["correct"], data["wrong"], data["missing"]) == (1, 1, 2)
    assert "p.jsonl: 2 of 4 items have a result line; the other 2 count as missing" in res.stderr


def test_a_report_rebuilt_from_simulated_runs_keeps_the_warning(tmp_path: Path) -> None:
    evalset = small_set(tmp_path, per_task=2)
    out = tmp_path / "out"
    code, output = fanout(
        "eval",
        str(evalset),
        "--sim",
        "--model",
        LLAMA,
        "--db",
        str(tmp_path / "s.db"),
        "--out-dir",
        str(out),
        "--no-progress",
    )
    assert code == 0, output
    results = out / f"{LLAMA.replace('/', '_')}.results.jsonl"
    for spec in (str(results), "1"):  # a result file, and the run in the state file
        html = tmp_path / f"r{spec[-1]}.html"
        code, output = fanout(
            "report",
            spec,
            "--evalset",
            str(evalset),
            "--db",
            str(tmp_path / "s.db"),
            "--out",
            str(html),
        )
        assert code == 0, output
        assert "not measurements of real models" in html.read_text()
    plain = write(
        tmp_path / "real.jsonl",
        [result(json.loads(x)["id"], "Answer: 1") for x in evalset.read_text().splitlines()],
    )
    code, _ = fanout(
        "report", str(plain), "--evalset", str(evalset), "--out", str(tmp_path / "p.html")
    )
    assert code == 0
    assert "not measurements of real models" not in (tmp_path / "p.html").read_text()


def test_score_reads_answers_in_the_models_reasoning_style(tmp_path: Path) -> None:
    """Qwen3-Thinking-2507 opens no <think> tag: a reply cut off inside its thinking has no
    "</think>" at all. Read in the model's own style it is truncated, never right; read as
    a plain reply ("auto" saw no tags) its thinking was taken for the answer."""
    qwen = "Qwen/Qwen3-235B-A22B-Thinking-2507"
    evalset = write(tmp_path / "e.jsonl", [{"id": "a", "input": "6*7?", "target": 42}])
    cut = result("a", "Let me compute 6*7. That is 42, so the answer is 42", finish="length")
    cut["response"]["body"]["model"] = qwen
    results = write(tmp_path / "r.jsonl", [cut])
    runner = CliRunner()

    def score(*extra: str) -> dict[str, Any]:
        res = runner.invoke(
            main, ["score", str(results), "--evalset", str(evalset), "--json", *extra]
        )
        assert res.exit_code == 0, res.output
        return json.loads(res.stdout)["items"][0]  # type: ignore[no-any-return]

    own = score()
    assert own["outcome"] == "truncated" and not own["correct"]
    assert score("--reasoning-style", "none")["correct"]  # read as if it had no thinking
    res = runner.invoke(
        main, ["score", str(results), "--evalset", str(evalset), "--reasoning-style", "x"]
    )
    assert res.exit_code == 2 and "'x' is not one of" in res.output


def test_an_invalid_json_schema_stops_eval_before_anything_is_sent(tmp_path: Path) -> None:
    bad = {"type": "object", "properties": {"age": {"type": "integr"}}}
    items = [
        {
            "id": "ok",
            "input": "x",
            "target": {"a": 1},
            "scorer": "json_schema",
            "params": {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "t", "schema": {"type": "object"}},
                }
            },
        },
        {
            "id": "bad",
            "input": "y",
            "target": {"age": 3},
            "scorer": "json_schema",
            "params": {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "t", "schema": bad},
                }
            },
        },
    ]
    evalset = write(tmp_path / "e.jsonl", items)
    code, output = fanout(
        "eval", str(evalset), "--sim", "--model", LLAMA, "--db", str(tmp_path / "s.db")
    )
    assert code == 2, output
    assert f"{evalset}: item 'bad': " in output and "invalid JSON Schema" in output
    assert "nothing was sent" in output
    assert not (tmp_path / "s.db").exists()
