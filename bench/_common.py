"""Shared pieces of the benchmarks: the machine, a simulator process, job files, child RSS.

Every benchmark talks to ``fanout sim`` in its own process over loopback, so the client
being measured and the server never share a core's event loop.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
FANOUT = [sys.executable, "-m", "fanout"]
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
# A stored chat.completion as the simulator sends it (bench/resume.py, bench/json_paths.py)
REPLY = json.dumps(
    {
        "id": "sim-248565c1-9c41",
        "object": "chat.completion",
        "created": 1_795_604_466,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "basil juniper onyx " * 6},
                "logprobs": None,
                "finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 16, "total_tokens": 25},
    },
    separators=(",", ":"),
)


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
    with server_process([*FANOUT, "sim", "--port", "0", *args], "simulator") as url:
        yield url


@contextmanager
def server_process(argv: list[str], what: str) -> Iterator[str]:
    """A server in a child process that prints ``listening on URL`` once it accepts
    connections; yields that URL, and stops the server after."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"{what} did not start: {line!r}")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def checkout_env(code: Path) -> dict[str, str]:
    """The environment to run ``python -m fanout`` from checkout ``code`` (with ``cwd=code``:
    that checkout is imported, not the installed one); no API key."""
    env = {k: v for k, v in os.environ.items() if k != "TOGETHER_API_KEY"}
    env["PYTHONPATH"] = str(code)
    return env


def add_code_option(parser: argparse.ArgumentParser) -> None:
    """``--code DIR`` (repeatable): the checkouts to run fanout from, for a before/after."""
    parser.add_argument(
        "--code",
        type=Path,
        action="append",
        help="checkout to run fanout from (repeatable; default: this one)",
    )


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
class Sample:
    """One look at a running child: wall clock (epoch s), CPU s so far, resident MB."""

    at: float
    cpu_s: float
    rss_mb: float


@dataclass
class ChildResult:
    seconds: float
    max_rss_mb: float
    returncode: int
    stderr: str
    cpu_s: float = 0.0  # user + system, the whole process
    started_at: float = 0.0  # epoch seconds, just before the process was started
    samples: list[Sample] = field(default_factory=list)
    stdout: str = ""

    def cpu_between(self, t0: float, t1: float) -> float:
        """CPU seconds spent between two epoch times, interpolated between samples."""
        return _interpolate(self.samples, t1) - _interpolate(self.samples, t0)

    def rss_at(self, t: float) -> float:
        """Resident MB at the last sample taken at or before epoch time ``t``."""
        before = [s for s in self.samples if s.at <= t]
        return (before[-1] if before else self.samples[0]).rss_mb


def _interpolate(samples: list[Sample], t: float) -> float:
    if not samples:
        return 0.0
    if t <= samples[0].at:
        return samples[0].cpu_s
    for a, b in zip(samples, samples[1:], strict=False):
        if a.at <= t <= b.at:
            span = b.at - a.at
            return a.cpu_s + (b.cpu_s - a.cpu_s) * ((t - a.at) / span if span else 0.0)
    return samples[-1].cpu_s


_TICK = os.sysconf("SC_CLK_TCK")
_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 1024**2


def _sample(pid: int) -> Sample | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/statm") as f:
            rss_pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    if fields[0] == "Z":  # exited, not yet reaped: its figures are gone
        return None
    cpu = (int(fields[11]) + int(fields[12])) / _TICK
    return Sample(time.time(), cpu, rss_pages * _PAGE_MB)


def run_child(
    argv: list[str],
    timeout: float = 3600,
    *,
    interval: float = 0.05,
    stop_after: Callable[[ChildResult], bool] | None = None,
    capture_stdout: bool = False,
) -> ChildResult:
    """Run a command; its wall time, peak RSS (``wait4``), CPU time, and samples over time.

    A thread samples the child's CPU time and resident set every ``interval`` seconds.
    ``stop_after(partial)`` is asked after each sample; when it says yes the child gets
    SIGINT (fanout's graceful stop) once.
    """
    started_at = time.time()
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    result = ChildResult(0.0, 0.0, 0, "", started_at=started_at)
    done = threading.Event()

    def sampler() -> None:
        signalled = False
        while not done.is_set():
            sample = _sample(proc.pid)
            if sample is not None:
                result.samples.append(sample)
                if not signalled and stop_after is not None and stop_after(result):
                    proc.send_signal(signal.SIGINT)
                    signalled = True
            if time.perf_counter() - start > timeout:
                proc.kill()
            done.wait(interval)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    # Read the pipes first (they may be large), then reap with wait4 for this child's rusage.
    stdout: list[str] = []
    out_reader = threading.Thread(target=_read_into, args=(proc.stdout, stdout))
    out_reader.start()
    stderr = proc.stderr.read()
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    thread.join()
    out_reader.join()
    result.stdout = "".join(stdout)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result.seconds = time.perf_counter() - start
    result.max_rss_mb = usage.ru_maxrss / 1024
    result.returncode = proc.returncode
    result.stderr = stderr
    result.cpu_s = usage.ru_utime + usage.ru_stime
    if result.seconds > timeout:
        raise TimeoutError(f"{argv} took {result.seconds:.0f} s")
    return result


def _read_into(pipe: IO[str] | None, into: list[str]) -> None:
    if pipe is not None:
        into.append(pipe.read())
        pipe.close()


class FirstRequest:
    """A ``stop_after`` for `run_child`: notes when the simulator saw its first request
    (polling its counter every ``poll`` seconds until then), and says stop ``send_seconds``
    later (never, when None)."""

    def __init__(self, url: str, send_seconds: float | None = None, poll: float = 0.25) -> None:
        self.url = url
        self.send_seconds = send_seconds
        self.poll = poll
        self.at: float | None = None  # epoch of the first request seen
        self._next_poll = 0.0
        self._http = httpx.Client()  # one connection for all the polls

    def __call__(self, _: ChildResult) -> bool:
        now = time.time()
        if self.at is None:
            if now < self._next_poll:
                return False
            self._next_poll = now + self.poll
            # Only until the first request: the simulator's stats grow with what it answered.
            if self._http.get(f"{self.url}/sim/stats").json()["requests"] == 0:
                return False
            self.at = now
            self._http.close()
        return self.send_seconds is not None and now - self.at >= self.send_seconds


def bare_loop(url: str, path: Path, concurrency: int, transport: str, loop: str) -> dict[str, Any]:
    """`bench/bare_loop.py` on the job file, in its own process: what it prints."""
    script = str(Path(__file__).with_name("bare_loop.py"))
    child = run_child(
        [sys.executable, script, url, str(path), str(concurrency), transport, loop],
        capture_stdout=True,
    )
    if child.returncode != 0:
        raise RuntimeError(f"bare loop failed ({child.returncode}): {child.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(child.stdout)
    return out


def fanout_run(jobs: Path, url: str, tmp: Path, *extra: str, name: str = "state") -> list[str]:
    """The ``fanout run`` command line the benches use (no progress bar)."""
    return [
        *FANOUT,
        "run",
        str(jobs),
        "--model",
        MODEL,
        "--base-url",
        url,
        "--db",
        str(tmp / f"{name}.db"),
        "--out",
        str(tmp / f"{name}.out.jsonl"),
        "--no-progress",
        *extra,
    ]


def send_window_times(db: Path) -> tuple[int, float, float]:
    """(jobs succeeded, epoch of the first request sent, epoch of the last result)."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*), min(started_at), max(finished_at) FROM jobs WHERE status='succeeded'"
        ).fetchone()
    return int(row[0]), float(row[1]), float(row[2])


def send_window(db: Path) -> tuple[int, float]:
    """(jobs succeeded, seconds from the first request sent to the last result) from state."""
    done, first, last = send_window_times(db)
    return done, last - first
