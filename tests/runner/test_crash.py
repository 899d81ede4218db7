"""Real processes, really killed: SIGKILL mid-run loses no committed result and at most the
answers its workers held, and Ctrl-C stops cleanly (exit 130) with a state file that resumes.

``fanout run`` runs as a subprocess against the simulator served from this test process, so
the simulator's counters see both the killed run and its resumption: a request answered
twice is work paid for twice.

What a kill throws away is counted exactly, without timing: (200 answers the simulator has
sent) - (jobs succeeded in the state file) grows only by answers a process received and did
not commit, and each of those is answered again later; so its growth over a killed process
is that kill's cost, and the costs add up to the simulator's ``extra_answers``.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from togethersim import SimConfig, SimServer, parse_faults

from .conftest import check_results, write_jobs

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 16


def start(jobs: Path, url: str, db: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TOGETHER_API_KEY", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fanout",
            "run",
            str(jobs),
            "--base-url",
            url,
            "--model",
            "m",
            "--db",
            str(db),
            "--out",
            str(out),
            "--concurrency",
            str(CONCURRENCY),
            "--max-attempts",
            "10",
            "--no-progress",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def committed(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=5)
    try:
        row = conn.execute("SELECT COUNT(*) FROM jobs WHERE status != 'pending'").fetchone()
    except sqlite3.OperationalError:
        return 0  # the run is still importing
    finally:
        conn.close()
    return int(row[0])


def wait_for(db: Path, at_least: int, proc: subprocess.Popen[str], limit: float = 60) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        n = committed(db)
        if n >= at_least:
            return n
        if proc.poll() is not None:
            raise AssertionError(f"fanout exited early: {proc.communicate()}")
        time.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} results after {limit}s")


def succeeded(db: Path) -> int:
    conn = sqlite3.connect(db, timeout=5)
    try:
        row = conn.execute("SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'").fetchone()
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()
    return int(row[0])


def uncommitted_answers(server: SimServer, db: Path) -> int:
    """200 answers sent and not (yet) committed: what every kill so far has thrown away."""
    return int(server.stats()["by_status"].get("200", 0)) - succeeded(db)


def integrity(db: Path) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_sigkill_mid_run_loses_nothing_and_resends_at_most_the_window(tmp_path: Path) -> None:
    server = SimServer(
        SimConfig(latency=(0.01, 0.04), faults=parse_faults("500=0.02,reset=0.01"), seed=5)
    )
    jobs = write_jobs(tmp_path / "j.jsonl", 2000)
    db, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    resent_per_kill = []
    with server.run_in_thread() as url:
        for target in (300, 900, 1500):
            before = uncommitted_answers(server, db)
            proc = start(jobs, url, db, out)
            wait_for(db, target, proc)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=10)
            assert proc.returncode == -signal.SIGKILL
            integrity(db)
            assert not out.exists()  # no partial result file
            time.sleep(0.2)  # the simulator settles the dead connections (abandoned, not 200)
            resent_per_kill.append(uncommitted_answers(server, db) - before)
        final = start(jobs, url, db, out)
        stdout, stderr = final.communicate(timeout=120)
        assert final.returncode == 0, stderr
        assert "Resuming run 1" in stderr
        stats = server.stats()
    lines = check_results(jobs, out)
    assert len(lines) == 2000 and all(ln["error"] is None for ln in lines)
    assert len(stats["answered"]) == 2000  # every job answered at least once
    assert stats["extra_answers"] == sum(resent_per_kill)  # each loss answered once more
    # A kill loses only answers its workers held or the commit in progress had: at most
    # one job per worker (runner/_engine.py, "What a SIGKILL loses").
    assert all(n <= CONCURRENCY for n in resent_per_kill), resent_per_kill
    print(f"\nrequests answered twice per kill: {resent_per_kill} (at most {CONCURRENCY})")


def test_random_kills_at_full_speed_lose_at_most_one_answer_per_worker(tmp_path: Path) -> None:
    """Zero latency, where results come fastest: the old writer, holding a batch of up to 100
    results or 0.2 s, lost 100-230 answers a kill at concurrency 64 (bench/RESULTS.md)."""
    server = SimServer(SimConfig(seed=3))
    jobs = write_jobs(tmp_path / "j.jsonl", 12000)
    db, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    rng = random.Random(12)
    lost = []
    with server.run_in_thread() as url:
        for _ in range(4):
            before = uncommitted_answers(server, db)
            proc = start(jobs, url, db, out)
            wait_for(db, committed(db) + 1, proc)
            time.sleep(rng.uniform(0.05, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=10)
            time.sleep(0.2)
            lost.append(uncommitted_answers(server, db) - before)
        final = start(jobs, url, db, out)
        _, stderr = final.communicate(timeout=300)
        assert final.returncode == 0, stderr
        assert server.stats()["extra_answers"] == sum(lost)
    assert all(n <= CONCURRENCY for n in lost), lost
    print(f"\nanswers thrown away per kill: {lost} (at most {CONCURRENCY})")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_gracefully_and_resumes_without_paying_twice(
    tmp_path: Path, signum: signal.Signals
) -> None:
    server = SimServer(SimConfig(latency=(0.05, 0.2), seed=9))
    jobs = write_jobs(tmp_path / "j.jsonl", 1000)
    db, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        proc = start(jobs, url, db, out)
        wait_for(db, 150, proc)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130, stderr
        assert "Stopping: no new requests" in stderr
        assert "Resume with the same command" in stderr and "fanout run" in stderr
        integrity(db)
        done = committed(db)
        assert 150 <= done < 1000
        # every request that was answered is committed: the graceful stop waited for them
        assert len(server.stats()["answered"]) == done
        again = start(jobs, url, db, out)
        _, stderr = again.communicate(timeout=60)
        assert again.returncode == 0, stderr
        assert server.stats()["extra_answers"] == 0
    check_results(jobs, out)


def test_second_ctrl_c_stops_at_once_and_state_stays_consistent(tmp_path: Path) -> None:
    server = SimServer(SimConfig(latency=(1.0, 2.0), seed=11))
    jobs = write_jobs(tmp_path / "j.jsonl", 400)
    db, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        proc = start(jobs, url, db, out, "--grace", "60")
        wait_for(db, CONCURRENCY, proc)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert time.monotonic() - t0 < 10  # did not wait out the 60 s grace
        assert proc.returncode == 130, stderr
        assert "Stopping now" in stderr
        integrity(db)
        assert committed(db) < 400


def test_a_second_run_on_the_same_state_file_is_refused(tmp_path: Path) -> None:
    server = SimServer(SimConfig(latency=(0.05, 0.1), seed=13))
    jobs = write_jobs(tmp_path / "j.jsonl", 600)
    db, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        first = start(jobs, url, db, out)
        wait_for(db, 20, first)
        second = start(jobs, url, db, tmp_path / "other.jsonl")
        _, stderr = second.communicate(timeout=30)
        assert second.returncode == 2, stderr
        assert f"another fanout run (pid {first.pid}) is using {db}" in stderr
        _, stderr = first.communicate(timeout=60)
        assert first.returncode == 0, stderr
        assert server.stats()["extra_answers"] == 0
    check_results(jobs, out)
