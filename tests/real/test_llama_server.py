"""fanout against a real OpenAI-compatible server nobody here wrote: llama.cpp's
``llama_cpp.server`` on SmolLM2-135M-Instruct, offline.

That server differs from Together where it matters to fanout: it sends no rate-limit
headers (fanout lifts its guessed tier-1 limit), its ids and usage fields are its own, it
serves one request at a time, and it refuses a prompt longer than its context with a 400
``context_length_exceeded`` (a failed job, not a retry).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .conftest import MODEL_ALIAS, N_CTX, LlamaServer

MAX_TOKENS = 16


def fanout(*args: str, timeout: float = 100.0) -> subprocess.CompletedProcess[str]:
    """``fanout ARGS`` in its own process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "fanout", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def chat(cid: str, content: str, **body: Any) -> dict[str, Any]:
    return {"custom_id": cid, "messages": [{"role": "user", "content": content}], **body}


# Eight chat and four text-completion jobs in both line formats; "short" runs out of
# max_tokens; "too-long" (about 2,500 tokens) does not fit the server's 2,048-token context.
JOBS: list[dict[str, Any]] = [
    chat("capital", "What is the capital of France? Answer in one word."),
    chat("colors", "Name three colors."),
    {
        "custom_id": "spanish",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"messages": [{"role": "user", "content": "Say hello in Spanish."}]},
    },
    {"custom_id": "fairy", "prompt": "Once upon a time"},
    chat("sum", "What is 2 + 2?"),
    chat("too-long", "word " * 2500),
    {
        "custom_id": "terse",
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "Describe the sea."},
        ],
    },
    {"custom_id": "fox", "prompt": "The quick brown fox"},
    chat("short", "Count from one to twenty.", max_tokens=2),
    {
        "custom_id": "fib",
        "url": "/v1/completions",
        "body": {"prompt": "def fibonacci(n):", "max_tokens": 12},
    },
    chat("hamlet", "Who wrote Hamlet?"),
    {"custom_id": "count", "prompt": "1, 2, 3, 4,"},
    chat("rhyme", "Write one word that rhymes with cat."),
]
IDS = [j["custom_id"] for j in JOBS]
CHAT_IDS = {j["custom_id"] for j in JOBS if "messages" in j or "chat" in j.get("url", "")}


def text_of(body: dict[str, Any]) -> str:
    choice = body["choices"][0]
    return str(choice["message"]["content"] if "message" in choice else choice["text"])


def run_batch(
    server: LlamaServer, tmp: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]], float]:
    jobs = tmp / "jobs.jsonl"
    if not jobs.exists():
        jobs.write_text("".join(json.dumps(j) + "\n" for j in JOBS))
    out = tmp / "out.jsonl"
    t0 = time.monotonic()
    proc = fanout(
        "run",
        str(jobs),
        "--base-url",
        server.url,
        "--model",
        MODEL_ALIAS,
        "--db",
        str(tmp / "state.db"),
        "--out",
        str(out),
        "--temperature",
        "0",
        "--max-tokens",
        str(MAX_TOKENS),
        "--concurrency",
        "8",
        "--no-progress",
        *extra,
    )
    seconds = time.monotonic() - t0
    lines = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    return proc, lines, seconds


def test_batch_against_llama_cpp(llama_server: LlamaServer, tmp_path: Path) -> None:
    proc, lines, seconds = run_batch(llama_server, tmp_path)
    print(f"\nbatch of {len(JOBS)} jobs: {seconds:.1f} s\n{proc.stderr}")
    assert proc.returncode == 1, proc.stderr  # one job failed for good, the rest succeeded
    assert [ln["custom_id"] for ln in lines] == IDS  # exactly one line each, in input order
    by_id = {ln["custom_id"]: ln for ln in lines}

    # The oversized prompt: the server's 400 and message, recorded once, never retried.
    bad = by_id.pop("too-long")
    assert bad["response"]["status_code"] == 400, bad
    assert bad["error"] is not None
    assert "context" in bad["error"]["message"] and str(N_CTX) in bad["error"]["message"], bad
    server_error = bad["response"]["body"]["error"]
    assert server_error["code"] == "context_length_exceeded", server_error
    db = sqlite3.connect(tmp_path / "state.db")
    attempts = dict(db.execute("SELECT custom_id, attempts FROM jobs").fetchall())
    db.close()
    assert attempts["too-long"] == 1, attempts
    assert "line 6 (too-long)" in proc.stderr

    for cid, line in by_id.items():
        assert line["error"] is None, line
        body = line["response"]["body"]
        assert body["object"] == ("chat.completion" if cid in CHAT_IDS else "text_completion")
        usage = body["usage"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0, (cid, usage)
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        budget = next(j for j in JOBS if j["custom_id"] == cid)
        limit = budget.get("max_tokens") or budget.get("body", {}).get("max_tokens") or MAX_TOKENS
        finish = body["choices"][0]["finish_reason"]
        assert finish in ("stop", "length"), (cid, finish)
        # llama.cpp's server counts one token more than max_tokens on some replies cut by
        # the limit (seen: 17 for max_tokens 16, finish "length"): its quirk, not fanout's.
        assert usage["completion_tokens"] <= limit + 1, (cid, usage)
        if usage["completion_tokens"] < limit:
            assert finish == "stop", (cid, body)
    short = by_id["short"]["response"]["body"]
    assert short["choices"][0]["finish_reason"] == "length"
    assert short["usage"]["completion_tokens"] == 2
    assert "Paris" in text_of(by_id["capital"]["response"]["body"])

    # The state file's totals are the sum of what the server reported.
    status = json.loads(fanout("status", "--db", str(tmp_path / "state.db"), "--json").stdout)
    assert (status["total"], status["succeeded"], status["failed"]) == (len(JOBS), 12, 1)
    reported = [ln["response"]["body"]["usage"] for ln in by_id.values()]
    assert status["prompt_tokens"] == sum(u["prompt_tokens"] for u in reported)
    assert status["completion_tokens"] == sum(u["completion_tokens"] for u in reported)

    # Temperature 0 is deterministic: a new run gives the same texts, the same failure.
    again, lines2, seconds2 = run_batch(llama_server, tmp_path, "--new-run")
    print(f"rerun (--new-run): {seconds2:.1f} s")
    assert again.returncode == 1, again.stderr
    assert [ln["custom_id"] for ln in lines2] == IDS
    for first, second in zip(lines, lines2, strict=True):
        if first["error"] is not None:
            assert second["error"] == first["error"]
            continue
        assert text_of(second["response"]["body"]) == text_of(first["response"]["body"])
        assert second["response"]["body"]["usage"] == first["response"]["body"]["usage"]


EVAL_ITEMS = [
    ("add-1", "What is 2 + 3? End with 'Answer: N'.", 5),
    ("add-2", "What is 10 + 7? End with 'Answer: N'.", 17),
    ("sub-1", "What is 9 - 4? End with 'Answer: N'.", 5),
    ("mul-1", "What is 3 times 4? End with 'Answer: N'.", 12),
    ("add-3", "What is 1 + 1? End with 'Answer: N'.", 2),
    ("let-1", "How many times does the letter 'a' appear in 'banana'? End with 'Answer: N'.", 3),
    ("let-2", "How many letters are in the word 'cat'? End with 'Answer: N'.", 3),
    ("let-3", "How many times does the letter 'o' appear in 'moon'? End with 'Answer: N'.", 2),
    ("let-4", "How many letters are in the word 'house'? End with 'Answer: N'.", 5),
    ("let-5", "How many times does the letter 'l' appear in 'hello'? End with 'Answer: N'.", 2),
]


def test_eval_against_llama_cpp(llama_server: LlamaServer, tmp_path: Path) -> None:
    evalset = tmp_path / "tiny.jsonl"
    evalset.write_text(
        "".join(
            json.dumps({"id": i, "input": q, "target": t, "scorer": "numeric"}) + "\n"
            for i, q, t in EVAL_ITEMS
        )
    )
    out_dir = tmp_path / "eval"
    t0 = time.monotonic()
    proc = fanout(
        "eval",
        str(evalset),
        "--model",
        MODEL_ALIAS,
        "--base-url",
        llama_server.url,
        "--db",
        str(tmp_path / "eval.db"),
        "--out-dir",
        str(out_dir),
        "--max-tokens",
        "32",
        "--concurrency",
        "8",
        "--no-progress",
        "--json",
    )
    print(f"\neval of {len(EVAL_ITEMS)} items: {time.monotonic() - t0:.1f} s\n{proc.stderr}")
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout.strip().splitlines()[-1])
    summary = json.loads((out_dir / "summary.json").read_text())
    assert printed == summary
    (score,) = summary["models"]
    print(json.dumps({k: score[k] for k in ("n", "correct", "accuracy", "wrong", "unparsed")}))
    n = len(EVAL_ITEMS)
    assert score["model"] == MODEL_ALIAS and score["n"] == n
    outcomes = [item["outcome"] for item in score["items"]]
    assert [item["id"] for item in score["items"]] == [i for i, _, _ in EVAL_ITEMS]
    assert set(outcomes) <= {"correct", "wrong", "unparsed", "truncated"}  # no errors
    assert score["correct"] == outcomes.count("correct")
    for key in ("wrong", "unparsed", "truncated"):
        assert score[key] == outcomes.count(key), key
    assert score["errors"] == score["missing"] == 0
    assert abs(score["accuracy"] - score["correct"] / n) < 1e-9
    assert 0 <= score["ci_low"] <= score["accuracy"] <= score["ci_high"] <= 1
    assert score["tokens"]["output"]["n"] == n  # usage read from every answer
    results = [
        json.loads(x) for x in (out_dir / f"{MODEL_ALIAS}.results.jsonl").read_text().splitlines()
    ]
    assert [r["custom_id"] for r in results] == [i for i, _, _ in EVAL_ITEMS]
    assert all(r["response"]["status_code"] == 200 for r in results)
    for name in ("report.html", "report.md"):
        assert (out_dir / name).stat().st_size > 0, name
