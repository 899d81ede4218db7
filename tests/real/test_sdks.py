"""The official ``openai`` and ``together`` Python SDKs as clients of ``fanout sim``.

Both are real clients nobody here wrote (Stainless-generated). Every answer is checked
twice: through the SDK's own (lenient) parsing, and by validating the raw JSON strictly
against the SDK's response type, which is what catches a missing field or a value outside
a ``Literal``. Faults are forced with the ``x-sim-fault`` header; retries are the SDK's own
(``max_retries``), which honour ``retry-after`` when 0 < value <= 60 s.

The ``openai`` client takes a base URL ending in ``/v1``; the ``together`` client the bare
host (its paths are ``/v1/chat/completions``, ``/v1/completions``).

Streams (``stream=True``) are read through each SDK's own SSE parser: every event must come
out as one of the SDK's chunk objects, the chunks must add up to the non-streamed answer of
the same request (content, reasoning deltas, tool-call deltas, usage in either of Together's
two places, forced with ``x-sim-stream-usage``), and each chunk is validated strictly. Where
an SDK's types disagree with what Together is recorded sending (API notes, section 2), the
disagreement is pinned down in a test of its own (``test_*_recorded_*``), as
``test_openai_text_completion_object`` does for non-streamed text completions.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from .conftest import SimProcess

CHAT_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
TEXT_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
REASONING_MODEL = "openai/gpt-oss-120b"
KEY = "sim-test-key"

StartSim = Callable[..., SimProcess]


@dataclass(frozen=True)
class Sdk:
    """One SDK: its module, how to point a client at the simulator, its response types."""

    name: str
    module: ModuleType
    chat_type: Any  # pydantic model of a chat completion
    text_type: Any | None  # of a text completion; None where it cannot describe Together's
    chunk_type: Any  # of a streamed chat chunk
    text_chunk_type: Any  # of a streamed text-completion chunk

    def base_url(self, sim: SimProcess) -> str:
        return sim.url if self.name == "openai" else sim.host

    def client(self, sim: SimProcess, max_retries: int, api_key: str = KEY) -> Any:
        cls = self.module.OpenAI if self.name == "openai" else self.module.Together
        return cls(base_url=self.base_url(sim), api_key=api_key, max_retries=max_retries)

    def async_client(self, sim: SimProcess, max_retries: int) -> Any:
        cls = self.module.AsyncOpenAI if self.name == "openai" else self.module.AsyncTogether
        return cls(base_url=self.base_url(sim), api_key=KEY, max_retries=max_retries)


def _load(name: str) -> Sdk:
    module = pytest.importorskip(name, reason="run `make test-real` (it installs the extra)")
    if name == "openai":
        from openai.types import Completion
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        # openai's Completion says object == "text_completion"; Together (and so the
        # simulator) sends "text.completion": see test_openai_text_completion_object.
        # openai streams text completions as Completion objects too.
        return Sdk(name, module, ChatCompletion, None, ChatCompletionChunk, Completion)
    from together.types import Completion as TogetherCompletion
    from together.types import CompletionChunk as TogetherTextChunk
    from together.types.chat import ChatCompletion as TogetherChat
    from together.types.chat import ChatCompletionChunk as TogetherChunk

    return Sdk(name, module, TogetherChat, TogetherCompletion, TogetherChunk, TogetherTextChunk)


@pytest.fixture(params=["openai", "together"])
def sdk(request: pytest.FixtureRequest) -> Sdk:
    return _load(request.param)


def sim_stats(sim: SimProcess) -> dict[str, Any]:
    with urllib.request.urlopen(f"{sim.host}/sim/stats", timeout=5) as resp:
        stats: dict[str, Any] = json.load(resp)
    return stats


def envelope(body: object) -> dict[str, Any]:
    """The error object of an SDK exception's ``body``: openai unwraps Together's
    ``{"error": {...}}`` envelope, together 3.x keeps it whole."""
    assert isinstance(body, dict), body
    inner = body.get("error", body)
    assert isinstance(inner, dict), body
    return inner


def strict(model_type: Any, raw: dict[str, Any]) -> Any:
    """Validate ``raw`` against the SDK's pydantic type, strictly (not Stainless's construct)."""
    return model_type.model_validate(raw)


def test_chat_completion_parses(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    with sdk.client(sim, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": "Name a prime number."}],
            max_tokens=32,
            temperature=0,
        )
        resp = raw.parse()
    body = json.loads(raw.http_response.text)
    strict(sdk.chat_type, body)
    assert resp.id == body["id"] and resp.object == "chat.completion"
    assert resp.model == CHAT_MODEL
    choice = resp.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == body["choices"][0]["message"]["content"]
    assert choice.message.content.startswith("sim:")
    assert choice.finish_reason in ("stop", "length")
    usage = resp.usage
    assert usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 32
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    # Together's own fields survive the SDK's parsing (kept as extras where not typed).
    assert resp.to_dict() == body
    assert "x-ratelimit" not in raw.http_response.headers  # no limit set, no rate headers


def test_chat_completion_runs_out_of_tokens(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    with sdk.client(sim, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": "Tell me a long story about the sea."}],
            max_tokens=3,
        )
        resp = raw.parse()
    strict(sdk.chat_type, json.loads(raw.http_response.text))
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage.completion_tokens == 3


def test_text_completion_parses(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    with sdk.client(sim, max_retries=0) as client:
        raw = client.completions.with_raw_response.create(
            model=TEXT_MODEL, prompt="Once upon a time", max_tokens=16, temperature=0
        )
        resp = raw.parse()
    body = json.loads(raw.http_response.text)
    if sdk.text_type is not None:
        strict(sdk.text_type, body)
    assert resp.id == body["id"]
    assert resp.choices[0].text == body["choices"][0]["text"]
    assert resp.choices[0].text.startswith("sim:")
    assert resp.choices[0].finish_reason in ("stop", "length")
    assert resp.usage.prompt_tokens > 0 and 0 < resp.usage.completion_tokens <= 16
    assert resp.to_dict() == body


def test_openai_text_completion_object(start_sim: StartSim) -> None:
    """openai types ``Completion.object`` as "text_completion"; Together sends
    "text.completion" (API notes, section 3), and so does the simulator. The SDK's lenient
    parsing keeps the value; only strict validation refuses it. Recorded, not a sim bug."""
    sdk = _load("openai")
    from openai.types import Completion

    sim = start_sim()
    with sdk.client(sim, max_retries=0) as client:
        raw = client.completions.with_raw_response.create(
            model=TEXT_MODEL, prompt="Hello", max_tokens=4
        )
        resp = raw.parse()
    body = json.loads(raw.http_response.text)
    assert body["object"] == resp.object == "text.completion"
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="text_completion"):
        Completion.model_validate(body)
    Completion.model_validate({**body, "object": "text_completion"})  # all else agrees


def test_reasoning_model_field(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    with sdk.client(sim, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=REASONING_MODEL,
            messages=[{"role": "user", "content": "What is 6 times 7?"}],
            max_tokens=2000,
        )
        resp = raw.parse()
    body = json.loads(raw.http_response.text)
    strict(sdk.chat_type, body)
    message = resp.choices[0].message
    reasoning = getattr(message, "reasoning", None)  # typed by together, an extra in openai
    assert isinstance(reasoning, str) and reasoning
    assert reasoning == body["choices"][0]["message"]["reasoning"]
    assert message.content and "<think>" not in message.content
    usage = resp.usage.to_dict()
    assert usage["reasoning_tokens"] == body["usage"]["reasoning_tokens"] > 0


def test_forced_429_raises_rate_limit_error(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    with sdk.client(sim, max_retries=0) as client:
        with pytest.raises(sdk.module.RateLimitError) as info:
            client.chat.completions.create(
                model=CHAT_MODEL,
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-sim-fault": "429"},
            )
    err = info.value
    assert err.status_code == 429
    assert err.response.headers["retry-after"] == "1"
    assert err.response.headers["x-ratelimit"] == "true"
    assert envelope(err.body)["type"] == "rate_limit", err.body
    assert "rate limiting" in err.message
    assert sim_stats(sim)["by_status"] == {"429": 1}  # max_retries=0: one request


def test_forced_429_is_retried_after_retry_after(sdk: Sdk, start_sim: StartSim) -> None:
    """Every retry carries the header again, so each is refused; the SDK waits the server's
    ``retry-after: 1`` between attempts (its own backoff would be shorter or jittered)."""
    sim = start_sim()
    with sdk.client(sim, max_retries=2) as client:
        t0 = time.monotonic()
        with pytest.raises(sdk.module.RateLimitError):
            client.chat.completions.create(
                model=CHAT_MODEL,
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-sim-fault": "429"},
            )
        elapsed = time.monotonic() - t0
    assert sim_stats(sim)["by_status"] == {"429": 3}
    assert 1.9 <= elapsed < 5, elapsed


def test_rate_limit_retry_honours_retry_after_and_succeeds(sdk: Sdk, start_sim: StartSim) -> None:
    """1 request/s with a bucket of one: back-to-back calls are refused with retry-after 1,
    and the SDK's own retry gets each one through."""
    sim = start_sim("--rpm", "60", "--burst", "1")
    with sdk.client(sim, max_retries=4) as client:
        t0 = time.monotonic()
        replies = [
            client.chat.completions.create(
                model=CHAT_MODEL,
                messages=[{"role": "user", "content": f"Question {i}?"}],
                max_tokens=8,
            )
            for i in range(3)
        ]
        elapsed = time.monotonic() - t0
    assert all(r.choices[0].message.content.startswith("sim:") for r in replies)
    stats = sim_stats(sim)
    assert stats["by_status"]["200"] == 3 and stats["by_status"].get("429", 0) >= 1, stats
    assert stats["extra_answers"] == 0
    assert elapsed >= 1.5, elapsed  # at least two refills of the one-request bucket


def test_async_client_retries_rate_limits(sdk: Sdk, start_sim: StartSim) -> None:
    """The async client retries too (the legacy together client's async path did not)."""
    sim = start_sim("--rpm", "60", "--burst", "1")

    async def main() -> list[Any]:
        async with sdk.async_client(sim, max_retries=4) as client:
            return [
                await client.chat.completions.create(
                    model=CHAT_MODEL,
                    messages=[{"role": "user", "content": f"Async {i}?"}],
                    max_tokens=8,
                )
                for i in range(2)
            ]

    replies = asyncio.run(main())
    assert [r.usage.completion_tokens > 0 for r in replies] == [True, True]
    stats = sim_stats(sim)
    assert stats["by_status"]["200"] == 2 and stats["by_status"].get("429", 0) >= 1, stats


@pytest.mark.parametrize(("fault", "status"), [("500", 500), ("503", 503), ("520", 520)])
def test_server_errors_raise_and_are_retried(
    sdk: Sdk, start_sim: StartSim, fault: str, status: int
) -> None:
    sim = start_sim()
    with sdk.client(sim, max_retries=0) as client:
        with pytest.raises(sdk.module.InternalServerError) as info:
            client.completions.create(
                model=TEXT_MODEL, prompt="hi", max_tokens=4, extra_headers={"x-sim-fault": fault}
            )
    err = info.value
    assert err.status_code == status
    if status == 520:  # Cloudflare's bare text/plain page
        assert err.body == "error code: 520" or "error code: 520" in err.message
    else:
        assert envelope(err.body)["type"] == "server_error", err.body
        expected = "Engine overloaded" if status == 503 else "Internal server error"
        assert expected in err.message
    with sdk.client(sim, max_retries=1) as client:
        with pytest.raises(sdk.module.InternalServerError):
            client.completions.create(
                model=TEXT_MODEL, prompt="hi", max_tokens=4, extra_headers={"x-sim-fault": fault}
            )
    assert sim_stats(sim)["by_status"] == {fault: 1 + 2}  # 5xx are retried


def test_connection_reset_raises_connection_error(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    with sdk.client(sim, max_retries=0) as client:
        with pytest.raises(sdk.module.APIConnectionError):
            client.chat.completions.create(
                model=CHAT_MODEL,
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-sim-fault": "reset"},
            )


def test_bad_request_and_bad_key(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim("--api-key", KEY)
    with sdk.client(sim, max_retries=2) as client:
        with pytest.raises(sdk.module.BadRequestError) as bad:
            client.completions.create(model=TEXT_MODEL, prompt="", max_tokens=4)
        assert bad.value.status_code == 400
        assert "Prompt cannot be empty" in bad.value.message
    with sdk.client(sim, max_retries=2, api_key="wrong") as client:
        with pytest.raises(sdk.module.AuthenticationError) as denied:
            client.chat.completions.create(
                model=CHAT_MODEL, messages=[{"role": "user", "content": "hi"}]
            )
        assert denied.value.status_code == 401
        assert envelope(denied.value.body)["code"] == "invalid_api_key", denied.value.body
    assert sim_stats(sim)["by_status"] == {"400": 1, "401": 1}  # 4xx are not retried


# --- streaming ----------------------------------------------------------------------------

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
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


def raw_events(sim: SimProcess, path: str, body: dict[str, Any], **headers: str) -> list[Any]:
    """The same stream read without an SDK: each ``data:`` payload ("[DONE]" kept)."""
    with httpx.Client(base_url=sim.url, timeout=10) as client:
        r = client.post(path, json={**body, "stream": True}, headers=headers)
    assert r.headers["content-type"] == "text/event-stream;charset=utf-8"
    blocks = [b.removeprefix("data: ") for b in r.text.split("\n\n") if b]
    return [b if b == "[DONE]" else json.loads(b) for b in blocks]


def chunks_of(sdk: Sdk, sim: SimProcess, path: str, body: dict[str, Any], **headers: str) -> Any:
    """Stream ``body`` through the SDK; every chunk it yields, as the SDK's objects."""
    with sdk.client(sim, max_retries=0) as client:
        api = client.chat.completions if path == "/chat/completions" else client.completions
        stream = api.create(**body, stream=True, extra_headers=headers)
        chunks = list(stream)
    events = raw_events(sim, path, body, **headers)
    assert events[-1] == "[DONE]"
    assert len(chunks) == len(events) - 1  # one SDK object per event, none dropped
    for chunk, event in zip(chunks, events, strict=False):
        kind = sdk.chunk_type if path == "/chat/completions" else sdk.text_chunk_type
        assert isinstance(chunk, kind)
        assert chunk.object == event["object"] and len(chunk.choices) == len(event["choices"])
    return chunks


def plain_reply(sdk: Sdk, sim: SimProcess, path: str, body: dict[str, Any], **headers: str) -> Any:
    with sdk.client(sim, max_retries=0) as client:
        api = client.chat.completions if path == "/chat/completions" else client.completions
        return api.create(**body, extra_headers=headers)


def usage_chunk(chunks: list[Any]) -> tuple[Any, str]:
    """The one chunk carrying usage, and where it sits ("finish" or "trailing")."""
    with_usage = [c for c in chunks if c.usage is not None]
    assert len(with_usage) == 1 and with_usage[0] is chunks[-1]
    last = chunks[-1]
    if last.choices:
        assert last.choices[0].finish_reason is not None
        return last, "finish"
    assert chunks[-2].choices[0].finish_reason is not None
    return last, "trailing"


@pytest.mark.parametrize("placement", ["finish", "trailing"])
def test_chat_stream_parses_in_both_usage_placements(
    sdk: Sdk, start_sim: StartSim, placement: str
) -> None:
    sim = start_sim()
    body = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "Describe the sea."}],
        "max_tokens": 40,
    }
    headers = {"x-sim-stream-usage": placement}
    chunks = chunks_of(sdk, sim, "/chat/completions", body, **headers)
    for chunk in chunks:
        strict(sdk.chunk_type, chunk.to_dict())
        assert chunk.object == "chat.completion.chunk"
    plain = plain_reply(sdk, sim, "/chat/completions", body)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == plain.choices[0].message.content and content.startswith("sim:")
    last, where = usage_chunk(chunks)
    assert where == placement
    assert last.usage.to_dict() == plain.usage.to_dict()
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == [plain.choices[0].finish_reason]


def test_reasoning_deltas_stream(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    body = {
        "model": REASONING_MODEL,
        "messages": [{"role": "user", "content": "What is 6 times 7?"}],
        "max_tokens": 2000,
    }
    chunks = chunks_of(sdk, sim, "/chat/completions", body)
    for chunk in chunks:
        strict(sdk.chunk_type, chunk.to_dict())
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    # typed by together, an extra field in openai
    reasoning = "".join(getattr(d, "reasoning", None) or "" for d in deltas)
    content = "".join(d.content or "" for d in deltas)
    plain = plain_reply(sdk, sim, "/chat/completions", body)
    assert reasoning == getattr(plain.choices[0].message, "reasoning", None) and reasoning
    assert content == plain.choices[0].message.content
    thinking = [d for d in deltas if getattr(d, "reasoning", None)]
    assert all(d.content == "" for d in thinking)
    last, where = usage_chunk(chunks)
    assert where == "trailing" and last.choices == []  # gpt-oss puts usage on its own chunk
    assert last.usage.to_dict() == plain.usage.to_dict()
    assert last.usage.to_dict()["reasoning_tokens"] > 0


def test_tool_call_deltas_stream(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    body = {
        "model": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    }
    chunks = chunks_of(sdk, sim, "/chat/completions", body)
    plain = plain_reply(sdk, sim, "/chat/completions", body).choices[0]
    pieces = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    head, fragments = pieces[0], pieces[1:]
    expected = plain.message.tool_calls[0]
    assert head.id == expected.id and head.type == "function"
    assert head.function.name == "get_weather" and head.function.arguments == ""
    arguments = "".join(f.function.arguments for f in fragments)
    assert arguments == expected.function.arguments
    assert set(json.loads(arguments)) == {"city", "unit"}
    finishes = [c for c in chunks if c.choices and c.choices[0].finish_reason == "tool_calls"]
    assert len(finishes) == 2 and finishes[-1] is chunks[-1]  # Llama: usage on the second
    assert chunks[-1].usage is not None and plain.finish_reason == "tool_calls"
    for chunk in chunks:
        if sdk.name == "openai" or not (chunk.choices and chunk.choices[0].delta.tool_calls):
            strict(sdk.chunk_type, chunk.to_dict())


def test_text_completion_stream(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    body = {"model": TEXT_MODEL, "prompt": "Once upon a time", "max_tokens": 24}
    chunks = chunks_of(sdk, sim, "/completions", body)
    assert {c.object for c in chunks} == {"completion.chunk"}
    plain = plain_reply(sdk, sim, "/completions", body)
    text = "".join(c.choices[0].text or "" for c in chunks if c.choices)
    assert text == plain.choices[0].text and text.startswith("sim:")
    last, where = usage_chunk(chunks)
    assert where == "finish"  # a Llama model
    assert last.usage.to_dict() == plain.usage.to_dict()


def test_streamed_logprobs_validate(sdk: Sdk, start_sim: StartSim) -> None:
    """Each SDK with the logprobs shape it types: OpenAI's per chunk for openai, and
    Together's (one token a chunk, ``logprobs`` a number) for together."""
    sim = start_sim()
    shape = "openai" if sdk.name == "openai" else "together"
    body = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "Count to five."}],
        "max_tokens": 12,
        "logprobs": 2,
    }
    chunks = chunks_of(sdk, sim, "/chat/completions", body, **{"x-sim-logprobs-shape": shape})
    for chunk in chunks:
        strict(sdk.chunk_type, chunk.to_dict())
    scored = [c.choices[0] for c in chunks if c.choices and c.choices[0].logprobs is not None]
    if sdk.name == "openai":
        tokens = [t.token for c in scored for t in c.logprobs.content]
        assert all(len(t.top_logprobs) == 2 for c in scored for t in c.logprobs.content)
    else:
        tokens = [c.delta.content for c in scored]
        assert all(isinstance(c.logprobs, float) and len(c.top_logprobs) == 2 for c in scored)
    assert len(tokens) == 12
    plain = plain_reply(sdk, sim, "/chat/completions", body, **{"x-sim-logprobs-shape": shape})
    assert "".join(tokens) == plain.choices[0].message.content


def test_stream_faults_surface_through_the_sdk(sdk: Sdk, start_sim: StartSim) -> None:
    sim = start_sim()
    body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hi."}], "max_tokens": 30}
    with sdk.client(sim, max_retries=0) as client:

        def consume(fault: str) -> list[Any]:
            stream = client.chat.completions.create(
                **body, stream=True, extra_headers={"x-sim-fault": fault}
            )
            return list(stream)

        with pytest.raises(sdk.module.APIError, match="Internal server error"):
            consume("stream-error")
        # openai wraps the broken read in APIConnectionError; together lets httpx's through
        cut_error = (
            sdk.module.APIConnectionError if sdk.name == "openai" else httpx.RemoteProtocolError
        )
        with pytest.raises(cut_error):
            consume("stream-cut")
        chunks = consume("stream-no-done")  # the SDKs stop at the end of the body
        assert chunks[-1].usage is not None
    assert sim_stats(sim)["by_status"] == {"stream-error": 1, "stream-cut": 1, "stream-no-done": 1}


def test_openai_stream_helper_rebuilds_the_answer(start_sim: StartSim) -> None:
    """openai's ``chat.completions.stream()`` accumulates the deltas into a completion: it
    equals the non-streamed one (reasoning, tool calls, two choices), except ``role``.

    Together sends ``"role": "assistant"`` in every delta (recorded, API notes section 2),
    where OpenAI sends it once; the helper concatenates string fields, so its role reads
    ``assistantassistant...``. Recorded, not a sim bug."""
    sdk = _load("openai")
    sim = start_sim()
    body = {
        "model": REASONING_MODEL,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [WEATHER],
        "n": 2,
    }
    with sdk.client(sim, max_retries=0) as client:
        with client.chat.completions.stream(**body) as stream:
            for _ in stream:
                pass
            final = stream.get_final_completion()
        plain = client.chat.completions.create(**body)
    assert len(final.choices) == len(plain.choices) == 2
    for got, want in zip(final.choices, plain.choices, strict=True):
        assert got.finish_reason == want.finish_reason == "tool_calls"
        assert got.message.content == want.message.content == ""
        assert got.message.role.startswith("assistantassistant")  # role in every delta
        got_calls = [(c.id, c.function.name, c.function.arguments) for c in got.message.tool_calls]
        want_calls = [
            (c.id, c.function.name, c.function.arguments) for c in want.message.tool_calls
        ]
        assert got_calls == want_calls
        assert getattr(got.message, "reasoning", None) == getattr(want.message, "reasoning", None)
    assert final.usage is not None and final.usage.to_dict() == plain.usage.to_dict()


def test_together_tool_call_fragments_recorded_without_id(start_sim: StartSim) -> None:
    """together types each streamed tool call as a whole ``ToolChoice`` (``id``, ``type``,
    ``function.name`` required). Together itself sends only the first piece whole and the
    argument fragments as ``{"index", "function": {"arguments"}}`` (recorded, API notes
    section 2), and so does the simulator. The SDK's lenient parsing keeps them; only strict
    validation refuses them. Recorded, not a sim bug."""
    sdk = _load("together")
    sim = start_sim()
    body = {
        "model": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [WEATHER],
    }
    chunks = chunks_of(sdk, sim, "/chat/completions", body)
    fragments = [
        c
        for c in chunks
        if c.choices
        and c.choices[0].delta.tool_calls
        and c.choices[0].delta.tool_calls[0].id is None
    ]
    assert fragments
    for chunk in fragments:
        raw = chunk.to_dict()
        with pytest.raises(ValidationError, match="tool_calls.0.id"):
            strict(sdk.chunk_type, raw)
        call = raw["choices"][0]["delta"]["tool_calls"][0]
        call.update(id="call_x", type="function")
        call["function"]["name"] = "get_weather"
        strict(sdk.chunk_type, raw)  # all else agrees


def test_together_text_chunk_recorded_without_token(start_sim: StartSim) -> None:
    """together's ``CompletionChunk`` requires the legacy ``token: {id, text, logprob,
    special}``; the recorded text-completion stream (API notes, section 3) has the choices
    shape instead, and whether ``token`` is still sent is unconfirmed, so the simulator
    leaves it out. Recorded, not a sim bug."""
    sdk = _load("together")
    sim = start_sim()
    body = {"model": TEXT_MODEL, "prompt": "Hello", "max_tokens": 6}
    for chunk in chunks_of(sdk, sim, "/completions", body):
        raw = chunk.to_dict()
        with pytest.raises(ValidationError, match="token"):
            strict(sdk.text_chunk_type, raw)
        token = {"id": 1, "text": "", "logprob": 0.0, "special": False}
        strict(sdk.text_chunk_type, {**raw, "token": token})  # all else agrees


def test_openai_text_chunks_recorded_object_and_open_finish(start_sim: StartSim) -> None:
    """openai streams text completions as ``Completion`` objects: ``object`` must be
    "text_completion" and every choice's ``finish_reason`` set. Together sends
    "completion.chunk" (API notes, section 3) and ``finish_reason: null`` until the end (as
    OpenAI itself does). Recorded, not a sim bug."""
    sdk = _load("openai")
    sim = start_sim()
    body = {"model": TEXT_MODEL, "prompt": "Hello", "max_tokens": 6}
    for chunk in chunks_of(sdk, sim, "/completions", body):
        raw = chunk.to_dict()
        with pytest.raises(ValidationError):
            strict(sdk.text_chunk_type, raw)
        fixed = {**raw, "object": "text_completion"}
        fixed["choices"] = [
            {**c, "finish_reason": c["finish_reason"] or "stop"} for c in raw["choices"]
        ]
        strict(sdk.text_chunk_type, fixed)  # all else agrees


def test_together_logprobs_recorded_as_a_list(start_sim: StartSim) -> None:
    """together types a choice's ``logprobs.top_logprobs`` as one ``{token: logprob}``
    object; Together sends a list of them, one per token (recorded, API notes section 1),
    and so does the simulator. Recorded, not a sim bug."""
    sdk = _load("together")
    sim = start_sim()
    with sdk.client(sim, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": "Hi."}],
            max_tokens=5,
            logprobs=2,
        )
        resp = raw.parse()
    body = json.loads(raw.http_response.text)
    logprobs = body["choices"][0]["logprobs"]
    assert isinstance(logprobs["top_logprobs"], list) and len(logprobs["top_logprobs"]) == 5
    assert resp.choices[0].logprobs.tokens == logprobs["tokens"]
    with pytest.raises(ValidationError, match="top_logprobs"):
        strict(sdk.chat_type, body)
    del logprobs["top_logprobs"]
    strict(sdk.chat_type, body)  # all else agrees
