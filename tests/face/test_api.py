"""The Python API (``import fanout``) against the real simulator over loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import fanout
from togethersim import SimConfig

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
R1 = "deepseek-ai/DeepSeek-R1"


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.delenv("TOGETHER_BASE_URL", raising=False)


def write_jobs(path: Path, n: int) -> Path:
    """``n`` jobs, both line formats and both endpoints."""
    lines = []
    for i in range(n):
        if i % 2:
            line = {"custom_id": f"job-{i}", "messages": [{"role": "user", "content": f"Hi {i}"}]}
        else:
            line = {"custom_id": f"job-{i}", "prompt": f"Tell me about item {i}."}
        lines.append(json.dumps(line) + "\n")
    path.write_text("".join(lines))
    return path


def _quiet_sim() -> SimConfig:
    from fanout._target import batch_sim_config

    return batch_sim_config(latency="0", fail_rate="")


def test_run_batch_from_a_file_then_resume_sends_nothing(tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 30)
    db = tmp_path / "state.db"
    run = fanout.run_batch(jobs, model=MODEL, sim=True, db=db, progress=False)
    assert (run.counts.total, run.counts.succeeded, run.exit_code) == (30, 30, 0)
    assert run.ok and not run.resumed and not run.interrupted
    assert run.out_path == tmp_path / "jobs.results.jsonl"
    assert run.exported == 30
    lines = list(run.results())
    assert [x["custom_id"] for x in lines] == [f"job-{i}" for i in range(30)]
    assert lines == [json.loads(x) for x in run.out_path.read_text().splitlines()]
    assert run.cost is not None and run.cost > 0  # the model is priced in config/models.toml

    again = fanout.run_batch(jobs, model=MODEL, sim=True, db=db, progress=False)
    assert again.id == run.id and again.resumed
    assert again.stats.requests == 0  # nothing paid twice
    assert again.cost == run.cost


def test_run_batch_takes_dicts_and_the_same_dicts_resume_the_same_run(tmp_path: Path) -> None:
    rows = [{"custom_id": f"d{i}", "prompt": f"Say {i}"} for i in range(12)]
    db = tmp_path / "state.db"
    first = fanout.run_batch(iter(rows), model=MODEL, sim=_quiet_sim(), db=db, progress=False)
    assert first.counts.succeeded == 12
    assert first.jobs_path.parent == tmp_path / "state.inputs"
    second = fanout.run_batch(rows, model=MODEL, sim=_quiet_sim(), db=db, progress=False)
    assert (second.id, second.resumed, second.stats.requests) == (first.id, True, 0)
    other = fanout.run_batch(rows[:5], model=MODEL, sim=_quiet_sim(), db=db, progress=False)
    assert other.id != first.id and other.counts.total == 5


def test_bad_lines_are_named_and_nothing_is_sent(tmp_path: Path) -> None:
    rows = [{"custom_id": "a", "prompt": "x"}, {"custom_id": "b"}, "not an object"]
    with pytest.raises(fanout.JobFileInvalid) as info:
        fanout.run_batch(rows, model=MODEL, sim=True, db=tmp_path / "s.db", progress=False)
    text = str(info.value)
    assert ":2:" in text and ":3:" in text
    assert info.value.exit_code == 2


def test_no_target_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(fanout.UsageError, match="TOGETHER_API_KEY"):
        fanout.run_batch([{"prompt": "x"}], model=MODEL, db=tmp_path / "s.db")


def test_sync_forms_refuse_a_running_loop_and_say_what_to_await(tmp_path: Path) -> None:
    async def inside() -> None:
        with pytest.raises(fanout.UsageError, match=r"await fanout\.arun_batch"):
            fanout.run_batch([{"prompt": "x"}], model=MODEL, sim=True, db=tmp_path / "s.db")
        with pytest.raises(fanout.UsageError, match=r"await fanout\.aevaluate"):
            fanout.evaluate("arithmetic", [MODEL], sim=True, db=tmp_path / "s.db")

    asyncio.run(inside())


@pytest.mark.asyncio
async def test_async_forms_run_inside_a_running_loop(tmp_path: Path) -> None:
    rows = [{"custom_id": f"d{i}", "prompt": f"Say {i}"} for i in range(20)]
    run = await fanout.arun_batch(
        rows, model=MODEL, sim=_quiet_sim(), db=tmp_path / "s.db", progress=False
    )
    assert run.counts.succeeded == 20
    ev = await fanout.aevaluate(
        "arithmetic",
        [MODEL, R1],
        sim=True,
        db=tmp_path / "s.db",
        out_dir=tmp_path / "ev",
        progress=False,
    )
    assert [s.model for s in ev.scores] == [MODEL, R1]
    assert all(s.n == 60 for s in ev.scores)
    assert ev.report_path == tmp_path / "ev" / "report.html"


def test_score_compare_and_report_offline(tmp_path: Path) -> None:
    ev = fanout.evaluate(
        "arithmetic",
        [MODEL, R1],
        sim=True,
        db=tmp_path / "s.db",
        out_dir=tmp_path / "ev",
        progress=False,
    )
    a = fanout.score(tmp_path / "ev" / f"{MODEL.replace('/', '_')}.results.jsonl", "arithmetic")
    b = fanout.score(ev.run_ids[R1], "arithmetic", db=tmp_path / "s.db")
    assert (a.correct, a.n) == (ev.scores[0].correct, ev.scores[0].n)
    assert (b.correct, b.n) == (ev.scores[1].correct, ev.scores[1].n)
    cmp = fanout.compare(a, b).to_json()
    assert cmp["n"] == 60
    assert cmp["diff"] == pytest.approx(b.accuracy().mean - a.accuracy().mean, abs=1e-6)
    path = fanout.report([a, b], tmp_path / "r.html", title="t")
    assert path.is_file() and path.with_suffix(".md").is_file()


def test_an_unknown_evalset_name_lists_the_bundled_ones(tmp_path: Path) -> None:
    with pytest.raises(fanout.UsageError, match="bundled: arithmetic, dates"):
        fanout.score(tmp_path / "x.results.jsonl", "arithmetics")


def test_estimate_validates_and_prices_without_sending(tmp_path: Path) -> None:
    rows = [{"custom_id": f"e{i}", "prompt": "x " * 50, "max_tokens": 100} for i in range(30)]
    rows += [{"custom_id": "u", "prompt": "y", "model": "nobody/unknown", "max_tokens": 10}]
    est = fanout.estimate(rows, model=MODEL, tier=2)
    assert est.jobs == 31 and est.tier == "2" and not est.tier_assumed
    by_model = {r.model: r for r in est.rows}
    llama = by_model[MODEL]
    assert (llama.jobs, llama.output_tokens, llama.known) == (30, 3000, True)
    assert llama.cost is not None and llama.cost > 0
    assert by_model["nobody/unknown"].cost is None and est.cost is None  # a price unknown
    (time,) = [m for m in est.models if m.model == MODEL]
    assert (time.jobs, time.rpm, time.rpm_source) == (30, 1800, "tier 2")
    assert time.seconds == pytest.approx(max(30 / 1800, time.tokens / 250_000) * 60)
    assert est.seconds == max(m.seconds for m in est.models)


def test_estimate_times_a_model_across_both_endpoints(tmp_path: Path) -> None:
    """300 jobs of one model, 194 chat and 106 text, at 60 rpm: 300 s, not 194 + 106."""
    rows = [
        {"custom_id": f"c{i}", "messages": [{"role": "user", "content": "x"}]} for i in range(194)
    ]
    rows += [{"custom_id": f"t{i}", "prompt": "x"} for i in range(106)]
    est = fanout.estimate(rows, model=MODEL, rpm=60)
    assert len(est.rows) == 2 and len(est.models) == 1
    assert est.models[0].seconds == pytest.approx(300.0)
    assert est.models[0].rpm_source == "--rpm cap"
    with pytest.raises(fanout.JobFileInvalid, match=":2:"):
        fanout.estimate([{"prompt": "x"}, {"custom_id": "b"}], model=MODEL)


def test_open_run_reads_a_finished_run_and_exports_it(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with pytest.raises(fanout.UsageError, match="no state file"):
        fanout.open_run(db)
    done = fanout.run_batch(
        write_jobs(tmp_path / "j.jsonl", 8), model=MODEL, sim=_quiet_sim(), db=db, progress=False
    )
    run = fanout.open_run(db)
    assert (run.id, run.counts, run.cost, run.stats.requests) == (
        done.id,
        done.counts,
        done.cost,
        0,
    )
    assert run.options["model"] == MODEL and run.options["target"] == "sim"
    assert run.export(tmp_path / "again.jsonl") == 8
    assert (tmp_path / "again.jsonl").read_text() == done.out_path.read_text()
    with pytest.raises(fanout.UsageError, match=r"no run 9 .*\(runs: 1\)"):
        fanout.open_run(db, 9)


def test_eval_refuses_a_dedicated_only_model_against_together_before_sending(
    tmp_path: Path,
) -> None:
    with pytest.raises(fanout.UsageError) as info:
        fanout.evaluate(
            "arithmetic",
            [MODEL, R1],
            api_key="not-a-real-key",
            db=tmp_path / "s.db",
            out_dir=tmp_path / "ev",
        )
    text = str(info.value)
    assert text.startswith(f"{R1} is served by Together only on a dedicated endpoint")
    assert "Qwen/Qwen3-235B-A22B-Thinking-2507" in text  # a serverless reasoning model
    offered = text.split("Serverless reasoning models: ")[1].split(". Nothing")[0].split(", ")
    assert R1 not in offered and "Qwen/QwQ-32B" not in offered  # dedicated ones are not
    assert "not-a-real-key" not in text
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "ev").exists()


def test_blocking_forms_have_the_async_forms_signatures() -> None:
    import inspect

    for sync, async_ in (
        (fanout.run_batch, fanout.arun_batch),
        (fanout.evaluate, fanout.aevaluate),
    ):
        assert inspect.signature(sync) == inspect.signature(async_)
        assert sync.__doc__ and "blocks" in sync.__doc__
    assert fanout.run_batch.__name__ == "run_batch"
