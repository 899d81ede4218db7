"""Client ceiling (issue 15): ``fanout run`` against a raw aiohttp loop, on two servers.

``python bench/ceiling.py --jobs 8000 --concurrency 64 512 --loop asyncio uvloop`` (the
defaults, about 70 s on 2 cores) measures, on each server in turn (``fanout sim --latency
0``, then `foreign_server.py`, an ``aiohttp.web`` app that answers every completion with one
fixed reply), for each concurrency and event loop, three clients one after the other on the
same job file:

- ``raw``: `raw_loop.py`, aiohttp's ``ClientSession`` alone (the ceiling);
- ``bare``: `bare_loop.py`, httpx over aiohttp (fanout's transport) with no state, limiter
  or retries (the baseline of bench/overhead.py);
- ``fanout``: ``fanout run --concurrency N --loop L`` (transport aiohttp).

Each one's rate is over its send phase (fanout's: first request sent to last result, from
its state file, as bench/overhead.py reads it) and so is its CPU time (the loops' own
``getrusage``; fanout's sampled from ``/proc`` and interpolated to its send window). The
server's request count is read before and after each client: each must have sent every job
once. On a shared machine the rates follow whatever else runs; CPU per job is the steadier
figure. JSON lines out, one per server, concurrency, loop and ``--code``.

``--code DIR`` (repeatable) runs ``fanout run`` from another checkout (a git worktree of
another commit; ``PYTHONPATH`` and working directory both DIR, as bench/kill_window.py
does) after the same raw and bare loops, for a before/after of client changes in one run.
The loops and the servers always run from this tree.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from _common import (
    ROOT,
    add_code_option,
    bare_loop,
    fanout_run,
    run_child,
    send_window_times,
    sim_process,
    write_jobs,
)
from foreign_server import foreign_process

SERVERS: dict[str, tuple[str, Callable[[], AbstractContextManager[str]], str]] = {
    # --server name: (its name in the rows, a child process yielding its base URL, the path
    # of its request count under that URL)
    "sim": ("fanout sim", lambda: sim_process("--latency", "0"), "/sim/stats"),
    "foreign": ("aiohttp.web", foreign_process, "/stats"),
}


def _requests(url: str, stats: str) -> int:
    return int(httpx.get(url + stats).json()["requests"])


def raw_loop(url: str, path: Path, concurrency: int, loop: str) -> dict[str, Any]:
    """`bench/raw_loop.py` on the job file, in its own process: what it prints."""
    script = str(Path(__file__).with_name("raw_loop.py"))
    argv = [sys.executable, script, url, str(path), str(concurrency), "--loop", loop]
    child = run_child(argv, capture_stdout=True)
    if child.returncode != 0:
        raise RuntimeError(f"raw loop failed ({child.returncode}): {child.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(child.stdout)
    return out


def fanout(
    code: Path, url: str, path: Path, tmp: Path, concurrency: int, loop: str, name: str
) -> dict[str, Any]:
    """``fanout run`` from checkout ``code``: jobs, seconds and CPU s over its send window."""
    argv = fanout_run(path, url, tmp, "--concurrency", str(concurrency), "--loop", loop, name=name)
    # What `_common.checkout_env` and ``cwd=code`` do, through `env` (it execs: same pid, so
    # run_child samples fanout itself): `python -m fanout` imports the checkout in its
    # working directory, ahead of the installed one. No key goes to a local server.
    child = run_child(
        ["env", "-u", "TOGETHER_API_KEY", "-C", str(code), f"PYTHONPATH={code}", *argv]
    )
    if child.returncode != 0:
        raise RuntimeError(f"fanout run failed ({child.returncode}): {child.stderr[-2000:]}")
    done, first, last = send_window_times(tmp / f"{name}.db")
    return {"jobs": done, "seconds": last - first, "cpu_s": child.cpu_between(first, last)}


def _figures(r: dict[str, Any]) -> tuple[float, float]:
    """(jobs/s, CPU ms a job)."""
    return r["jobs"] / r["seconds"], r["cpu_s"] * 1000 / r["jobs"]


def _checked(
    run: Callable[[], dict[str, Any]], url: str, stats: str, jobs: int, who: str
) -> dict[str, Any]:
    """``run()``'s figures, after checking the server saw exactly ``jobs`` requests."""
    before = _requests(url, stats)
    r = run()
    sent = _requests(url, stats) - before
    if sent != jobs or r["jobs"] != jobs or r.get("errors", 0):
        raise RuntimeError(f"{who}: {r['jobs']} jobs done, {sent} requests seen, of {jobs}")
    return r


def _rows(
    server: str,
    url: str,
    stats: str,
    path: Path,
    tmp: Path,
    jobs: int,
    concurrency: int,
    loop: str,
    codes: tuple[Path, ...],
) -> Iterator[dict[str, Any]]:
    raw = _checked(lambda: raw_loop(url, path, concurrency, loop), url, stats, jobs, "raw")
    bare = _checked(
        lambda: bare_loop(url, path, concurrency, "aiohttp", loop), url, stats, jobs, "bare"
    )
    raw_rate, raw_cpu = _figures(raw)
    bare_rate, bare_cpu = _figures(bare)
    for i, code in enumerate(codes):
        name = f"{server}-{concurrency}-{loop}-{i}".replace(" ", "-")
        run = partial(fanout, code, url, path, tmp, concurrency, loop, name)
        fan = _checked(run, url, stats, jobs, f"fanout ({code})")
        fan_rate, fan_cpu = _figures(fan)
        yield {
            "server": server,
            "jobs": jobs,
            "concurrency": concurrency,
            "loop": loop,
            "code": str(code),
            "raw_jobs_per_s": round(raw_rate, 1),
            "bare_jobs_per_s": round(bare_rate, 1),
            "fanout_jobs_per_s": round(fan_rate, 1),
            "ratio": round(fan_rate / raw_rate, 3),  # fanout / raw, jobs/s: the goal's figure
            "bare_ratio": round(bare_rate / raw_rate, 3),
            "raw_cpu_ms_per_job": round(raw_cpu, 3),
            "bare_cpu_ms_per_job": round(bare_cpu, 3),
            "fanout_cpu_ms_per_job": round(fan_cpu, 3),
            "cpu_ratio": round(raw_cpu / fan_cpu, 3),  # raw / fanout: 1 is no overhead
        }


def measure(
    jobs: int,
    concurrency_list: tuple[int, ...] = (64, 512),
    loops: tuple[str, ...] = ("asyncio", "uvloop"),
    codes: tuple[Path, ...] = (ROOT,),
    servers: tuple[str, ...] = tuple(SERVERS),
    echo: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per server, concurrency, loop and checkout; ``echo`` sees each as it comes."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="fanout-ceiling-") as tmp_name:
        tmp = Path(tmp_name)
        path = write_jobs(tmp / "jobs.jsonl", jobs)
        for key in servers:
            server, start, stats = SERVERS[key]
            with start() as url:
                for concurrency in concurrency_list:
                    for loop in loops:
                        for row in _rows(
                            server, url, stats, path, tmp, jobs, concurrency, loop, codes
                        ):
                            if echo is not None:
                                echo(row)
                            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=8000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 512])
    parser.add_argument(
        "--loop", nargs="+", default=["asyncio", "uvloop"], choices=["asyncio", "uvloop"]
    )
    parser.add_argument("--server", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    add_code_option(parser)
    args = parser.parse_args()
    codes = tuple(c.resolve() for c in args.code) if args.code else (ROOT,)
    measure(
        args.jobs,
        tuple(args.concurrency),
        tuple(args.loop),
        codes,
        tuple(args.server),
        echo=lambda row: print(json.dumps(row), flush=True),
    )


if __name__ == "__main__":
    main()
