"""`run_batch` / `arun_batch`: one batch from Python, resumable exactly like ``fanout run``.

A run is identified by the job file's bytes and the options that shape what is sent (model,
max_tokens, temperature, stream, the target), as on the command line: calling again with
the same jobs and options resumes, sending only what has not succeeded. Jobs given as an
iterable of dicts are written first to a file named by their content, beside the state
file (``<db stem>.inputs/<sha>.jsonl``), so the same dicts resume the same run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import togethersim
from runner import (
    Catalog,
    RunCounts,
    RunOptions,
    RunRow,
    RunStats,
    StateLock,
    Store,
    UsageError,
    arun_jobs,
    export_results,
    prepare_run,
)

from ._sync import blocking
from ._target import resolve_target, serving

__all__ = ["Run", "arun_batch", "list_runs", "open_run", "run_batch"]

Jobs = str | os.PathLike[str] | Iterable[Mapping[str, Any]]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Run:
    """What a batch did, and where its results are.

    ``counts`` cover the whole run (every session that worked on it), ``stats`` this call
    only. ``results()`` reads the settled jobs from the state file, in input order, as Batch
    output lines; ``out_path`` holds the same lines once every job has settled.
    """

    id: int
    db_path: Path
    jobs_path: Path
    out_path: Path
    resumed: bool  # an earlier call had started this run
    counts: RunCounts
    stats: RunStats = field(repr=False)
    interrupted: bool = False  # stopped early (Ctrl-C, cancelled): call again to resume
    exported: int | None = None  # lines written to out_path, None if not written
    cost: float | None = None  # USD for the whole run's reported usage; None: a price unknown
    options: dict[str, Any] = field(default_factory=dict)  # what identifies it (never the key)
    created_at: str = ""
    updated_at: str = ""

    @property
    def aborted(self) -> str | None:
        """Why the server refused the whole run (bad key, no credit), or None."""
        return self.stats.aborted

    @property
    def over_budget(self) -> str | None:
        """Why ``max_cost`` stopped the run (the rest is pending), or None."""
        return self.stats.over_budget

    @property
    def ok(self) -> bool:
        """Every job succeeded."""
        return self.counts.succeeded == self.counts.total

    @property
    def exit_code(self) -> int:
        """What ``fanout run`` exits with: 0 all succeeded, 1 failures or refused, 130 stopped."""
        if self.aborted is not None or self.over_budget is not None:
            return 1
        if self.interrupted:
            return 130
        return 0 if self.counts.failed == 0 and self.counts.pending == 0 else 1

    def results(self) -> Iterator[dict[str, Any]]:
        """The settled jobs as Batch output lines (dicts), in input order."""
        with Store.open(self.db_path) as store:
            for line in store.iter_results(self.id):
                yield json.loads(line.to_json())

    def export(self, path: str | os.PathLike[str] | None = None) -> int:
        """Write the settled jobs to ``path`` (default ``out_path``), atomically; the count."""
        with Store.open(self.db_path) as store:
            row = store.get_run(self.id)
            assert row is not None
            return export_results(store, row, Path(path) if path is not None else self.out_path)

    def failed_jobs(self, limit: int = 10) -> list[tuple[int, str, str, str]]:
        """(line, custom_id, error code, message) of the first ``limit`` failed jobs."""
        with Store.open(self.db_path) as store:
            return store.failed_jobs(self.id, limit)


def open_run(db: str | os.PathLike[str] = "fanout.db", run_id: int | None = None) -> Run:
    """A run already in the state file ``db`` (the latest without ``run_id``), as it stands.

    Its ``stats`` are empty (nothing was sent by this call). `UsageError` if there is no
    such state file or run.
    """
    db_path = Path(db)
    if not db_path.is_file():
        raise UsageError(f"no state file at {db_path}")
    with Store.open(db_path) as store:
        row = store.latest_run() if run_id is None else store.get_run(run_id)
        if row is None:
            known = ", ".join(str(r.id) for r in store.runs()) or "none"
            what = "no runs" if run_id is None else f"no run {run_id}"
            raise UsageError(f"{what} in {store.path} (runs: {known})")
        return _run_of(store, db_path, row, RunStats(), resumed=True)


def list_runs(db: str | os.PathLike[str] = "fanout.db") -> list[Run]:
    """Every run in the state file ``db``, oldest first, each as `open_run` gives it."""
    db_path = Path(db)
    if not db_path.is_file():
        raise UsageError(f"no state file at {db_path}")
    catalog = Catalog.load()
    with Store.open(db_path) as store:
        return [
            _run_of(store, db_path, row, RunStats(), resumed=True, catalog=catalog)
            for row in store.runs()
        ]


def _run_of(
    store: Store,
    db_path: Path,
    row: RunRow,
    stats: RunStats,
    *,
    resumed: bool,
    counts: RunCounts | None = None,
    interrupted: bool = False,
    exported: int | None = None,
    catalog: Catalog | None = None,
) -> Run:
    run_id = _id(row)
    return Run(
        id=run_id,
        db_path=db_path,
        jobs_path=Path(row.jobs_path),
        out_path=Path(row.out_path),
        resumed=resumed,
        counts=counts or store.counts(run_id),
        stats=stats,
        interrupted=interrupted,
        exported=exported,
        cost=run_cost(store, run_id, catalog or Catalog.load()),
        options=json.loads(row.options_json),
        created_at=str(row.created_at),
        updated_at=str(row.updated_at),
    )


async def arun_batch(
    jobs: Jobs,
    *,
    model: str | None = None,
    sim: bool | togethersim.SimConfig = False,
    base_url: str | None = None,
    api_key: str | None = None,
    db: str | os.PathLike[str] = "fanout.db",
    out: str | os.PathLike[str] | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    stream: bool = False,
    tier: str | int | None = None,
    rpm: float | None = None,
    tpm: float | None = None,
    max_cost: float | None = None,
    concurrency: int = 64,
    max_attempts: int = 6,
    timeout: float = 600.0,  # noqa: ASYNC109  (per request, as --timeout; not for the call)
    grace: float = 10.0,
    transport: str = "aiohttp",
    progress: bool = True,
    new_run: bool = False,
    notify: Callable[[str], None] = _stderr,
    loop: str | None = None,
    _handle_signals: bool = False,
) -> Run:
    """Send every job of ``jobs`` that has not succeeded yet, in the caller's event loop.

    ``jobs``: a job file's path, or an iterable of job lines (dicts, either line format).
    The target: ``sim=True`` (or a `togethersim.SimConfig`) plays Together locally;
    ``base_url`` any OpenAI-compatible server; otherwise Together with ``api_key`` or
    ``$TOGETHER_API_KEY``. ``model``, ``max_tokens``, ``temperature`` and ``stream`` fill
    what a line leaves out. ``tier``, ``rpm`` and ``tpm`` shape the limiter as on the
    command line. ``max_cost`` (USD) stops dispatching before the spend (reported usage at
    ``config/models.toml`` prices, plus what is in flight at most) would pass it; the rest
    stays pending (``over_budget`` says so) and a call with a higher budget goes on.
    ``db`` is the state file, ``out`` the result file (default: beside the
    jobs, ``<stem>.results.jsonl``). ``notify`` gets the one-line messages (resuming,
    warnings) the CLI prints.

    Raises `JobFileInvalid` (every bad line named), `RunMismatch` (the same job file was
    run with other content or options; ``new_run=True`` starts over), `UsageError`,
    `StateError`. Cancelling the task stops the run gracefully: finished results are
    kept, and calling again resumes.
    """
    target = resolve_target(sim is not False, base_url, api_key)
    db_path = Path(db)
    jobs_path = jobs_file(jobs, db_path)
    out_path = Path(out) if out is not None else _default_out(jobs_path)
    opts = RunOptions(
        jobs_path=jobs_path,
        db_path=db_path,
        out_path=out_path,
        target=target.identity,
        model=model,
        max_tokens=max_tokens,
        temperature=temperature,
        stream=stream,
        tier=str(tier).lower() if tier is not None else None,
        rpm=rpm,
        tpm=tpm,
        max_cost=max_cost,
        concurrency=concurrency,
        max_attempts=max_attempts,
        timeout=timeout,
        grace=grace,
        transport=transport,
        progress=progress,
        new_run=new_run,
    )
    catalog = Catalog.load()
    if opts.tier is not None:
        catalog.limits(opts.tier, "")  # an unknown tier is a usage error, before anything
    sim_config = sim if isinstance(sim, togethersim.SimConfig) else None
    with StateLock(db_path), Store.open(db_path) as store:
        run_row, resumed = prepare_run(store, opts)
        run_id = _id(run_row)
        before = None
        if resumed:
            before = store.counts(run_id)
            notify(
                f"Resuming run {run_id}: {before.succeeded} of {before.total} jobs already done."
            )
        else:  # warned when the run began; a resume does not rescan a large table
            for name in sorted({r["model"] for r in store.summary(run_id)}):
                if not catalog.model(name).known:
                    notify(unknown_model_warning(name))
        with serving(target, sim_config) as url:
            report = await arun_jobs(
                store,
                run_row,
                opts,
                base_url=url,
                api_key=target.api_key,
                resumed=resumed,
                catalog=catalog,
                before=before,
                handle_signals=_handle_signals,
            )
        row = store.get_run(run_id) or run_row  # updated_at moved
        return _run_of(
            store,
            db_path,
            row,
            report.stats,
            resumed=resumed,
            counts=report.counts,
            interrupted=report.interrupted,
            exported=report.exported,
            catalog=catalog,
        )


def run_cost(store: Store, run_id: int, catalog: Catalog) -> float | None:
    """USD for the usage the server reported on the run's jobs; None if a price is unknown."""
    total = 0.0
    for model, (prompt, completion) in store.usage_by_model(run_id).items():
        cost = catalog.model(model).cost(prompt, completion)
        if cost is None:
            return None
        total += cost
    return total


def unknown_model_warning(name: str) -> str:
    """The warning for a model that ``config/models.toml`` does not list."""
    return (
        f"Warning: model {name!r} is not in config/models.toml: no price (cost "
        "unknown), default rate-limit class, reasoning looked for in both places."
    )


def _id(run_row: RunRow) -> int:
    assert run_row.id is not None
    return run_row.id


def _default_out(jobs_path: Path) -> Path:
    return jobs_path.with_name(f"{jobs_path.stem}.results.jsonl")


def jobs_file(jobs: Jobs, db_path: Path) -> Path:
    """A job file's path as given; job lines written to a file named by their content."""
    if isinstance(jobs, str | os.PathLike):
        return Path(jobs)
    if isinstance(jobs, Mapping):
        raise UsageError("jobs must be a job file's path or an iterable of job lines (dicts)")
    folder = db_path.resolve().parent / f"{db_path.stem}.inputs"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=".jobs.", suffix=".jsonl", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for number, line in enumerate(jobs, 1):
                try:
                    text = json.dumps(line, ensure_ascii=False, allow_nan=False) + "\n"
                except (TypeError, ValueError) as exc:
                    raise UsageError(f"job {number} of the iterable is not JSON: {exc}") from None
                digest.update(text.encode("utf-8"))
                fh.write(text)
        path = folder / f"{digest.hexdigest()[:16]}.jsonl"
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


run_batch = blocking(
    arun_batch,
    "run_batch",
    """Send every job and write the results; blocks until the run settles or is stopped.

    `arun_batch` (see it for every option) on a new event loop (``loop``: auto, uvloop or
    asyncio), with Ctrl-C turned into a graceful stop. Inside a running event loop
    (Jupyter, an async app) it raises `UsageError`: ``await fanout.arun_batch(...)`` there.
    """,
)
