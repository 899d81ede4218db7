"""Usage and input errors: exit 2, a message naming what is wrong, nothing sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fanout.cli import main

# Nothing listens on port 9 (discard); a test that reached the network would fail loudly.
NOWHERE = "http://127.0.0.1:9/v1"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.delenv("TOGETHER_BASE_URL", raising=False)
    return CliRunner()


def jobs(tmp_path: Path, lines: list[object]) -> Path:
    path = tmp_path / "j.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def test_no_key_names_both_ways_forward(runner: CliRunner, tmp_path: Path) -> None:
    path = jobs(tmp_path, [{"prompt": "x"}])
    result = runner.invoke(main, ["run", str(path), "--model", "m", "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 2
    assert "TOGETHER_API_KEY" in result.output and "--sim" in result.output
    assert not (tmp_path / "s.db").exists()


def test_invalid_file_exits_2_and_lists_lines(runner: CliRunner, tmp_path: Path) -> None:
    path = jobs(
        tmp_path, [{"custom_id": "a", "prompt": "x"}, "{oops", {"custom_id": "a", "prompt": "y"}]
    )
    db = tmp_path / "s.db"
    result = runner.invoke(
        main,
        ["run", str(path), "--model", "m", "--db", str(db), "--base-url", NOWHERE, "--no-progress"],
    )
    assert result.exit_code == 2, result.output
    assert f"{path}:2: invalid JSON" in result.output
    assert f"{path}:3: duplicate custom_id 'a' (first on line 1)" in result.output
    assert "nothing was sent" in result.output
    status = runner.invoke(main, ["status", "--db", str(db)])
    assert status.exit_code == 2 and "no runs" in status.output


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main,
        [
            "run",
            str(tmp_path / "none.jsonl"),
            "--base-url",
            NOWHERE,
            "--db",
            str(tmp_path / "s.db"),
        ],
    )
    assert result.exit_code == 2
    assert "job file not found" in result.output


def test_sim_and_base_url_conflict(runner: CliRunner, tmp_path: Path) -> None:
    path = jobs(tmp_path, [{"prompt": "x"}])
    result = runner.invoke(main, ["run", str(path), "--sim", "--base-url", NOWHERE])
    assert result.exit_code == 2 and "give one" in result.output


def test_dry_run_validates_and_estimates_without_a_key(runner: CliRunner, tmp_path: Path) -> None:
    path = jobs(
        tmp_path,
        [
            {"prompt": "abcd" * 10, "max_tokens": 10},
            {"messages": [{"role": "user", "content": "hi"}]},
        ],
    )
    result = runner.invoke(
        main,
        [
            "run",
            str(path),
            "--model",
            "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
            "--dry-run",
            "--rpm",
            "60",
            "--db",
            str(tmp_path / "s.db"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 valid jobs; nothing sent" in result.output
    assert "Turbo /v1/completions: 1 jobs, ~11 input + up to ~10 output tokens" in result.output
    # both endpoints of the model count together; --rpm 60 binds and is named as the source
    assert (
        "Meta-Llama-3.1-8B-Instruct-Turbo: at least 2 s at 60 rpm (--rpm cap), "
        "180,000 tpm (tier 1 (assumed; --tier to set))" in result.output
    )
    assert "estimated cost: at most ~$0.00" in result.output
    assert "Warning" not in result.output
    assert not (tmp_path / "s.db").exists()
    result = runner.invoke(main, ["run", str(path), "--model", "m", "--dry-run", "--tier", "3"])
    assert result.exit_code == 0
    assert "price unknown" in result.output
    assert "Warning: model 'm' is not in config/models.toml" in result.output
    assert "m: at least 0 s at 3,000 rpm (tier 3), 500,000 tpm (tier 3)\n" in result.output
    bad = jobs(tmp_path, [{"prompt": ""}])
    result = runner.invoke(main, ["run", str(bad), "--model", "m", "--dry-run"])
    assert result.exit_code == 2 and ":1: 'prompt' is empty" in result.output


def test_unknown_tier_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    path = jobs(tmp_path, [{"prompt": "x"}])
    result = runner.invoke(main, ["run", str(path), "--sim", "--model", "m", "--tier", "9"])
    assert result.exit_code == 2
    assert "unknown tier '9'; known tiers: free, 1, 2, 3, 4, 5" in result.output


def test_status_and_export_of_unknown_things(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["status", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "no state file" in result.output
    (tmp_path / "s.db").touch()
    result = runner.invoke(main, ["export", "3", "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 2 and "no run 3" in result.output


def test_event_loop_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from runner._exceptions import UsageError
    from runner._run import backend_options

    monkeypatch.delenv("FANOUT_LOOP", raising=False)
    assert backend_options("asyncio") == {"use_uvloop": False}
    monkeypatch.setenv("FANOUT_LOOP", "asyncio")
    assert backend_options(None) == {"use_uvloop": False}  # the environment, when not given
    with pytest.raises(UsageError, match="unknown event loop 'tokio'"):
        backend_options("tokio")
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if it were not installed
    assert backend_options("auto") == {"use_uvloop": False}  # auto falls back
    with pytest.raises(UsageError, match=r"pip install 'fanout\[fast\]'"):
        backend_options("uvloop")  # asked for by name: said, not ignored


def test_unknown_event_loop_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    path = jobs(tmp_path, [{"prompt": "x"}])
    result = runner.invoke(
        main, ["run", str(path), "--model", "m", "--base-url", NOWHERE, "--loop", "tokio"]
    )
    assert result.exit_code == 2
    assert "'tokio' is not one of" in result.output
