"""Resume: from starting a rerun of a large run with all but 1,000 jobs done to its first
request reaching the server.

Builds the state the way a long run leaves it: the N-job file is imported by the real
code path, then all but the last 1,000 jobs are marked succeeded in SQL (bodies of a
realistic size). Then ``fanout run`` is started with the same command against
``fanout sim``, and the bench polls the simulator's counter every 5 ms to see the first
request arrive. What this covers: Python start-up, hashing the job file, finding the run,
and the first page of unfinished jobs.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import FANOUT, MODEL, ROOT, sim_process, write_jobs

sys.path.insert(0, str(ROOT))

from runner import Store  # noqa: E402
from runner._run import RunOptions, prepare_run  # noqa: E402

BODY = json.dumps({"object": "chat.completion", "choices": [{"message": {"content": "x" * 300}}]})


def measure(jobs: int = 1_000_000, left: int = 1000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name, sim_process("--latency", "0") as url:
        tmp = Path(tmp_name)
        path = write_jobs(tmp / "jobs.jsonl", jobs)
        db, out = tmp / "state.db", tmp / "out.jsonl"
        t0 = time.perf_counter()
        opts = RunOptions(jobs_path=path, db_path=db, out_path=out, target=url, model=MODEL)
        with Store.open(db) as store:
            prepare_run(store, opts)
        import_s = time.perf_counter() - t0
        conn = sqlite3.connect(db)
        with conn:
            conn.execute(
                "UPDATE jobs SET status='succeeded', attempts=1, response_status=200, "
                "response_body=?, latency_ms=100, started_at=0, finished_at=0 WHERE id <= ?",
                (BODY, jobs - left),
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        argv = [
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
            str(out),
            "--no-progress",
        ]
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        first = None
        with httpx.Client() as client:
            while proc.poll() is None or first is None:
                if client.get(f"{url}/sim/stats").json()["requests"] > 0:
                    first = time.perf_counter() - start
                    break
                if proc.poll() is not None:
                    break
                time.sleep(0.005)
        _, stderr = proc.communicate(timeout=600)
        total = time.perf_counter() - start
        if proc.returncode != 0 or first is None:
            raise RuntimeError(f"rerun failed ({proc.returncode}): {stderr[-2000:]}")
    return {
        "jobs": jobs,
        "left": left,
        "import_s": round(import_s, 1),
        "first_request_s": round(first, 2),
        "rerun_total_s": round(total, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    print(json.dumps(measure(parser.parse_args().jobs)))


if __name__ == "__main__":
    main()
