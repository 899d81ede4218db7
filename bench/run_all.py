"""``make bench``: run the benchmark suite and rewrite its block in ``bench/RESULTS.md``.

Only the text between the ``bench:start`` and ``bench:end`` markers is replaced; the notes
around it (profiles, changes and their measured effect) are kept by hand.

The suite is sized to finish in under 10 minutes on a 2-core machine: 5,000 jobs per
overhead figure, the 100k and 1M memory figures over the import and the first seconds of
sending (a whole 1M-job run takes about 20 minutes here), the resume state built in SQL,
and the limiter runs shortened. A benchmark that fails leaves its error in the block and
the suite goes on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import ceiling
import inflight
import kill_window
import limiter_fidelity
import memory
import mixed_models
import overhead
import overload
import refusals
import resume
import scoring
import state_writes
from _common import ROOT, machine, sim_process, write_jobs

RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
LOOPS = ("asyncio", "uvloop")


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _section(title: str, body: Callable[[], list[str]]) -> list[str]:
    """A section's lines; a failure is reported in the block, not raised."""
    _log(f"{title} ...")
    start = time.perf_counter()
    try:
        lines = body()
    except Exception as exc:  # a broken bench must not lose the others' figures
        traceback.print_exc()
        lines = [f"**Failed**: `{type(exc).__name__}: {str(exc)[-500:]}`"]
    seconds = time.perf_counter() - start
    _log(f"{title}: {seconds:.0f} s")
    return ["", f"### {title}", "", *lines, "", f"_({seconds:.0f} s)_"]


def _echo(r: object) -> None:
    print(json.dumps(r), file=sys.stderr, flush=True)


def overhead_section() -> list[str]:
    lines = [
        "`python bench/overhead.py --jobs 5000 --concurrency 64 512 --loop asyncio uvloop`.",
        "Zero simulated latency, no faults, no limits. The bare loop is the same transport",
        "(httpx over aiohttp) with no state, limiter or retries, on the same event loop,",
        "against the same simulator process, in the same run. Rates are over each one's send",
        "phase (fanout's: first request sent to last result, from its state file); CPU is the",
        "client process's own over that phase (the steadier figure on a shared machine).",
        "",
        "| concurrency | loop | bare jobs/s | fanout jobs/s | ratio | bare CPU ms/job "
        "| fanout CPU ms/job | CPU ratio (bare/fanout) | fanout whole process jobs/s "
        "| fanout peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for conc in (64, 512):
        for r in overhead.measure(5000, conc, loops=LOOPS):
            _echo(r)
            lines.append(
                f"| {conc} | {r['loop']} | {r['bare_jobs_per_s']} | {r['fanout_jobs_per_s']} "
                f"| **{r['ratio']}** | {r['bare_cpu_ms_per_job']} | {r['fanout_cpu_ms_per_job']} "
                f"| {r['cpu_ratio']} | {r['fanout_wall_jobs_per_s']} | {r['fanout_peak_rss_mb']} |"
            )
    lines += ["", "Goal: fanout at 80% of the bare loop or more."]
    return lines


def ceiling_section() -> list[str]:
    lines = [
        "`python bench/ceiling.py --jobs 8000 --concurrency 64 512 --loop asyncio uvloop`.",
        "Zero latency, no faults, no limits, against two servers in turn: `fanout sim` and",
        "`bench/foreign_server.py`, an `aiohttp.web` app nobody here wrote (one fixed",
        "chat.completion, bytes encoded once, keep-alive, uvloop). On each, one after the",
        "other on the same job file: the raw aiohttp loop (`bench/raw_loop.py`: one",
        "`ClientSession`, `session.post`, `resp.json()`; the ceiling), the bare loop (httpx",
        "over aiohttp, as in the overhead ceiling above) and `fanout run`. Rates and CPU are",
        "over each one's send phase, as above; every client's requests are checked against",
        "the server's count.",
        "",
        "| server | concurrency | loop | raw jobs/s | bare jobs/s | fanout jobs/s "
        "| fanout / raw | raw CPU ms/job | bare CPU ms/job | fanout CPU ms/job "
        "| CPU ratio (raw/fanout) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ceiling.measure(8000, (64, 512), LOOPS, echo=_echo):
        lines.append(
            f"| {r['server']} | {r['concurrency']} | {r['loop']} | {r['raw_jobs_per_s']} "
            f"| {r['bare_jobs_per_s']} | {r['fanout_jobs_per_s']} | **{r['ratio']}** "
            f"| {r['raw_cpu_ms_per_job']} | {r['bare_cpu_ms_per_job']} "
            f"| {r['fanout_cpu_ms_per_job']} | {r['cpu_ratio']} |"
        )
    lines += [
        "",
        "Goal: fanout at 0.8 of the raw aiohttp loop's jobs/s or more, against both servers.",
    ]
    return lines


def inflight_section() -> list[str]:
    lines = [
        "`python bench/inflight.py --loop asyncio uvloop`: 2,000 jobs, 2 s simulated latency,",
        "concurrency 1,000; ideal send phase 2,000 x 2 s / 1,000 = 4 s. Client-side overhead",
        "is each job's recorded latency minus the simulator's 2 s: it includes the",
        "simulator's own queueing before its timer starts (one Python process; it reports no",
        "per-request timing to subtract), so the bare loop on the same simulator is shown too.",
        "The first wave (the first 1,000 jobs to start, each opening a connection) is shown",
        "apart from the warm second wave, which is what a long run is made of.",
        "",
        "| client | loop | send phase s | / ideal | overhead p50 ms | p99 ms | max ms "
        "| first wave p50 / p99 ms | warm p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for loop in LOOPS:
        r = inflight.measure(2000, 1000, 2.0, loop=loop)
        _echo(r)
        for name, f in (("bare loop", r["bare"]), ("fanout", r)):
            lines.append(
                f"| {name} | {loop} | {f['send_window_s']} | {f['window_over_ideal']} "
                f"| {f['client_overhead_ms_p50']} | {f['client_overhead_ms_p99']} "
                f"| {f['client_overhead_ms_max']} "
                f"| {f['first_wave_client_overhead_ms_p50']} / "
                f"{f['first_wave_client_overhead_ms_p99']} "
                f"| {f['warm_client_overhead_ms_p50']} / **{f['warm_client_overhead_ms_p99']}** |"
            )
    lines += ["", "Goal: fanout's p99 client-side overhead under 20 ms."]
    return lines


def memory_section(big: Path) -> list[str]:
    lines = [
        "`python bench/memory.py`: `fanout run` at zero latency, concurrency 64, default loop;",
        "peak RSS is the process's own (`wait4`), and its resident set is sampled every",
        "0.25 s: when the first request reached the simulator (the file is imported by",
        "then) and at the last result. The 1M run is stopped with SIGINT (graceful stop)",
        "60 s after its first request, to keep the suite under 10 minutes (a whole 1M run",
        "is in the notes below).",
        "",
        "| jobs | measured over | peak RSS MB | RSS at first request MB "
        "| RSS at last result MB | jobs sent | send jobs/s | start to first request s "
        "| state bytes/job |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    runs: list[tuple[int, float | None, Path | None]] = [
        (10_000, None, None),
        (100_000, None, None),
        (1_000_000, 60.0, big),
    ]
    for n, seconds, path in runs:
        r = memory.measure(n, send_seconds=seconds, jobs_path=path)
        _echo(r)
        what = (
            "the whole run"
            if r["stopped_after_s"] is None
            else f"import + first {r['stopped_after_s']:g} s of sending, then SIGINT"
        )
        per_job = r["state_bytes_per_job"] if r["state_bytes_per_job"] is not None else "-"
        lines.append(
            f"| {n:,} | {what} | **{r['peak_rss_mb']}** | {r['rss_first_request_mb']} "
            f"| {r['rss_end_of_sending_mb']} | {r['sent']:,} | {r['send_jobs_per_s']} "
            f"| {r['start_to_first_request_s']} | {per_job} |"
        )
    lines += ["", "Goal: flat, under 200 MB at 1M jobs."]
    return lines


def resume_section(big: Path) -> list[str]:
    r = resume.measure(1_000_000, 1000, jobs_path=big)
    _echo(r)
    return [
        "`python bench/resume.py --jobs 1000000`: a 1M-job run with all but the last 1,000",
        "succeeded, **its state built directly in SQL** (`executemany` of the rows a run",
        "leaves; the 1,000 unfinished rows are the real import's, checked), then the same",
        "`fanout run` command started again.",
        "",
        "| jobs | left | state built in s | start to first request s "
        "| rerun total s (1,000 sent, 1M exported) | rerun peak RSS MB |",
        "|---|---|---|---|---|---|",
        f"| {r['jobs']:,} | {r['left']:,} | {r['build_s']} | **{r['first_request_s']}** "
        f"| {r['rerun_total_s']} | {r['rerun_peak_rss_mb']} |",
        "",
        "Goal: first request under 5 s.",
    ]


def state_section() -> list[str]:
    r = state_writes.measure(100_000)
    _echo(r)
    return [
        "`python bench/state_writes.py --jobs 100000`: `Store.record` (the writer's path) on",
        "100,000 results of a realistic size (700-byte body), in batches of 100, one",
        "transaction each; then the state file's size (WAL checkpointed) per job.",
        "",
        "| results | batch | seconds | results committed/s | state bytes/job |",
        "|---|---|---|---|---|",
        f"| {r['jobs']:,} | {r['batch']} | {r['record_s']} | **{r['results_per_s']:,}** "
        f"| {r['state_bytes_per_job']} |",
    ]


def scoring_section() -> list[str]:
    r = scoring.measure(100_000)
    _echo(r)
    return [
        "`python bench/scoring.py --items 100000`: `fanout score RESULTS --evalset SET --json`",
        "as a process, and the scoring loop alone in this process.",
        "",
        "| items | process s | process items/s | loop s | loop items/s | peak RSS MB |",
        "|---|---|---|---|---|---|",
        f"| {r['items']:,} | {r['process_s']} | **{r['process_items_per_s']:,}** "
        f"| {r['loop_s']} | {r['loop_items_per_s']:,} | {r['peak_rss_mb']} |",
        "",
        "Goal: over 20,000 items/s.",
    ]


def limiter_section() -> list[str]:
    lines = [
        "`python bench/limiter_fidelity.py --jobs 360 --dynamic-jobs 540` (shortened: the",
        "full version runs 2,400 jobs each). Simulator at tier 2 (1,800 requests/min =",
        "30/s, 250k tokens/min), burst 2 s, latency 0.1-0.3 s; `--concurrency 64`.",
        "",
        "| fanout told | jobs | wall s | achieved / limit | steady / limit | 429s / requests "
        "| converged after s |",
        "|---|---|---|---|---|---|---|",
    ]
    dynamic = None
    for r in limiter_fidelity.measure(360, 540):
        _echo(r)
        lines.append(
            f"| {r['run']} | {r['jobs']} | {r['wall_s']} | {r['achieved_fraction']} "
            f"| {r['steady_fraction']} | {r['rate_limited']} / {r['requests']} "
            f"({r['rate_limited_fraction']:.2%}) | {r['converged_after_s']} |"
        )
        dynamic = r.get("per_5s_slice_req_per_s", dynamic)
    if dynamic is not None:
        lines += [
            "",
            "Dynamic mode (limit starts at 1/s, doubles with sustained success, cap 30/s): "
            "requests/s fanout reached in each 5 s slice: "
            + ", ".join(str(x) for x in dynamic)
            + ".",
            "",
            '"Achieved" includes the simulator\'s 2 s burst at the start (60 requests), a',
            'larger share of these short runs than of the full ones; "steady" leaves the',
            "first 5 s out.",
        ]
    return lines


def mixed_section() -> list[str]:
    lines = [
        "`python bench/mixed_models.py` (own files and interleaved ways): one simulator",
        "limiting FAST to 40 requests/s and SLOW to 10/s (burst 2 s, latency 0.1-0.3 s); 600",
        "FAST and 300 SLOW jobs, two FAST lines to one SLOW; fanout told nothing (limits from",
        "the headers), concurrency 64. The baseline: the file split by model, two processes at",
        "once. Per model: its requests/s from its first request to its last result over its",
        "limit (the 2 s burst included), and after its first 5 s (steady).",
        "",
        "| way | FAST achieved / steady | SLOW achieved / steady | 429s / requests | wall s |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp, sim_process(*mixed_models.SIM_ARGS) as url:
        work = Path(tmp)
        jobs = mixed_models.write_mixed(work / "mixed.jsonl", 600, 300)
        for r in mixed_models.measure(ROOT, url, jobs, work, ("own files", "interleaved")):
            _echo(r)
            fast, slow = (r["models"][m] for m in (mixed_models.FAST, mixed_models.SLOW))
            lines.append(
                f"| {r['way']} | **{fast['achieved']}** / {fast['steady']} "
                f"| **{slow['achieved']}** / {slow['steady']} "
                f"| {r['429s']} / {r['requests']} | {r['wall_s']} |"
            )
    lines += ["", "Goal: interleaved, each model at 0.97 of its limit or more, < 1% 429s."]
    return lines


def kill_section() -> list[str]:
    lines = [
        "`python bench/kill_window.py --kills 3` at zero latency (20,000 jobs) and at 50 ms",
        "(10,000 jobs): `fanout run` (concurrency 64, no limits) SIGKILLed 0.1-1.0 s after each",
        "process's first commit, then rerun to the end. Answered twice: 200 answers the",
        "simulator sent that the killed process never committed (they add up to the",
        "simulator's own count of requests answered twice, checked).",
        "",
        "| latency | answered twice, each kill | max / bound (concurrency) "
        "| jobs/s before each kill (median) |",
        "|---|---|---|---|",
    ]
    for latency, n in (("0", 20_000), ("0.05", 10_000)):
        with tempfile.TemporaryDirectory() as tmp, sim_process("--latency", latency) as url:
            work = Path(tmp)
            jobs = write_jobs(work / "jobs.jsonl", n)
            r = kill_window.measure(ROOT, url, jobs, work, kills=3, concurrency=64, seed=1)
        _echo(r)
        each = ", ".join(str(x) for x in r["answered_twice_per_kill"])
        lines.append(
            f"| {float(latency) * 1000:g} ms | {each} | **{r['max_per_kill']}** / 64 "
            f"| {r['jobs_per_s_before_kill_median']} |"
        )
    lines += ["", "Goal: answered twice per kill at most the concurrency."]
    return lines


def refusals_section() -> list[str]:
    lines = [
        "`python bench/refusals.py`: 3,000 jobs a case against `fanout sim` with a model it",
        "does not serve (404, as Together for a mistyped name) and one that needs a dedicated",
        "endpoint (400); the closed port is a port nothing listens on (requests counted by",
        "fanout and by the kernel's refused connections). Without the breakers (commit",
        "d42bc28, notes below): every job sent and failed, 3,000 requests a refused model and",
        "374.6 s for the closed port.",
        "",
        "| case | requests | seconds | exit | succeeded / failed / pending |",
        "|---|---|---|---|---|",
    ]
    for r in refusals.measure(3000):
        _echo(r)
        lines.append(
            f"| {r['case']} | **{r['requests']}** | {r['seconds']} | {r['exit']} "
            f"| {r['succeeded']} / {r['failed']} / {r['pending']} |"
        )
    lines += ["", "Goal: a refused model costs a handful of requests; its jobs stay pending."]
    return lines


def overload_section() -> list[str]:
    lines = [
        "`python bench/overload.py`: `fanout run` at concurrency 64, 50 ms latency: 8,000",
        "jobs with no faults (the baseline) and with 1% random 503s; 3,000 jobs against a",
        "server that answers 503 above 16 and 32 requests in progress (capacity N / 50 ms).",
        "",
        "| scenario | jobs/s | / baseline | / capacity | 503s / requests | failed |",
        "|---|---|---|---|---|---|",
    ]
    for r in overload.measure():
        _echo(r)
        lines.append(
            f"| {r['scenario']} | {r['jobs_per_s']} | **{r['vs_baseline']}** "
            f"| {r.get('vs_capacity', '-')} | {r['503s']} / {r['requests']} "
            f"({r['503_share']:.1%}) | {r['failed']} |"
        )
    lines += [
        "",
        "Goal: 1% isolated 503s cost little (0.9 of the baseline or more); a real overload",
        "backs off (503s a small share of requests, no job failed).",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dry", action="store_true", help="print the block, leave RESULTS.md")
    args = parser.parse_args()
    suite_start = time.perf_counter()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [START, "", f"Last `make bench`: {now}; machine: {machine()}."]
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        _log("writing the 1M-job file ...")
        big = write_jobs(Path(tmp) / "1m.jsonl", 1_000_000)
        lines += _section("Overhead ceiling", overhead_section)
        lines += _section("Client ceiling (issue 15)", ceiling_section)
        lines += _section("Many in flight", inflight_section)
        lines += _section("Memory", lambda: memory_section(big))
        lines += _section("Resume", lambda: resume_section(big))
        lines += _section("State writes", state_section)
        lines += _section("Scoring", scoring_section)
        lines += _section("Limiter fidelity (shortened)", limiter_section)
        lines += _section("Mixed models", mixed_section)
        lines += _section("Kill window", kill_section)
        lines += _section("Systematic failure", refusals_section)
        lines += _section("503s", overload_section)
    total = time.perf_counter() - suite_start
    lines += [
        "",
        f"Whole suite: **{total / 60:.1f} minutes** ({total:.0f} s, the 1M-job file included).",
        "",
        END,
    ]
    block = "\n".join(lines)
    if args.dry:
        print(block)
        return
    text = RESULTS.read_text() if RESULTS.exists() else f"# Benchmark results\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    RESULTS.write_text(head + block + tail)
    _log(f"rewrote {RESULTS} ({total:.0f} s)")


if __name__ == "__main__":
    main()
