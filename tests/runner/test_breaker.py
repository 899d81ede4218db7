"""The circuit breakers (runner/_breaker.py) against the real simulator: a model refused the
same way by its first answers stops being sent (other models go on), a server that does not
answer stops the run, and both leave their jobs pending for a rerun that resumes them.

The command-line tests run ``fanout run`` in this process; those that need a shorter
unreachable window than the default 30 s run the engine itself with ``EngineSettings``,
over the same real client and state file.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from click.testing import CliRunner

from fanout.cli import main
from jobs import Defaults, JobFile
from runner import Store
from runner._breaker import PROBES, Admission, GateState, ModelGate
from runner._client import ApiClient
from runner._engine import Engine, EngineSettings
from runner._limiter import NoLimit
from runner._retry import classify_response
from runner._store import JobOutcome
from togethersim import SimConfig, SimServer

from .conftest import mixed_jobs, write_jobs

GOOD = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
TYPO = "meta-llama/Llama-3.3-70B-Instruct-Turbx"
DEDICATED = "Qwen/Qwen3-VL-8B-Instruct"


def run_cli(jobs: Path, url: str, db: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        ["run", str(jobs), "--base-url", url, "--db", str(db), "--no-progress", *extra],
    )
    return result.exit_code, result.output


def statuses(db: Path) -> dict[tuple[str, str], int]:
    """(model, status) -> jobs, from the state file."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT model, status, COUNT(*) FROM jobs GROUP BY model, status")
    out = {(m, s): int(n) for m, s, n in rows}
    conn.close()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_mistyped_model_costs_a_handful_of_requests_and_leaves_every_job_pending(
    tmp_path: Path,
) -> None:
    server = SimServer(SimConfig(seed=1, unknown_models={TYPO}))
    jobs = write_jobs(tmp_path / "j.jsonl", 3000)
    db = tmp_path / "s.db"
    with server.run_in_thread() as url:
        code, output = run_cli(jobs, url, db, "--model", TYPO, "--concurrency", "64")
        stats = server.stats()
    assert code == 1, output
    assert stats["requests"] == PROBES and stats["by_status"] == {"404": PROBES}  # not 3,000
    assert statuses(db) == {(TYPO, "pending"): 3000}  # refused, not failed
    assert output.count(f"model {TYPO!r}: HTTP 404: Unable to access model {TYPO}.") == 1
    assert "check the model name: `fanout run --dry-run`" in output
    assert f"({PROBES} requests, each refused the same way)" in output
    assert "The server refused some of the run's models" in output
    assert "Their jobs were not marked failed" in output and "0 failed, 3000 pending" in output


def test_a_file_mixing_a_refused_model_and_a_good_one_finishes_the_good_one(
    tmp_path: Path,
) -> None:
    server = SimServer(SimConfig(seed=2, unknown_models={TYPO}, dedicated_models={DEDICATED}))
    jobs = mixed_jobs(tmp_path / "j.jsonl", [TYPO, GOOD, DEDICATED], 300)
    db = tmp_path / "s.db"
    with server.run_in_thread() as url:
        code, output = run_cli(jobs, url, db, "--concurrency", "32")
        stats = server.stats()
    assert code == 1, output
    assert statuses(db) == {
        (TYPO, "pending"): 300,
        (GOOD, "succeeded"): 300,
        (DEDICATED, "pending"): 300,
    }
    assert stats["by_status"] == {"200": 300, "404": PROBES, "400": PROBES}
    assert f"model {TYPO!r}: HTTP 404" in output
    assert f"model {DEDICATED!r}: HTTP 400: Unable to access non-serverless model" in output
    assert "it runs only on a dedicated endpoint" in output
    assert "The server refused some of the run's models" in output


def test_a_rerun_once_the_endpoint_exists_resumes_the_refused_jobs(tmp_path: Path) -> None:
    port = free_port()
    jobs = write_jobs(tmp_path / "j.jsonl", 200)
    db = tmp_path / "s.db"
    refusing = SimServer(SimConfig(seed=3, dedicated_models={DEDICATED}), port=port)
    with refusing.run_in_thread() as url:
        code, output = run_cli(jobs, url, db, "--model", DEDICATED)
    assert code == 1, output
    assert statuses(db) == {(DEDICATED, "pending"): 200}
    serving = SimServer(SimConfig(seed=3), port=port)  # the dedicated endpoint is up
    with serving.run_in_thread() as again:
        assert again == url
        code, output = run_cli(jobs, url, db, "--model", DEDICATED)
        stats = serving.stats()
    assert code == 0, output
    assert "Resuming run 1" in output
    assert statuses(db) == {(DEDICATED, "succeeded"): 200}
    assert stats["requests"] == 200 and stats["extra_answers"] == 0


def engine_for(
    tmp_path: Path, url: str, n: int, **settings: Any
) -> tuple[Engine, Store, int, ApiClient]:
    path = write_jobs(tmp_path / "j.jsonl", n)
    store = Store.open(tmp_path / "s.db")
    run = store.create_run(
        jobs_path=str(path),
        jobs_sha256="s",
        options_json="{}",
        identity="i",
        out_path="o",
        jobs=JobFile(path, Defaults(model=GOOD)),
    )
    assert run.id is not None
    client = ApiClient(url, None, concurrency=settings.get("concurrency", 16), timeout=30)
    engine = Engine(store, run.id, client, NoLimit(), EngineSettings(**settings))
    return engine, store, run.id, client


def test_a_closed_port_stops_the_run_in_seconds_and_leaves_the_jobs_pending(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    jobs = write_jobs(tmp_path / "j.jsonl", 2000)
    db = tmp_path / "s.db"
    code, output = run_cli(jobs, url, db, "--model", GOOD)  # before: 6 attempts a job, minutes
    assert code == 1, output
    assert statuses(db) == {(GOOD, "pending"): 2000}
    assert output.count(f"cannot reach {url}: ClientConnectorError") == 1
    assert "for 5 s every request failed to connect and none was answered" in output
    assert "check that the server is up and that --base-url" in output
    # While nothing answers, only the jobs already out try again (as their backoffs end);
    # the others wait in their lanes: not every job of the file tried once, or more.
    sent = re.search(r"This session: ([\d,]+) requests", output)
    assert sent is not None, output
    assert int(sent.group(1).replace(",", "")) < 200, output


@pytest.mark.asyncio
async def test_a_server_gone_and_back_within_the_window_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    # Two attempts a job: before, every job tried while the server was gone failed for good.
    # The window before any answer is 1 s: the outage (2 s) comes after answers, so the
    # 30-s window is the one that applies.
    engine, store, run_id, client = engine_for(
        tmp_path, url, 600, concurrency=16, max_attempts=2, unreachable_at_start=1.0
    )
    first = SimServer(SimConfig(latency=(0.01, 0.02), seed=4), port=port)
    second = SimServer(SimConfig(latency=(0.01, 0.02), seed=5), port=port)
    done = threading.Event()
    outage: list[int] = []

    def serve() -> None:
        with first.run_in_thread():
            while store.counts(run_id).succeeded < 100 and not done.is_set():
                time.sleep(0.01)
        outage.append(store.counts(run_id).succeeded)
        time.sleep(2.0)
        with second.run_in_thread():
            done.wait(60)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        async with client:
            with anyio.fail_after(60):
                stats = await engine.run()
    finally:
        done.set()
        thread.join()
    counts = store.counts(run_id)
    store.close()
    assert outage and outage[0] < 600  # the server went away mid-run
    assert stats.errors_by_code.get("connection_error", 0) > 0  # and was missed
    assert (counts.succeeded, counts.failed, counts.pending) == (600, 0, 0)
    assert stats.aborted is None and not engine.interrupted
    answered = set(first.stats()["answered"]) | set(second.stats()["answered"])
    assert len(answered) == 600


@pytest.mark.asyncio
async def test_probes_unanswered_for_the_patience_let_the_other_jobs_go(tmp_path: Path) -> None:
    server = SimServer(SimConfig(latency=(4.0, 4.0), seed=5))  # no answer for 4 s
    with server.run_in_thread() as url:
        engine, store, _, client = engine_for(tmp_path, url, 20, concurrency=20, patience=1.0)
        early: list[int] = []  # in flight, seen less than 0.9 s after the start
        async with client, anyio.create_task_group() as tg:
            began = time.monotonic()
            tg.start_soon(engine.run)
            with anyio.fail_after(3.5):  # all 20 out before any answer
                while (n := server.in_flight) < 20:
                    if time.monotonic() - began < 0.9:  # read before: the patience runs 1 s
                        early.append(n)
                    await anyio.sleep(0.02)
        store.close()
    assert early and max(early) <= PROBES  # the model's probes only, while it is unproven


def outcome(i: int) -> JobOutcome:
    return JobOutcome(i, "failed", 1, 404, "{}", None, "x", "m", None, None, None, None, 1.0, 0, 0)


def decision_for(status: int, message: str, code: str | None = None) -> Any:
    body = json.dumps({"error": {"message": message, "code": code}}).encode()
    return classify_response(status, httpx.Headers(), body)[0]


@pytest.mark.asyncio
async def test_the_gate_admits_probes_then_waits_for_a_verdict() -> None:
    gate = ModelGate("m", probes=3, patience=2.0)
    assert [gate.admit(0.0) for _ in range(4)] == [Admission.PROBE] * 3 + [Admission.WAIT]
    assert gate.seconds_left(0.5) == 1.5
    gate.lift()
    assert gate.admit(0.6) is Admission.SEND and gate.state is GateState.PROBING


@pytest.mark.asyncio
async def test_refusals_in_other_words_are_the_requests_own_and_open_the_gate() -> None:
    gate = ModelGate("m", probes=3)
    first = decision_for(403, "Input validation error: 9000 `inputs` tokens")
    assert gate.settle(outcome(1), 403, first) == (None, [])  # held, awaiting the verdict
    other = decision_for(403, "Input validation error: 9500 `inputs` tokens")
    assert gate.settle(outcome(2), 403, other) == (outcome(2), [outcome(1)])
    assert gate.state is GateState.OPEN and gate.reason is None


@pytest.mark.asyncio
async def test_a_success_releases_the_held_refusals_as_failures() -> None:
    gate = ModelGate("m", probes=3)
    refusal = decision_for(404, "Not found")
    assert gate.settle(outcome(1), 404, refusal) == (None, [])
    ok = decision_for(200, "")
    assert gate.settle(outcome(2), 200, ok)[1] == [outcome(1)]
    assert gate.settle(outcome(3), 404, refusal) == (outcome(3), [])  # open: recorded


@pytest.mark.asyncio
async def test_a_tripped_gate_drops_refusals_and_ends_with_none_held() -> None:
    gate = ModelGate("m", probes=2)
    refusal = decision_for(400, "Unable to access non-serverless model m.", "model_not_available")
    assert gate.settle(outcome(1), 400, refusal) == (None, [])
    assert gate.settle(outcome(2), 400, refusal) == (None, [])
    assert gate.state is GateState.TRIPPED and gate.reason is not None
    assert gate.admit(0.0) is Admission.REFUSED
    assert gate.settle(outcome(3), 400, refusal) == (None, [])  # late ones stay pending
    assert gate.unsettled() == []
    few = ModelGate("n", probes=3)
    few.settle(outcome(4), 400, refusal)
    assert few.unsettled() == [outcome(4)]  # too few to trip: recorded as failed
