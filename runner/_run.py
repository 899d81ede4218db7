"""One `fanout run`: find or create the run, send what is unfinished, export the results.

Run identity and resume. A run is identified by the sha256 of the job file's bytes plus the
options that shape what is sent (model, max_tokens, temperature and the target: the
simulator or a base URL; never the key). Rerunning the same command finds the run by that
identity and sends only jobs not yet succeeded (failed ones get a fresh set of attempts).
If the same job file was run before with other content or options, the run is refused with
what changed; ``--new-run`` starts over.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from jobs import Defaults, JobFile, file_sha256

from ._budget import Budget
from ._catalog import Catalog, Limits
from ._client import ApiClient
from ._engine import Engine, EngineSettings, RunStats
from ._exceptions import RunMismatch, StateError, UsageError, first_fanout_error
from ._limiter import AdaptiveLimiter, Limiter
from ._progress import Progress
from ._schema import RunRow
from ._store import RunCounts, Store

__all__ = [
    "LOOP_ENV",
    "LOOPS",
    "RunOptions",
    "RunReport",
    "arun_jobs",
    "backend_options",
    "export_results",
    "prepare_run",
    "run_jobs",
]

LOOPS = ("auto", "uvloop", "asyncio")
LOOP_ENV = "FANOUT_LOOP"


@dataclass
class RunOptions:
    jobs_path: Path
    db_path: Path
    out_path: Path
    target: str  # "sim" or the base URL: part of the run's identity
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = False  # --stream: lines that do not say get "stream": true
    tier: str | None = None  # not part of the identity: limits may change between tries
    rpm: float | None = None
    tpm: float | None = None
    max_cost: float | None = None  # USD; not part of the identity: a rerun may raise it
    concurrency: int = 64
    max_attempts: int = 6
    timeout: float = 600.0
    grace: float = 10.0
    transport: str = "aiohttp"
    loop: str | None = None  # auto / uvloop / asyncio; None: $FANOUT_LOOP, else auto
    progress: bool = True
    new_run: bool = False

    def defaults(self) -> Defaults:
        return Defaults(
            model=self.model,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stream=self.stream or None,
        )

    def identity_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "target": self.target,
        }
        if self.stream:  # only when set, so runs made before --stream keep their identity
            options["stream"] = True
        return options


@dataclass
class RunReport:
    run: RunRow
    resumed: bool
    counts: RunCounts
    stats: RunStats
    interrupted: bool
    exported: int | None  # result lines written, or None if not exported


def _identity(sha256: str, options_json: str) -> str:
    import hashlib

    return hashlib.sha256(f"{sha256}\n{options_json}".encode()).hexdigest()


def prepare_run(store: Store, opts: RunOptions) -> tuple[RunRow, bool]:
    """Find the run this command resumes, or validate and import the file as a new run.

    Returns ``(run, resumed)``. Raises `JobFileInvalid` or `RunMismatch` (nothing sent).
    """
    path = opts.jobs_path.resolve()
    if not path.is_file():
        raise UsageError(f"job file not found: {opts.jobs_path}")
    options_json = json.dumps(opts.identity_options(), sort_keys=True)
    sha = file_sha256(path)
    identity = _identity(sha, options_json)
    if not opts.new_run:
        found = store.find_run(identity)
        if found is not None:
            return found, True
        previous = store.latest_run_for(str(path))
        if previous is not None:
            raise RunMismatch(_mismatch(previous, sha, options_json, store.path))
    jobfile = JobFile(path, opts.defaults())
    run = store.create_run(
        jobs_path=str(path),
        jobs_sha256=sha,
        options_json=options_json,
        identity=identity,
        out_path=str(opts.out_path.resolve()),
        jobs=jobfile,
    )
    if jobfile.sha256 != sha:
        raise UsageError(f"{opts.jobs_path} changed while it was being read; run again")
    return run, False


def _mismatch(previous: RunRow, sha: str, options_json: str, db: str) -> str:
    changes = []
    if previous.jobs_sha256 != sha:
        changes.append("the job file's content changed")
    before = json.loads(previous.options_json)
    now = json.loads(options_json)
    for key in sorted(set(before) | set(now)):
        if before.get(key) != now.get(key):
            changes.append(f"{key}: {before.get(key)!r} -> {now.get(key)!r}")
    return (
        f"{previous.jobs_path} was already run as run {previous.id} in {db}, and since then "
        + "; ".join(changes)
        + ". Rerun with the same file and options to resume it, or pass --new-run to start "
        "a new run."
    )


def make_limiter(opts: RunOptions, catalog: Catalog) -> Limiter:
    """The adaptive limiter, starting from ``--tier``, ``--rpm``/``--tpm``, or a guess.

    Told nothing, against Together it starts at tier 1 as a guess that the first response
    replaces (with its headers) or lifts (a server that sends none). Against another server
    (vLLM, llama.cpp, OpenAI) told nothing, it starts unlimited and adopts limits only if the
    server's headers state them: a guess there would only slow the first seconds down.
    """
    caps = Limits(opts.rpm, opts.tpm)
    tier = opts.tier
    together = "together" in opts.target or opts.target == "sim"
    if tier is None and opts.rpm is None and opts.tpm is None and together:
        return AdaptiveLimiter(
            start=lambda model: catalog.limits("1", model),
            caps=caps,
            max_concurrency=opts.concurrency,
            provisional=True,
        )
    return AdaptiveLimiter(
        start=(lambda model: catalog.limits(tier, model)) if tier is not None else None,
        caps=caps,
        max_concurrency=opts.concurrency,
    )


def run_jobs(
    store: Store,
    run: RunRow,
    opts: RunOptions,
    *,
    base_url: str,
    api_key: str | None,
    resumed: bool,
    transport: httpx.AsyncBaseTransport | None = None,
    catalog: Catalog | None = None,
    before: RunCounts | None = None,
) -> RunReport:
    """`arun_jobs` on a new event loop (``opts.loop``), with Ctrl-C and SIGTERM handled.

    For blocking callers (the CLI); inside a running loop, await `arun_jobs` instead.
    """

    async def main() -> RunReport:
        return await arun_jobs(
            store,
            run,
            opts,
            base_url=base_url,
            api_key=api_key,
            resumed=resumed,
            transport=transport,
            catalog=catalog,
            before=before,
            handle_signals=True,
        )

    return anyio.run(main, backend="asyncio", backend_options=backend_options(opts.loop))


async def arun_jobs(
    store: Store,
    run: RunRow,
    opts: RunOptions,
    *,
    base_url: str,
    api_key: str | None,
    resumed: bool,
    transport: httpx.AsyncBaseTransport | None = None,
    catalog: Catalog | None = None,
    before: RunCounts | None = None,
    handle_signals: bool = False,
) -> RunReport:
    """Send every unfinished job of ``run``; export the results if the run settled.

    Runs in the caller's event loop. ``handle_signals`` turns the first Ctrl-C / SIGTERM
    into a graceful stop (main thread only); without it, cancelling the caller's task stops
    the run the same way: finished results are committed, the run stays resumable.
    ``before`` is the run's counts if the caller has just taken them: counting a
    million-job run takes 0.4 s, and the first request waits for it.
    """
    assert run.id is not None
    run_id = run.id
    if before is None:
        before = store.counts(run_id) if resumed else _fresh_counts(run)
    settings = EngineSettings(
        concurrency=opts.concurrency, max_attempts=opts.max_attempts, grace=opts.grace
    )
    client = ApiClient(
        base_url,
        api_key,
        concurrency=opts.concurrency,
        timeout=opts.timeout,
        transport=transport if transport is not None else opts.transport,
    )
    catalog = catalog or Catalog.load()
    limiter = make_limiter(opts, catalog)

    def earlier_usage() -> dict[str, tuple[int, int]]:
        return store.usage_by_model(run_id) if resumed else {}

    engine = Engine(store, run_id, client, limiter, settings)
    cost = _live_cost(catalog, engine.stats, earlier_usage)
    if opts.max_cost is not None:
        engine.budget = Budget(opts.max_cost, catalog, cost)

    progress = Progress(
        total=before.total,
        done=before.succeeded,
        stats=engine.stats,
        limiter=limiter,
        enabled=opts.progress,
        cost=cost,
    )
    engine.on_commit = progress.on_commit
    try:
        async with client, anyio.create_task_group() as tg:
            if handle_signals:
                tg.start_soon(_watch_signals, engine)
            await engine.run()
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        error = first_fanout_error(group)
        if error is None:
            raise
        raise error from None
    finally:
        progress.close()
    stats, interrupted = engine.stats, engine.interrupted
    store.touch_run(run_id)
    counts = store.counts(run_id)
    exported = None
    if not interrupted and stats.aborted is None and counts.pending == 0:
        exported = export_results(store, run, Path(run.out_path))
    return RunReport(run, resumed, counts, stats, interrupted, exported)


def _live_cost(
    catalog: Catalog, stats: RunStats, earlier: Callable[[], dict[str, tuple[int, int]]]
) -> Callable[[], float | None]:
    """The run's cost so far (USD): earlier sessions' usage plus this one's, at the catalog's
    prices; None while a model used has no price.

    ``earlier`` is read on the first call, not before the run starts: on a resumed
    1M-job run it is a 0.5 s scan, which would delay the first request (bench: resume).
    Without ``--max-cost`` that call is the bar's first commit; with it, the first job's
    admission (the budget needs it before anything is sent).
    """
    cache: list[dict[str, tuple[int, int]]] = []

    def cost() -> float | None:
        if not cache:
            cache.append(earlier())
        before = cache[0]
        total = 0.0
        for model in before.keys() | stats.tokens_by_model.keys():
            prompt, completion = before.get(model, (0, 0))
            now = stats.tokens_by_model.get(model, (0, 0))
            value = catalog.model(model).cost(prompt + now[0], completion + now[1])
            if value is None:
                return None
            total += value
        return total

    return cost


def backend_options(loop: str | None) -> dict[str, Any]:
    """anyio's asyncio backend options for an event loop choice (`LOOPS`).

    ``None`` reads ``$FANOUT_LOOP``, else ``auto``: uvloop when it is installed
    (``pip install 'fanout[fast]'``), the standard asyncio loop otherwise. Asking for
    ``uvloop`` when it is not installed is a usage error, not a silent fallback.
    """
    choice = (loop or os.environ.get(LOOP_ENV) or "auto").lower()
    if choice not in LOOPS:
        raise UsageError(f"unknown event loop {choice!r} (choose from {', '.join(LOOPS)})")
    if choice == "asyncio":
        return {"use_uvloop": False}
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if choice == "uvloop":
            raise UsageError(
                "the uvloop event loop is not installed: pip install 'fanout[fast]'"
            ) from None
        return {"use_uvloop": False}
    return {"use_uvloop": True}


def _fresh_counts(run: RunRow) -> RunCounts:
    """A run just imported: every job pending, nothing counted yet."""
    return RunCounts(
        total=run.n_jobs,
        pending=run.n_jobs,
        succeeded=0,
        failed=0,
        prompt_tokens=0,
        completion_tokens=0,
    )


async def _watch_signals(engine: Engine) -> None:
    """First Ctrl-C / SIGTERM: graceful stop. Second: stop now."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        count = 0
        async for _sig in signals:
            count += 1
            if count == 1:
                print(
                    f"\nStopping: no new requests; waiting up to {engine.settings.grace:g}s "
                    "for those in flight (Ctrl-C again to stop now)...",
                    file=sys.stderr,
                    flush=True,
                )
                engine.request_stop()
            else:
                print("\nStopping now.", file=sys.stderr, flush=True)
                engine.request_stop(hard=True)


def export_results(store: Store, run: RunRow, out_path: Path) -> int:
    """Write the run's settled jobs as Batch output lines, in input order, atomically."""
    assert run.id is not None
    out_path = Path(out_path)
    directory = out_path.resolve().parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=directory)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600, as open() would have made it
    except OSError as exc:
        raise StateError(f"cannot write results to {out_path}: {exc}") from exc
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for line in store.iter_results(run.id):
                fh.write(line.to_json())
                fh.write("\n")
                count += 1
        os.replace(tmp, out_path)
    except OSError as exc:
        raise StateError(f"cannot write results to {out_path}: {exc}") from exc
    finally:
        with _suppress_missing():
            os.unlink(tmp)
    return count


def _umask() -> int:
    """The process's umask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def _suppress_missing() -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        pass
