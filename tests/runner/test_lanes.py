"""A lane per model (runner/_engine.py): a model waiting on its own limit holds up no other.

Against the real simulator, which limits one model and not the other: the unlimited
model's jobs, interleaved line by line with the limited one's, all finish while the
limited model has sent only its first few; the output keeps the input order. The store's
side: the lanes' queries read the partial index of migration 0005, never the table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner

from fanout.cli import main
from runner import Store
from runner._store import JobOutcome
from togethersim import SimConfig, SimServer

from .conftest import check_results, mixed_jobs

SLOW = "Qwen/Qwen3-235B-A22B-Instruct-2507-tput"
FAST = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def test_a_model_waiting_on_its_limit_holds_up_no_other(tmp_path: Path) -> None:
    # SLOW may send 2 requests a second with a bucket of one; FAST has no limit. With one
    # queue in line order, 4 workers soon all held SLOW jobs waiting on its bucket and each
    # FAST job waited for the SLOW line before it: the last FAST job finished after 6-7
    # SLOW ones (checked against the engine before lanes). With lanes, FAST is done before
    # SLOW's bucket has let more than its first one or two go.
    n = 10
    config = SimConfig(seed=1, burst=0.5, model_limits={SLOW: (120.0, None)})
    server = SimServer(config)
    jobs = mixed_jobs(tmp_path / "jobs.jsonl", [SLOW, FAST], n)  # SLOW and FAST in turn
    db, out = tmp_path / "state.db", tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        result = CliRunner().invoke(
            main,
            [
                "run",
                str(jobs),
                "--base-url",
                url,
                "--db",
                str(db),
                "--out",
                str(out),
                "--concurrency",
                "4",
                "--no-progress",
            ],
        )
    assert result.exit_code == 0, result.output
    check_results(jobs, out)  # one line per job, in input order, each its own reply
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT model, finished_at FROM jobs WHERE status = 'succeeded'")
    finished: dict[str, list[float]] = {SLOW: [], FAST: []}
    for model, at in rows:
        finished[model].append(at)
    conn.close()
    assert len(finished[SLOW]) == len(finished[FAST]) == n
    last_fast = max(finished[FAST])
    slow_before = sum(1 for at in finished[SLOW] if at <= last_fast)
    # 2 a second: a third SLOW answer before the last FAST one means FAST waited >= 1 s
    assert slow_before <= 3, (slow_before, sorted(finished[SLOW]), last_fast)
    # and SLOW was held to its own limit meanwhile: its answers spread over >= (n - 2) / 2 s
    slow = sorted(finished[SLOW])
    assert slow[-1] - slow[0] >= (n - 2) / 2.0 * 0.9


def test_unfinished_models_and_lane_pages_read_the_partial_index(tmp_path: Path) -> None:
    from jobs import Defaults, JobFile

    models = ["b/model", "a/model", "c/model"]
    jobs = mixed_jobs(tmp_path / "jobs.jsonl", models, 5)
    store = Store.open(tmp_path / "state.db")
    run = store.create_run(
        jobs=JobFile(jobs, Defaults()),
        jobs_path=str(jobs),
        jobs_sha256="x",
        options_json="{}",
        identity="i",
        out_path=str(tmp_path / "out.jsonl"),
    )
    assert run.id is not None
    assert store.unfinished_models(run.id) == sorted(models)
    page = store.unfinished_page(run.id, 0, 100, "c/model")
    assert [p.custom_id for p in page] == [f"2-{i}" for i in range(5)]
    assert [p.custom_id for p in store.unfinished_page(run.id, page[1].id, 2, "c/model")] == [
        "2-2",
        "2-3",
    ]
    # every job of a/model succeeded: it has no lane any more
    done = [p.id for p in store.unfinished_page(run.id, 0, 100, "a/model")]
    store.record(
        [
            JobOutcome(i, "succeeded", 1, 200, "{}", None, None, None, 1, 1, 2, None, 1.0, 0.0, 0.0)
            for i in done
        ]
    )
    assert store.unfinished_models(run.id) == ["b/model", "c/model"]
    store.close()

    # The plans: an index seek, never a scan of the table (a resume of a 1M-line run
    # would read every row, response bodies included, before its first request).
    conn = sqlite3.connect(tmp_path / "state.db")
    for sql in (
        "SELECT model FROM jobs WHERE run_id = 1 AND status != 'succeeded' AND model > 'a' "
        "ORDER BY model LIMIT 1",
        "SELECT id FROM jobs WHERE run_id = 1 AND model = 'c/model' AND id > 3 "
        "AND status != 'succeeded' ORDER BY id LIMIT 16",
    ):
        plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "ix_jobs_unfinished_model" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    conn.close()


def test_many_models_each_get_a_lane_and_every_job_is_sent(tmp_path: Path) -> None:
    # 40 models of 3 jobs each: 40 lanes with pages of the smallest size; all settle once
    models = [f"org/model-{k:02d}" for k in range(40)]
    jobs = mixed_jobs(tmp_path / "jobs.jsonl", models, 3)
    db, out = tmp_path / "state.db", tmp_path / "out.jsonl"
    server = SimServer(SimConfig(seed=1))
    with server.run_in_thread() as url:
        result = CliRunner().invoke(
            main,
            ["run", str(jobs), "--base-url", url, "--db", str(db), "--out", str(out)]
            + ["--concurrency", "8", "--no-progress"],
        )
        answered = server.stats()
    assert result.exit_code == 0, result.output
    check_results(jobs, out)
    assert answered["by_status"] == {"200": 120}
    assert answered["extra_answers"] == 0
