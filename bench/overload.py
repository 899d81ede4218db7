"""503s: what isolated ones cost, and how a real overload is backed off from (issue 12).

``python bench/overload.py`` runs ``fanout run`` (concurrency 64) against ``fanout sim``
with 50 ms latency four ways, each against its own simulator process:

- **baseline**: 8,000 jobs, no faults;
- **1% 503s**: the same with ``--fail-rate 503=0.01`` (seeded): a 503 after the latency,
  at random, the server otherwise idle (what a busy shared endpoint sends now and then);
- **overload 16** and **overload 32**: 3,000 jobs with ``--overload-concurrency N``: the
  server holds N requests at once and answers any more at once with 503 ``Engine
  overloaded``; it can serve N / 50 ms jobs/s (320 and 640), the client asks for 1,280.

Per run: the send phase (first request sent to last result, from the state file), jobs/s
over it and up to the 95th percentile result (the last few jobs wait out a retry's
backoff, 0-0.5 s, which on a 7 s run is noise), the 503s and requests the simulator
counted, jobs/s over the same checkout's baseline in the same round, and for an overload
over what the server can serve. ``--code DIR`` (repeatable) runs ``fanout run`` from another
checkout (a git worktree of an older commit) against the same simulators, one after the
other, alternated over ``--rounds``, for a before/after in the same session.

``--halvings N`` instead counts how often each checkout's limiter halves its window over N
answers with 503s at random (1%, 2%, 5%) and 64 in flight, on a fake clock at 1,150
answers/s (`halvings`): the false alarms, too rare for the 8,000-job run to show.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _common import (
    ROOT,
    add_code_option,
    checkout_env,
    fanout_run,
    machine,
    send_window,
    sim_process,
    write_jobs,
)


@dataclass(frozen=True)
class Scenario:
    name: str
    sim_args: tuple[str, ...]
    jobs: int
    capacity: int | None = None  # requests the server holds at once (overload)


def scenarios(jobs: int, overload_jobs: int, overload_at: tuple[int, ...]) -> list[Scenario]:
    return [
        Scenario("baseline", (), jobs),
        Scenario("1% 503s", ("--fail-rate", "503=0.01", "--seed", "1"), jobs),
        *(
            Scenario(f"overload {n}", ("--overload-concurrency", str(n)), overload_jobs, n)
            for n in overload_at
        ),
    ]


def _finishes(db: Path) -> tuple[int, float]:
    """(jobs failed, seconds from the first request to the 95th percentile result)."""
    with sqlite3.connect(db) as conn:
        failed = conn.execute("SELECT count(*) FROM jobs WHERE status = 'failed'").fetchone()
        rows = conn.execute(
            "SELECT started_at, finished_at FROM jobs WHERE status = 'succeeded'"
        ).fetchall()
    first = min(r[0] for r in rows)
    ends = sorted(r[1] - first for r in rows)
    return int(failed[0]), ends[int(0.95 * (len(ends) - 1))]


def _run(
    code: Path, url: str, jobs: Path, work: Path, name: str, concurrency: int
) -> dict[str, Any]:
    """``fanout run`` from checkout ``code`` to the end; what the state and simulator say."""
    db = work / f"{name}.db"
    argv = fanout_run(jobs, url, work, "--concurrency", str(concurrency), name=name)
    env = checkout_env(code)  # and cwd=code
    with httpx.Client() as http:
        http.post(f"{url}/sim/reset-stats")
        proc = subprocess.run(
            argv, cwd=code, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        stats = http.get(f"{url}/sim/stats").json()
    if proc.returncode not in (0, 1):  # 1: some jobs failed (counted below)
        raise RuntimeError(f"fanout run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    done, seconds = send_window(db)
    failed, t95 = _finishes(db)
    requests = int(stats["requests"])
    overloaded = int(stats["by_status"].get("503", 0))
    return {
        "succeeded": done,
        "failed": failed,
        "send_s": round(seconds, 2),
        "jobs_per_s": round(done / seconds, 1),
        "jobs_per_s_to_p95": round(0.95 * done / t95, 1),
        "requests": requests,
        "503s": overloaded,
        "503_share": round(overloaded / requests, 4),
    }


# Run in a child with the checkout on its path: its own limiter, its own fake clock.
_HALVINGS = """
import random, sys
from collections import deque
import anyio
from runner._adaptive import AdaptiveLimiter, Cost
from runner._clock import FakeClock

async def main(share, answers, concurrency, rate):
    rng = random.Random(0)
    clock = FakeClock()
    lim = AdaptiveLimiter(max_concurrency=concurrency, clock=clock)
    cost = Cost(10, 16)
    flight = deque([await lim.acquire("m", cost) for _ in range(concurrency)])
    halved = 0
    for _ in range(answers):
        clock.advance(1 / rate)
        before = lim.views()[0].window
        lim.release(flight.popleft(), status=503 if rng.random() < share else 200, headers={})
        view = lim.views()[0]
        halved += view.window < before
        while view.in_flight < int(view.window):
            flight.append(await lim.acquire("m", cost))
            view = lim.views()[0]
    print(halved)

anyio.run(main, float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
"""


def halvings(
    code: Path, share: float, answers: int, *, concurrency: int = 64, rate: float = 1150.0
) -> int:
    """Window halvings of checkout ``code``'s limiter over ``answers`` answers, each a 503
    with probability ``share`` (seeded), the oldest of ``concurrency`` in flight answered
    first, the fake clock moving ``1/rate`` s an answer."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    argv = [sys.executable, "-c", _HALVINGS, str(share), str(answers), str(concurrency), str(rate)]
    out = subprocess.run(argv, cwd=code, env=env, capture_output=True, text=True, check=True)
    return int(out.stdout)


def measure(
    codes: list[Path] | None = None,
    *,
    jobs: int = 8000,
    overload_jobs: int = 3000,
    latency: float = 0.05,
    concurrency: int = 64,
    overload_at: tuple[int, ...] = (16, 32),
    rounds: int = 1,
) -> list[dict[str, Any]]:
    """Each scenario, each checkout in ``codes`` (default: this one), ``rounds`` times.

    Defaults: 8,000 jobs (3,000 overloaded), 50 ms latency, concurrency 64, servers that
    hold 16 and 32; about 45 s a checkout a round on 2 cores. Checkouts alternate within a
    round and their order flips each round. ``vs_baseline`` is a row's jobs/s over the
    same checkout's baseline in that round; ``vs_capacity`` (overload) its jobs/s over what
    the server can serve, ``N / latency``."""
    codes = [c.resolve() for c in codes or [ROOT]]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files: dict[int, Path] = {}
        for r in range(rounds):
            order = codes if r % 2 == 0 else codes[::-1]
            baseline: dict[Path, float] = {}
            for sc in scenarios(jobs, overload_jobs, overload_at):
                if sc.jobs not in files:
                    files[sc.jobs] = write_jobs(work / f"jobs-{sc.jobs}.jsonl", sc.jobs)
                with sim_process("--latency", str(latency), *sc.sim_args) as url:
                    for i, code in enumerate(order):
                        name = f"r{r}-{sc.name.replace('%', '').replace(' ', '-')}-{i}"
                        row = _run(code, url, files[sc.jobs], work, name, concurrency)
                        if sc.name == "baseline":
                            baseline[code] = row["jobs_per_s"]
                        row["vs_baseline"] = round(row["jobs_per_s"] / baseline[code], 3)
                        if sc.capacity is not None:
                            capacity = sc.capacity / latency
                            row["vs_capacity"] = round(row["jobs_per_s"] / capacity, 3)
                        head = {"round": r, "scenario": sc.name, "code": str(code)}
                        rows.append({**head, "jobs": sc.jobs, **row})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=8000)
    parser.add_argument("--overload-jobs", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.05, help="the simulator's --latency")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--overload-at",
        type=int,
        nargs="+",
        default=[16, 32],
        help="the simulator's --overload-concurrency, one run each",
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--halvings", type=int, metavar="N", help="count false alarms over N answers instead"
    )
    add_code_option(parser)
    args = parser.parse_args()
    print(json.dumps({"machine": machine()}), flush=True)
    if args.halvings:
        for code in args.code or [ROOT]:
            for share in (0.01, 0.02, 0.05):
                n = halvings(code.resolve(), share, args.halvings, concurrency=args.concurrency)
                row = {"code": str(code), "503_share": share, "answers": args.halvings}
                print(json.dumps({**row, "halvings": n}), flush=True)
        return
    for row in measure(
        args.code,
        jobs=args.jobs,
        overload_jobs=args.overload_jobs,
        latency=args.latency,
        concurrency=args.concurrency,
        overload_at=tuple(args.overload_at),
        rounds=args.rounds,
    ):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
