"""The state file: exact schema, append-only migrations, all-or-nothing import, results."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from jobs import Defaults, JobFile
from runner import JobFileInvalid, StateError, Store
from runner._schema import MIGRATIONS, JobRow, RunRow
from runner._store import IMPORT_CHUNK, JobOutcome


def write_jobs(path: Path, lines: list[object]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def new_run(store: Store, path: Path, identity: str = "i") -> int:
    run = store.create_run(
        jobs_path=str(path),
        jobs_sha256="s",
        options_json="{}",
        identity=identity,
        out_path="o",
        jobs=JobFile(path, Defaults(model="m")),
    )
    assert run.id is not None
    return run.id


def test_fresh_schema_matches_the_models_exactly(tmp_path: Path) -> None:
    Store.open(tmp_path / "s.db").close()
    conn = sqlite3.connect(tmp_path / "s.db")
    for model in (RunRow, JobRow):
        table = model.__table__  # type: ignore[attr-defined]
        actual = {
            row[1]: (row[2].upper(), bool(row[3]))
            for row in conn.execute(f"PRAGMA table_info({table.name})")
        }
        expected = {
            col.name: (str(col.type.compile()).upper(), not col.nullable and not col.primary_key)
            for col in table.columns
        }
        for name, (type_, _notnull) in expected.items():
            assert name in actual, f"{table.name}.{name} missing"
            assert actual[name][0] == type_, f"{table.name}.{name}"
        assert set(actual) == set(expected)
    names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_reopen_applies_nothing_twice_and_newer_files_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    Store.open(db).close()
    store = Store.open(db)
    assert store.migrations() == [name for name, _ in MIGRATIONS]
    store.close()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO migrations VALUES ('9999_future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(StateError, match="newer fanout"):
        Store.open(db)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="is not a directory"):
        Store.open(tmp_path / "nope" / "s.db")


def test_import_is_all_or_nothing_and_names_every_bad_line(tmp_path: Path) -> None:
    n = IMPORT_CHUNK + 10
    lines: list[object] = [{"custom_id": f"r{i}", "prompt": f"p{i}"} for i in range(n)]
    lines.append({"custom_id": "r3", "prompt": "again"})  # duplicate across chunks
    lines.append({"custom_id": "late", "prompt": 1})
    path = write_jobs(tmp_path / "j.jsonl", lines)
    store = Store.open(tmp_path / "s.db")
    with pytest.raises(JobFileInvalid) as info:
        new_run(store, path)
    err = info.value
    assert err.total == 2
    assert [e.line_no for e in err.errors] == [n + 1, n + 2]
    assert "duplicate custom_id 'r3' (first on line 4)" in str(err)
    assert "nothing was sent" in str(err)
    assert store.runs() == []  # rolled back, run row included


def test_errors_beyond_the_cap_are_counted(tmp_path: Path) -> None:
    path = write_jobs(tmp_path / "j.jsonl", [{"prompt": ""} for _ in range(50)])
    store = Store.open(tmp_path / "s.db")
    with pytest.raises(JobFileInvalid) as info:
        store.create_run(
            jobs_path=str(path),
            jobs_sha256="s",
            options_json="{}",
            identity="i",
            out_path="o",
            jobs=JobFile(path, Defaults(model="m")),
            max_errors=5,
        )
    assert info.value.total == 50
    assert [e.line_no for e in info.value.errors] == [1, 2, 3, 4, 5]
    assert str(info.value).endswith("... and 45 more")


def outcome(job_id: int, status: str, body: str | None = None) -> JobOutcome:
    return JobOutcome(
        id=job_id,
        status=status,
        attempts=1,
        response_status=200 if body else 500,
        response_body=body or '{"error": {"message": "x"}}',
        request_id=f"q{job_id}",
        error_code=None if body else "http_500_exhausted",
        error_message=None if body else "HTTP 500: x",
        prompt_tokens=3,
        completion_tokens=4,
        total_tokens=7,
        reasoning_tokens=None,
        latency_ms=1.0,
        started_at=1.0,
        finished_at=2.0,
    )


def test_record_counts_and_results_in_input_order(tmp_path: Path) -> None:
    path = write_jobs(
        tmp_path / "j.jsonl", [{"custom_id": f"c{i}", "prompt": "p"} for i in range(5)]
    )
    store = Store.open(tmp_path / "s.db")
    run_id = new_run(store, path)
    pending = store.unfinished_page(run_id, 0, 10)
    assert [p.custom_id for p in pending] == [f"c{i}" for i in range(5)]
    assert json.loads(pending[0].body) == {"prompt": "p", "model": "m"}
    store.record(
        [outcome(pending[3].id, "succeeded", '{"id": "r3"}'), outcome(pending[1].id, "failed")]
    )
    c = store.counts(run_id)
    assert (c.total, c.succeeded, c.failed, c.pending) == (5, 1, 1, 3)
    assert (c.prompt_tokens, c.completion_tokens) == (6, 8)
    lines = [json.loads(r.to_json()) for r in store.iter_results(run_id, page=1)]
    assert [ln["custom_id"] for ln in lines] == ["c1", "c3"]
    assert lines[0]["error"] == {"code": "http_500_exhausted", "message": "HTTP 500: x"}
    assert lines[0]["response"]["status_code"] == 500
    assert lines[1] == {
        "id": f"fanout-{run_id}-4",
        "custom_id": "c3",
        "response": {"status_code": 200, "request_id": "q4", "body": {"id": "r3"}},
        "error": None,
    }
    # failed jobs are unfinished: a resume retries them; succeeded ones never again
    assert [p.custom_id for p in store.unfinished_page(run_id, 0, 10)] == ["c0", "c1", "c2", "c4"]
    assert store.failed_jobs(run_id) == [(2, "c1", "http_500_exhausted", "HTTP 500: x")]


def test_runs_are_found_by_identity_and_path(tmp_path: Path) -> None:
    path = write_jobs(tmp_path / "j.jsonl", [{"prompt": "p"}])
    store = Store.open(tmp_path / "s.db")
    first = new_run(store, path, "one")
    second = new_run(store, path, "two")
    assert store.find_run("one") is not None and store.find_run("one").id == first  # type: ignore[union-attr]
    latest = store.latest_run_for(str(path))
    assert latest is not None and latest.id == second
    assert store.find_run("three") is None
