"""State writes: results committed per second by the writer's path (``Store.record``), and
the state file's size per job.

Imports N short jobs into a fresh state file, then records a realistic result for each
(a ~700-byte chat.completion body, usage, latency) in batches of 100, as the writer does,
timing only the recording. Then reads the file size (WAL checkpointed) per job.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import MODEL, ROOT, write_jobs

sys.path.insert(0, str(ROOT))

from runner import Store  # noqa: E402
from runner._run import RunOptions, prepare_run  # noqa: E402
from runner._store import JobOutcome  # noqa: E402

BODY = json.dumps(
    {
        "id": "sim-0",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "word " * 60},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 60, "total_tokens": 72},
    }
)


def measure(jobs: int = 100_000, batch: int = 100) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = write_jobs(tmp / "jobs.jsonl", jobs)
        db = tmp / "state.db"
        opts = RunOptions(
            jobs_path=path, db_path=db, out_path=tmp / "o.jsonl", target="bench", model=MODEL
        )
        with Store.open(db) as store:
            run, _ = prepare_run(store, opts)
            assert run.id is not None
            ids = [j.id for j in store.unfinished_page(run.id, 0, jobs)]
            now = time.time()
            outcomes = [
                JobOutcome(
                    i,
                    "succeeded",
                    1,
                    200,
                    BODY,
                    f"req-{i}",
                    None,
                    None,
                    12,
                    60,
                    72,
                    None,
                    123.4,
                    now,
                    now,
                )
                for i in ids
            ]
            start = time.perf_counter()
            for k in range(0, len(outcomes), batch):
                store.record(outcomes[k : k + batch])
            seconds = time.perf_counter() - start
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.stat().st_size
    return {
        "jobs": jobs,
        "batch": batch,
        "record_s": round(seconds, 2),
        "results_per_s": round(jobs / seconds),
        "state_bytes_per_job": round(size / jobs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    print(json.dumps(measure(parser.parse_args().jobs)))


if __name__ == "__main__":
    main()
