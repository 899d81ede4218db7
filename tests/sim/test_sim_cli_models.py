"""``fanout sim`` told which models Together would refuse: the real server, in its own
process, answers them on the wire as Together does (404 or 400 ``model_not_available``)
and serves the others."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from fanout.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOOD = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
TYPO = "meta-llama/Llama-3.3-70B-Instruct-Turbx"
DEDICATED = "Qwen/Qwen3-VL-8B-Instruct"
UNKNOWN_404 = (
    "Unable to access model {}. Please visit https://api.together.ai/models to view the "
    "list of supported models."
)
DEDICATED_400 = (
    "Unable to access non-serverless model {0}. Please visit https://api.together.ai/models/{0} "
    "to create and start a new dedicated endpoint for the model."
)


@contextmanager
def fanout_sim(*args: str, env: dict[str, str] | None = None) -> Iterator[httpx.Client]:
    """``fanout sim --port 0 ARGS`` in a child process; a client on its base URL."""
    with subprocess.Popen(
        [sys.executable, "-m", "fanout", "sim", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.search(r"listening on (http://\S+)", line)
            assert match, (line, proc.stderr.read() if proc.stderr else "")
            with httpx.Client(base_url=match.group(1), timeout=10) as client:
                yield client
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def ask(client: httpx.Client, model: str) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Hi"}]}
    return client.post("/chat/completions", json=body)


def assert_refused(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"id", "error"} and body["id"].startswith("sim-")
    assert body["error"] == {
        "message": message,
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_available",
    }


def test_named_models_are_refused_and_the_others_served() -> None:
    args = ["--unknown-model", TYPO, "--unknown-model", "x/y", "--dedicated-model", DEDICATED]
    with fanout_sim(*args) as client:
        assert_refused(ask(client, TYPO), 404, UNKNOWN_404.format(TYPO))
        assert_refused(ask(client, "x/y"), 404, UNKNOWN_404.format("x/y"))
        assert_refused(ask(client, DEDICATED), 400, DEDICATED_400.format(DEDICATED))
        r = ask(client, GOOD)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
        assert client.get("/sim/stats").json()["by_status"] == {"404": 2, "400": 1, "200": 1}


def test_only_listed_models_serves_the_catalogue_alone(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config" / "tiers.toml", tmp_path / "tiers.toml")
    (tmp_path / "models.toml").write_text(
        f'[models."{GOOD}"]\n'
        f'[models."{DEDICATED}"]\nserverless = false\n'
        '[models."org/listed-but-typed-unknown"]\n'
    )
    args = ["--only-listed-models", "--unknown-model", "org/listed-but-typed-unknown"]
    with fanout_sim(*args, env={"FANOUT_CONFIG_DIR": str(tmp_path)}) as client:
        assert ask(client, GOOD).status_code == 200
        assert_refused(ask(client, TYPO), 404, UNKNOWN_404.format(TYPO))  # not listed
        assert_refused(ask(client, DEDICATED), 400, DEDICATED_400.format(DEDICATED))
        name = "org/listed-but-typed-unknown"
        assert_refused(ask(client, name), 404, UNKNOWN_404.format(name))


def test_without_the_flags_every_name_is_served() -> None:
    with fanout_sim() as client:
        assert ask(client, TYPO).status_code == 200


def test_a_model_both_unknown_and_dedicated_is_a_usage_error() -> None:
    res = CliRunner().invoke(main, ["sim", "--unknown-model", "a/b", "--dedicated-model", "a/b"])
    assert res.exit_code == 2
    assert "models both unknown and dedicated-only: ['a/b']" in res.output


def test_a_broken_models_file_is_an_error_before_listening(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config" / "tiers.toml", tmp_path / "tiers.toml")
    (tmp_path / "models.toml").write_text('[models."a/b"]\nserverless = "no"\n')
    res = CliRunner().invoke(
        main, ["sim", "--only-listed-models"], env={"FANOUT_CONFIG_DIR": str(tmp_path)}
    )
    assert res.exit_code == 1
    assert "serverless must be true or false" in res.output
