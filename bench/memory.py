"""Peak RSS of ``fanout run`` by job-file size (zero latency, short replies).

The figure is the ``fanout run`` process's own peak resident set (``wait4`` rusage), with
the simulator in another process. Memory should stay flat as the file grows: jobs stream
from the file into SQLite and from SQLite through a bounded stream to the workers.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from _common import FANOUT, MODEL, run_child, send_window, sim_process, write_jobs


def measure(jobs: int, concurrency: int = 64) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, sim_process("--latency", "0") as url:
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
        db_bytes = db.stat().st_size
    return {
        "jobs": jobs,
        "peak_rss_mb": round(child.max_rss_mb, 1),
        "wall_s": round(child.seconds, 1),
        "send_jobs_per_s": round(done / window, 1),
        "state_bytes_per_job": round(db_bytes / jobs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    for n in args.jobs:
        print(json.dumps(measure(n)), flush=True)


if __name__ == "__main__":
    main()
