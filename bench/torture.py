"""Kill and fault torture: SIGKILL ``fanout run`` at random moments under faults and limits.

``python bench/torture.py --jobs 5000 --kills 10`` runs a batch against ``fanout sim`` (its
own process, so it outlives every kill and counts every answer) with 5% 500/503, 2%
connection resets, 1% truncated bodies, 1% slow beyond fanout's timeout, and a per-second
rate limit; kills ``fanout run`` with SIGKILL at ``--kills`` random moments (seeded), restarts
the same command each time, and lets the last one finish. Then it checks, and reports:

- every job has exactly one output line, in input order, and every success carries the
  reply to its own request (the simulator signs each reply with its request);
- no job is lost; the state file passes ``PRAGMA integrity_check`` after every kill;
- requests the simulator answered twice (paid twice): total, and per kill against the
  window, one job per worker (see ``runner/_engine.py``, "What a SIGKILL loses"). A kill's
  cost is counted exactly: the growth, over the killed process, of (200 answers sent) -
  (jobs succeeded in the state file); the per-kill costs add up to the total (checked).

The test suite runs a smaller round of the same (``tests/runner/test_torture.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import FANOUT, sim_process  # noqa: E402

FAULTS = "500=0.025,503=0.025,reset=0.02,truncate=0.01,slow=0.01"


def write_jobs(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            if i % 2:
                line = {"custom_id": f"t-{i}", "prompt": f"Torture item {i}.", "max_tokens": 12}
            else:
                line = {
                    "custom_id": f"t-{i}",
                    "messages": [{"role": "user", "content": f"Torture question {i}?"}],
                    "max_tokens": 12,
                }
            f.write(json.dumps(line) + "\n")
    return path


def _succeeded(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT count(*) FROM jobs WHERE status = 'succeeded'").fetchone()
        return int(row[0])
    except sqlite3.OperationalError:
        return 0


def _uncommitted(url: str, db: Path) -> int:
    """200 answers sent and not committed: what the kills so far have thrown away."""
    answered = httpx.get(f"{url}/sim/stats").json()["by_status"].get("200", 0)
    return int(answered) - _succeeded(db)


def _integrity(db: Path) -> bool:
    if not db.exists():
        return True
    with sqlite3.connect(db) as conn:
        return bool(conn.execute("PRAGMA integrity_check").fetchone() == ("ok",))


def torture(
    jobs: int, kills: int, *, seed: int = 1, concurrency: int = 32, tmp: Path | None = None
) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp_name:
        work = tmp or Path(tmp_name)
        path = write_jobs(work / "jobs.jsonl", jobs)
        db, out = work / "state.db", work / "out.jsonl"
        sim_args = [
            "--latency",
            "0.01-0.05",
            "--fail-rate",
            FAULTS,
            "--slow-seconds",
            "3",
            "--rpm",
            "12000",
            "--seed",
            str(seed),
        ]
        argv = [
            *FANOUT,
            "run",
            str(path),
            "--base-url",
            "",
            "--model",
            "m",
            "--db",
            str(db),
            "--out",
            str(out),
            "--concurrency",
            str(concurrency),
            "--max-attempts",
            "20",
            "--timeout",
            "1",
            "--no-progress",
        ]
        per_kill: list[int] = []
        env = {k: v for k, v in os.environ.items() if k != "TOGETHER_API_KEY"}
        with sim_process(*sim_args) as url:
            argv[argv.index("--base-url") + 1] = url
            start = time.monotonic()
            for _ in range(kills):
                before = _uncommitted(url, db)
                proc = subprocess.Popen(
                    argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
                )
                time.sleep(rng.uniform(0.5, 3.0))
                if proc.poll() is not None:
                    raise RuntimeError(f"fanout ended before its kill: {proc.communicate()[1]}")
                proc.send_signal(signal.SIGKILL)
                proc.communicate(timeout=30)
                if not _integrity(db):
                    raise AssertionError("state file failed its integrity check after a kill")
                if out.exists():
                    raise AssertionError("a result file appeared from a killed run")
                time.sleep(0.3)  # the simulator settles the dead connections (abandoned)
                per_kill.append(_uncommitted(url, db) - before)
            final = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
            wall = time.monotonic() - start
            stats = httpx.get(f"{url}/sim/stats").json()
        if final.returncode != 0:
            raise AssertionError(
                f"the last run failed ({final.returncode}): {final.stderr[-3000:]}"
            )
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        ids = [f"t-{i}" for i in range(jobs)]
        if [ln["custom_id"] for ln in lines] != ids:
            raise AssertionError("the output is not one line per job in input order")
        from jobs import Defaults, Job, JobFile
        from togethersim import signature

        failed = 0
        for job, line in zip(
            (j for j in JobFile(path, Defaults(model="m")) if isinstance(j, Job)),
            lines,
            strict=True,
        ):
            if line["error"] is not None:
                failed += 1
                continue
            choice = line["response"]["body"]["choices"][0]
            text = choice["message"]["content"] if "message" in choice else choice["text"]
            if not text.startswith(f"sim:{signature(job.endpoint, job.body)} "):
                raise AssertionError(f"{job.custom_id} carries another request's reply")
        if stats["extra_answers"] != sum(per_kill):
            raise AssertionError(
                f"per-kill costs {per_kill} do not add up to the {stats['extra_answers']} "
                "requests answered twice"
            )
        window = concurrency
        return {
            "jobs": jobs,
            "kills": kills,
            "concurrency": concurrency,
            "wall_s": round(wall, 1),
            "failed_for_good": failed,
            "requests": stats["requests"],
            "by_status": stats["by_status"],
            "answered_twice_total": stats["extra_answers"],
            "answered_twice_per_kill": per_kill,
            "window_per_kill": window,
            "worst_kill_within_window": max(per_kill) <= window if per_kill else True,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(torture(args.jobs, args.kills, seed=args.seed)))


if __name__ == "__main__":
    main()
