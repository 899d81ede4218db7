"""Resume: from starting a rerun of a large run with all but 1,000 jobs done to its first
request reaching the server.

The state a long run leaves is built directly in SQL, not by running it (a million
requests take 20 minutes here) nor by the import path (a minute): the run row comes from
`Store.create_run` with the identity `prepare_run` computes for the same command, then
one ``executemany`` inserts the N job rows, all but the last 1,000 ``succeeded`` with a
realistic response body (480 bytes, as the simulator answers). The last 1,000 rows are the
real import's own (each line parsed and encoded by `jobs.parse_line`), so what is resent
is exactly what a real run would send; the bench checks the rows built from a template
against the real encoding for those lines.

Then ``fanout run`` is started with the same command against ``fanout sim``, and the bench
polls the simulator's counter every 5 ms to see the first request arrive (the figure is
from just before the process is started to that poll). What this
covers: Python start-up, hashing the job file, finding the run, counting its jobs, and the
first page of unfinished jobs. The rerun then sends the 1,000 and exports all N results.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import (
    MODEL,
    REPLY,
    ROOT,
    FirstRequest,
    fanout_run,
    run_child,
    sim_process,
    write_jobs,
)

sys.path.insert(0, str(ROOT))

from jobs import Defaults, encode_body, file_sha256, parse_line, request_hash  # noqa: E402
from runner import Store  # noqa: E402
from runner._run import RunOptions, _identity  # noqa: E402
from runner._store import estimate_parts, estimate_tokens  # noqa: E402

ENDPOINT = "/v1/chat/completions"
_INSERT = (
    "INSERT INTO jobs (run_id, line_no, custom_id, endpoint, model, request_hash, body, "
    "est_tokens, est_prompt, max_completion, status, attempts, response_status, "
    "response_body, request_id, prompt_tokens, completion_tokens, total_tokens, latency_ms, "
    "started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?)"
)


def _job_row(run_id: int, i: int, prefix: str, suffix: str) -> tuple[Any, ...]:
    """Line ``i + 1`` of `write_jobs`'s file as the import stores it (from a template)."""
    content = f"Benchmark question {i}?"
    body = f"{prefix}{i}{suffix}"
    est_prompt = (len(content) + 16) // 4 + 1  # `estimate_parts` for one short message
    return (
        run_id,
        i + 1,
        f"b-{i}",
        ENDPOINT,
        MODEL,
        request_hash(ENDPOINT, body),
        body,
        est_prompt + 16,
        est_prompt,
        16,
    )


def build_state(db: Path, path: Path, out: Path, url: str, jobs: int, left: int) -> None:
    """The state of a run of ``path`` by the bench's command with ``left`` jobs unfinished."""
    opts = RunOptions(jobs_path=path, db_path=db, out_path=out, target=url, model=MODEL)
    options_json = json.dumps(opts.identity_options(), sort_keys=True)
    sha = file_sha256(path)
    with Store.open(db) as store:
        run = store.create_run(
            jobs_path=str(path.resolve()),
            jobs_sha256=sha,
            options_json=options_json,
            identity=_identity(sha, options_json),
            out_path=str(out.resolve()),
            jobs=[],
        )
    assert run.id is not None
    run_id = run.id
    defaults = Defaults(model=MODEL)
    first = parse_line(str(path), 1, path.open().readline(), defaults)
    prefix, _, suffix = encode_body(first.body).partition("Benchmark question 0?")
    prefix += "Benchmark question "
    suffix = "?" + suffix

    def rows() -> Iterator[tuple[Any, ...]]:
        done = jobs - left
        for i in range(done):
            yield (
                *_job_row(run_id, i, prefix, suffix),
                "succeeded",
                1,
                200,
                REPLY,
                "sim-248565c1-9c41",
                9,
                16,
                25,
                12.5,
                1_795_604_466.0 + i / 1000,
                1_795_604_466.0 + i / 1000 + 0.0125,
            )
        with path.open() as fh:
            for no, text in enumerate(fh, start=1):
                if no <= done:
                    continue
                job = parse_line(str(path), no, text, defaults)  # the real import's row
                body = encode_body(job.body)
                est_prompt, max_completion = estimate_parts(job)
                real = (
                    run_id,
                    no,
                    job.custom_id,
                    job.endpoint,
                    job.model,
                    request_hash(job.endpoint, body),
                    body,
                    estimate_tokens(job),
                    est_prompt,
                    max_completion,
                )
                assert real == _job_row(run_id, no - 1, prefix, suffix), (real, no)
                yield (*real, "pending", 0, *([None] * 9))

    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(_INSERT, rows())
        conn.execute("UPDATE runs SET n_jobs = ? WHERE id = ?", (jobs, run_id))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def measure(
    jobs: int = 1_000_000, left: int = 1000, jobs_path: Path | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name, sim_process("--latency", "0") as url:
        tmp = Path(tmp_name)
        path = jobs_path or write_jobs(tmp / "jobs.jsonl", jobs)
        db, out = tmp / "state.db", tmp / "state.out.jsonl"  # as `fanout_run` names them
        t0 = time.perf_counter()
        build_state(db, path, out, url, jobs, left)
        build_s = time.perf_counter() - t0
        watch = FirstRequest(url, poll=0.005)
        child = run_child(fanout_run(path, url, tmp), interval=0.005, stop_after=watch)
        if child.returncode != 0 or watch.at is None:
            raise RuntimeError(f"rerun failed ({child.returncode}): {child.stderr[-2000:]}")
        with sqlite3.connect(db) as conn:
            pending = conn.execute(
                "SELECT count(*) FROM jobs WHERE status != 'succeeded'"
            ).fetchone()
        exported = sum(1 for _ in out.open())
    assert pending[0] == 0 and exported == jobs, (pending, exported)
    return {
        "jobs": jobs,
        "left": left,
        "build_s": round(build_s, 1),
        "first_request_s": round(watch.at - child.started_at, 2),
        "rerun_total_s": round(child.seconds, 1),
        "rerun_peak_rss_mb": round(child.max_rss_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    print(json.dumps(measure(parser.parse_args().jobs)))


if __name__ == "__main__":
    main()
