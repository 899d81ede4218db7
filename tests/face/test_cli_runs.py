"""fanout runs, the cost in status and the summary, and result files that follow the umask."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from fanout.cli import main

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)


def _jobs(path: Path, n: int, model: str = MODEL) -> Path:
    path.write_text(
        "".join(
            json.dumps({"custom_id": f"j{i}", "prompt": f"Say {i}", "model": model}) + "\n"
            for i in range(n)
        )
    )
    return path


def _run(tmp_path: Path, jobs: Path) -> str:
    res = CliRunner().invoke(
        main,
        [
            "run",
            str(jobs),
            "--sim",
            "--sim-latency",
            "0",
            "--sim-fail-rate",
            "",
            "--no-progress",
            "--db",
            str(tmp_path / "s.db"),
        ],
    )
    assert res.exit_code == 0, res.output
    return res.output


def test_runs_lists_every_run_with_its_cost(tmp_path: Path) -> None:
    out = _run(tmp_path, _jobs(tmp_path / "a.jsonl", 5))
    assert "Run cost so far: $0.0" in out
    _run(tmp_path, _jobs(tmp_path / "b.jsonl", 3, model="nobody/unpriced"))
    res = CliRunner().invoke(main, ["runs", "--db", str(tmp_path / "s.db")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:2] == ["1", "5/5"] and "$0.0" in lines[0]
    assert lines[1].split()[:2] == ["2", "3/3"] and "cost unknown" in lines[1]
    res = CliRunner().invoke(main, ["runs", "--db", str(tmp_path / "s.db"), "--json"])
    rows = [json.loads(x) for x in res.output.splitlines()]
    assert [r["run"] for r in rows] == [1, 2]
    assert rows[0]["cost"] > 0 and rows[1]["cost"] is None
    status = CliRunner().invoke(main, ["status", "1", "--db", str(tmp_path / "s.db"), "--json"])
    assert json.loads(status.output)["cost"] == rows[0]["cost"]


def test_runs_of_a_missing_state_file_is_a_usage_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["runs", "--db", str(tmp_path / "none.db")])
    assert res.exit_code == 2 and "no state file" in res.output


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_result_files_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        _run(tmp_path, _jobs(tmp_path / "a.jsonl", 2))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.results.jsonl").stat().st_mode) == mode
