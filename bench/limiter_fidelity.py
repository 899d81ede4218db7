"""Limiter fidelity: how close ``fanout run`` sits to a rate limit, and how few 429s it gets.

The simulator enforces Together's tier 2 (1,800 requests/min = 30/s, 250k tokens/min) per
second, with a burst of 2 s and 0.1-0.3 s latency. fanout runs the same job file three ways:
told the right tier (``--tier 2``), told nothing (headers only), told a tier too high
(``--tier 4``: 4,500/min, 2.5 times the limit). A fourth run puts the simulator in dynamic
mode (the limit starts at 60/min and doubles with sustained success, capped at tier 2) and
reports the rate fanout reached in each 5-second slice.

Figures (from the state file and the simulator's own counters):

- achieved: succeeded requests per second from the first request sent to the last result,
  as a fraction of the limit; the steady part excludes the first 5 s;
- 429s as a fraction of requests the simulator received;
- convergence: the first second from which every 3-second window (to the last full one,
  the last 3 s of the run left out) ran at 90% of the limit or more (completions bunch by
  latency jitter, so single seconds swing by a few requests either way).
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import httpx
from _common import fanout_run, run_child, sim_process, write_jobs

LIMIT_RPM = 1800.0
LIMIT_TPM = 250_000.0
SIM_ARGS = ["--latency", "0.1-0.3", "--rpm", str(LIMIT_RPM), "--tpm", str(LIMIT_TPM)]


def _per_second(db: Path) -> tuple[list[int], float]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT started_at, finished_at FROM jobs WHERE status='succeeded'"
        ).fetchall()
    t0 = min(r[0] for r in rows)
    t1 = max(r[1] for r in rows)
    counts = [0] * (math.ceil(t1 - t0) + 1)
    for _, finished in rows:
        counts[int(finished - t0)] += 1
    return counts, t1 - t0


def _run(url: str, jobs: Path, tmp: Path, name: str, extra: list[str]) -> dict[str, Any]:
    httpx.post(f"{url}/sim/reset-stats")
    db = tmp / f"{name}.db"
    child = run_child(fanout_run(jobs, url, tmp, "--concurrency", "64", *extra, name=name))
    if child.returncode != 0:
        raise RuntimeError(f"fanout run failed ({child.returncode}): {child.stderr[-2000:]}")
    stats = httpx.get(f"{url}/sim/stats").json()
    counts, window = _per_second(db)
    limit = LIMIT_RPM / 60
    full = counts[:-1]  # the last second is partial
    # 3 s windows, leaving out the last 3 s: the run's tail, where the jobs run out while
    # the last ones are in flight, is not the limiter's doing
    body = full[:-3]
    windows = [sum(body[i : i + 3]) / 3 for i in range(len(body) - 2)]
    converged = next(
        (i for i in range(len(windows)) if all(w >= 0.9 * limit for w in windows[i:])), None
    )
    steady = full[5:]
    done = sum(counts)
    return {
        "run": name,
        "jobs": done,
        "wall_s": round(child.seconds, 1),
        "send_window_s": round(window, 1),
        "achieved_fraction": round(done / window / limit, 3),
        "steady_fraction": round(sum(steady) / len(steady) / limit, 3) if steady else None,
        "requests": stats["requests"],
        "rate_limited": stats["by_status"].get("429", 0),
        "rate_limited_fraction": round(stats["by_status"].get("429", 0) / stats["requests"], 4),
        "converged_after_s": converged,
    }


def measure(jobs: int = 2400, dynamic_jobs: int | None = None) -> list[dict[str, Any]]:
    """The three told-something/nothing runs on ``jobs`` jobs, dynamic mode on
    ``dynamic_jobs`` (default the same): it spends its first 30 s climbing to the cap."""
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = write_jobs(tmp / "jobs.jsonl", jobs)
        for name, extra in (
            ("right tier (--tier 2)", ["--tier", "2"]),
            ("told nothing", []),
            ("tier too high (--tier 4)", ["--tier", "4"]),
        ):
            with sim_process(*SIM_ARGS) as url:  # a fresh simulator: full buckets
                results.append(_run(url, path, tmp, name, extra))
        dyn_path = path
        if dynamic_jobs is not None and dynamic_jobs != jobs:
            dyn_path = write_jobs(tmp / "dynamic.jsonl", dynamic_jobs)
        dyn_args = [*SIM_ARGS, "--dynamic", "--dynamic-base-rpm", "60", "--dynamic-window", "5"]
        with sim_process(*dyn_args) as url:
            r = _run(url, dyn_path, tmp, "dynamic (told nothing)", [])
            counts, _ = _per_second(tmp / "dynamic (told nothing).db")
            r["per_5s_slice_req_per_s"] = [
                round(sum(counts[i : i + 5]) / 5, 1) for i in range(0, len(counts) - 1, 5)
            ]
            results.append(r)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2400)
    parser.add_argument("--dynamic-jobs", type=int, default=None)
    args = parser.parse_args()
    for r in measure(args.jobs, args.dynamic_jobs):
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
