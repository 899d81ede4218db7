"""Many in flight: 2,000 jobs, 2 s simulated latency, concurrency 1,000.

The ideal wall time of the send phase is jobs x latency / concurrency = 4 s. The
client-side share of each job's latency is fanout's recorded latency (send to last byte)
minus the simulator's fixed 2 s: connection set-up, queueing in the client and the event
loop, parsing. Reported: send-phase wall time against the ideal, and that overhead's p50
and p99.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from _common import FANOUT, MODEL, run_child, send_window, sim_process, write_jobs


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(jobs: int = 2000, concurrency: int = 1000, latency: float = 2.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, sim_process("--latency", str(latency)) as url:
        path = write_jobs(Path(tmp) / "jobs.jsonl", jobs)
        db = Path(tmp) / "state.db"
        child = run_child(
            [
                *FANOUT,
                "run",
                str(path),
                "--model",
                MODEL,
                "--base-url",
                url,
                "--db",
                str(db),
                "--out",
                str(Path(tmp) / "out.jsonl"),
                "--concurrency",
                str(concurrency),
                "--no-progress",
            ]
        )
        if child.returncode != 0:
            raise RuntimeError(f"fanout run failed ({child.returncode}): {child.stderr[-2000:]}")
        done, window = send_window(db)
        with sqlite3.connect(db) as conn:
            lat = [
                r[0] for r in conn.execute("SELECT latency_ms FROM jobs WHERE status='succeeded'")
            ]
    overhead = [ms - latency * 1000 for ms in lat]
    ideal = jobs * latency / concurrency
    return {
        "jobs": done,
        "concurrency": concurrency,
        "latency_s": latency,
        "ideal_s": ideal,
        "send_window_s": round(window, 2),
        "window_over_ideal": round(window / ideal, 3),
        "client_overhead_ms_p50": round(_percentile(overhead, 50), 1),
        "client_overhead_ms_p99": round(_percentile(overhead, 99), 1),
        "client_overhead_ms_max": round(max(overhead), 1),
        "peak_rss_mb": round(child.max_rss_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(measure(args.jobs, args.concurrency)))


if __name__ == "__main__":
    main()
