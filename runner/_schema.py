"""The state file's tables (sqlmodel) and their append-only migrations.

Tables:

- ``runs``: one row per run: which job file (path and sha256), which request options
  (their JSON and a digest, together the run's identity for resume), where results go.
- ``jobs``: one row per job line: ``custom_id``, line number, the exact request body sent,
  its hash, then what happened: status (``pending`` / ``succeeded`` / ``failed``),
  attempts, last error, the response body as received, usage, latency and timestamps.
- ``migrations``: the named schema steps applied, in order.

Migrations are plain SQL, named and append-only, as in simonw/llm: a released step is never
edited; a change to the tables is a new step at the end of `MIGRATIONS`. A test checks that
a fresh database built by the steps has exactly the columns the models declare.
"""

from __future__ import annotations

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "JobRow", "MigrationRow", "RunRow", "Status"]


class Status:
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    created_at: str  # ISO 8601, UTC
    updated_at: str
    jobs_path: str = Field(index=True)  # absolute path of the job file
    jobs_sha256: str
    options_json: str  # request options that shape what is sent (sorted JSON)
    identity: str = Field(index=True)  # sha256 of jobs_sha256 + options_json
    n_jobs: int
    out_path: str
    version: int = 1  # record version of this row's layout


class JobRow(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        # ids are assigned in line order at import, so the primary key is the input order;
        # no other index is needed (each one slows the import of a million lines).
        UniqueConstraint("run_id", "custom_id", name="uq_jobs_run_custom_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="runs.id")
    line_no: int
    custom_id: str
    endpoint: str
    model: str
    request_hash: str
    body: str = Field(sa_column=Column(Text, nullable=False))  # JSON text sent as-is
    est_tokens: int  # estimated prompt + completion tokens, for the limiter
    est_prompt: int | None = None  # estimated prompt tokens (0002; None on older rows)
    max_completion: int | None = None  # max_tokens x n when the line sets max_tokens (0002)
    status: str = Status.PENDING
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    response_status: int | None = None
    response_body: str | None = Field(default=None, sa_column=Column(Text))
    request_id: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None  # streamed: time to the first token (0004)
    ttfa_ms: float | None = None  # streamed: time to the first answer token, after thinking (0004)
    started_at: float | None = None  # epoch seconds of the first attempt of the last try
    finished_at: float | None = None


class MigrationRow(SQLModel, table=True):
    __tablename__ = "migrations"

    name: str = Field(primary_key=True)
    applied_at: str


_M0001 = """
CREATE TABLE runs (
    id INTEGER NOT NULL PRIMARY KEY,
    created_at VARCHAR NOT NULL,
    updated_at VARCHAR NOT NULL,
    jobs_path VARCHAR NOT NULL,
    jobs_sha256 VARCHAR NOT NULL,
    options_json VARCHAR NOT NULL,
    identity VARCHAR NOT NULL,
    n_jobs INTEGER NOT NULL,
    out_path VARCHAR NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX ix_runs_jobs_path ON runs (jobs_path);
CREATE INDEX ix_runs_identity ON runs (identity);
CREATE TABLE jobs (
    id INTEGER NOT NULL PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    line_no INTEGER NOT NULL,
    custom_id VARCHAR NOT NULL,
    endpoint VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    request_hash VARCHAR NOT NULL,
    body TEXT NOT NULL,
    est_tokens INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    error_code VARCHAR,
    error_message VARCHAR,
    response_status INTEGER,
    response_body TEXT,
    request_id VARCHAR,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    reasoning_tokens INTEGER,
    latency_ms FLOAT,
    started_at FLOAT,
    finished_at FLOAT,
    CONSTRAINT uq_jobs_run_custom_id UNIQUE (run_id, custom_id)
);
"""

# 0002: the adaptive limiter charges prompt + max_tokens, or prompt + a learned average
# completion when a line sets no max_tokens; it needs the two parts apart.
_M0002 = """
ALTER TABLE jobs ADD COLUMN est_prompt INTEGER;
ALTER TABLE jobs ADD COLUMN max_completion INTEGER;
"""

# 0003: resuming a large run. The feeder asks for unfinished jobs in id order: a partial
# index holds only those, so a rerun with 1,000 of 1,000,000 jobs left reads 1,000 entries,
# not the table. Counting by status (progress, status) reads a covering index, not the rows
# with their response bodies.
_M0003 = """
CREATE INDEX ix_jobs_unfinished ON jobs (run_id, id) WHERE status != 'succeeded';
CREATE INDEX ix_jobs_run_status ON jobs (run_id, status, prompt_tokens, completion_tokens);
"""

# 0004: streamed requests record when the first token and the first answer token (after
# the thinking) arrived, in ms from the send; NULL for requests that were not streamed.
_M0004 = """
ALTER TABLE jobs ADD COLUMN ttft_ms FLOAT;
ALTER TABLE jobs ADD COLUMN ttfa_ms FLOAT;
"""

# 0005: a lane per model (runner/_engine.py). Each model's lane reads its own unfinished
# jobs in line order, and the engine finds the models by seeking this index from one model
# to the next; it replaces 0003's (run_id, id), which nothing reads any more (one partial
# index, not two: each one slows the import of a million lines).
_M0005 = """
CREATE INDEX ix_jobs_unfinished_model ON jobs (run_id, model, id) WHERE status != 'succeeded';
DROP INDEX ix_jobs_unfinished;
"""

# Append-only: (name, SQL). Never edit a step that has shipped; add a new one.
MIGRATIONS: list[tuple[str, str]] = [
    ("0001_initial", _M0001),
    ("0002_token_estimate_parts", _M0002),
    ("0003_resume_indexes", _M0003),
    ("0004_stream_timings", _M0004),
    ("0005_lane_index", _M0005),
]
SCHEMA_VERSION = len(MIGRATIONS)
