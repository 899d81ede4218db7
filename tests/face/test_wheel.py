"""The wheel a user installs: built from this checkout, installed without ``-e`` in a fresh
venv, and run from another directory, where nothing of the checkout is on the path.

A normal install once left out config/*.toml and the bundled eval sets, and every command
failed with "tiers.toml: missing"; the editable install of ``make`` hid it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"

pytestmark = pytest.mark.timeout(600)


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` with no key, no PYTHONPATH and no config override: the wheel's own tables."""
    drop = ("TOGETHER_", "PYTHON", "FANOUT_CONFIG_DIR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with the wheel (and its dependencies) installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)], tmp)
    (wheel,) = dist.glob("fanout-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    _run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], tmp)
    return env_dir / "bin"


def test_installed_wheel_runs_a_batch_and_an_eval_from_another_directory(
    installed: Path, tmp_path: Path
) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    jobs = work / "jobs.jsonl"
    jobs.write_text(
        "".join(
            json.dumps({"custom_id": f"q{i}", "messages": [{"role": "user", "content": f"Hi {i}"}]})
            + "\n"
            for i in range(40)
        )
    )
    fanout = str(installed / "fanout")
    sim = ["--sim", "--sim-latency", "0", "--sim-fail-rate", "", "--no-progress"]
    _run([fanout, "run", "jobs.jsonl", "--model", MODEL, *sim], work)
    lines = [json.loads(x) for x in (work / "jobs.results.jsonl").read_text().splitlines()]
    assert [x["custom_id"] for x in lines] == [f"q{i}" for i in range(40)]
    assert all(x["response"]["status_code"] == 200 for x in lines)

    # a bundled eval set by name; its files go to the working directory
    out = _run(
        [fanout, "eval", "arithmetic", "--sim", "--model", MODEL, "--no-progress", "--json"],
        work,
    )
    summary = json.loads(out.stdout)
    assert summary["models"][0]["n"] == 60
    assert (work / "arithmetic.eval" / "report.html").is_file()

    # the installed package is the one that ran, not this checkout
    where = _run([str(installed / "python"), "-c", "import fanout; print(fanout.__file__)"], work)
    assert str(ROOT) not in where.stdout
    assert "site-packages" in where.stdout
