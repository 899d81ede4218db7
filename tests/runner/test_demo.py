"""The README's demo path: the bundled example file through the in-process simulator."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from fanout.cli import main

from .conftest import check_results

EXAMPLE = Path(__file__).resolve().parents[2] / "jobs" / "examples" / "demo.jsonl"
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


def test_demo_file_runs_against_the_built_in_simulator(tmp_path: Path) -> None:
    out = tmp_path / "demo.results.jsonl"
    args = [
        "run",
        str(EXAMPLE),
        "--sim",
        "--model",
        MODEL,
        "--db",
        str(tmp_path / "demo.db"),
        "--out",
        str(out),
        "--no-progress",
        "--sim-latency",
        "0.001-0.01",
    ]
    result = CliRunner().invoke(main, args)  # default faults on: retries happen
    assert result.exit_code == 0, result.output
    lines = check_results(EXAMPLE, out, model=MODEL)
    assert len(lines) == 300
    assert all(ln["response"]["body"]["model"] == MODEL for ln in lines)
    status = CliRunner().invoke(main, ["status", "--db", str(tmp_path / "demo.db"), "--json"])
    assert json.loads(status.output)["succeeded"] == 300
