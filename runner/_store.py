"""The state store: one SQLite file (WAL) holding runs and jobs, through sqlmodel.

Why SQLite and how it is used:

- A run and all its jobs are imported in **one transaction**: the file is validated as it
  streams into the ``jobs`` table, duplicates are caught by the ``(run_id, custom_id)``
  unique index, and any bad line rolls the whole import back. Either the run exists with
  every job, or it does not exist at all; memory stays flat however long the file is.
- Results are written by **one writer** (`record`), each call one transaction, on a plain
  sqlite3 connection of its own, so a crash loses at most the results not yet committed,
  never a committed one. The engine commits whatever results are ready as soon as the
  previous commit is done (group commit, `runner._engine`), on its event loop's thread.
- WAL with ``synchronous=NORMAL``: a commit writes its pages to the WAL and does not fsync,
  so it survives the process being killed (the pages are in the OS's cache when ``commit``
  returns) but a power cut can lose the last commits (never corrupt the file). The fsyncs
  happen at checkpoints (the WAL before, the database after) and when the WAL is restarted
  after one (its header). Committing 1-20 results takes 20-150 µs here; a commit that ran
  the automatic checkpoint took 3.5-5 ms (ext4 on a virtual disk), which is why the engine
  turns automatic checkpoints off while it runs (`deferred_checkpoints`) and runs
  `checkpoint` from another thread instead.
- Hot paths use SQLAlchemy Core (``executemany``) on the sqlmodel tables: a million ORM
  objects would cost more than the HTTP work.

All methods are synchronous; the async runner calls them from a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, event, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import create_engine

from jobs import Job, LineError, ResultLine, encode_body, request_hash

from ._exceptions import JobFileInvalid, StateError
from ._schema import MIGRATIONS, JobRow, RunRow, Status

__all__ = ["JobOutcome", "PendingJob", "RunCounts", "Store", "estimate_tokens"]

_JOBS: Table = JobRow.__table__  # type: ignore[attr-defined]
_RUNS: Table = RunRow.__table__  # type: ignore[attr-defined]
IMPORT_CHUNK = 2000
_UNFINISHED = text("jobs.status != 'succeeded'")
DEFAULT_COMPLETION_ESTIMATE = 256
_INSERT_JOB = (
    "INSERT OR IGNORE INTO jobs (run_id, line_no, custom_id, endpoint, model, request_hash, "
    "body, est_tokens, est_prompt, max_completion, status, attempts) "
    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{Status.PENDING}', 0)"
)


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job to send, as its lane hands it to a worker."""

    id: int
    line_no: int
    custom_id: str
    endpoint: str
    model: str
    body: bytes
    est_tokens: int
    attempts: int  # attempts made in earlier tries of this job
    est_prompt: int | None = None  # None on rows imported before migration 0002
    max_completion: int | None = None  # max_tokens x n, when the line sets max_tokens


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """A settled job, as a worker hands it to the writer."""

    id: int
    status: str  # Status.SUCCEEDED or Status.FAILED
    attempts: int
    response_status: int | None
    response_body: str | None
    request_id: str | None
    error_code: str | None
    error_message: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    reasoning_tokens: int | None
    latency_ms: float | None
    started_at: float
    finished_at: float
    ttft_ms: float | None = None  # streamed requests only
    ttfa_ms: float | None = None


# One page of settled jobs for the export, walking the primary key from ``after``.
# NOT INDEXED: left to itself SQLite picks ix_jobs_run_status (run_id = ?) and sorts every
# row of the run by id for each page: 0.3 s a page at 1M jobs, a 5-minute export. Walking
# the rowid reads just the page (4 ms); a run's ids are contiguous, as it is imported in one
# transaction.
_RESULTS_PAGE = (
    "SELECT id, line_no, custom_id, status, response_status, request_id, response_body, "
    "error_code, error_message FROM jobs NOT INDEXED WHERE run_id = ? AND id > ? "
    f"AND status != '{Status.PENDING}' ORDER BY id LIMIT ?"
)

# Every field of a JobOutcome but its id, then the id: the parameters of `_RECORD`.
_RECORD_FIELDS = tuple(f for f in JobOutcome.__slots__ if f != "id")
_RECORD = "UPDATE jobs SET " + ", ".join(f"{f} = ?" for f in _RECORD_FIELDS) + " WHERE id = ?"
_record_params = attrgetter(*_RECORD_FIELDS, "id")


@dataclass(frozen=True, slots=True)
class RunCounts:
    total: int
    pending: int
    succeeded: int
    failed: int
    prompt_tokens: int
    completion_tokens: int

    @property
    def settled(self) -> int:
        return self.succeeded + self.failed


def estimate_tokens(job: Job, parts: tuple[int, int | None] | None = None) -> int:
    """Prompt tokens (about 4 characters each) plus the completion budget.

    ``parts`` is `estimate_parts` of the job when the caller has it already.
    """
    prompt, max_completion = parts if parts is not None else estimate_parts(job)
    if max_completion is None:
        return prompt + DEFAULT_COMPLETION_ESTIMATE * int(job.body.get("n") or 1)
    return prompt + max_completion


def estimate_parts(job: Job) -> tuple[int, int | None]:
    """(estimated prompt tokens, max_tokens x n or None when the line sets no max_tokens)."""
    body = job.body
    if "messages" in body:
        chars = 0
        for msg in body["messages"]:
            content = msg.get("content")
            if isinstance(content, str):
                chars += len(content)
            elif content is not None:
                chars += len(json.dumps(content))
            chars += 16  # role and template overhead
    else:
        chars = len(str(body.get("prompt", "")))
    max_tokens = body.get("max_tokens")
    n = int(body.get("n") or 1)
    return chars // 4 + 1, None if max_tokens is None else int(max_tokens) * n


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """One state file. Open with `Store.open(path)`; the schema is migrated on open."""

    def __init__(self, engine: Engine, path: str) -> None:
        self.engine = engine
        self.path = path
        self._writer: Any = None  # the pooled connection `record` writes on, once opened

    @classmethod
    def open(cls, path: str | Path) -> Store:
        path = str(path)
        if path != ":memory:":
            parent = Path(path).resolve().parent
            if not parent.is_dir():
                raise StateError(f"cannot open state file {path}: {parent} is not a directory")
        engine = create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _on_connect)
        store = cls(engine, path)
        with store._errors("open"):
            store._migrate()
        return store

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()  # back to the pool, which dispose() closes
            self._writer = None
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS migrations "
                "(name VARCHAR NOT NULL PRIMARY KEY, applied_at VARCHAR NOT NULL)"
            )
            done = {row[0] for row in conn.exec_driver_sql("SELECT name FROM migrations")}
            unknown = done - {name for name, _ in MIGRATIONS}
            if unknown:
                raise StateError(
                    f"state file {self.path} was written by a newer fanout "
                    f"(unknown migrations: {', '.join(sorted(unknown))})"
                )
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.exec_driver_sql(statement)
                conn.execute(
                    text("INSERT INTO migrations (name, applied_at) VALUES (:n, :t)"),
                    {"n": name, "t": _now_iso()},
                )

    def migrations(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.exec_driver_sql("SELECT name FROM migrations ORDER BY name")]

    # -- runs -------------------------------------------------------------------

    def create_run(
        self,
        *,
        jobs_path: str,
        jobs_sha256: str,
        options_json: str,
        identity: str,
        out_path: str,
        jobs: Iterable[Job | LineError],
        max_errors: int = 20,
    ) -> RunRow:
        """Create a run and import its jobs in one transaction; all or nothing.

        Raises `JobFileInvalid` (and leaves the state file as it was) if any line is bad or
        any ``custom_id`` repeats.
        """
        errors: list[LineError] = []
        total_errors = 0

        def add_error(err: LineError) -> None:
            nonlocal total_errors, errors
            total_errors += 1
            errors.append(err)
            if len(errors) > 10 * max_errors:
                errors = sorted(errors, key=lambda e: e.line_no)[:max_errors]

        with self._errors("import jobs into"), self.engine.begin() as conn:
            now = _now_iso()
            result = conn.execute(
                insert(_RUNS).values(
                    created_at=now,
                    updated_at=now,
                    jobs_path=jobs_path,
                    jobs_sha256=jobs_sha256,
                    options_json=options_json,
                    identity=identity,
                    n_jobs=0,
                    out_path=out_path,
                    version=1,
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            run_id = int(pk[0])
            n_jobs = 0
            chunk: list[tuple[Any, ...]] = []

            def flush() -> None:
                nonlocal n_jobs
                if not chunk:
                    return
                before = n_jobs
                n_jobs += conn.exec_driver_sql(_INSERT_JOB, chunk).rowcount
                if n_jobs - before != len(chunk):
                    first_line: dict[str, int] = dict(
                        conn.execute(
                            select(_JOBS.c.custom_id, _JOBS.c.line_no).where(
                                _JOBS.c.run_id == run_id,
                                _JOBS.c.custom_id.in_([r[2] for r in chunk]),
                            )
                        ).all()
                    )
                    for row in chunk:
                        first = first_line[row[2]]
                        if first != row[1]:
                            add_error(
                                LineError(
                                    jobs_path,
                                    row[1],
                                    f"duplicate custom_id {row[2]!r} (first on line {first})",
                                )
                            )
                chunk.clear()

            for item in jobs:
                if isinstance(item, LineError):
                    add_error(item)
                    continue
                body_text = encode_body(item.body)
                parts = est_prompt, max_completion = estimate_parts(item)
                chunk.append(
                    (
                        run_id,
                        item.line_no,
                        item.custom_id,
                        item.endpoint,
                        item.model,
                        request_hash(item.endpoint, body_text),
                        body_text,
                        estimate_tokens(item, parts),
                        est_prompt,
                        max_completion,
                    )
                )
                if len(chunk) >= IMPORT_CHUNK:
                    flush()
            flush()
            if total_errors:
                errors.sort(key=lambda e: e.line_no)
                raise JobFileInvalid(jobs_path, errors[:max_errors], total_errors)
            conn.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(n_jobs=n_jobs))
        run = self.get_run(run_id)
        assert run is not None
        return run

    def get_run(self, run_id: int) -> RunRow | None:
        with self._errors("read"), self.engine.connect() as conn:
            row = conn.execute(select(_RUNS).where(_RUNS.c.id == run_id)).mappings().first()
        return RunRow.model_validate(dict(row)) if row else None

    def find_run(self, identity: str) -> RunRow | None:
        """The latest run with this identity (same file content and options)."""
        return self._one_run(_RUNS.c.identity == identity)

    def latest_run_for(self, jobs_path: str) -> RunRow | None:
        return self._one_run(_RUNS.c.jobs_path == jobs_path)

    def latest_run(self) -> RunRow | None:
        return self._one_run(None)

    def _one_run(self, where: Any) -> RunRow | None:
        query = select(_RUNS).order_by(_RUNS.c.id.desc()).limit(1)
        if where is not None:
            query = query.where(where)
        with self._errors("read"), self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return RunRow.model_validate(dict(row)) if row else None

    def runs(self) -> list[RunRow]:
        with self._errors("read"), self.engine.connect() as conn:
            rows = conn.execute(select(_RUNS).order_by(_RUNS.c.id)).mappings().all()
        return [RunRow.model_validate(dict(r)) for r in rows]

    def touch_run(self, run_id: int) -> None:
        with self._errors("write"), self.engine.begin() as conn:
            conn.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(updated_at=_now_iso()))

    # -- jobs -------------------------------------------------------------------

    def unfinished_models(self, run_id: int) -> list[str]:
        """The models that have jobs not yet succeeded, by name.

        One index seek per model (``ix_jobs_unfinished_model``, migration 0005): the next
        name after the last one found, not a ``DISTINCT`` over every unfinished row (a
        million index entries read for a handful of names at the start of a 1M-job run).
        """
        cols = _JOBS.c
        models: list[str] = []
        with self._errors("read"), self.engine.connect() as conn:
            while True:
                query = select(cols.model).where(cols.run_id == run_id, _UNFINISHED)
                if models:
                    query = query.where(cols.model > models[-1])
                name = conn.execute(query.order_by(cols.model).limit(1)).scalar()
                if name is None:
                    return models
                models.append(name)

    def unfinished_page(
        self, run_id: int, after_id: int, limit: int, model: str | None = None
    ) -> list[PendingJob]:
        """Jobs not yet succeeded, in line order, after job ``after_id``; only ``model``'s
        when it is given (a lane's page: read from ``ix_jobs_unfinished_model``)."""
        cols = _JOBS.c
        query = select(
            cols.id,
            cols.line_no,
            cols.custom_id,
            cols.endpoint,
            cols.model,
            cols.body,
            cols.est_tokens,
            cols.attempts,
            cols.est_prompt,
            cols.max_completion,
        ).where(
            # A literal, not a bound parameter: SQLite then uses the partial index
            # ix_jobs_unfinished_model (migration 0005), whose condition is this very term.
            cols.run_id == run_id,
            cols.id > after_id,
            _UNFINISHED,
        )
        if model is not None:
            query = query.where(cols.model == model)
        query = query.order_by(cols.id).limit(limit)
        with self._errors("read"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            PendingJob(r[0], r[1], r[2], r[3], r[4], r[5].encode(), r[6], r[7], r[8], r[9])
            for r in rows
        ]

    def record(self, outcomes: list[JobOutcome]) -> None:
        """Write settled jobs in one transaction, on the store's writer connection.

        A plain sqlite3 connection kept open for the store's life, with positional
        parameters (`_RECORD`): SQLAlchemy's ``begin()``/commit cost 30 µs a transaction
        here, as much as SQLite's own work on a one-result commit, and its bound-parameter
        processing more than SQLite's work per row (py-spy on the writer).
        """
        if not outcomes:
            return
        params = [_record_params(o) for o in outcomes]
        with self._errors("write results to"):
            conn = self._writer_connection()
            try:
                conn.executemany(_RECORD, params)
                conn.commit()
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise

    def _writer_connection(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self.engine.raw_connection()
        conn: sqlite3.Connection = self._writer.driver_connection
        return conn

    @contextmanager
    def deferred_checkpoints(self) -> Iterator[None]:
        """While inside, `record`'s commits never checkpoint the WAL themselves: the caller
        runs `checkpoint` (from another thread), so that no commit waits on a checkpoint's
        fsyncs. Commits checkpoint again (every 1,000 WAL pages, SQLite's default) after.
        """
        with self._errors("write results to"):
            conn = self._writer_connection()
            conn.execute("PRAGMA wal_autocheckpoint=0")
        try:
            yield
        finally:
            with self._errors("write results to"):
                conn.execute("PRAGMA wal_autocheckpoint=1000")

    def checkpoint(self) -> None:
        """Copy the WAL's committed pages into the database file (PASSIVE: never waits for
        the writer, which goes on committing meanwhile); thread-safe."""
        with self._errors("checkpoint"), self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def counts(self, run_id: int) -> RunCounts:
        cols = _JOBS.c
        query = (
            select(
                cols.status,
                func.count(),
                func.coalesce(func.sum(cols.prompt_tokens), 0),
                func.coalesce(func.sum(cols.completion_tokens), 0),
            )
            .where(cols.run_id == run_id)
            .group_by(cols.status)
        )
        with self._errors("read"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        by = {r[0]: int(r[1]) for r in rows}
        return RunCounts(
            total=sum(by.values()),
            pending=by.get(Status.PENDING, 0),
            succeeded=by.get(Status.SUCCEEDED, 0),
            failed=by.get(Status.FAILED, 0),
            prompt_tokens=sum(int(r[2]) for r in rows),
            completion_tokens=sum(int(r[3]) for r in rows),
        )

    def summary(self, run_id: int) -> list[dict[str, Any]]:
        """Jobs and estimated tokens per (model, endpoint)."""
        cols = _JOBS.c
        query = (
            select(
                cols.model,
                cols.endpoint,
                func.count(),
                func.sum(cols.est_tokens),
                func.sum(func.coalesce(cols.est_prompt, cols.est_tokens)),
            )
            .where(cols.run_id == run_id)
            .group_by(cols.model, cols.endpoint)
            .order_by(cols.model, cols.endpoint)
        )
        with self._errors("read"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "model": r[0],
                "endpoint": r[1],
                "jobs": int(r[2]),
                "est_tokens": int(r[3] or 0),
                "est_prompt": int(r[4] or 0),
            }
            for r in rows
        ]

    def usage_by_model(self, run_id: int) -> dict[str, tuple[int, int]]:
        """model -> (prompt, completion) tokens the server reported for the run's jobs."""
        cols = _JOBS.c
        query = (
            select(
                cols.model,
                func.coalesce(func.sum(cols.prompt_tokens), 0),
                func.coalesce(func.sum(cols.completion_tokens), 0),
            )
            .where(cols.run_id == run_id)
            .group_by(cols.model)
        )
        with self._errors("read"), self.engine.connect() as conn:
            return {r[0]: (int(r[1]), int(r[2])) for r in conn.execute(query).all()}

    def failed_jobs(self, run_id: int, limit: int = 10) -> list[tuple[int, str, str, str]]:
        """(line_no, custom_id, error_code, error_message) of the first failed jobs."""
        cols = _JOBS.c
        query = (
            select(cols.line_no, cols.custom_id, cols.error_code, cols.error_message)
            .where(cols.run_id == run_id, cols.status == Status.FAILED)
            .order_by(cols.id)
            .limit(limit)
        )
        with self._errors("read"), self.engine.connect() as conn:
            return [(r[0], r[1], r[2] or "", r[3] or "") for r in conn.execute(query).all()]

    def latencies(self, run_id: int) -> dict[str, float]:
        """custom_id -> latency in ms of the last attempt, for the jobs that have one."""
        cols = _JOBS.c
        query = select(cols.custom_id, cols.latency_ms).where(
            cols.run_id == run_id, cols.latency_ms.is_not(None)
        )
        with self._errors("read"), self.engine.connect() as conn:
            return {r[0]: float(r[1]) for r in conn.execute(query).all()}

    def iter_results(self, run_id: int, page: int = 1000) -> Iterator[ResultLine]:
        """Settled jobs as Batch output lines, in input order, read page by page."""
        after = 0
        while True:
            with self._errors("read"), self.engine.connect() as conn:
                rows = conn.exec_driver_sql(_RESULTS_PAGE, (run_id, after, page)).all()
            if not rows:
                return
            for r in rows:
                yield ResultLine(
                    id=f"fanout-{run_id}-{r[1]}",
                    custom_id=r[2],
                    status_code=r[4],
                    request_id=r[5],
                    body_json=r[6],
                    error_code=r[7] if r[3] == Status.FAILED else None,
                    error_message=r[8] if r[3] == Status.FAILED else None,
                )
            after = rows[-1][0]

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn database trouble into a `StateError` that names the file."""
        try:
            yield
        except (DBAPIError, SQLAlchemyError, sqlite3.Error) as exc:
            orig = getattr(exc, "orig", None) or exc
            raise StateError(f"cannot {doing} state file {self.path}: {orig}") from exc


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
