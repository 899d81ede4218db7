"""Peak RSS of ``fanout run`` by job-file size (zero latency, short replies).

The figure is the ``fanout run`` process's own peak resident set (``wait4`` rusage), with
the simulator in another process. Memory should stay flat as the file grows: jobs stream
from the file into SQLite and from SQLite through a bounded stream to the workers.

The child's resident set is also sampled every 0.25 s; the table shows it when the first
request reached the simulator (the file is imported by then) and at the end of sending.

``--send-seconds S`` stops the run with SIGINT (fanout's graceful stop) S seconds after
its first request: a whole 1M-job run takes about 20 minutes here, so the 1M figure is the
peak over importing the whole file plus S seconds of sending, with the samples showing
whether the resident set still grew during the sending.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from _common import FirstRequest, fanout_run, run_child, send_window_times, sim_process, write_jobs


def measure(
    jobs: int,
    concurrency: int = 64,
    send_seconds: float | None = None,
    jobs_path: Path | None = None,
) -> dict[str, Any]:
    """One ``fanout run`` (or its import and first ``send_seconds`` of sending)."""
    with tempfile.TemporaryDirectory() as tmp_name, sim_process("--latency", "0") as url:
        tmp = Path(tmp_name)
        path = jobs_path or write_jobs(tmp / "jobs.jsonl", jobs)
        watch = FirstRequest(url, send_seconds)
        argv = fanout_run(path, url, tmp, "--concurrency", str(concurrency))
        child = run_child(argv, interval=0.25, stop_after=watch)
        stopped = send_seconds is not None and child.returncode == 130
        if child.returncode != 0 and not stopped:
            raise RuntimeError(f"fanout run failed ({child.returncode}): {child.stderr[-2000:]}")
        done, first, last = send_window_times(tmp / "state.db")
        db_bytes = (tmp / "state.db").stat().st_size
    assert watch.at is not None
    sending = [s for s in child.samples if first <= s.at <= last]
    return {
        "jobs": jobs,
        "stopped_after_s": send_seconds if stopped else None,
        "sent": done,
        "peak_rss_mb": round(child.max_rss_mb, 1),
        "rss_first_request_mb": round(child.rss_at(watch.at), 1),
        "rss_end_of_sending_mb": round(child.rss_at(last), 1),
        "rss_max_while_sending_mb": round(max(s.rss_mb for s in sending), 1) if sending else None,
        "start_to_first_request_s": round(watch.at - child.started_at, 1),
        "wall_s": round(child.seconds, 1),
        "send_jobs_per_s": round(done / (last - first), 1),
        "state_bytes_per_job": round(db_bytes / jobs) if not stopped else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--send-seconds", type=float, default=None)
    args = parser.parse_args()
    for n in args.jobs:
        print(json.dumps(measure(n, send_seconds=args.send_seconds)), flush=True)


if __name__ == "__main__":
    main()
