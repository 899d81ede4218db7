"""The progress line of a real run, drawn in an 80-column pseudo-terminal, fits it."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _run_in_pty(args: list[str], columns: int, cwd: Path) -> str:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.pop("TOGETHER_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fanout", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode("utf-8", errors="replace")


@pytest.mark.parametrize("columns", [80, 120])
def test_the_progress_line_fits_the_terminal(tmp_path: Path, columns: int) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        "".join(json.dumps({"custom_id": f"j{i}", "prompt": f"Say {i}"}) + "\n" for i in range(400))
    )
    out = _run_in_pty(
        [
            "run",
            str(jobs),
            "--sim",
            "--model",
            "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
            "--sim-latency",
            "0.01",
            "--sim-rpm",
            "6000",
            "--db",
            str(tmp_path / "s.db"),
        ],
        columns,
        tmp_path,
    )
    frames = [ANSI.sub("", f) for f in re.split(r"[\r\n]", out) if f.strip()]
    bars = [f for f in frames if f.startswith("fanout:")]
    assert bars, out
    assert max(len(f) for f in bars) <= columns, max(bars, key=len)
    assert any("fail=" in f and "429=" in f and "$" in f for f in bars), bars[-3:]
    if columns >= 120:
        assert any("req/min" in f for f in bars), bars[-3:]
