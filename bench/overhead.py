"""Overhead ceiling: ``fanout run`` against a bare client loop, zero simulated latency.

Both hit the same ``fanout sim`` process (no faults, no latency, no limits) in the same run,
on each event loop asked for. fanout's figures are taken over its send window (first
request sent to last result, read from the state file: the steady-state rate) and over the
whole process (start-up, file validation and import into SQLite, export included).

Besides the rates, the client's CPU time per job over the send phase: the bare loop reads
its own (``getrusage``), fanout's is sampled from ``/proc`` every 50 ms and interpolated to
the send window. On a shared machine the rate follows whatever else is running; the CPU
per job barely moves, so the CPU ratio is the steadier measure of fanout's own overhead.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from _common import bare_loop, fanout_run, run_child, send_window_times, sim_process, write_jobs


def _fanout(
    url: str, path: Path, tmp: Path, concurrency: int, transport: str, loop: str, name: str
) -> dict[str, Any]:
    argv = fanout_run(
        path,
        url,
        tmp,
        "--concurrency",
        str(concurrency),
        "--transport",
        transport,
        "--loop",
        loop,
        name=name,
    )
    child = run_child(argv)
    if child.returncode != 0:
        raise RuntimeError(f"fanout run failed ({child.returncode}): {child.stderr[-2000:]}")
    done, first, last = send_window_times(tmp / f"{name}.db")
    return {
        "jobs": done,
        "seconds": last - first,
        "cpu_s": child.cpu_between(first, last),
        "wall_s": child.seconds,
        "peak_rss_mb": child.max_rss_mb,
    }


def measure(
    jobs: int,
    concurrency: int,
    transport: str = "aiohttp",
    loops: tuple[str, ...] = ("asyncio",),
) -> list[dict[str, Any]]:
    """One row per event loop: bare loop and fanout on that loop, same simulator."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name, sim_process("--latency", "0") as url:
        tmp = Path(tmp_name)
        path = write_jobs(tmp / "jobs.jsonl", jobs)
        for loop in loops:
            bare = bare_loop(url, path, concurrency, transport, loop)
            fan = _fanout(url, path, tmp, concurrency, transport, loop, f"{loop}-{concurrency}")
            bare_rate = bare["jobs"] / bare["seconds"]
            fanout_rate = fan["jobs"] / fan["seconds"]
            bare_cpu = bare["cpu_s"] * 1000 / bare["jobs"]
            fanout_cpu = fan["cpu_s"] * 1000 / fan["jobs"]
            rows.append(
                {
                    "jobs": jobs,
                    "concurrency": concurrency,
                    "transport": transport,
                    "loop": loop,
                    "bare_jobs_per_s": round(bare_rate, 1),
                    "fanout_jobs_per_s": round(fanout_rate, 1),
                    "ratio": round(fanout_rate / bare_rate, 3),
                    "bare_cpu_ms_per_job": round(bare_cpu, 3),
                    "fanout_cpu_ms_per_job": round(fanout_cpu, 3),
                    "cpu_ratio": round(bare_cpu / fanout_cpu, 3),
                    "fanout_wall_jobs_per_s": round(jobs / fan["wall_s"], 1),
                    "fanout_wall_s": round(fan["wall_s"], 2),
                    "fanout_peak_rss_mb": round(fan["peak_rss_mb"], 1),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--transport", default="aiohttp", choices=["aiohttp", "httpx"])
    parser.add_argument("--loop", nargs="+", default=["asyncio", "uvloop"])
    args = parser.parse_args()
    for conc in args.concurrency:
        for row in measure(args.jobs, conc, args.transport, tuple(args.loop)):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
