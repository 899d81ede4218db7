"""Shared pieces of the benchmarks: the machine, a simulator process, job files, child RSS.

Every benchmark talks to ``fanout sim`` in its own process over loopback, so the client
being measured and the server never share a core's event loop.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FANOUT = [sys.executable, "-m", "runner"]
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


def machine() -> str:
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024**2:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


@contextmanager
def sim_process(*args: str) -> Iterator[str]:
    """``fanout sim --port 0 ARGS`` in a child process; yields its base URL."""
    proc = subprocess.Popen(
        [*FANOUT, "sim", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def write_jobs(path: Path, n: int) -> Path:
    """``n`` short chat jobs, each unique, short replies (max_tokens 16)."""
    with path.open("w") as f:
        for i in range(n):
            line = {
                "custom_id": f"b-{i}",
                "messages": [{"role": "user", "content": f"Benchmark question {i}?"}],
                "max_tokens": 16,
            }
            f.write(json.dumps(line) + "\n")
    return path


@dataclass
class ChildResult:
    seconds: float
    max_rss_mb: float
    returncode: int
    stderr: str


def run_child(argv: list[str], timeout: float = 3600) -> ChildResult:
    """Run a command, return wall time and that child's own peak RSS (``wait4``)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = start + timeout
    # Read stderr first (it may be large), then reap with wait4 for this child's rusage.
    stderr = proc.stderr.read()
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if time.perf_counter() > deadline:
        raise TimeoutError(f"{argv} took {seconds:.0f} s")
    return ChildResult(seconds, usage.ru_maxrss / 1024, proc.returncode, stderr)


def send_window(db: Path) -> tuple[int, float]:
    """(jobs succeeded, seconds from the first request sent to the last result) from state."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*), min(started_at), max(finished_at) FROM jobs WHERE status='succeeded'"
        ).fetchone()
    return int(row[0]), float(row[2] - row[1])
