"""The ``fanout`` command line (click).

Exit codes (DESIGN.md): 0 every job succeeded; 1 some jobs failed for good, or the run was
refused by the server as a whole; 2 usage or input error (nothing sent); 130 interrupted
(state saved, the same command resumes).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ._catalog import Catalog
from ._client import DEFAULT_BASE_URL, TRANSPORTS
from ._exceptions import FanoutError, UsageError
from ._lock import StateLock
from ._run import (
    LOOP_ENV,
    LOOPS,
    RunOptions,
    RunReport,
    backend_options,
    export_results,
    prepare_run,
    run_jobs,
)
from ._schema import RunRow
from ._store import Store

__all__ = ["main"]

EXIT_INTERRUPTED = 130
DEFAULT_DB = "fanout.db"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fanout")
def main() -> None:
    """Run large JSONL batches of chat/completion requests at the rate limit, resumably."""


@contextmanager
def _fanout_errors() -> Iterator[None]:
    """Print a fanout error as one message a user can act on, and exit with its code."""
    try:
        yield
    except FanoutError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)


def _resolve_target(sim: bool, base_url: str | None) -> tuple[str, str | None]:
    """(base URL or "sim", api key). The key comes from the environment only."""
    key = os.environ.get("TOGETHER_API_KEY") or None
    if sim:
        if base_url:
            raise UsageError("--sim and --base-url are two different targets; give one")
        return "sim", None
    base_url = base_url or os.environ.get("TOGETHER_BASE_URL") or None
    if base_url:
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"--base-url must be an http(s) URL, got {base_url!r}")
        return base_url.rstrip("/"), key
    if key is None:
        raise UsageError(
            "no API key: set TOGETHER_API_KEY to run against Together, or pass --sim to run "
            "against the built-in simulator (or --base-url URL for another OpenAI-compatible "
            "server). Nothing was sent."
        )
    return DEFAULT_BASE_URL, key


@main.command()
@click.argument("jobs_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", help="Model for lines that do not name one.")
@click.option("--base-url", help=f"OpenAI-compatible base URL (default {DEFAULT_BASE_URL}).")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
    help="State file (SQLite).",
)
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
    default="0.05-0.3",
    show_default=True,
    help="Simulator reply latency in seconds: '0.2' or 'LOW-HIGH'.",
)
@click.option(
    "--sim-fail-rate",
    default="500=0.02,503=0.01,reset=0.01",
    show_default=True,
    help="Simulator fault rates, e.g. '500=0.05,reset=0.02' ('' for none).",
)
@click.option(
    "--sim-rpm",
    type=click.FloatRange(min=0, min_open=True),
    default=1800.0,
    show_default=True,
    help="Simulator requests/min per model (tier 2), sent in rate-limit headers.",
)
@click.option(
    "--sim-tpm",
    type=click.FloatRange(min=0, min_open=True),
    default=250_000.0,
    show_default=True,
    help="Simulator tokens/min per model (tier 2).",
)
@click.option(
    "--transport",
    type=click.Choice(TRANSPORTS),
    default="aiohttp",
    show_default=True,
    help="HTTP transport behind httpx.",
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
def run(
    jobs_file: Path,
    model: str | None,
    base_url: str | None,
    db_path: Path,
    out_path: Path | None,
    tier: str | None,
    rpm: float | None,
    tpm: float | None,
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
    with _fanout_errors():
        if out_path is None:
            out_path = jobs_file.with_name(f"{jobs_file.stem}.results.jsonl")
        if dry_run:
            target = "sim" if sim else (base_url or "")
        else:
            target, api_key = _resolve_target(sim, base_url)
        opts = RunOptions(
            jobs_path=jobs_file,
            db_path=db_path,
            out_path=out_path,
            target=target,
            model=model,
            max_tokens=max_tokens,
            temperature=temperature,
            stream=stream,
            tier=tier.lower() if tier else None,
            rpm=rpm,
            tpm=tpm,
            concurrency=concurrency,
            max_attempts=max_attempts,
            timeout=timeout,
            grace=grace,
            transport=transport,
            loop=loop.lower(),
            progress=not no_progress,
            new_run=new_run,
        )
        backend_options(opts.loop)  # uvloop asked for and not installed: say so before anything
        catalog = Catalog.load()
        if opts.tier is not None:
            catalog.limits(opts.tier, "")  # an unknown tier is a usage error, before anything
        if dry_run:
            _dry_run(opts, catalog)
            return
        with StateLock(db_path), Store.open(db_path) as store:
            sim_opts = SimOptions(sim_latency, sim_fail_rate, sim_rpm, sim_tpm)
            code = _run_and_report(store, opts, catalog, api_key, sim_opts)
    sys.exit(code)


def _run_and_report(
    store: Store,
    opts: RunOptions,
    catalog: Catalog,
    api_key: str | None,
    sim: SimOptions,
) -> int:
    """Find or create the run, send what is unfinished, print the summary; the exit code."""
    run_row, resumed = prepare_run(store, opts)
    if not resumed:  # warned when the run began; a resume does not rescan a large table
        _warn_unknown_models(catalog, (row["model"] for row in store.summary(_id(run_row))))
    before = None
    if resumed:
        before = store.counts(_id(run_row))
        click.echo(
            f"Resuming run {run_row.id}: {before.succeeded} of {before.total} jobs already done.",
            err=True,
        )
    if opts.target != "sim":
        report = run_jobs(
            store,
            run_row,
            opts,
            base_url=opts.target,
            api_key=api_key,
            resumed=resumed,
            catalog=catalog,
            before=before,
        )
        return _summarize(store, report)
    from .sim import SimConfig, SimServer, parse_faults, parse_latency

    try:
        config = SimConfig(
            latency=parse_latency(sim.latency),
            faults=parse_faults(sim.fail_rate),
            slow_seconds=min(opts.timeout, 30.0),
            rpm=sim.rpm,
            tpm=sim.tpm,
        )
    except ValueError as exc:
        raise UsageError(f"simulator options: {exc}") from exc
    with SimServer(config).run_in_thread() as sim_url:
        report = run_jobs(
            store,
            run_row,
            opts,
            base_url=sim_url,
            api_key=None,
            resumed=resumed,
            catalog=catalog,
            before=before,
        )
    return _summarize(store, report)


@dataclass(frozen=True)
class SimOptions:
    """How the in-process simulator of ``--sim`` behaves."""

    latency: str
    fail_rate: str
    rpm: float | None
    tpm: float | None


def _id(run_row: RunRow) -> int:
    assert run_row.id is not None
    return run_row.id


def _summarize(store: Store, report: RunReport) -> int:
    c = report.counts
    s = report.stats
    run_id = _id(report.run)

    def echo(msg: str = "") -> None:
        click.echo(msg, err=True)

    echo(
        f"Run {run_id}: {c.total} jobs: {c.succeeded} succeeded, {c.failed} failed, "
        f"{c.pending} pending."
    )
    echo(
        f"This session: {s.requests} requests ({s.retries} retries, {s.rate_limited} rate "
        f"limited), {s.prompt_tokens:,} prompt + {s.completion_tokens:,} completion tokens."
    )
    if c.failed:
        echo("Failed jobs (first 10):")
        for line_no, cid, code, message in store.failed_jobs(run_id, 10):
            echo(f"  line {line_no} ({cid}): {code}: {message}")
    if s.aborted is not None:
        echo(f"The server refused the run: {s.aborted}")
        echo("Nothing was marked failed. Fix the cause, then resume with the same command:")
        echo(f"  {_command_line()}")
        return 1
    if report.interrupted:
        echo(f"Interrupted. State saved in {store.path}. Resume with the same command:")
        echo(f"  {_command_line()}")
        return EXIT_INTERRUPTED
    if report.exported is not None:
        echo(f"Results: {report.run.out_path} ({report.exported} lines)")
    return 0 if c.failed == 0 and c.pending == 0 else 1


def _command_line() -> str:
    argv = ["fanout", *sys.argv[1:]]
    return shlex.join(argv)


def _warn_unknown_models(catalog: Catalog, models: Iterable[str]) -> None:
    for name in sorted(set(models)):
        if not catalog.model(name).known:
            click.echo(
                f"Warning: model {name!r} is not in config/models.toml: no price (cost "
                "unknown), default rate-limit class, reasoning looked for in both places.",
                err=True,
            )


def _dry_run(opts: RunOptions, catalog: Catalog) -> None:
    with tempfile.TemporaryDirectory(prefix="fanout-dry-") as tmp:
        store = Store.open(Path(tmp) / "dry.db")
        try:
            opts.new_run = True
            run_row, _ = prepare_run(store, opts)
            summary = store.summary(_id(run_row))
        finally:
            store.close()
    total = sum(row["jobs"] for row in summary)
    click.echo(f"{opts.jobs_path}: {total} valid jobs; nothing sent.")
    tier = opts.tier or "1"
    grand: float | None = 0.0
    for row in summary:
        info = catalog.model(row["model"])
        prompt = row["est_prompt"]
        completion = row["est_tokens"] - prompt
        cost = info.cost(prompt, completion)
        grand = None if cost is None or grand is None else grand + cost
        price = "price unknown" if cost is None else f"at most ~${cost:,.2f}"
        click.echo(
            f"  {row['model']} {row['endpoint']}: {row['jobs']} jobs, ~{prompt:,} input + "
            f"up to ~{completion:,} output tokens, {price}"
        )
        limits = catalog.limits(tier, row["model"])
        rpm = min(x for x in (limits.rpm, opts.rpm) if x is not None) if limits.rpm else opts.rpm
        tpm = min(x for x in (limits.tpm, opts.tpm) if x is not None) if limits.tpm else opts.tpm
        seconds = max(
            row["jobs"] / rpm * 60 if rpm else 0.0,
            row["est_tokens"] / tpm * 60 if tpm else 0.0,
        )
        where = f"tier {tier}" + ("" if opts.tier else " (assumed; --tier to set)")
        click.echo(f"    at least {seconds:,.0f} s at the limits of {where}")
    if grand is not None:
        click.echo(f"  estimated cost: at most ~${grand:,.2f} (output at its max_tokens budget)")
    _warn_unknown_models(catalog, (row["model"] for row in summary))


@main.command()
@click.argument("run_id", required=False, type=int)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(run_id: int | None, db_path: Path, as_json: bool) -> None:
    """Show a run's progress (the latest run without RUN_ID)."""
    with _fanout_errors():
        store = _existing_store(db_path)
        try:
            run_row = _pick_run(store, run_id)
            c = store.counts(_id(run_row))
        finally:
            store.close()
    data: dict[str, Any] = {
        "run": run_row.id,
        "jobs_path": run_row.jobs_path,
        "out_path": run_row.out_path,
        "created_at": run_row.created_at,
        "updated_at": run_row.updated_at,
        "options": json.loads(run_row.options_json),
        "total": c.total,
        "succeeded": c.succeeded,
        "failed": c.failed,
        "pending": c.pending,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
    }
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(f"Run {run_row.id}: {run_row.jobs_path}")
    click.echo(f"  created {run_row.created_at}, updated {run_row.updated_at}")
    click.echo(f"  {c.total} jobs: {c.succeeded} succeeded, {c.failed} failed, {c.pending} pending")
    click.echo(f"  tokens: {c.prompt_tokens:,} prompt, {c.completion_tokens:,} completion")
    click.echo(f"  results: {run_row.out_path}")


@main.command()
@click.argument("run_id", type=int)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Result file (default: the run's own).",
)
def export(run_id: int, db_path: Path, out_path: Path | None) -> None:
    """Write a run's results (Batch output format, input order)."""
    with _fanout_errors():
        store = _existing_store(db_path)
        try:
            run_row = _pick_run(store, run_id)
            c = store.counts(run_id)
            target = out_path or Path(run_row.out_path)
            n = export_results(store, run_row, target)
        finally:
            store.close()
    click.echo(f"Wrote {n} lines to {target}.", err=True)
    if c.pending:
        click.echo(
            f"Warning: {c.pending} jobs are not finished and have no line yet; rerun the "
            "run's command to finish them.",
            err=True,
        )


def _existing_store(db_path: Path) -> Store:
    if not db_path.is_file():
        raise UsageError(f"no state file at {db_path}")
    return Store.open(db_path)


def _pick_run(store: Store, run_id: int | None) -> RunRow:
    run_row = store.latest_run() if run_id is None else store.get_run(run_id)
    if run_row is None:
        known = ", ".join(str(r.id) for r in store.runs()) or "none"
        what = "no runs" if run_id is None else f"no run {run_id}"
        raise UsageError(f"{what} in {store.path} (runs: {known})")
    return run_row


def _register_subcommands() -> None:
    from evals._cli import compare_command, eval_command, report_command, score_command

    from .sim import sim_command

    main.add_command(sim_command, name="sim")
    for command in (eval_command, score_command, compare_command, report_command):
        main.add_command(command)


_register_subcommands()
