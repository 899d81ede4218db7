"""The simulator over a real loopback socket, and its decisions without sockets.

The client side of these tests is plain httpx with its default transport: the simulator
must speak HTTP well enough for any client, not just the one fanout uses.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from togethersim import FaultRates, SimConfig, SimServer, parse_faults, parse_latency, signature
from togethersim._app import Action, SimApp
from togethersim._ratelimit import RateLimiter

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "What is 2+2?"}]}
TEXT = {"model": MODEL, "prompt": "Once upon a time", "max_tokens": 20}


@pytest.fixture
def server() -> Iterator[tuple[SimServer, httpx.Client]]:
    sim = SimServer(SimConfig(seed=3))
    with sim.run_in_thread() as url, httpx.Client(base_url=url, timeout=10) as client:
        yield sim, client


def _content(body: dict[str, Any]) -> str:
    choice = body["choices"][0]
    return str(choice["message"]["content"] if "message" in choice else choice["text"])


# --- shapes -------------------------------------------------------------------------------


def test_chat_reply_has_together_shape_and_names_its_request(
    server: tuple[SimServer, httpx.Client],
) -> None:
    _, client = server
    r = client.post("/chat/completions", json=CHAT)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == MODEL
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "stop"
    assert _content(body).startswith(f"sim:{signature('/v1/chat/completions', CHAT)} ")
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == len(_content(body).split())
    assert "reasoning_tokens" not in usage


def test_text_completion_shape_and_length_cut(server: tuple[SimServer, httpx.Client]) -> None:
    _, client = server
    body = client.post("/completions", json={**TEXT, "max_tokens": 3}).json()
    assert body["object"] == "text.completion"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    assert len(body["choices"][0]["text"].split()) == 3
    assert body["choices"][0]["text"].startswith(f"sim:{signature('/v1/completions', TEXT)} ")


def test_same_request_same_words_different_request_different_words(
    server: tuple[SimServer, httpx.Client],
) -> None:
    _, client = server
    a1 = _content(client.post("/chat/completions", json=CHAT).json())
    a2 = _content(client.post("/chat/completions", json=CHAT).json())
    other = {**CHAT, "messages": [{"role": "user", "content": "What is 3+3?"}]}
    b = _content(client.post("/chat/completions", json=other).json())
    assert a1 == a2
    assert a1 != b


@pytest.mark.parametrize(
    ("model", "where"),
    [
        ("deepseek-ai/DeepSeek-R1", "inline"),
        ("Qwen/Qwen3-235B-A22B-Thinking-2507", "no-open"),
        ("openai/gpt-oss-120b", "field"),
        ("moonshotai/Kimi-K2-Thinking", "field"),
    ],
)
def test_reasoning_models_return_reasoning_where_the_family_does(
    server: tuple[SimServer, httpx.Client], model: str, where: str
) -> None:
    _, client = server
    req = {**CHAT, "model": model}
    body = client.post("/chat/completions", json=req).json()
    message = body["choices"][0]["message"]
    content = message["content"]
    sig = signature("/v1/chat/completions", req)
    if where == "inline":
        assert re.match(r"^<think>\nsim reasoning[^<]*\n</think>\n\nsim:" + sig, content)
        assert message["reasoning"] is None
    elif where == "no-open":
        assert "<think>" not in content
        assert re.match(r"^sim reasoning[^<]*\n</think>\n\nsim:" + sig, content)
    else:
        assert content.startswith(f"sim:{sig} ")
        assert message["reasoning"].startswith("sim reasoning")
    assert body["usage"]["reasoning_tokens"] > 0


def test_cut_inside_thinking_closes_the_block_and_keeps_the_signature(
    server: tuple[SimServer, httpx.Client],
) -> None:
    _, client = server
    req = {**CHAT, "model": "deepseek-ai/DeepSeek-R1", "max_tokens": 3}
    body = client.post("/chat/completions", json=req).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    assert body["usage"]["reasoning_tokens"] == 2
    assert "</think>" in body["choices"][0]["message"]["content"]


def test_models_endpoint_lists_prices(server: tuple[SimServer, httpx.Client]) -> None:
    _, client = server
    models = client.get("/models").json()
    assert isinstance(models, list)
    ids = {m["id"] for m in models}
    assert MODEL in ids
    assert all({"input", "output"} <= set(m["pricing"]) for m in models)


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/chat/completions", {"messages": [{"role": "user", "content": "x"}]}, "model"),
        ("/chat/completions", {"model": MODEL, "messages": []}, "messages"),
        ("/chat/completions", {**CHAT, "max_tokens": 0}, "max_tokens"),
        ("/completions", {"model": MODEL, "prompt": ""}, "Prompt cannot be empty"),
        ("/completions", {"model": MODEL, "prompt": 5}, "prompt"),
    ],
)
def test_invalid_bodies_get_400_with_together_envelope(
    server: tuple[SimServer, httpx.Client], path: str, body: dict[str, Any], needle: str
) -> None:
    _, client = server
    r = client.post(path, json=body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert needle in error["message"]


def test_non_json_body_is_400(server: tuple[SimServer, httpx.Client]) -> None:
    _, client = server
    r = client.post("/chat/completions", content=b"{not json")
    assert r.status_code == 400


def test_unknown_path_is_404(server: tuple[SimServer, httpx.Client]) -> None:
    _, client = server
    assert client.post("/embeddings", json=CHAT).status_code == 404


# --- faults ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        ("500", 500, "application/json"),
        ("503", 503, "application/json"),
        ("520", 520, "text/plain"),
    ],
)
def test_forced_http_faults(
    server: tuple[SimServer, httpx.Client], fault: str, status: int, content_type: str
) -> None:
    sim, client = server
    r = client.post("/chat/completions", json=CHAT, headers={"x-sim-fault": fault})
    assert r.status_code == status
    assert r.headers["content-type"].startswith(content_type)
    if status == 520:
        assert r.text == "error code: 520"
    else:
        assert r.json()["error"]["type"] == "server_error"
    assert sim.stats()["by_status"] == {fault: 1}


def test_forced_reset_breaks_the_connection(server: tuple[SimServer, httpx.Client]) -> None:
    sim, client = server
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.post("/chat/completions", json=CHAT, headers={"x-sim-fault": "reset"})
    assert sim.stats()["by_status"] == {"reset": 1}
    assert client.post("/chat/completions", json=CHAT).status_code == 200  # server lives on


def test_forced_truncate_sends_half_a_body(server: tuple[SimServer, httpx.Client]) -> None:
    sim, client = server
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/chat/completions", json=CHAT, headers={"x-sim-fault": "truncate"})
    assert sim.stats()["by_status"] == {"truncate": 1}
    assert sim.stats()["answered"] == {}  # a truncated answer is not a delivered answer


def test_slow_fault_and_abandoned_request() -> None:
    sim = SimServer(SimConfig(slow_seconds=5.0))
    with sim.run_in_thread() as url, httpx.Client(base_url=url, timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post("/chat/completions", json=CHAT, headers={"x-sim-fault": "slow"})
        deadline = time.monotonic() + 5
        while sim.stats()["by_status"].get("abandoned") != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sim.stats()["by_status"] == {"abandoned": 1}


def test_bad_fault_header_is_400(server: tuple[SimServer, httpx.Client]) -> None:
    _, client = server
    r = client.post("/chat/completions", json=CHAT, headers={"x-sim-fault": "explode"})
    assert r.status_code == 400


def test_seeded_fault_draw_is_repeatable_and_near_its_rates() -> None:
    def outcomes(seed: int) -> list[str]:
        app = SimApp(SimConfig(faults=parse_faults("500=0.2,reset=0.1"), seed=seed))
        seen = []
        for i in range(2000):
            body = json.dumps({**CHAT, "messages": [{"role": "user", "content": str(i)}]})
            reply = app.handle(b"POST", b"/v1/chat/completions", [], body.encode())
            seen.append("reset" if reply.action is Action.RESET else str(reply.status))
        return seen

    first = outcomes(7)
    assert first == outcomes(7)
    assert first != outcomes(8)
    assert 0.16 < first.count("500") / 2000 < 0.24
    assert 0.07 < first.count("reset") / 2000 < 0.13


def test_stats_count_duplicate_answers(server: tuple[SimServer, httpx.Client]) -> None:
    sim, client = server
    for _ in range(3):
        client.post("/chat/completions", json=CHAT)
    client.post("/completions", json=TEXT)
    stats = sim.stats()
    assert stats["requests"] == 4
    assert stats["duplicates"] == 1
    assert stats["extra_answers"] == 2
    assert stats["answered"][signature("/v1/chat/completions", CHAT)] == 3


def test_api_key_is_enforced_when_set() -> None:
    sim = SimServer(SimConfig(api_key="sekrit"))
    with sim.run_in_thread() as url, httpx.Client(base_url=url) as client:
        r = client.post("/chat/completions", json=CHAT)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key"
        ok = client.post("/chat/completions", json=CHAT, headers={"authorization": "Bearer sekrit"})
        assert ok.status_code == 200


# --- rate limits ------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_per_second_request_bucket_with_fake_clock() -> None:
    clock = _Clock()
    limiter = RateLimiter(rpm=120, tpm=None, clock=clock, burst=1.0)  # 2 per second, no burst
    assert limiter.check("m", 10).allowed
    assert limiter.check("m", 10).allowed
    refused = limiter.check("m", 10)
    assert not refused.allowed
    assert refused.retry_after == 1
    headers = dict(refused.headers)
    assert headers[b"x-ratelimit-limit"] == b"2"
    assert headers[b"x-ratelimit-remaining"] == b"0"
    assert headers[b"retry-after"] == b"1"
    assert limiter.check("other-model", 10).allowed  # limits are per model
    clock.now += 0.5  # one request refills
    assert limiter.check("m", 10).allowed
    assert not limiter.check("m", 10).allowed


def test_a_big_request_is_charged_at_most_the_token_capacity() -> None:
    clock = _Clock()
    limiter = RateLimiter(rpm=None, tpm=600, clock=clock)  # 10 tokens/s, 20 with the burst
    big = limiter.check("m", 50)  # bigger than the bucket: admitted once full, empties it
    assert big.allowed
    assert big.charged_tokens == 20
    refused = limiter.check("m", 15)
    assert not refused.allowed
    assert refused.retry_after == 2  # 15 tokens at 10/s: 1.5 s, rounded up
    clock.now += 1.5
    verdict = limiter.check("m", 15)
    assert verdict.allowed
    assert dict(verdict.headers)[b"x-ratelimit-limit-tokens"] == b"10"


def test_fractional_limit_header_is_printed_like_together() -> None:
    limiter = RateLimiter(rpm=10, tpm=None, clock=_Clock())
    headers = dict(limiter.check("m", 1).headers)
    assert headers[b"x-ratelimit-limit"] == b"0.1666666667"


def test_rate_limited_server_answers_429_with_body_and_headers() -> None:
    sim = SimServer(SimConfig(rpm=60, burst=1.0))  # one request per second per model
    with sim.run_in_thread() as url, httpx.Client(base_url=url) as client:
        ok = client.post("/chat/completions", json=CHAT)
        assert ok.status_code == 200
        assert ok.headers["x-ratelimit-limit"] == "1"
        limited = client.post("/chat/completions", json=CHAT)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["x-ratelimit-remaining"] == "0"
        error = limited.json()["error"]
        assert error["type"] == "rate_limit"
        assert "60 RPM (1 QPS)" in error["message"]


def test_forced_429_charges_nothing(server: tuple[SimServer, httpx.Client]) -> None:
    sim, client = server
    r = client.post("/chat/completions", json=CHAT, headers={"x-sim-fault": "429"})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"
    assert sim.stats()["by_status"] == {"429": 1}


# --- configuration and the command ------------------------------------------------------


def test_parse_faults_and_latency() -> None:
    assert parse_faults("") == FaultRates()
    assert parse_faults("500=0.1, reset=0.05") == FaultRates(http_500=0.1, reset=0.05)
    assert parse_latency("0.2") == (0.2, 0.2)
    assert parse_latency("0.1-2") == (0.1, 2.0)
    for bad in ("500", "600=0.1", "500=2", "500=0.1,500=0.2", "500=0.7,503=0.7"):
        with pytest.raises(ValueError):
            parse_faults(bad)
    for bad in ("x", "2-1", "-1"):
        with pytest.raises(ValueError):
            parse_latency(bad)


def test_fanout_sim_command_serves_until_sigterm() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "fanout", "sim", "--port", "0", "--latency", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.search(r"listening on (http://\S+)", line)
            assert match, line
            with httpx.Client(base_url=match.group(1)) as client:
                assert client.post("/chat/completions", json=CHAT).status_code == 200
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
