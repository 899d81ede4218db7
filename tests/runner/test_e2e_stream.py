"""Streaming, end to end against the simulator over loopback: a streamed run stores exactly
what a non-streamed run stores (reasoning in all its styles, tool calls, n > 1, logprobs,
both usage placements), and broken streams are retried until every job has its answer."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from fanout.cli import main
from togethersim import SimConfig, SimServer, parse_faults

from .conftest import check_results, write_jobs

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
MODELS = [
    "meta-llama/Llama-3.3-70B-Instruct-Turbo",  # usage on the finish chunk
    "openai/gpt-oss-120b",  # reasoning field, usage on a trailing chunk
    "deepseek-ai/DeepSeek-R1",  # <think> inline
    "Qwen/Qwen3-235B-A22B-Thinking-2507",  # inline, no opening tag
]


def surface_jobs(path: Path) -> Path:
    lines: list[dict[str, Any]] = []
    for m, model in enumerate(MODELS):
        for i in range(3):
            ask = [{"role": "user", "content": f"Question {m}.{i}?"}]
            lines.append({"custom_id": f"chat-{m}-{i}", "model": model, "messages": ask})
        lines.append(
            {
                "custom_id": f"short-{m}",
                "model": model,
                "messages": [{"role": "user", "content": "Long story?"}],
                "max_tokens": 6,
            }
        )
    lines += [
        {"custom_id": "text", "model": MODELS[0], "prompt": "Once upon a time", "max_tokens": 20},
        {
            "custom_id": "tools",
            "model": MODELS[0],
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [WEATHER],
        },
        {
            "custom_id": "samples",
            "model": MODELS[1],
            "messages": [{"role": "user", "content": "Pick a number."}],
            "n": 3,
        },
        {
            "custom_id": "logprobs",
            "model": MODELS[0],
            "messages": [{"role": "user", "content": "Say hi."}],
            "logprobs": 2,
        },
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def run(url: str, jobs: Path, db: Path, out: Path, *extra: str) -> tuple[int, str]:
    args = ["run", str(jobs), "--base-url", url, "--db", str(db), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--no-progress", *extra])
    return result.exit_code, result.output


def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
    """What a response says, without what differs per request (id, created)."""
    out = []
    for choice in body["choices"]:
        message = choice.get("message") or {}
        out.append(
            {
                "index": choice["index"],
                "text": message.get("content", choice.get("text")),
                "reasoning": message.get("reasoning") or None,
                "tool_calls": [
                    (c["function"]["name"], json.loads(c["function"]["arguments"]))
                    for c in message.get("tool_calls") or []
                ],
                "finish_reason": choice["finish_reason"],
                "logprobs": choice.get("logprobs"),
            }
        )
    return out + [body["usage"]]


def test_streamed_run_stores_what_a_plain_run_stores(
    sim: tuple[SimServer, str], tmp_path: Path
) -> None:
    server, url = sim
    jobs = surface_jobs(tmp_path / "j.jsonl")
    plain_out, streamed_out = tmp_path / "plain.jsonl", tmp_path / "streamed.jsonl"
    code, output = run(url, jobs, tmp_path / "plain.db", plain_out)
    assert code == 0, output
    code, output = run(url, jobs, tmp_path / "streamed.db", streamed_out, "--stream")
    assert code == 0, output
    plain = [json.loads(x) for x in plain_out.read_text().splitlines()]
    streamed = [json.loads(x) for x in streamed_out.read_text().splitlines()]
    assert [p["custom_id"] for p in plain] == [s["custom_id"] for s in streamed]
    for p, s in zip(plain, streamed, strict=True):
        assert s["error"] is None, s
        assert answer(s["response"]["body"]) == answer(p["response"]["body"]), s["custom_id"]
    by_id = {s["custom_id"]: s["response"]["body"] for s in streamed}
    assert by_id["tools"]["choices"][0]["finish_reason"] == "tool_calls"
    assert len(by_id["samples"]["choices"]) == 3
    assert by_id["logprobs"]["choices"][0]["logprobs"]
    assert by_id["short-1"]["choices"][0]["finish_reason"] == "length"

    db = sqlite3.connect(tmp_path / "streamed.db")
    rows = db.execute("SELECT custom_id, ttft_ms, ttfa_ms, latency_ms FROM jobs").fetchall()
    db.close()
    timed = {cid: (ttft, ttfa, latency) for cid, ttft, ttfa, latency in rows}
    for cid, (ttft, ttfa, latency) in timed.items():
        assert ttft is not None and ttft <= latency, cid
        if ttfa is not None:
            assert ttft <= ttfa <= latency, cid
    # A model that thinks first answers later than it starts: gpt-oss, R1, Qwen-2507.
    for m in (1, 2, 3):
        ttft, ttfa, _ = timed[f"chat-{m}-0"]
        assert ttfa is not None and ttfa > ttft, (m, ttft, ttfa)
    plain_db = sqlite3.connect(tmp_path / "plain.db")
    assert plain_db.execute("SELECT count(*) FROM jobs WHERE ttft_ms IS NOT NULL").fetchone() == (
        0,
    )
    plain_db.close()


def test_broken_streams_are_retried_until_every_answer_is_whole(tmp_path: Path) -> None:
    faults = parse_faults("stream-cut=0.1,stream-error=0.05,stream-no-done=0.05,500=0.02")
    server = SimServer(SimConfig(seed=7, faults=faults))
    jobs = write_jobs(tmp_path / "j.jsonl", 150)
    out = tmp_path / "out.jsonl"
    with server.run_in_thread() as url:
        code, output = run(
            url, jobs, tmp_path / "s.db", out, "--stream", "--model", "m", "--max-attempts", "10"
        )
    assert code == 0, output
    lines = check_results(jobs, out)  # one line each, in order, each its own request's reply
    assert all(ln["error"] is None for ln in lines)
    stats = server.stats()
    spoiled = ("stream-cut", "stream-error", "stream-no-done")
    broken = sum(stats["by_status"].get(f, 0) for f in spoiled)
    assert broken > 0, stats
    db = sqlite3.connect(tmp_path / "s.db")
    (attempts,) = db.execute("SELECT sum(attempts) FROM jobs").fetchone()
    db.close()
    assert attempts >= 150 + broken  # each broken stream cost its job one more attempt
