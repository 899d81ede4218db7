"""--max-cost against the real simulator: the spend stays under the budget, the rest pends,
and a rerun with a higher budget goes on without paying twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import fanout
from fanout.cli import main
from togethersim import SimConfig, SimServer

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"  # 0.18 / 0.18 USD per 1M tokens


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)


def _jobs(path: Path, n: int) -> Path:
    path.write_text(
        "".join(
            json.dumps({"custom_id": f"j{i}", "prompt": f"Tell me about {i}.", "max_tokens": 200})
            + "\n"
            for i in range(n)
        )
    )
    return path


def test_max_cost_stops_under_the_budget_and_a_higher_one_goes_on(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path / "j.jsonl", 400)
    server = SimServer(SimConfig(seed=3))
    with server.run_in_thread() as url:
        opts = {"model": MODEL, "base_url": url, "db": tmp_path / "s.db", "progress": False}
        first = fanout.run_batch(jobs, max_cost=0.0004, concurrency=16, **opts)
        assert first.over_budget is not None and "--max-cost $0.00 reached" in first.over_budget
        assert first.exit_code == 1
        c = first.counts
        assert 0 < c.succeeded < 400 and c.pending == 400 - c.succeeded and c.failed == 0
        assert first.cost is not None and first.cost <= 0.0004
        sent = server.stats()["requests"]
        assert sent == c.succeeded  # nothing was sent that is not recorded
        second = fanout.run_batch(jobs, max_cost=1.0, concurrency=16, **opts)
        assert second.ok and second.over_budget is None and second.exit_code == 0
        assert server.stats()["requests"] == 400  # no job paid twice
        assert second.cost is not None and second.cost <= 1.0


def test_max_cost_refuses_a_model_without_a_price(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path / "j.jsonl", 5)
    res = CliRunner().invoke(
        main,
        [
            "run",
            str(jobs),
            "--model",
            "nobody/unpriced",
            "--sim",
            "--sim-latency",
            "0",
            "--sim-fail-rate",
            "",
            "--no-progress",
            "--db",
            str(tmp_path / "s.db"),
            "--max-cost",
            "1",
        ],
    )
    assert res.exit_code == 1, res.output
    assert "has no price in config/models.toml" in res.output
    assert "0 succeeded, 0 failed, 5 pending" in res.output
