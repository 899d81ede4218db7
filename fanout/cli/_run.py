"""``fanout run``, ``fanout status`` and ``fanout export``: click over `fanout.run_batch`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from runner import (
    DEFAULT_BASE_URL,
    LOOP_ENV,
    LOOPS,
    TRANSPORTS,
    RunRow,
    backend_options,
)

from .._batch import Run, list_runs, open_run, run_batch, unknown_model_warning
from .._estimate import Estimate, estimate
from .._target import SIM_DEFAULTS, batch_sim_config
from ._common import db_option, fanout_errors

__all__ = ["export_command", "run_command", "runs_command", "status_command"]


@click.command("run")
@click.argument("jobs_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", help="Model for lines that do not name one.")
@click.option("--base-url", help=f"OpenAI-compatible base URL (default {DEFAULT_BASE_URL}).")
@db_option()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Result file (default: <JOBS stem>.results.jsonl beside the job file).",
)
@click.option(
    "--tier",
    help="Together build tier (free, 1-5; config/tiers.toml) to start from; the server's "
    "rate-limit headers take over from the first response.",
)
@click.option(
    "--rpm",
    type=click.FloatRange(min=0, min_open=True),
    help="Cap on requests per minute per model (never exceeded, whatever the server allows).",
)
@click.option(
    "--tpm",
    type=click.FloatRange(min=0, min_open=True),
    help="Cap on tokens per minute per model.",
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0, min_open=True),
    help="Budget in USD: stop sending before the spend (usage at config/models.toml prices, "
    "plus what is in flight) would pass it; the rest stays pending.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 10_000),
    default=64,
    show_default=True,
    help="Requests in flight at once.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 100),
    default=6,
    show_default=True,
    help="Attempts per job before it is recorded as failed.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Seconds to wait for one response.",
)
@click.option(
    "--max-tokens", type=click.IntRange(min=1), help="max_tokens for lines that do not set it."
)
@click.option(
    "--temperature", type=click.FloatRange(0, 2), help="temperature for lines that do not set it."
)
@click.option(
    "--stream",
    is_flag=True,
    help="Stream answers (SSE) for lines that do not set 'stream'; records time to first token.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--sim", is_flag=True, help="Run against the built-in simulator (no key needed).")
@click.option(
    "--sim-latency",
    default=SIM_DEFAULTS.latency,
    show_default=True,
    help="Simulator reply latency in seconds: '0.2' or 'LOW-HIGH'.",
)
@click.option(
    "--sim-fail-rate",
    default=SIM_DEFAULTS.fail_rate,
    show_default=True,
    help="Simulator fault rates, e.g. '500=0.05,reset=0.02' ('' for none).",
)
@click.option(
    "--sim-rpm",
    type=click.FloatRange(min=0, min_open=True),
    default=SIM_DEFAULTS.rpm,
    show_default=True,
    help="Simulator requests/min per model (tier 2), sent in rate-limit headers.",
)
@click.option(
    "--sim-tpm",
    type=click.FloatRange(min=0, min_open=True),
    default=SIM_DEFAULTS.tpm,
    show_default=True,
    help="Simulator tokens/min per model (tier 2).",
)
@click.option(
    "--transport",
    type=click.Choice(TRANSPORTS),
    default="aiohttp",
    show_default=True,
    help="HTTP client: aiohttp (driven directly) or httpx (its own pool).",
)
@click.option(
    "--loop",
    type=click.Choice(LOOPS, case_sensitive=False),
    envvar=LOOP_ENV,
    default="auto",
    show_default=True,
    help=f"Event loop (or ${LOOP_ENV}): auto is uvloop when installed "
    "(pip install 'fanout[fast]'), else asyncio.",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="On Ctrl-C, seconds to let in-flight requests finish.",
)
@click.option("--dry-run", is_flag=True, help="Validate and estimate; send nothing.")
@click.option("--new-run", is_flag=True, help="Start a new run even if this one can resume.")
def run_command(
    jobs_file: Path,
    model: str | None,
    base_url: str | None,
    db_path: Path,
    out_path: Path | None,
    tier: str | None,
    rpm: float | None,
    tpm: float | None,
    max_cost: float | None,
    concurrency: int,
    max_attempts: int,
    timeout: float,
    max_tokens: int | None,
    temperature: float | None,
    stream: bool,
    no_progress: bool,
    sim: bool,
    sim_latency: str,
    sim_fail_rate: str,
    sim_rpm: float,
    sim_tpm: float,
    transport: str,
    loop: str,
    grace: float,
    dry_run: bool,
    new_run: bool,
) -> None:
    """Send every job of JOBS_FILE and write the results in the Batch output format.

    Rerunning the same command resumes: jobs already succeeded are never sent again.
    """
    with fanout_errors():
        backend_options(loop)  # uvloop asked for and not installed: say so before anything
        if dry_run:
            _print_estimate(
                estimate(
                    jobs_file,
                    model=model,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=stream,
                    tier=tier,
                    rpm=rpm,
                    tpm=tpm,
                )
            )
            return
        result = run_batch(
            jobs_file,
            model=model,
            sim=batch_sim_config(sim_latency, sim_fail_rate, sim_rpm, sim_tpm, timeout=timeout)
            if sim
            else False,
            base_url=base_url,
            db=db_path,
            out=out_path,
            max_tokens=max_tokens,
            temperature=temperature,
            stream=stream,
            tier=tier,
            rpm=rpm,
            tpm=tpm,
            max_cost=max_cost,
            concurrency=concurrency,
            max_attempts=max_attempts,
            timeout=timeout,
            grace=grace,
            transport=transport,
            loop=loop.lower(),
            progress=not no_progress,
            new_run=new_run,
            notify=lambda message: click.echo(message, err=True),
        )
    sys.exit(_summarize(result))


def _summarize(run: Run) -> int:
    """Print the end-of-run summary; the exit code."""
    c = run.counts
    s = run.stats

    def echo(msg: str = "") -> None:
        click.echo(msg, err=True)

    echo(
        f"Run {run.id}: {c.total} jobs: {c.succeeded} succeeded, {c.failed} failed, "
        f"{c.pending} pending."
    )
    echo(
        f"This session: {s.requests} requests ({s.retries} retries, {s.rate_limited} rate "
        f"limited), {s.prompt_tokens:,} prompt + {s.completion_tokens:,} completion tokens."
    )
    echo(f"Run cost so far: {_cost_text(run.cost)} (config/models.toml prices, reported usage).")
    if c.failed:
        echo("Failed jobs (first 10):")
        for line_no, cid, code, message in run.failed_jobs(10):
            echo(f"  line {line_no} ({cid}): {code}: {message}")
    if run.aborted is not None and run.stats.refused and not run.interrupted:
        echo(f"The server refused some of the run's models: {run.aborted}")
        echo("Their jobs were not marked failed. Fix the cause, then resume with the same command:")
        echo(f"  {_command_line()}")
    elif run.aborted is not None:
        echo(f"The server refused the run: {run.aborted}")
        echo("Nothing was marked failed. Fix the cause, then resume with the same command:")
        echo(f"  {_command_line()}")
    elif run.over_budget is not None:
        echo(run.over_budget)
    elif run.interrupted:
        echo(f"Interrupted. State saved in {run.db_path}. Resume with the same command:")
        echo(f"  {_command_line()}")
    elif run.exported is not None:
        echo(f"Results: {run.out_path} ({run.exported} lines)")
    return run.exit_code


def _id(run_row: RunRow) -> int:
    assert run_row.id is not None
    return run_row.id


def _command_line() -> str:
    argv = ["fanout", *sys.argv[1:]]
    return shlex.join(argv)


def _print_estimate(est: Estimate) -> None:
    click.echo(f"{est.jobs_path}: {est.jobs} valid jobs; nothing sent.")
    for row in est.rows:
        price = "price unknown" if row.cost is None else f"at most ~${row.cost:,.2f}"
        click.echo(
            f"  {row.model} {row.endpoint}: {row.jobs} jobs, ~{row.input_tokens:,} input + "
            f"up to ~{row.output_tokens:,} output tokens, {price}"
        )
    if est.cost is not None:
        click.echo(f"  estimated cost: at most ~${est.cost:,.2f} (output at its max_tokens budget)")
    for m in est.models:
        rpm = "no request limit" if m.rpm is None else f"{m.rpm:,.0f} rpm ({m.rpm_source})"
        tpm = "no token limit" if m.tpm is None else f"{m.tpm:,.0f} tpm ({m.tpm_source})"
        click.echo(f"  {m.model}: at least {m.seconds:,.0f} s at {rpm}, {tpm}")
    if len(est.models) > 1:
        click.echo(f"  the batch: at least {est.seconds:,.0f} s (models go side by side)")
    for name in sorted({row.model for row in est.rows if not row.known}):
        click.echo(unknown_model_warning(name), err=True)


@click.command("status")
@click.argument("run_id", required=False, type=int)
@db_option()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status_command(run_id: int | None, db_path: Path, as_json: bool) -> None:
    """Show a run's progress and cost (the latest run without RUN_ID)."""
    with fanout_errors():
        run = open_run(db_path, run_id)
    c = run.counts
    data = _status_json(run)
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(f"Run {run.id}: {run.jobs_path}")
    click.echo(f"  created {run.created_at}, updated {run.updated_at}")
    click.echo(f"  {c.total} jobs: {c.succeeded} succeeded, {c.failed} failed, {c.pending} pending")
    cost = (
        "unknown (a model has no price in config/models.toml)"
        if run.cost is None
        else (f"${run.cost:,.4f}")
    )
    click.echo(
        f"  tokens: {c.prompt_tokens:,} prompt, {c.completion_tokens:,} completion; cost {cost}"
    )
    click.echo(f"  results: {run.out_path}")


@click.command("runs")
@db_option()
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
def runs_command(db_path: Path, as_json: bool) -> None:
    """List the runs in a state file: progress, cost and job file of each."""
    with fanout_errors():
        runs = list_runs(db_path)
    if as_json:
        for run in runs:
            click.echo(json.dumps(_status_json(run)))
        return
    if not runs:
        click.echo(f"No runs in {db_path}.")
        return
    for run in runs:
        c = run.counts
        click.echo(
            f"{run.id:>4}  {c.succeeded}/{c.total} succeeded, {c.failed} failed, "
            f"{c.pending} pending  {_cost_text(run.cost)}  {run.updated_at}  {run.jobs_path}"
        )


def _status_json(run: Run) -> dict[str, Any]:
    c = run.counts
    return {
        "run": run.id,
        "jobs_path": str(run.jobs_path),
        "out_path": str(run.out_path),
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "options": run.options,
        "total": c.total,
        "succeeded": c.succeeded,
        "failed": c.failed,
        "pending": c.pending,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "cost": run.cost,
    }


def _cost_text(cost: float | None) -> str:
    return "cost unknown" if cost is None else f"${cost:,.4f}"


@click.command("export")
@click.argument("run_id", type=int)
@db_option()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Result file (default: the run's own).",
)
def export_command(run_id: int, db_path: Path, out_path: Path | None) -> None:
    """Write a run's results (Batch output format, input order)."""
    with fanout_errors():
        run = open_run(db_path, run_id)
        target = out_path or run.out_path
        n = run.export(target)
    click.echo(f"Wrote {n} lines to {target}.", err=True)
    if run.counts.pending:
        click.echo(
            f"Warning: {run.counts.pending} jobs are not finished and have no line yet; rerun "
            "the run's command to finish them.",
            err=True,
        )
