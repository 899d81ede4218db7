"""Systematic failure: what a run costs when every request of a model, or every connection,
must fail (issue 12, item 3: the circuit breakers of ``runner/_breaker.py``).

``python bench/refusals.py --code /tmp/before-breakers --code .`` runs four cases with
``fanout run`` (default options: concurrency 64, 6 attempts) from each checkout in turn,
against one ``fanout sim`` process (its own, zero latency) that refuses two models as
Together does:

- ``unknown``: a file of ``--jobs`` jobs for a mistyped model name (``fanout sim
  --unknown-model``: 404 ``model_not_available``, as Together answers a name it does not
  serve);
- ``mixed``: the same number of jobs, every other line the mistyped model and the others a
  model served (whose jobs must all succeed);
- ``dedicated``: a model Together serves only on a dedicated endpoint (``--dedicated-model``:
  400 ``model_not_available``);
- ``closed port``: ``--base-url`` on a loopback port nothing listens on. No server counts
  these requests: the figure is the count fanout prints at its end ("This session: N
  requests"); beside it, ``refused_connections`` is the growth of the kernel's ``Tcp
  AttemptFails`` counter (``/proc/net/snmp``), a cross-check that is machine-wide (another
  process's refused connections count too).

Per case: requests the simulator received (its ``/sim/stats``), wall time from starting
``fanout run`` to its exit (Python start-up and the import of the file included), the exit
code, and the jobs' states in the state file per model. A run still going after ``--cap``
seconds gets SIGINT, fanout's own stop (before the breakers a closed port took minutes);
its row says so (``stopped_at_cap``) and extrapolates: at the rate its jobs failed once
they began to fail, how long all would have taken (``extrapolated_s``; at 300 jobs, 20 s
of a run that took 46 s said 41 s).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import MODEL, ROOT, add_code_option, checkout_env, machine, sim_process

TYPO = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbx"  # MODEL with its last letter mistyped
DEDICATED = "deepseek-ai/DeepSeek-R1"  # config/models.toml: serverless = false
SIM_ARGS = ["--latency", "0", "--unknown-model", TYPO, "--dedicated-model", DEDICATED]
CASES = ("unknown", "mixed", "dedicated", "closed port")
SAID = ("This session:", "The server refused")  # the lines of fanout's summary to keep


def _write_jobs(path: Path, n: int, models: tuple[str, ...]) -> Path:
    """``n`` short chat jobs, each naming its model: ``models`` in turn, line by line."""
    with path.open("w") as f:
        for i in range(n):
            line = {
                "custom_id": f"r-{i}",
                "model": models[i % len(models)],
                "messages": [{"role": "user", "content": f"Refusal question {i}?"}],
                "max_tokens": 16,
            }
            f.write(json.dumps(line) + "\n")
    return path


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed, so no one else holds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _refused_connections() -> int:
    """The kernel's count of TCP connection attempts that failed (machine-wide)."""
    with open("/proc/net/snmp") as f:
        header, values = (line.split() for line in f if line.startswith("Tcp:"))
    return int(values[header.index("AttemptFails")])


def _states(db: Path) -> tuple[dict[str, dict[str, int]], list[float]]:
    """Per model, jobs by status; and the finish times (epoch) of the failed ones, sorted."""
    if not db.exists():
        return {}, []
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT model, status, count(*) FROM jobs GROUP BY model, status")
        states: dict[str, dict[str, int]] = {}
        for model, status, count in rows:
            states.setdefault(model, {})[status] = count
        failed = conn.execute(
            "SELECT finished_at FROM jobs WHERE status = 'failed' AND finished_at IS NOT NULL "
            "ORDER BY finished_at"
        ).fetchall()
    return states, [float(r[0]) for r in failed]


def _one(
    code: Path, case: str, jobs: Path, n: int, url: str, work: Path, cap: float
) -> dict[str, Any]:
    name = f"{code.name}-{case.replace(' ', '-')}"
    db = work / f"{name}.db"
    argv = [
        *(sys.executable, "-m", "fanout", "run", str(jobs)),
        *("--base-url", url, "--db", str(db), "--out", str(work / f"{name}.out.jsonl")),
        "--no-progress",
    ]
    env = checkout_env(code)  # and cwd=code
    closed = case == "closed port"
    http = httpx.Client()
    if not closed:
        http.post(f"{url}/sim/reset-stats")
    refused_before = _refused_connections()
    started = time.time()
    proc = subprocess.Popen(
        argv, cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        _, stderr = proc.communicate(timeout=cap)
        capped = False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # fanout's own stop: it saves state and says its count
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
        capped = True
    seconds = time.time() - started
    refused = _refused_connections() - refused_before
    said = re.search(r"^This session: ([\d,]+) requests", stderr, re.MULTILINE)
    if closed:  # what fanout says it sent; else what the kernel saw refused
        requests = int(said.group(1).replace(",", "")) if said else refused
        answers: dict[str, int] = {}
    else:
        stats = http.get(f"{url}/sim/stats").json()
        requests, answers = stats["requests"], stats["by_status"]
    http.close()
    states, failed_at = _states(db)
    totals = {s: sum(m.get(s, 0) for m in states.values()) for s in ("succeeded", "failed")}
    row: dict[str, Any] = {
        "code": str(code),
        "case": case,
        "jobs": n,
        "requests": requests,
        "answers": answers,
        **({"refused_connections": refused} if closed else {}),
        "seconds": round(seconds, 2),
        "exit": None if capped else proc.returncode,
        "stopped_at_cap": capped,
        **totals,
        "pending": n - sum(totals.values()),
        "by_model": states,
        "said": [ln for ln in stderr.splitlines() if ln.startswith(SAID)],
    }
    if capped and len(failed_at) >= 2:
        # Jobs fail at a steady rate once the first one has used its attempts up.
        rate = (len(failed_at) - 1) / (failed_at[-1] - failed_at[0])
        row["extrapolated_s"] = round(failed_at[0] - started + (n - 1) / rate)
    return row


def measure(
    jobs: int = 3000, *, code: Path = ROOT, cap: float = 60.0, cases: tuple[str, ...] = CASES
) -> list[dict[str, Any]]:
    """One row per case (`CASES`) for ``fanout run`` from checkout ``code``; see the module
    docstring for the figures. Each case's file has ``jobs`` jobs (3,000 by default, the
    issue's figure); a run past ``cap`` seconds is stopped and extrapolated.

    With the breakers (this checkout) the four default cases take about 15 s in all on 2
    cores (the closed port about 6 s, each refused model 1-2 s); before them (commit d42bc28)
    the closed port alone runs to ``cap``.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sim_process(*SIM_ARGS) as url:
        work = Path(tmp)
        files = {
            "unknown": _write_jobs(work / "unknown.jsonl", jobs, (TYPO,)),
            "mixed": _write_jobs(work / "mixed.jsonl", jobs, (MODEL, TYPO)),
            "dedicated": _write_jobs(work / "dedicated.jsonl", jobs, (DEDICATED,)),
            "closed port": _write_jobs(work / "closed.jsonl", jobs, (MODEL,)),
        }
        for case in cases:
            target = f"http://127.0.0.1:{_closed_port()}/v1" if case == "closed port" else url
            rows.append(_one(code.resolve(), case, files[case], jobs, target, work, cap))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--cap", type=float, default=60.0, help="seconds before a run is stopped")
    parser.add_argument("--case", choices=CASES, action="append", help="repeatable; default all")
    add_code_option(parser)
    args = parser.parse_args()
    print(json.dumps({"machine": machine()}), flush=True)
    for code in args.code or [ROOT]:
        for row in measure(args.jobs, code=code, cap=args.cap, cases=tuple(args.case or CASES)):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
