"""fanout run, end to end, against the real simulator over loopback: real HTTP, real SQLite."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from fanout.cli import main
from togethersim import SimConfig, SimServer, parse_faults

from .conftest import check_results, write_jobs


def fanout(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--no-progress"] if args[0] == "run" else list(args))
    return result.exit_code, result.output


def test_clean_run_writes_every_result_in_order(sim: tuple[SimServer, str], tmp_path: Path) -> None:
    server, url = sim
    jobs = write_jobs(tmp_path / "j.jsonl", 200)
    out = tmp_path / "out.jsonl"
    code, output = fanout(
        "run",
        str(jobs),
        "--base-url",
        url,
        "--model",
        "m",
        "--db",
        str(tmp_path / "s.db"),
        "--out",
        str(out),
    )
    assert code == 0, output
    lines = check_results(jobs, out)
    assert all(ln["response"]["status_code"] == 200 for ln in lines)
    assert server.stats()["extra_answers"] == 0
    assert server.stats()["requests"] == 200
    assert "Results:" in output and "(200 lines)" in output


def test_rerun_of_a_finished_run_sends_nothing(sim: tuple[SimServer, str], tmp_path: Path) -> None:
    server, url = sim
    jobs = write_jobs(tmp_path / "j.jsonl", 30)
    args = ("run", str(jobs), "--base-url", url, "--model", "m", "--db", str(tmp_path / "s.db"))
    assert fanout(*args)[0] == 0
    code, output = fanout(*args)
    assert code == 0, output
    assert "Resuming run 1: 30 of 30 jobs already done" in output
    assert server.stats()["requests"] == 30


def test_changed_option_or_file_is_refused_with_what_changed(
    sim: tuple[SimServer, str], tmp_path: Path
) -> None:
    server, url = sim
    jobs = write_jobs(tmp_path / "j.jsonl", 5)
    db = str(tmp_path / "s.db")
    assert fanout("run", str(jobs), "--base-url", url, "--model", "m", "--db", db)[0] == 0
    code, output = fanout("run", str(jobs), "--base-url", url, "--model", "other", "--db", db)
    assert code == 2
    assert "model: 'm' -> 'other'" in output and "--new-run" in output
    write_jobs(jobs, 6)
    code, output = fanout("run", str(jobs), "--base-url", url, "--model", "m", "--db", db)
    assert code == 2 and "content changed" in output
    code, output = fanout(
        "run", str(jobs), "--base-url", url, "--model", "m", "--db", db, "--new-run"
    )
    assert code == 0, output
    assert server.stats()["requests"] == 5 + 6


def test_faults_are_retried_and_every_result_is_its_own(tmp_path: Path) -> None:
    faults = parse_faults("500=0.08,503=0.05,520=0.03,reset=0.04,truncate=0.04")
    server = SimServer(SimConfig(faults=faults, seed=7))
    jobs = write_jobs(tmp_path / "j.jsonl", 300)
    out = tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        code, output = fanout(
            "run",
            str(jobs),
            "--base-url",
            url,
            "--model",
            "m",
            "--db",
            str(tmp_path / "s.db"),
            "--out",
            str(out),
            "--max-attempts",
            "10",
            "--concurrency",
            "16",
        )
    assert code == 0, output
    lines = check_results(jobs, out)
    assert all(ln["error"] is None for ln in lines)
    stats = server.stats()
    for key in ("500", "503", "520", "reset", "truncate"):
        assert stats["by_status"].get(key, 0) > 0, key  # each fault really happened
    assert stats["extra_answers"] == 0  # no request was answered twice
    assert "retries" in output


def test_slow_replies_time_out_and_are_retried(tmp_path: Path) -> None:
    server = SimServer(SimConfig(faults=parse_faults("slow=0.3"), slow_seconds=5, seed=3))
    jobs = write_jobs(tmp_path / "j.jsonl", 20)
    out = tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        code, output = fanout(
            "run",
            str(jobs),
            "--base-url",
            url,
            "--model",
            "m",
            "--db",
            str(tmp_path / "s.db"),
            "--out",
            str(out),
            "--timeout",
            "0.5",
            "--max-attempts",
            "10",
        )
    assert code == 0, output
    check_results(jobs, out)
    assert server.stats()["by_status"].get("abandoned", 0) > 0


def test_bad_requests_fail_for_good_and_exit_1(sim: tuple[SimServer, str], tmp_path: Path) -> None:
    server, url = sim
    jobs = tmp_path / "j.jsonl"
    jobs.write_text(
        json.dumps({"custom_id": "good", "prompt": "hello"})
        + "\n"
        + json.dumps({"custom_id": "bad", "body": {"prompt": "x"}, "url": "/v1/completions"})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    # A wrong path gets Together's 404 envelope: a request the server refuses as invalid is
    # recorded at once with the server's code and message, never retried.
    code, output = fanout(
        "run",
        str(jobs),
        "--base-url",
        url.replace("/v1", "/nope/v1"),
        "--model",
        "m",
        "--db",
        str(tmp_path / "s.db"),
        "--out",
        str(out),
    )
    assert code == 1, output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [ln["error"]["code"] for ln in lines] == ["invalid_request_error"] * 2
    assert [ln["response"]["status_code"] for ln in lines] == [404, 404]
    assert server.stats()["requests"] == 2  # not retried
    assert "Failed jobs" in output and "line 1 (good)" in output


def test_bad_key_stops_the_run_and_keeps_jobs_pending(tmp_path: Path) -> None:
    server = SimServer(SimConfig(api_key="right"))
    jobs = write_jobs(tmp_path / "j.jsonl", 40)
    db = tmp_path / "s.db"
    runner = CliRunner(env={"TOGETHER_API_KEY": "wrong"})
    with server.run_in_thread() as url:
        result = runner.invoke(
            main,
            [
                "run",
                str(jobs),
                "--base-url",
                url,
                "--model",
                "m",
                "--db",
                str(db),
                "--no-progress",
                "--concurrency",
                "4",
            ],
        )
        assert result.exit_code == 1, result.output
        assert "refused the run" in result.output
        assert "wrong" not in result.output  # the key is never printed
        conn = sqlite3.connect(db)
        assert conn.execute("SELECT COUNT(*) FROM jobs WHERE status='pending'").fetchone() == (40,)
        conn.close()
        fixed = CliRunner(env={"TOGETHER_API_KEY": "right"}).invoke(
            main,
            ["run", str(jobs), "--base-url", url, "--model", "m", "--db", str(db), "--no-progress"],
        )
        assert fixed.exit_code == 0, fixed.output
    assert b"right" not in db.read_bytes() and b"wrong" not in db.read_bytes()


def test_status_json_and_export(sim: tuple[SimServer, str], tmp_path: Path) -> None:
    _, url = sim
    jobs = write_jobs(tmp_path / "j.jsonl", 12)
    db = str(tmp_path / "s.db")
    assert fanout("run", str(jobs), "--base-url", url, "--model", "m", "--db", db)[0] == 0
    code, output = fanout("status", "--db", db, "--json")
    assert code == 0
    status = json.loads(output)
    assert (status["run"], status["total"], status["succeeded"], status["pending"]) == (
        1,
        12,
        12,
        0,
    )
    assert status["options"]["model"] == "m"
    again = tmp_path / "again.jsonl"
    code, _ = fanout("export", "1", "--db", db, "--out", str(again))
    assert code == 0
    check_results(jobs, again)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_both_transports_work(sim: tuple[SimServer, str], tmp_path: Path, transport: str) -> None:
    _, url = sim
    jobs = write_jobs(tmp_path / "j.jsonl", 20)
    out = tmp_path / "o.jsonl"
    code, output = fanout(
        "run",
        str(jobs),
        "--base-url",
        url,
        "--model",
        "m",
        "--db",
        str(tmp_path / "s.db"),
        "--out",
        str(out),
        "--transport",
        transport,
    )
    assert code == 0, output
    check_results(jobs, out)


def test_told_nothing_fanout_follows_the_servers_limit_with_few_429s(tmp_path: Path) -> None:
    """Together-like target (``--sim``, 5 requests/s per model); no tier, no caps.

    fanout starts from a guess (tier 1, 10/s), reads the limit from the first answer's
    headers and stays under it. Pace is not asserted (noisy machines); refusals are: keeping
    the guess, 30 jobs at 10/s against 5/s (burst 10) would be refused a dozen times or more.
    """
    jobs = write_jobs(tmp_path / "j.jsonl", 30)
    out = tmp_path / "out.jsonl"
    code, output = fanout(
        "run",
        str(jobs),
        "--sim",
        "--sim-rpm",
        "300",
        "--sim-fail-rate",
        "",
        "--sim-latency",
        "0.01-0.03",
        "--model",
        "m",
        "--db",
        str(tmp_path / "s.db"),
        "--out",
        str(out),
        "--concurrency",
        "32",
    )
    assert code == 0, output
    check_results(jobs, out)
    limited = int(re.search(r"(\d+) rate limited", output).group(1))  # type: ignore[union-attr]
    assert limited <= 3, output


def test_told_nothing_at_another_server_starts_unlimited_then_follows_headers(
    tmp_path: Path,
) -> None:
    """At a base URL that is not Together (vLLM, llama.cpp...), no guess slows the start; a
    server that does state limits in Together's headers is followed from its first answer:
    the first wave may be refused once, the retries are not."""
    server = SimServer(SimConfig(rpm=300, latency=(0.01, 0.03), seed=2))
    jobs = write_jobs(tmp_path / "j.jsonl", 30)
    out = tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        code, output = fanout(
            "run",
            str(jobs),
            "--base-url",
            url,
            "--model",
            "m",
            "--db",
            str(tmp_path / "s.db"),
            "--out",
            str(out),
            "--concurrency",
            "32",
        )
    assert code == 0, output
    check_results(jobs, out)
    stats = server.stats()
    assert stats["by_status"]["200"] == 30
    assert stats["by_status"].get("429", 0) <= 22, stats["by_status"]  # the first wave only


def test_a_tier_far_above_the_limit_is_corrected_by_headers(tmp_path: Path) -> None:
    """Told tier 5 (100/s) against a 10/s limit: the first wave may be refused, then no more.

    The first wave is the ``--concurrency`` 32 requests that leave before any answer can
    come back (tier 5's bucket holds 100); the simulator's burst (2 s of rate) admits 20 of
    them, so up to 12 are refused whatever the client does. After the first answer's
    headers, fanout sends at 10/s. Keeping the tier instead (measured by disabling
    `_follow_headers`), these 60 jobs were refused 79 times.
    """
    server = SimServer(SimConfig(rpm=600, latency=(0.01, 0.03), seed=2))
    jobs = write_jobs(tmp_path / "j.jsonl", 60)
    with server.run_in_thread() as url:
        code, output = fanout(
            "run",
            str(jobs),
            "--base-url",
            url,
            "--model",
            "m",
            "--db",
            str(tmp_path / "s.db"),
            "--out",
            str(tmp_path / "o.jsonl"),
            "--concurrency",
            "32",
            "--tier",
            "5",
        )
    assert code == 0, output
    stats = server.stats()
    assert stats["by_status"]["200"] == 60
    first_wave = 32 - 20
    assert stats["by_status"].get("429", 0) <= first_wave + 2, stats["by_status"]
