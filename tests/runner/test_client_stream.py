"""The client reads streamed answers (SSE) into the same non-streamed shape, times them, and
turns a broken stream into a retry. Scripted transport here; the simulator's real streams
are in test_e2e_stream.py."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from jobs import Defaults, JobFile
from runner import Store
from runner._client import ApiClient
from runner._engine import Engine, EngineSettings
from runner._limiter import NoLimit
from runner._retry import Action

SSE = {"content-type": "text/event-stream;charset=utf-8"}
USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


def events(*chunks: dict[str, Any], done: bool = True) -> bytes:
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


def piece(content: str, finish: str | None = None, usage: Any = None) -> dict[str, Any]:
    return {
        "id": "r-1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
        "usage": usage,
    }


GOOD = events(piece("Four"), piece("."), piece("", "stop", USAGE))


class Broken(httpx.AsyncByteStream):
    """Yields some bytes, then the connection drops."""

    def __init__(self, head: bytes) -> None:
        self.head = head

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        raise httpx.ReadError("connection reset by peer")


def client(handler: Any) -> ApiClient:
    return ApiClient("http://test/v1", "sk-test", transport=httpx.MockTransport(handler))


BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": "2+2?"}], "stream": True})


@pytest.mark.asyncio
async def test_a_stream_is_reassembled_and_timed() -> None:
    async with client(lambda r: httpx.Response(200, headers=SSE, content=GOOD)) as c:
        attempt = await c.post("/v1/chat/completions", BODY.encode())
    assert attempt.decision.action is Action.DONE
    assert attempt.status == 200 and attempt.request_id == "r-1"
    assert attempt.usage is not None and attempt.usage.total_tokens == 8
    assert attempt.body is not None
    body = json.loads(attempt.body)
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "Four."
    assert body["choices"][0]["finish_reason"] == "stop"
    assert attempt.ttft is not None and attempt.ttfa is not None
    assert 0 <= attempt.ttft <= attempt.ttfa <= attempt.latency


@pytest.mark.asyncio
async def test_a_json_answer_to_a_stream_request_is_read_as_json() -> None:
    """A server that ignores ``stream`` answers with one JSON body: that is fine too."""
    plain = {"id": "x", "choices": [{"message": {"content": "4"}}], "usage": USAGE}
    async with client(lambda r: httpx.Response(200, json=plain)) as c:
        attempt = await c.post("/v1/chat/completions", BODY.encode())
    assert attempt.decision.action is Action.DONE and attempt.ttft is None
    assert attempt.body is not None and json.loads(attempt.body) == plain


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("response", "code", "says"),
    [
        (httpx.Response(200, headers=SSE, stream=Broken(events(piece("Fo"), done=False))),
         "connection_error", "connection reset"),
        (httpx.Response(200, headers=SSE, content=events(piece("Four", "stop", USAGE), done=False)),
         "stream_error", "without data: [DONE]"),
        (httpx.Response(200, headers=SSE,
                        content=events(piece("Fo"), {"error": {"message": "model crashed"}})),
         "stream_error", "model crashed"),
        (httpx.Response(200, headers=SSE, content=b""), "stream_error", "no chunk at all"),
        (httpx.Response(200, headers=SSE, content=events(done=True)),
         "stream_error", "no chunk at all"),
        (httpx.Response(200, headers=SSE, content=events({"id": "x", "choices": []})),
         "invalid_response", "'choices' is empty"),
    ],
    ids=["cut", "no-done", "error-chunk", "empty", "done-only", "no-choices"],
)  # fmt: skip
async def test_broken_streams_are_retried(response: httpx.Response, code: str, says: str) -> None:
    async with client(lambda r: response) as c:
        attempt = await c.post("/v1/chat/completions", BODY.encode())
    assert attempt.decision.action is Action.RETRY, attempt.decision
    assert attempt.decision.code == code
    assert says in attempt.decision.message


@pytest.mark.asyncio
async def test_an_error_status_on_a_stream_request_is_classified_as_usual() -> None:
    error = {"error": {"message": "slow down", "type": "rate_limit"}}
    response = httpx.Response(429, headers={"retry-after": "3"}, json=error)
    async with client(lambda r: response) as c:
        attempt = await c.post("/v1/chat/completions", BODY.encode())
    assert attempt.decision.rate_limited and attempt.decision.retry_after == 3.0


@pytest.mark.asyncio
async def test_engine_retries_a_cut_stream_and_stores_the_whole_answer(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(
        "".join(
            json.dumps({"custom_id": f"c{i}", "messages": [{"role": "user", "content": f"q{i}"}]})
            + "\n"
            for i in range(6)
        )
    )
    store = Store.open(tmp_path / "s.db")
    run = store.create_run(
        jobs_path=str(path),
        jobs_sha256="s",
        options_json="{}",
        identity="i",
        out_path="o",
        jobs=JobFile(path, Defaults(model="m", stream=True)),
    )
    assert run.id is not None
    attempts: dict[str, int] = defaultdict(int)

    def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["stream"] is True
        q = body["messages"][0]["content"]
        attempts[q] += 1
        if attempts[q] == 1:
            return httpx.Response(200, headers=SSE, stream=Broken(events(piece("par"), done=False)))
        return httpx.Response(
            200, headers=SSE, content=events(piece(f"answer {q}"), piece("", "stop", USAGE))
        )

    api = ApiClient("http://test/v1", None, transport=httpx.MockTransport(respond))
    engine = Engine(store, run.id, api, NoLimit(), EngineSettings(concurrency=3))
    engine.backoff.base = 0.001
    with anyio.fail_after(20):
        stats = await engine.run()
    await api.aclose()
    assert (stats.succeeded, stats.failed, stats.retries) == (6, 0, 6)
    lines = [json.loads(r.to_json()) for r in store.iter_results(run.id)]
    assert [ln["custom_id"] for ln in lines] == [f"c{i}" for i in range(6)]
    for i, line in enumerate(lines):
        body = line["response"]["body"]
        assert body["choices"][0]["message"]["content"] == f"answer q{i}"  # not "par..."
        assert body["usage"] == USAGE
    store.close()
    db = sqlite3.connect(tmp_path / "s.db")
    rows = db.execute("SELECT attempts, ttft_ms, ttfa_ms, latency_ms FROM jobs").fetchall()
    db.close()
    for attempts_made, ttft, ttfa, latency in rows:
        assert attempts_made == 2
        assert ttft is not None and ttfa is not None and 0 <= ttft <= ttfa <= latency
