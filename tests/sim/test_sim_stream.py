"""Streams from the simulator over a real socket: what the wire carries, and that putting the
chunks back together gives exactly the non-streamed answer (content, reasoning, tool calls,
logprobs, usage) for every reasoning style, both usage placements, n > 1 and each fault."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from togethersim import AnswerKey, AnswerSpec, SimConfig, SimServer, parse_faults
from togethersim._app import Action, SimApp

LLAMA = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
QWEN = "Qwen/Qwen2.5-7B-Instruct-Turbo"
MODELS = {  # model -> where it puts reasoning
    LLAMA: "none",
    "openai/gpt-oss-120b": "field",
    "deepseek-ai/DeepSeek-R1": "inline",
    "Qwen/Qwen3-235B-A22B-Thinking-2507": "inline-no-open",
}
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
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


def chat(model: str = LLAMA, content: str = "Tell me about the sea.", **extra: Any) -> Any:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with SimServer(SimConfig(seed=3)).run_in_thread() as url:
        with httpx.Client(base_url=url, timeout=10) as c:
            yield c


# --- reading a stream ---------------------------------------------------------------------


def parse_events(raw: bytes) -> list[Any]:
    """The ``data:`` payloads of an SSE body, decoded ("[DONE]" kept as the string)."""
    assert raw.endswith(b"\n\n") or not raw, raw[-40:]
    out: list[Any] = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        assert block.startswith("data: ") and "\n" not in block, block
        data = block[len("data: ") :]
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


def stream(client: httpx.Client, path: str, body: dict[str, Any], **headers: str) -> list[Any]:
    with client.stream("POST", path, json={**body, "stream": True}, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream;charset=utf-8"
        assert r.headers["cache-control"] == "no-cache, no-transform"
        assert "content-length" not in r.headers
        assert r.headers["transfer-encoding"] == "chunked"
        return parse_events(r.read())


def reassemble(events: list[Any]) -> dict[str, Any]:
    """The non-streamed body a client would rebuild from the chunks."""
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    first = chunks[0]
    choices: dict[int, dict[str, Any]] = {}
    usages = [c["usage"] for c in chunks if c.get("usage") is not None]
    assert len(usages) == 1, usages
    for chunk in chunks:
        assert chunk["id"] == first["id"] and chunk["created"] == first["created"]
        assert chunk["object"] == first["object"] and chunk["model"] == first["model"]
        for choice in chunk["choices"]:
            c = choices.setdefault(
                choice["index"],
                {"content": "", "reasoning": None, "calls": {}, "finish": None, "lp": []},
            )
            delta = choice["delta"]
            assert delta["role"] == "assistant"
            assert choice["text"] == delta["content"]
            c["content"] += delta["content"]
            if delta.get("reasoning") is not None:
                c["reasoning"] = (c["reasoning"] or "") + delta["reasoning"]
            elif "reasoning" in delta and c["reasoning"] is None:
                c["reasoning"] = ""
            for call in delta.get("tool_calls") or []:
                slot = c["calls"].setdefault(call["index"], {"arguments": ""})
                if "id" in call:
                    assert call["function"]["arguments"] == ""
                    slot.update(id=call["id"], type=call["type"], name=call["function"]["name"])
                slot["arguments"] += call["function"]["arguments"]
            if choice["finish_reason"] is not None:
                c["finish"] = choice["finish_reason"]
            if isinstance(choice["logprobs"], float):  # Together's shape: one token a chunk
                part = {
                    "token_ids": [delta["token_id"]],
                    "tokens": [delta["content"]],
                    "token_logprobs": [choice["logprobs"]],
                }
                if "top_logprobs" in choice:
                    part["top_logprobs"] = [choice["top_logprobs"]]
                c["lp"].append(part)
            elif choice["logprobs"] is not None:
                c["lp"].append(choice["logprobs"])
    return {"choices": choices, "usage": usages[0], "object": first["object"]}


def assert_same(streamed: dict[str, Any], body: dict[str, Any]) -> None:
    assert streamed["usage"] == body["usage"]
    assert sorted(streamed["choices"]) == [c["index"] for c in body["choices"]]
    for choice in body["choices"]:
        got = streamed["choices"][choice["index"]]
        assert got["finish"] == choice["finish_reason"]
        if "message" in choice:
            message = choice["message"]
            assert got["content"] == message["content"]
            assert (got["reasoning"] or None) == (message["reasoning"] or None)
            calls = [
                {
                    "id": c["id"],
                    "index": i,
                    "type": c["type"],
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for i, c in sorted(got["calls"].items())
            ]
            assert calls == message["tool_calls"]
        else:
            assert got["content"] == choice["text"]
        if choice["logprobs"] is None:
            assert got["lp"] == []
        elif not got["lp"]:  # no content tokens (e.g. cut while thinking): nothing to stream
            assert all(v in ([], None) for v in choice["logprobs"].values())
        else:
            assert merge_logprobs(got["lp"]) == choice["logprobs"]


def merge_logprobs(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, list):
                merged[key] = merged.get(key, []) + value
            else:
                merged[key] = value
    return merged


def both(client: httpx.Client, path: str, body: dict[str, Any], **headers: str) -> None:
    plain = client.post(path, json=body, headers=headers).json()
    assert_same(reassemble(stream(client, path, body, **headers)), plain)


# --- reassembly --------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("max_tokens", [None, 3, 15])
def test_chat_stream_reassembles_to_the_plain_answer(
    client: httpx.Client, model: str, max_tokens: int | None
) -> None:
    body = chat(model) if max_tokens is None else chat(model, max_tokens=max_tokens)
    both(client, "/chat/completions", body)


def test_text_completion_stream(client: httpx.Client) -> None:
    body = {"model": LLAMA, "prompt": "Once upon a time", "max_tokens": 30}
    events = stream(client, "/completions", body)
    assert {e["object"] for e in events[:-1]} == {"completion.chunk"}
    assert "reasoning" not in events[0]["choices"][0]["delta"]
    both(client, "/completions", body)


def test_reasoning_arrives_in_delta_reasoning_for_field_models(client: httpx.Client) -> None:
    events = stream(client, "/chat/completions", chat("openai/gpt-oss-120b"))
    deltas = [e["choices"][0]["delta"] for e in events[:-1] if e["choices"]]
    thinking = [d for d in deltas if d["reasoning"]]
    assert thinking and all(d["content"] == "" for d in thinking)
    assert deltas.index(thinking[-1]) < min(i for i, d in enumerate(deltas) if d["content"])
    assert "".join(d["reasoning"] for d in thinking).startswith("sim reasoning")


def test_inline_models_stream_think_tags_in_content(client: httpx.Client) -> None:
    events = stream(client, "/chat/completions", chat("deepseek-ai/DeepSeek-R1"))
    assert events[0]["choices"][0]["delta"]["content"].startswith("<think>\n")
    assert "reasoning" not in events[0]["choices"][0]["delta"]


def test_chunks_carry_one_to_four_tokens(client: httpx.Client) -> None:
    headers = {"x-sim-logprobs-shape": "openai"}
    events = stream(client, "/chat/completions", chat(max_tokens=60, logprobs=0), **headers)
    sizes = [
        len(e["choices"][0]["logprobs"]["content"])
        for e in events[:-1]
        if e["choices"][0]["logprobs"]
    ]
    assert set(sizes) <= {1, 2, 3, 4} and len(set(sizes)) > 1
    assert sum(sizes) == events[-2]["usage"]["completion_tokens"]


def test_tool_call_stream_matches_together(client: httpx.Client) -> None:
    body = chat(
        tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "get_weather"}}
    )
    events = stream(client, "/chat/completions", body)
    deltas = [e["choices"][0]["delta"] for e in events[:-1]]
    assert deltas[0] == {"token_id": None, "role": "assistant", "content": ""}  # role first
    head = deltas[1]["tool_calls"]
    assert head[0]["id"].startswith("call_") and head[0]["type"] == "function"
    assert head[0]["function"] == {"name": "get_weather", "arguments": ""}
    assert all("id" not in d["tool_calls"][0] for d in deltas[2:-1])
    finishes = [e for e in events[:-1] if e["choices"][0]["finish_reason"] == "tool_calls"]
    assert len(finishes) == 2  # the last fragment and the closing chunk, as Together does
    assert finishes[0]["usage"] is None and finishes[1]["usage"] is not None
    assert isinstance(finishes[1]["choices"][0]["seed"], int)
    both(client, "/chat/completions", body)


def test_parallel_eval_tool_calls_and_n_stream(client: httpx.Client) -> None:
    both(client, "/chat/completions", chat(tools=[WEATHER, TIME], n=3))
    both(client, "/chat/completions", chat("openai/gpt-oss-120b", tools=[WEATHER], n=2))


def test_n_choices_interleave_and_carry_their_index(client: httpx.Client) -> None:
    events = stream(client, "/chat/completions", chat(n=3, max_tokens=20))
    order = [e["choices"][0]["index"] for e in events[:-1] if e["choices"]]
    assert order[:3] == [0, 1, 2]  # round-robin
    both(client, "/chat/completions", chat(n=3, max_tokens=20))
    both(client, "/completions", {"model": QWEN, "prompt": "Hello", "n": 4})


def test_together_logprobs_stream_one_token_a_chunk(client: httpx.Client) -> None:
    """Together's spec types a chunk's logprobs as a number, top_logprobs as an object."""
    events = stream(client, "/chat/completions", chat(logprobs=2, max_tokens=10))
    with_lp = [e["choices"][0] for e in events[:-1] if e["choices"][0]["logprobs"] is not None]
    assert len(with_lp) == 10
    for choice in with_lp:
        assert isinstance(choice["logprobs"], float) and len(choice["top_logprobs"]) == 2
        assert isinstance(choice["delta"]["token_id"], int)
    assert events[-2]["choices"][0]["logprobs"] is None  # the finish chunk


@pytest.mark.parametrize("shape", ["together", "openai"])
def test_logprobs_stream_per_chunk(client: httpx.Client, shape: str) -> None:
    for k in (0, 3):
        both(client, "/chat/completions", chat(logprobs=k, n=2), **{"x-sim-logprobs-shape": shape})
        both(
            client,
            "/completions",
            {"model": LLAMA, "prompt": "Hi", "logprobs": k},
            **{"x-sim-logprobs-shape": shape},
        )


def test_structured_output_streams(client: httpx.Client) -> None:
    schema = WEATHER["function"]["parameters"]  # type: ignore[index]
    fmt = {"type": "json_schema", "json_schema": {"name": "w", "schema": schema}}
    both(client, "/chat/completions", chat(response_format=fmt))
    both(client, "/chat/completions", chat("openai/gpt-oss-120b", response_format=fmt))


def test_eval_replies_stream_like_they_answer() -> None:
    """Answer-key replies: thinking cut short, eval tool calls, samples with confidence."""
    key = AnswerKey.build(
        [
            ("How many r in strawberry?", AnswerSpec(3, "numeric", "hard")),
            (
                "Weather?",
                AnswerSpec([{"name": "get_weather", "arguments": {"city": "Oslo"}}], "tool_call"),
            ),
        ]
    )
    with SimServer(SimConfig(answers=key, seed=2)).run_in_thread() as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            for model in MODELS:
                question = chat(model, "How many r in strawberry?", n=3, logprobs=1)
                both(client, "/chat/completions", question)
                both(client, "/chat/completions", {**question, "max_tokens": 30})
                both(
                    client, "/chat/completions", chat(model, "Weather?", tools=[WEATHER, TIME], n=4)
                )


# --- usage placement ---------------------------------------------------------------------


def usage_at(events: list[Any]) -> str:
    chunks = [e for e in events[:-1]]
    with_usage = [c for c in chunks if c["usage"] is not None]
    assert len(with_usage) == 1 and with_usage[0] is chunks[-1]
    if with_usage[0]["choices"] == []:
        assert chunks[-2]["choices"][0]["finish_reason"] is not None
        return "trailing"
    assert with_usage[0]["choices"][0]["finish_reason"] is not None
    return "finish"


@pytest.mark.parametrize(
    ("model", "where"),
    [
        (LLAMA, "finish"),
        ("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "finish"),
        ("meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "trailing"),
        ("openai/gpt-oss-120b", "trailing"),
        ("moonshotai/Kimi-K2-Instruct", "trailing"),
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "trailing"),
        (QWEN, "trailing"),
    ],
)
def test_usage_placement_follows_the_family(client: httpx.Client, model: str, where: str) -> None:
    assert usage_at(stream(client, "/chat/completions", chat(model))) == where


@pytest.mark.parametrize("where", ["finish", "trailing"])
def test_usage_placement_header_overrides(client: httpx.Client, where: str) -> None:
    for model in (LLAMA, QWEN):
        events = stream(
            client, "/chat/completions", chat(model, n=2), **{"x-sim-stream-usage": where}
        )
        assert usage_at(events) == where
        events = stream(
            client, "/completions", {"model": model, "prompt": "x"}, **{"x-sim-stream-usage": where}
        )
        assert usage_at(events) == where


def test_stream_options_are_ignored(client: httpx.Client) -> None:
    body = chat(stream_options={"include_usage": False})
    assert usage_at(stream(client, "/chat/completions", body)) == "finish"


def test_bad_sim_headers_are_400(client: httpx.Client) -> None:
    for name in ("x-sim-stream-usage", "x-sim-logprobs-shape"):
        r = client.post("/chat/completions", json=chat(stream=True), headers={name: "sideways"})
        assert r.status_code == 400
        assert name in r.json()["error"]["message"]


# --- faults on the wire ------------------------------------------------------------------


def raw_exchange(url: str, body: dict[str, Any], fault: str) -> tuple[bytes, bytes, bool]:
    """POST over a bare socket; (head, body as sent, whether the chunked body ended)."""
    host, port = url.removeprefix("http://").removesuffix("/v1").split(":")
    payload = json.dumps({**body, "stream": True}).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
        f"\r\nContent-Length: {len(payload)}\r\nx-sim-fault: {fault}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    body_bytes = b""
    ended = False
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            ended = True
            break
        body_bytes += rest[:size]
        rest = rest[size + 2 :]
    return head, body_bytes, ended


@pytest.fixture
def sim_url() -> Iterator[tuple[SimServer, str]]:
    sim = SimServer(SimConfig(seed=3))
    with sim.run_in_thread() as url:
        yield sim, url


def test_stream_cut_closes_mid_body(sim_url: tuple[SimServer, str]) -> None:
    sim, url = sim_url
    head, body, ended = raw_exchange(url, chat(max_tokens=40), "stream-cut")
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower()
    assert not ended  # no terminating zero-size chunk: the connection just closed
    events = parse_events(body)
    assert events and "[DONE]" not in events
    assert all(e["usage"] is None for e in events)  # cut before the end
    assert sim.stats()["by_status"] == {"stream-cut": 1}
    assert sim.stats()["answered"] == {}
    with httpx.Client(base_url=url) as client:  # what an HTTP client makes of it
        with pytest.raises(httpx.RemoteProtocolError):
            stream(client, "/chat/completions", chat(), **{"x-sim-fault": "stream-cut"})


def test_stream_error_sends_an_error_object_and_ends(sim_url: tuple[SimServer, str]) -> None:
    sim, url = sim_url
    _, body, ended = raw_exchange(url, chat(max_tokens=40), "stream-error")
    assert ended
    events = parse_events(body)
    assert "[DONE]" not in events
    assert events[-1] == {"error": {"message": "Internal server error", "type": "server_error"}}
    assert all("choices" in e for e in events[:-1]) and len(events) >= 2
    assert sim.stats()["by_status"] == {"stream-error": 1}


def test_stream_no_done_sends_everything_but_done(sim_url: tuple[SimServer, str]) -> None:
    sim, url = sim_url
    _, body, ended = raw_exchange(url, chat(max_tokens=40), "stream-no-done")
    assert ended
    events = parse_events(body)
    assert "[DONE]" not in events
    with httpx.Client(base_url=url) as client:
        plain = client.post("/chat/completions", json=chat(max_tokens=40)).json()
    assert_same(reassemble([*events, "[DONE]"]), plain)
    assert sim.stats()["by_status"] == {"stream-no-done": 1, "200": 1}


def test_truncate_on_a_stream_cuts_it(sim_url: tuple[SimServer, str]) -> None:
    sim, url = sim_url
    _, body, ended = raw_exchange(url, chat(), "truncate")
    assert not ended and "[DONE]" not in parse_events(body)
    assert sim.stats()["by_status"] == {"truncate": 1}


@pytest.mark.parametrize(("fault", "status"), [("500", 500), ("503", 503), ("429", 429)])
def test_http_faults_answer_before_the_stream(
    client: httpx.Client, fault: str, status: int
) -> None:
    r = client.post("/chat/completions", json=chat(stream=True), headers={"x-sim-fault": fault})
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert "error" in r.json()


def test_stream_faults_leave_plain_requests_alone(client: httpx.Client) -> None:
    for fault in ("stream-cut", "stream-error", "stream-no-done"):
        r = client.post("/chat/completions", json=chat(), headers={"x-sim-fault": fault})
        assert r.status_code == 200 and r.json()["object"] == "chat.completion"


def test_stream_faults_are_drawn_at_their_rates() -> None:
    app = SimApp(
        SimConfig(faults=parse_faults("stream-cut=0.2,stream-error=0.1,stream-no-done=0.1"), seed=1)
    )
    seen: dict[str, int] = {}
    for i in range(1000):
        body = json.dumps(chat(content=str(i), stream=True)).encode()
        reply = app.handle(b"POST", b"/v1/chat/completions", [], body)
        assert reply.action is Action.STREAM
        key = reply.outcome or "?"
        seen[key] = seen.get(key, 0) + 1
        app.finish(reply)
    assert 150 < seen["stream-cut"] < 250
    assert 60 < seen["stream-error"] < 140 and 60 < seen["stream-no-done"] < 140
    injected = app.stats.snapshot()["by_fault"]
    assert injected == {k: v for k, v in seen.items() if k != "200"}
    plain = SimApp(SimConfig(faults=parse_faults("stream-cut=1,slow=0"), seed=1))
    reply = plain.handle(b"POST", b"/v1/chat/completions", [], json.dumps(chat()).encode())
    assert reply.status == 200 and reply.action is Action.RESPOND and reply.outcome == "200"
    assert plain.stats.snapshot()["by_fault"] == {}  # not injected: the request did not stream


def test_by_fault_counts_what_by_status_cannot_see() -> None:
    app = SimApp(SimConfig(slow_seconds=0))
    for fault in (b"slow", b"500", b"429", b"none"):
        body = json.dumps(chat()).encode()
        reply = app.handle(b"POST", b"/v1/chat/completions", [(b"x-sim-fault", fault)], body)
        app.finish(reply)
    stats = app.stats.snapshot()
    assert stats["by_status"] == {"200": 2, "500": 1, "429": 1}
    assert stats["by_fault"] == {"slow": 1, "500": 1, "429": 1}


# --- time and accounting -----------------------------------------------------------------


def test_chunks_arrive_over_time() -> None:
    """Latency 0.4 s: the first chunk after about a quarter of it, the end after all of it."""
    sim = SimServer(SimConfig(latency=(0.4, 0.4), token_seconds=0.002))
    with sim.run_in_thread() as url, httpx.Client(base_url=url, timeout=10) as client:
        t0 = time.monotonic()
        with client.stream("POST", "/chat/completions", json=chat(stream=True, max_tokens=50)) as r:
            headers_at = time.monotonic() - t0
            arrivals = []
            for line in r.iter_lines():
                if line:
                    arrivals.append(time.monotonic() - t0)
    assert headers_at < 0.08
    first, last = arrivals[0], arrivals[-1]
    assert 0.09 < first < 0.3, arrivals
    assert 0.4 < last < 1.0, arrivals  # 0.4 s latency + up to 50 tokens x 2 ms
    assert len({round(a, 2) for a in arrivals}) >= 4  # spread out, not in one burst


def test_streams_are_charged_and_refunded_like_plain_requests() -> None:
    def tokens_left(stream_it: bool) -> str:
        clock = [100.0]
        app = SimApp(SimConfig(tpm=60_000), lambda: clock[0])
        body = json.dumps(chat(max_tokens=400, stream=stream_it)).encode()
        reply = app.handle(b"POST", b"/v1/chat/completions", [], body)
        assert reply.status == 200
        app.finish(reply)
        peek = app.handle(b"POST", b"/v1/chat/completions", [(b"x-sim-fault", b"429")], body)
        return dict(peek.headers)[b"x-ratelimit-remaining-tokens"].decode()

    assert tokens_left(True) == tokens_left(False)


def test_client_hanging_up_mid_stream_is_abandoned() -> None:
    sim = SimServer(SimConfig(latency=(2.0, 2.0)))
    with sim.run_in_thread() as url, httpx.Client(base_url=url, timeout=10) as client:
        with client.stream("POST", "/chat/completions", json=chat(stream=True)) as r:
            assert r.status_code == 200  # headers came at once; hang up before any event
        deadline = time.monotonic() + 5
        while sim.stats()["by_status"].get("abandoned") != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sim.stats()["by_status"] == {"abandoned": 1}
        assert sim.in_flight == 0
