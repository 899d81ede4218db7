"""Many in flight: 2,000 jobs, 2 s simulated latency, concurrency 1,000.

The ideal wall time of the send phase is jobs x latency / concurrency = 4 s. The
client-side share of each job's latency is fanout's recorded latency (send to last byte)
minus the simulator's fixed 2 s: connection set-up, queueing in the client and the event
loop, parsing, and the simulator's own queueing before its 2 s timer starts (one Python
process parsing a thousand requests that arrive together; it reports no per-request
timing to subtract). Reported: send-phase wall time against the ideal, and that
overhead's p50 and p99, over all jobs and split by wave: the first ``concurrency`` jobs to
start each open a new connection (a thousand TCP handshakes and first requests that the
one-process simulator accepts and parses together); the rest reuse warm connections,
which is what every request of a long run but its first wave does.

The bare loop (same transport, no state, limiter or retries; timed around each ``post``
the way fanout times its own) runs against the same simulator process just before, so the
share that any client on this machine pays is shown next to fanout's.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from _common import bare_loop, fanout_run, run_child, send_window, sim_process, write_jobs


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _figures(
    timed: list[tuple[float, float]], latency: float, window: float, ideal: float, first: int
) -> dict[str, Any]:
    """Overhead figures over (start, latency ms) pairs: all jobs, then the ``first`` to
    start (the first wave, each on a new connection) apart from the rest (warm ones)."""
    ordered = sorted(timed)
    out: dict[str, Any] = {
        "send_window_s": round(window, 2),
        "window_over_ideal": round(window / ideal, 3),
    }
    for name, part in (("", ordered), ("first_wave_", ordered[:first]), ("warm_", ordered[first:])):
        overhead = [ms - latency * 1000 for _, ms in part]
        if not overhead:
            continue
        out[f"{name}client_overhead_ms_p50"] = round(_percentile(overhead, 50), 1)
        out[f"{name}client_overhead_ms_p99"] = round(_percentile(overhead, 99), 1)
        out[f"{name}client_overhead_ms_max"] = round(max(overhead), 1)
    return out


def measure(
    jobs: int = 2000, concurrency: int = 1000, latency: float = 2.0, loop: str = "asyncio"
) -> dict[str, Any]:
    ideal = jobs * latency / concurrency
    with tempfile.TemporaryDirectory() as tmp_name, sim_process("--latency", str(latency)) as url:
        tmp = Path(tmp_name)
        path = write_jobs(tmp / "jobs.jsonl", jobs)
        bare = bare_loop(url, path, concurrency, "aiohttp", loop)
        argv = fanout_run(path, url, tmp, "--concurrency", str(concurrency), "--loop", loop)
        child = run_child(argv)
        if child.returncode != 0:
            raise RuntimeError(f"fanout run failed ({child.returncode}): {child.stderr[-2000:]}")
        done, window = send_window(tmp / "state.db")
        with sqlite3.connect(tmp / "state.db") as conn:
            timed = list(
                conn.execute("SELECT started_at, latency_ms FROM jobs WHERE status='succeeded'")
            )
    return {
        "jobs": done,
        "concurrency": concurrency,
        "latency_s": latency,
        "loop": loop,
        "ideal_s": ideal,
        **_figures(timed, latency, window, ideal, concurrency),
        "bare": _figures(
            list(zip(bare["starts_s"], bare["latencies_ms"], strict=True)),
            latency,
            bare["seconds"],
            ideal,
            concurrency,
        ),
        "peak_rss_mb": round(child.max_rss_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--loop", nargs="+", default=["asyncio", "uvloop"])
    args = parser.parse_args()
    for loop in args.loop:
        print(json.dumps(measure(args.jobs, args.concurrency, loop=loop)), flush=True)


if __name__ == "__main__":
    main()
