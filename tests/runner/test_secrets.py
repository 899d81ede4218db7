"""The API key lives in the environment only: not in the state file, the output, the logs or
any error message, whatever happens during the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from togethersim import SimConfig, SimServer, parse_faults

from .conftest import write_jobs

KEY = "sk-fanout-test-SECRET-7f3a9c21d4e8b605"


def fanout(tmp_path: Path, *args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOGETHER_API_KEY": key, "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "fanout", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def leaks(tmp_path: Path, *texts: str) -> list[str]:
    found = [f"output text {i}" for i, t in enumerate(texts) if KEY in t or KEY[-12:] in t]
    for path in tmp_path.rglob("*"):
        if path.is_file() and KEY[-12:].encode() in path.read_bytes():
            found.append(str(path))
    return found


def test_key_never_written_or_printed_under_faults_and_errors(tmp_path: Path) -> None:
    faults = parse_faults("500=0.05,503=0.05,520=0.03,reset=0.03,truncate=0.03")
    server = SimServer(SimConfig(api_key=KEY, faults=faults, seed=4, latency=(0.0, 0.01)))
    jobs = write_jobs(tmp_path / "j.jsonl", 300)
    outputs: list[str] = []
    with server.run_in_thread() as url:
        common = ("--base-url", url, "--model", "m", "--db", "s.db", "--no-progress")
        done = fanout(tmp_path, "run", str(jobs), *common, "--max-attempts", "2")
        assert done.returncode in (0, 1), done.stderr  # some jobs may fail for good: fine
        assert server.stats()["by_status"].get("200", 0) > 200  # the key was sent and used
        outputs += [done.stdout, done.stderr]
        # A wrong key: the server refuses the run; the message must not echo either key.
        wrong = fanout(
            tmp_path,
            "run",
            str(write_jobs(tmp_path / "k.jsonl", 5)),
            *common,
            key=KEY[:-4] + "XXXX",
        )
        assert wrong.returncode == 1 and "refused the run" in wrong.stderr
        outputs += [wrong.stdout, wrong.stderr]
        for extra in (("status", "--db", "s.db", "--json"), ("export", "1", "--db", "s.db")):
            shown = fanout(tmp_path, *extra)
            outputs += [shown.stdout, shown.stderr]
    # Nothing listening: connection errors end up in messages too.
    gone = fanout(
        tmp_path,
        "run",
        str(write_jobs(tmp_path / "g.jsonl", 3)),
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--db",
        "g.db",
        "--no-progress",
        "--max-attempts",
        "1",
    )
    assert gone.returncode == 1
    outputs += [gone.stdout, gone.stderr]
    assert leaks(tmp_path, *outputs) == []
    assert "XXXX" not in "".join(outputs)
