"""Mixed models: each model of an interleaved file at its own limit (issue 12, item 1).

One ``fanout sim`` process limits two models apart (``--model-limit``): FAST at 40
requests/s, SLOW at 10/s, burst 2 s, 0.1-0.3 s latency. The job file interleaves them two
FAST lines to one SLOW line (by default 600 and 300), so SLOW, at its limit, has a backlog
from the start: its jobs wait on its bucket while FAST's could go. fanout runs it, told
nothing (the limits come from the headers), at ``--concurrency 64``, three ways:

- **own files** (the baseline): the file split by model, two ``fanout run`` processes at
  once against the same simulator: what each model gets with nothing in its way;
- **interleaved**: the file as it is, one process;
- **sorted**: the same lines sorted by model, one process (the user's workaround).

Per model, from the state file: requests/s from the model's first request sent to its last
result, as a fraction of its limit ("achieved"; the simulator's 2 s burst included), and
the same after the first 5 s ("steady"); 429s per model from the state file's attempts
(attempts - 1 summed is the retries; the simulator counts the 429s for all models).

``--code DIR`` (repeatable) runs fanout from another checkout (a git worktree) for a
before/after in the same run. At the default sizes a way takes about 30 s (SLOW's 300 jobs
at 10/s).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import ROOT, add_code_option, checkout_env, fanout_run, machine, sim_process

FAST = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
SLOW = "Qwen/Qwen3-235B-A22B-Instruct-2507-tput"
LIMITS = {FAST: 40.0, SLOW: 10.0}  # requests/s
SIM_ARGS = [
    "--latency",
    "0.1-0.3",
    "--model-limit",
    f"{FAST}={LIMITS[FAST] * 60:g}",
    "--model-limit",
    f"{SLOW}={LIMITS[SLOW] * 60:g}",
]
STEADY_AFTER = 5.0


def write_mixed(path: Path, n_fast: int, n_slow: int) -> Path:
    """FAST and SLOW lines interleaved in the ratio ``n_fast : n_slow``."""
    with path.open("w") as f:
        fi = si = 0
        while fi < n_fast or si < n_slow:
            # the model further behind its share goes next
            if si >= n_slow or (fi < n_fast and fi * n_slow <= si * n_fast):
                model, i = FAST, fi
                fi += 1
            else:
                model, i = SLOW, si
                si += 1
            line = {
                "custom_id": f"{'f' if model == FAST else 's'}-{i}",
                "model": model,
                "messages": [{"role": "user", "content": f"Mixed question {i}?"}],
                "max_tokens": 16,
            }
            f.write(json.dumps(line) + "\n")
    return path


def _model_of(line: str) -> str:
    model: str = json.loads(line)["model"]
    return model


def _only(src: Path, model: str, dest: Path) -> Path:
    """The lines of ``model``, in their order."""
    lines = [line for line in src.read_text().splitlines() if _model_of(line) == model]
    dest.write_text("".join(line + "\n" for line in lines))
    return dest


def _sorted(src: Path, dest: Path) -> Path:
    """The lines sorted by model (stable: in their order within a model)."""
    lines = sorted(src.read_text().splitlines(), key=_model_of)
    dest.write_text("".join(line + "\n" for line in lines))
    return dest


def _fanout(code: Path, jobs: Path, url: str, db: Path) -> subprocess.Popen[str]:
    env = checkout_env(code)  # and cwd=code
    # (its --model fills no line: every line names its model)
    argv = fanout_run(jobs, url, db.parent, "--concurrency", "64", name=db.stem)
    return subprocess.Popen(
        argv, cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _per_model(db: Path) -> dict[str, dict[str, float]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT model, started_at, finished_at, attempts FROM jobs WHERE status='succeeded'"
        ).fetchall()
        pending = conn.execute("SELECT count(*) FROM jobs WHERE status!='succeeded'").fetchone()
    if pending[0]:
        raise RuntimeError(f"{db.name}: {pending[0]} jobs not succeeded")
    out: dict[str, dict[str, float]] = {}
    for model in LIMITS:
        mine = [r for r in rows if r[0] == model]
        if not mine:
            continue
        t0 = min(r[1] for r in mine)
        t1 = max(r[2] for r in mine)
        late = [r for r in mine if r[2] >= t0 + STEADY_AFTER]
        limit = LIMITS[model]
        out[model] = {
            "jobs": len(mine),
            "seconds": round(t1 - t0, 2),
            "achieved": round(len(mine) / (t1 - t0) / limit, 3),
            "steady": round(len(late) / (t1 - t0 - STEADY_AFTER) / limit, 3),
            "retries": sum(r[3] - 1 for r in mine),
        }
    return out


def _stats(http: httpx.Client, url: str) -> tuple[int, int]:
    stats = http.get(f"{url}/sim/stats").json()
    return int(stats["requests"]), int(stats["by_status"].get("429", 0))


def _wait(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        _, err = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"fanout run failed ({proc.returncode}): {err[-2000:]}")


WAYS = ("own files", "interleaved", "sorted by model")


def measure(
    code: Path, url: str, jobs: Path, work: Path, ways: tuple[str, ...] = WAYS
) -> list[dict[str, Any]]:
    """The ``ways`` in turn against the simulator at ``url``; one row per way."""
    http = httpx.Client()
    tag = code.name
    rows: list[dict[str, Any]] = []
    files: list[tuple[str, list[Path]]] = [
        ("own files", [_only(jobs, m, work / f"{tag}-{i}.jsonl") for i, m in enumerate(LIMITS)]),
        ("interleaved", [jobs]),
        ("sorted by model", [_sorted(jobs, work / f"{tag}-sorted.jsonl")]),
    ]
    for way, paths in files:
        if way not in ways:
            continue
        http.post(f"{url}/sim/reset-stats")
        time.sleep(2.5)  # the simulator's buckets refill (burst 2 s) between ways
        dbs = [work / f"{tag}-{way.replace(' ', '_')}-{i}.db" for i in range(len(paths))]
        start = time.perf_counter()
        _wait([_fanout(code, f, url, db) for f, db in zip(paths, dbs, strict=True)])
        wall = time.perf_counter() - start
        requests, refused = _stats(http, url)
        models: dict[str, dict[str, float]] = {}
        for db in dbs:
            models.update(_per_model(db))
        rows.append(
            {
                "code": str(code),
                "way": way,
                "wall_s": round(wall, 1),
                "requests": requests,
                "429s": refused,
                "429_share": round(refused / requests, 4) if requests else 0.0,
                "models": models,
            }
        )
    http.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fast", type=int, default=600, help="FAST jobs")
    parser.add_argument("--slow", type=int, default=300, help="SLOW jobs")
    add_code_option(parser)
    args = parser.parse_args()
    print(json.dumps({"machine": machine()}), flush=True)
    with tempfile.TemporaryDirectory() as tmp, sim_process(*SIM_ARGS) as url:
        work = Path(tmp)
        jobs = write_mixed(work / "mixed.jsonl", args.fast, args.slow)
        for code in args.code or [ROOT]:
            for row in measure(code.resolve(), url, jobs, work):
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
