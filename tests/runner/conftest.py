"""Shared helpers for tests that run fanout against the real simulator over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobs import Defaults, Job, JobFile
from togethersim import SimConfig, SimServer, signature


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.delenv("TOGETHER_BASE_URL", raising=False)


@pytest.fixture
def sim() -> Iterator[tuple[SimServer, str]]:
    """A fault-free simulator on a free port, in its own thread."""
    server = SimServer(SimConfig(seed=1))
    with server.run_in_thread() as url:
        yield server, url


def write_jobs(path: Path, n: int, *, start: int = 0) -> Path:
    """``n`` jobs mixing both line formats and both endpoints; each request is unique."""
    lines = []
    for i in range(start, start + n):
        if i % 3 == 0:
            lines.append({"custom_id": f"job-{i}", "prompt": f"Tell me about item {i}."})
        elif i % 3 == 1:
            lines.append(
                {
                    "custom_id": f"job-{i}",
                    "url": "/v1/chat/completions",
                    "body": {"messages": [{"role": "user", "content": f"Question {i}?"}]},
                }
            )
        else:
            lines.append(
                {
                    "custom_id": f"job-{i}",
                    "messages": [{"role": "user", "content": f"Hi {i}"}],
                    "max_tokens": 12,
                }
            )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def mixed_jobs(path: Path, models: list[str], n: int) -> Path:
    """``n`` jobs per model, interleaved line by line."""
    lines = []
    for i in range(n):
        for k, model in enumerate(models):
            lines.append(
                {
                    "custom_id": f"{k}-{i}",
                    "model": model,
                    "messages": [{"role": "user", "content": f"Question {i} for {k}?"}],
                    "max_tokens": 8,
                }
            )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def reply_text(body: dict[str, Any]) -> str:
    choice = body["choices"][0]
    if "message" in choice:
        return str(choice["message"]["content"])
    return str(choice["text"])


def check_results(jobs_path: Path, out_path: Path, model: str = "m") -> list[dict[str, Any]]:
    """Every job has exactly one line, in input order, whose reply belongs to its request."""
    jobs = [j for j in JobFile(jobs_path, Defaults(model=model)) if isinstance(j, Job)]
    lines = [json.loads(x) for x in out_path.read_text().splitlines()]
    assert [ln["custom_id"] for ln in lines] == [j.custom_id for j in jobs]
    for job, line in zip(jobs, lines, strict=True):
        if line["error"] is None:
            expected = f"sim:{signature(job.endpoint, job.body)} "
            assert reply_text(line["response"]["body"]).startswith(expected), job.custom_id
    return lines
