"""Kill window: how many requests a SIGKILL makes the server answer twice (issue 12).

``python bench/kill_window.py --jobs 30000 --kills 10 --latency 0`` runs one batch against
``fanout sim`` (its own process, so it outlives every kill and counts every answer), SIGKILLs
``fanout run`` at ``--kills`` random moments (each a seeded uniform draw of 0.1-1.0 s after
that process's first commit, so every kill lands while it is sending at full speed), then
reruns the same command to completion. Per kill it reports the answers the kill threw away:

    wasted = (200 answers the simulator has sent) - (jobs succeeded in the state file)

read just before the process starts and just after it is killed; the difference is the
answers that process received (or that were on their way to it) and never committed. Each
of them is sent and answered again by a later process, so the per-kill figures add up to the
simulator's ``extra_answers`` at the end (checked). No faults, no limits: every request is
answered 200 once its latency is over.

``--code DIR`` (repeatable) runs ``fanout run`` from another checkout (a git worktree of an
older commit) against the same simulator, one after the other, for a before/after in the
same session; the simulator's stats are reset between them.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import (
    ROOT,
    add_code_option,
    checkout_env,
    fanout_run,
    machine,
    sim_process,
    write_jobs,
)


def _committed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT count(*) FROM jobs WHERE status = 'succeeded'").fetchone()
    except sqlite3.OperationalError:
        return 0  # not imported yet
    return int(row[0])


def _answered(http: httpx.Client, url: str) -> int:
    stats = http.get(f"{url}/sim/stats").json()
    return int(stats["by_status"].get("200", 0))


def measure(
    code: Path,
    url: str,
    jobs: Path,
    work: Path,
    *,
    kills: int,
    concurrency: int,
    seed: int,
    low: float = 0.1,
    high: float = 1.0,
) -> dict[str, Any]:
    """Kill ``fanout run`` (from checkout ``code``) ``kills`` times, then let it finish."""
    rng = random.Random(seed)
    db = work / f"{code.name}.db"
    argv = fanout_run(jobs, url, work, "--concurrency", str(concurrency), name=code.name)
    env = checkout_env(code)  # and cwd=code
    http = httpx.Client()
    http.post(f"{url}/sim/reset-stats")
    per_kill: list[int] = []
    rates: list[float] = []
    for _ in range(kills):
        before = _answered(http, url) - _committed(db)
        start = _committed(db)
        proc = subprocess.Popen(
            argv, cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 120
        while (first := _committed(db)) <= start:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"fanout made no commit: {proc.communicate()[1][-2000:]}")
            time.sleep(0.01)
        t_first = time.monotonic()
        time.sleep(rng.uniform(low, high))
        if proc.poll() is not None:
            raise RuntimeError("fanout finished before its kill: give it more --jobs")
        proc.send_signal(signal.SIGKILL)
        t_kill = time.monotonic()
        proc.communicate(timeout=30)
        rates.append((_committed(db) - first) / (t_kill - t_first))
        time.sleep(0.3)  # the simulator settles the killed connections (abandoned, not 200)
        per_kill.append(_answered(http, url) - _committed(db) - before)
    final = subprocess.run(
        argv, cwd=code, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    if final.returncode != 0:
        raise RuntimeError(f"the last run failed ({final.returncode}): {final.stderr[-2000:]}")
    stats = http.get(f"{url}/sim/stats").json()
    http.close()
    if stats["extra_answers"] != sum(per_kill):
        raise AssertionError(
            f"per-kill figures {per_kill} do not add up to the {stats['extra_answers']} "
            "requests the simulator answered twice"
        )
    return {
        "code": str(code),
        "concurrency": concurrency,
        "kills": kills,
        "answered_twice_per_kill": per_kill,
        "mean_per_kill": round(statistics.fmean(per_kill), 1),
        "max_per_kill": max(per_kill),
        "answered_twice_total": stats["extra_answers"],
        "jobs_per_s_before_kill_median": round(statistics.median(rates)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=30000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--latency", default="0", help="the simulator's --latency")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    add_code_option(parser)
    args = parser.parse_args()
    print(json.dumps({"machine": machine()}), flush=True)
    with tempfile.TemporaryDirectory() as tmp, sim_process("--latency", args.latency) as url:
        work = Path(tmp)
        jobs = write_jobs(work / "jobs.jsonl", args.jobs)
        for code in args.code or [ROOT]:
            row = measure(
                code.resolve(),
                url,
                jobs,
                work,
                kills=args.kills,
                concurrency=args.concurrency,
                seed=args.seed,
            )
            print(json.dumps({"latency": args.latency, "jobs": args.jobs, **row}), flush=True)


if __name__ == "__main__":
    main()
