"""A state file that cannot be written: a clear error, and nothing already committed lost.

"Disk full" is made real with RLIMIT_FSIZE on the ``fanout run`` process (SIGXFSZ ignored,
so a write past the limit fails with EFBIG, as on a full disk; this works as root too).
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from togethersim import SimConfig, SimServer

from .conftest import check_results, write_jobs

ROOT = Path(__file__).resolve().parents[2]


def run(jobs: Path, url: str, db: Path, out: Path, fsize: int | None = None) -> tuple[int, str]:
    def limit() -> None:
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    env = {k: v for k, v in os.environ.items() if k != "TOGETHER_API_KEY"}
    proc = subprocess.run(
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
            "--no-progress",
            "--concurrency",
            "16",
        ],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=limit,
        timeout=120,
        cwd=ROOT,
    )
    return proc.returncode, proc.stderr


def done(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return int(conn.execute("SELECT count(*) FROM jobs WHERE status='succeeded'").fetchone()[0])


def test_full_disk_stops_with_a_clear_error_and_the_rerun_finishes(tmp_path: Path) -> None:
    server = SimServer(SimConfig(latency=(0.0, 0.01), seed=3))
    jobs = write_jobs(tmp_path / "j.jsonl", 3000)
    db, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        code, stderr = run(jobs, url, db, out, fsize=1_500_000)
        assert code == 1, stderr
        assert "Traceback" not in stderr
        assert f"cannot write results to state file {db}" in stderr
        assert "rerun the same command to resume" in stderr
        kept = done(db)
        assert 0 < kept < 3000
        assert not out.exists()
        answered = len(server.stats()["answered"])
        code, stderr = run(jobs, url, db, out)
        assert code == 0, stderr
        assert f"Resuming run 1: {kept} of 3000" in stderr
        stats = server.stats()
    check_results(jobs, out)
    # Only what was answered after the last commit that made it is paid twice.
    assert stats["extra_answers"] <= answered - kept
    assert stats["extra_answers"] <= 2 * 16 + 100


def test_full_disk_during_import_sends_nothing(tmp_path: Path) -> None:
    server = SimServer(SimConfig(seed=3))
    jobs = write_jobs(tmp_path / "j.jsonl", 3000)
    with server.run_in_thread() as url:
        code, stderr = run(jobs, url, tmp_path / "s.db", tmp_path / "o.jsonl", fsize=200_000)
        assert code == 1, stderr
        assert "Traceback" not in stderr and "state file" in stderr
        assert server.stats()["requests"] == 0


def make_read_only(path: Path) -> None:
    """chmod 444; as root (which writes through permissions) the immutable attribute."""
    path.chmod(0o444)
    if os.geteuid() != 0:
        return
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"running as root and chattr +i failed ({done.stderr.strip()})")


def test_read_only_state_file_is_a_clear_error(tmp_path: Path) -> None:
    server = SimServer(SimConfig(seed=3))
    jobs = write_jobs(tmp_path / "j.jsonl", 20)
    db, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        assert run(jobs, url, db, out)[0] == 0
        before = db.read_bytes()
        make_read_only(db)
        try:
            other = write_jobs(tmp_path / "k.jsonl", 30)  # a new run: must be written
            code, stderr = run(other, url, db, tmp_path / "k.out.jsonl")
        finally:
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", str(db)], check=False)
        assert code == 1, stderr
        assert "Traceback" not in stderr
        assert f"state file {db}" in stderr and "readonly" in stderr.replace("-", "")
        assert db.read_bytes() == before
        assert server.stats()["requests"] == 20  # nothing sent for the new file
