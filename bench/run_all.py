"""``make bench``: run the benchmark suite and rewrite its block in ``bench/RESULTS.md``.

Only the text between the ``bench:start`` and ``bench:end`` markers is replaced; the notes
around it (profiles, changes and their measured effect) are kept by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import limiter_fidelity
import memory
import overhead
import scoring
from _common import machine

RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def main() -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [START, "", f"Last `make bench`: {now}; machine: {machine()}.", ""]

    lines += [
        "### Overhead ceiling (`python bench/overhead.py --jobs 5000 --concurrency 64 512`)",
        "",
        "Zero simulated latency, no faults, no limits; the bare loop is the same transport",
        "with no state, limiter or retries, against the same simulator process, in the same run.",
        "",
        "| concurrency | bare loop jobs/s | fanout jobs/s (send window) | ratio "
        "| fanout jobs/s (whole process) | fanout peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for conc in (64, 512):
        r = overhead.measure(5000, conc)
        print(json.dumps(r), file=sys.stderr)
        lines.append(
            f"| {conc} | {r['bare_jobs_per_s']} | {r['fanout_jobs_per_s']} | {r['ratio']} "
            f"| {r['fanout_wall_jobs_per_s']} | {r['fanout_peak_rss_mb']} |"
        )

    lines += [
        "",
        "### Memory (`python bench/memory.py --jobs 10000 100000`)",
        "",
        "| jobs | peak RSS MB | wall s | send jobs/s | state bytes/job |",
        "|---|---|---|---|---|",
    ]
    for n in (10_000, 100_000):
        r = memory.measure(n)
        print(json.dumps(r), file=sys.stderr)
        lines.append(
            f"| {n:,} | {r['peak_rss_mb']} | {r['wall_s']} | {r['send_jobs_per_s']} "
            f"| {r['state_bytes_per_job']} |"
        )
    lines += [
        "",
        "### Limiter fidelity (`python bench/limiter_fidelity.py --jobs 2000`)",
        "",
        "Simulator at tier 2 (1,800 requests/min = 30/s, 250k tokens/min), burst 2 s, "
        "latency 0.1-0.3 s; `--concurrency 64`.",
        "",
        "| fanout told | jobs | wall s | achieved / limit | steady / limit | 429s / requests "
        "| converged after s |",
        "|---|---|---|---|---|---|---|",
    ]
    dynamic = None
    for r in limiter_fidelity.measure(2000):
        print(json.dumps(r), file=sys.stderr)
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
        ]
    r = scoring.measure(100_000)
    print(json.dumps(r), file=sys.stderr)
    lines += [
        "",
        "### Scoring (`python bench/scoring.py --items 100000`)",
        "",
        f"`fanout score` on 100,000 results: {r['process_s']} s as a process "
        f"({r['process_items_per_s']:,} items/s, peak RSS {r['peak_rss_mb']} MB); "
        f"the scoring loop alone {r['loop_s']} s ({r['loop_items_per_s']:,} items/s).",
    ]
    lines += ["", END]

    text = RESULTS.read_text() if RESULTS.exists() else f"# Benchmark results\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    RESULTS.write_text(head + "\n".join(lines) + tail)
    print(f"rewrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
