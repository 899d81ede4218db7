"""The worker pool against a scripted transport (httpx.MockTransport) and a fake clock.

End-to-end behaviour over real sockets is in test_e2e.py; these pin the decisions: what is
retried, what fails at once, what aborts, how attempts are counted.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest

from jobs import Defaults, JobFile
from runner import Store
from runner._client import ApiClient, Attempt
from runner._clock import FakeClock, SystemClock
from runner._engine import Engine, EngineSettings
from runner._limiter import NoLimit
from runner._store import JobOutcome

Handler = Callable[[str, int], httpx.Response]  # (prompt, attempt number) -> response


def ok(prompt: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": f"id-{prompt}",
            "choices": [{"text": prompt}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5},
        },
    )


def make(
    tmp_path: Path, n: int, handler: Handler, concurrency: int = 4, **settings: int
) -> tuple[Engine, Store, int, FakeClock]:
    path = tmp_path / "j.jsonl"
    path.write_text(
        "".join(json.dumps({"custom_id": f"c{i}", "prompt": f"p{i}"}) + "\n" for i in range(n))
    )
    store = Store.open(tmp_path / "s.db")
    run = store.create_run(
        jobs_path=str(path),
        jobs_sha256="s",
        options_json="{}",
        identity="i",
        out_path="o",
        jobs=JobFile(path, Defaults(model="m")),
    )
    assert run.id is not None
    attempts: dict[str, int] = defaultdict(int)

    def respond(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer sk-test"
        assert request.url.path == "/v1/completions"
        prompt = json.loads(request.content)["prompt"]
        attempts[prompt] += 1
        return handler(prompt, attempts[prompt])

    clock = FakeClock()
    client = ApiClient(
        "http://test/v1",
        "sk-test",
        concurrency=4,
        transport=httpx.MockTransport(respond),
        clock=clock,
    )
    engine = Engine(
        store,
        run.id,
        client,
        NoLimit(),
        EngineSettings(concurrency=concurrency, **settings),
        clock=clock,
    )
    return engine, store, run.id, clock


def results(store: Store, run_id: int) -> dict[str, dict[str, object]]:
    return {r.custom_id: json.loads(r.to_json()) for r in store.iter_results(run_id)}


@pytest.mark.asyncio
async def test_transient_errors_are_retried_until_success(tmp_path: Path) -> None:
    def handler(prompt: str, attempt: int) -> httpx.Response:
        if attempt == 1:
            return httpx.Response(503, json={"error": {"message": "Engine overloaded"}})
        if attempt == 2:
            return httpx.Response(
                429,
                headers={"retry-after": "2"},
                json={"error": {"message": "slow", "type": "rate_limit"}},
            )
        return ok(prompt)

    engine, store, run_id, clock = make(tmp_path, 10, handler)
    stats = await engine.run()
    assert (stats.succeeded, stats.failed, stats.retries, stats.rate_limited) == (10, 0, 20, 10)
    out = results(store, run_id)
    assert {k: v["response"]["body"]["id"] for k, v in out.items()} == {  # type: ignore[index]
        f"c{i}": f"id-p{i}" for i in range(10)
    }
    assert any(s >= 2.0 for s in clock.slept)  # the retry-after was honoured
    assert store.counts(run_id).prompt_tokens == 20


@pytest.mark.asyncio
async def test_bad_request_fails_at_once_and_the_run_goes_on(tmp_path: Path) -> None:
    def handler(prompt: str, attempt: int) -> httpx.Response:
        if prompt == "p3":
            return httpx.Response(
                400,
                json={
                    "error": {"message": "Prompt cannot be empty", "type": "invalid_request_error"}
                },
            )
        return ok(prompt)

    engine, store, run_id, _ = make(tmp_path, 6, handler)
    stats = await engine.run()
    assert (stats.succeeded, stats.failed, stats.retries) == (5, 1, 0)
    line = results(store, run_id)["c3"]
    assert line["error"] == {
        "code": "invalid_request_error",
        "message": "HTTP 400: Prompt cannot be empty",
    }
    assert line["response"]["status_code"] == 400  # type: ignore[index]


@pytest.mark.asyncio
async def test_exhausted_attempts_record_the_last_error(tmp_path: Path) -> None:
    def handler(prompt: str, attempt: int) -> httpx.Response:
        if prompt == "p0":
            return httpx.Response(
                521, text="error code: 521", headers={"content-type": "text/plain"}
            )
        return ok(prompt)

    engine, store, run_id, clock = make(tmp_path, 3, handler, max_attempts=4)
    stats = await engine.run()
    assert (stats.succeeded, stats.failed, stats.retries) == (2, 1, 3)
    assert results(store, run_id)["c0"]["error"] == {
        "code": "http_521_exhausted",
        "message": "HTTP 521: error code: 521 (gave up after 4 attempts)",
    }
    assert store.failed_jobs(run_id)[0][0] == 1
    assert len(clock.slept) == 3


@pytest.mark.asyncio
async def test_transport_errors_are_retried(tmp_path: Path) -> None:
    def handler(prompt: str, attempt: int) -> httpx.Response:
        if attempt == 1:
            raise httpx.ReadError("connection reset by peer")
        if attempt == 2:
            raise httpx.ReadTimeout("timed out")
        return ok(prompt)

    engine, store, run_id, _ = make(tmp_path, 5, handler)
    stats = await engine.run()
    assert (stats.succeeded, stats.retries) == (5, 10)
    assert stats.errors_by_code == {"connection_error": 5, "timeout": 5}


@pytest.mark.asyncio
async def test_bad_key_aborts_and_leaves_jobs_pending(tmp_path: Path) -> None:
    def handler(prompt: str, attempt: int) -> httpx.Response:
        return httpx.Response(
            401, json={"error": {"message": "Invalid API key provided.", "code": "invalid_api_key"}}
        )

    engine, store, run_id, _ = make(tmp_path, 50, handler)
    stats = await engine.run()
    assert stats.aborted == "HTTP 401: Invalid API key provided."
    c = store.counts(run_id)
    assert (c.pending, c.failed, c.succeeded) == (50, 0, 0)
    assert stats.requests <= 4  # only what was already in flight


@pytest.mark.asyncio
async def test_resume_sends_only_unfinished_and_counts_attempts(tmp_path: Path) -> None:
    def flaky(prompt: str, attempt: int) -> httpx.Response:
        if prompt in ("p1", "p2"):
            return httpx.Response(500, json={"error": {"message": "Internal server error"}})
        return ok(prompt)

    engine, store, run_id, _ = make(tmp_path, 4, flaky, max_attempts=2)
    await engine.run()
    assert store.counts(run_id).failed == 2

    sent: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        prompt = json.loads(request.content)["prompt"]
        sent.append(prompt)
        return ok(prompt)

    client = ApiClient("http://test/v1", None, transport=httpx.MockTransport(respond))
    again = Engine(store, run_id, client, NoLimit(), EngineSettings(concurrency=2))
    await again.run()
    assert sorted(sent) == ["p1", "p2"]
    c = store.counts(run_id)
    assert (c.succeeded, c.failed) == (4, 0)
    page = {j.custom_id: j for j in store.unfinished_page(run_id, 0, 10)}
    assert page == {}
    line = results(store, run_id)["c1"]
    assert line["error"] is None


@pytest.mark.asyncio
async def test_stop_cuts_backoff_short_and_leaves_the_job_pending(tmp_path: Path) -> None:
    def handler(prompt: str, attempt: int) -> httpx.Response:
        if prompt == "p0":
            return httpx.Response(429, headers={"retry-after": "500"}, json={"error": {}})
        return ok(prompt)

    engine, store, run_id, _ = make(tmp_path, 3, handler)
    engine.clock = SystemClock()  # a real 500 s wait that only the stop can end
    engine.settings.grace = 30.0
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            # polling the engine's live counters, as the progress bar does
            while engine.stats.retries == 0 or engine.stats.succeeded < 2:  # noqa: ASYNC110
                await anyio.sleep(0.01)
            engine.request_stop()
    c = store.counts(run_id)
    assert (c.succeeded, c.pending, c.failed) == (2, 1, 0)
    assert engine.interrupted


@pytest.mark.asyncio
async def test_writer_commits_what_is_ready_in_one_transaction(tmp_path: Path) -> None:
    engine, store, run_id, _ = make(tmp_path, 250, lambda prompt, _: ok(prompt))
    batches: list[int] = []
    engine.on_commit = lambda items: batches.append(len(items))
    stats = await engine.run()
    assert stats.succeeded == 250 and sum(batches) == 250
    # Group commit: one transaction takes every result ready, and no more can be ready
    # than the workers made (results are handed over, never buffered).
    assert max(batches) <= 4 and any(b > 1 for b in batches), batches
    assert store.counts(run_id).succeeded == 250


@pytest.mark.asyncio
async def test_a_result_is_committed_while_other_requests_are_in_flight(tmp_path: Path) -> None:
    engine, store, run_id, _ = make(tmp_path, 4, lambda prompt, _: ok(prompt))
    release = anyio.Event()
    inner = engine.client

    class HoldLast:  # answers p0-p2 at once, p3 only once a result has been committed
        async def post(self, endpoint: str, body: bytes) -> Attempt:
            if b'"p3"' in body:
                await release.wait()
            return await inner.post(endpoint, body)

    engine.client = HoldLast()  # type: ignore[assignment]
    committed: list[list[str]] = []

    def on_commit(items: list[JobOutcome]) -> None:
        committed.append([str(o.request_id) for o in items])
        release.set()

    engine.on_commit = on_commit
    with anyio.fail_after(10):  # no batch to fill and no timer: nothing waits for p3
        stats = await engine.run()
    assert stats.succeeded == 4
    assert committed[-1] == ["id-p3"]
    assert sorted(r for batch in committed[:-1] for r in batch) == ["id-p0", "id-p1", "id-p2"]


@pytest.mark.asyncio
async def test_a_retry_waits_in_its_lane_not_in_a_worker(tmp_path: Path) -> None:
    # One worker. c0's first attempt is refused 503; while its backoff runs the worker
    # sends the jobs after it, and c0 goes again when its time has come. (When the worker
    # slept out the backoff itself, it sent p0, p0, p1, ...: the pool idled meanwhile.)
    seen: list[str] = []

    def handler(prompt: str, attempt: int) -> httpx.Response:
        seen.append(prompt)
        if prompt == "p0" and attempt == 1:
            return httpx.Response(
                503, headers={"retry-after": "5"}, json={"error": {"message": "overloaded"}}
            )
        return ok(prompt)

    engine, store, run_id, clock = make(tmp_path, 4, handler, concurrency=1)
    stats = await engine.run()
    assert (stats.succeeded, stats.failed, stats.retries) == (4, 0, 1)
    assert seen == ["p0", "p1", "p2", "p3", "p0"]
    assert any(s >= 4.0 for s in clock.slept)  # the lane waited out c0's retry-after
    assert results(store, run_id)["c0"]["error"] is None
