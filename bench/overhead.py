"""Overhead ceiling: ``fanout run`` against a bare client loop, zero simulated latency.

Both hit the same ``fanout sim`` process (no faults, no latency, no limits) in the same run.
fanout's figure is taken two ways: over its send window (first request sent to last result,
read from the state file: the steady-state rate) and over the whole process (start-up,
file validation and import into SQLite, export included).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import FANOUT, MODEL, run_child, send_window, sim_process, write_jobs


def measure(jobs: int, concurrency: int, transport: str = "aiohttp") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, sim_process("--latency", "0") as url:
        path = write_jobs(Path(tmp) / "jobs.jsonl", jobs)
        bare_out = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("bare_loop.py")),
                url,
                str(path),
                str(concurrency),
                transport,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        bare = json.loads(bare_out)
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
                "--transport",
                transport,
                "--no-progress",
            ]
        )
        if child.returncode != 0:
            raise RuntimeError(f"fanout run failed ({child.returncode}): {child.stderr[-2000:]}")
        done, window = send_window(db)
    bare_rate = bare["jobs"] / bare["seconds"]
    fanout_rate = done / window
    return {
        "jobs": jobs,
        "concurrency": concurrency,
        "transport": transport,
        "bare_jobs_per_s": round(bare_rate, 1),
        "fanout_jobs_per_s": round(fanout_rate, 1),
        "fanout_wall_jobs_per_s": round(jobs / child.seconds, 1),
        "fanout_wall_s": round(child.seconds, 2),
        "ratio": round(fanout_rate / bare_rate, 3),
        "fanout_peak_rss_mb": round(child.max_rss_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--transport", default="aiohttp", choices=["aiohttp", "httpx"])
    args = parser.parse_args()
    for conc in args.concurrency:
        print(json.dumps(measure(args.jobs, conc, args.transport)), flush=True)


if __name__ == "__main__":
    main()
