"""Reassembling streamed answers: content, reasoning, tool-call pieces, both usage
placements, n > 1, logprobs, broken and erroneous streams, and the two timings."""

from __future__ import annotations

import json
from typing import Any

from runner._sse import StreamAssembler, StreamResult

USAGE = {"prompt_tokens": 75, "completion_tokens": 30, "total_tokens": 105, "reasoning_tokens": 0}


def chunk(choices: list[dict[str, Any]], usage: Any = None, **top: Any) -> dict[str, Any]:
    return {
        "id": "omJK4at-1",
        "object": "chat.completion.chunk",
        "created": 1780235459,
        "model": "openai/gpt-oss-120b",
        "choices": choices,
        "usage": usage,
        **top,
    }


def delta(
    content: str | None = "", reasoning: str | None = None, finish: str | None = None, **kw: Any
) -> dict[str, Any]:
    d: dict[str, Any] = {"token_id": None, "role": "assistant", "content": content}
    if reasoning is not None:
        d["reasoning"] = reasoning
    d.update(kw)
    return {
        "index": 0,
        "text": content or "",
        "logprobs": None,
        "finish_reason": finish,
        "delta": d,
    }


def feed(
    events: list[Any], *, chat: bool = True, done: bool = True, times: list[float] | None = None
) -> StreamResult:
    asm = StreamAssembler(chat=chat)
    for i, event in enumerate(events):
        now = times[i] if times else float(i + 1)
        data = event if isinstance(event, str) else json.dumps(event)
        asm.feed(f"data: {data}", now)
        asm.feed("", now)
    if done:
        asm.feed("data: [DONE]", 99.0)
        asm.feed("", 99.0)
    return asm.finish()


def test_recorded_gpt_oss_stream_with_trailing_usage() -> None:
    """Reference section 2, verbatim shape: reasoning deltas, then content, usage last (B)."""
    result = feed(
        [
            chunk([delta("", reasoning="We")]),
            chunk([delta("", reasoning=" greet.")]),
            chunk([delta("Hello", reasoning=None)]),
            chunk([delta("", finish="stop")]),
            chunk([], USAGE),
        ]
    )
    assert result.error is None and result.chunks == 5
    body = result.body
    assert body is not None
    assert body["object"] == "chat.completion" and body["id"] == "omJK4at-1"
    (choice,) = body["choices"]
    assert choice["message"] == {"role": "assistant", "content": "Hello", "reasoning": "We greet."}
    assert choice["finish_reason"] == "stop"
    assert body["usage"] == USAGE
    assert result.first_token == 1.0  # the first reasoning piece
    assert result.first_answer == 3.0  # the first content


def test_usage_on_the_finish_chunk() -> None:
    """Placement (A): Llama-3.3-70B-Turbo puts usage beside finish_reason."""
    result = feed(
        [
            chunk([delta("The answer")]),
            chunk([delta(" is 4.")]),
            chunk([delta("", finish="stop")], USAGE, warnings=[{"message": "w"}]),
        ]
    )
    assert result.error is None and result.body is not None
    assert result.body["usage"] == USAGE
    assert result.body["choices"][0]["message"]["content"] == "The answer is 4."
    assert result.body["warnings"] == [{"message": "w"}]


def test_inline_thinking_without_opening_tag_times_the_answer_after_it() -> None:
    """Qwen3-Thinking-2507: thinking streams as content; the answer starts after </think>."""
    pieces = ["Hmm, 2+2", " is 4.", "\n</think>", "\n\n", "Four", "."]
    result = feed([chunk([delta(p)]) for p in pieces] + [chunk([delta("", finish="stop")], USAGE)])
    assert result.body is not None
    assert result.body["choices"][0]["message"]["content"] == "".join(pieces)
    assert result.first_token == 1.0
    assert result.first_answer == 5.0


def test_unclosed_thinking_has_no_answer_time() -> None:
    result = feed([chunk([delta("<think>\nstill")]), chunk([delta(" going", finish="length")])])
    assert result.error is None
    assert result.first_token == 1.0 and result.first_answer is None


def test_streamed_tool_calls_are_assembled() -> None:
    """Reference section 2 [OC]: id, type and name first, arguments in pieces; finish twice."""
    first = delta(
        None,
        tool_calls=[
            {
                "index": 0,
                "id": "call_yu1m",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        ],
    )
    second = delta(None, tool_calls=[{"index": 0, "function": {"arguments": '{"city":'}}])
    third = delta(None, tool_calls=[{"index": 0, "function": {"arguments": ' "Paris"}'}}])
    parallel = delta(
        None,
        tool_calls=[
            {
                "index": 1,
                "id": "call_2",
                "type": "function",
                "function": {"name": "get_time", "arguments": "{}"},
            }
        ],
    )
    result = feed(
        [
            chunk([first]),
            chunk([second]),
            chunk([third]),
            chunk([parallel]),
            chunk([delta("", finish="tool_calls")]),
            chunk([delta("", finish="tool_calls")], USAGE),
        ]
    )
    assert result.error is None and result.body is not None
    (choice,) = result.body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert calls == [
        {
            "id": "call_yu1m",
            "index": 0,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {
            "id": "call_2",
            "index": 1,
            "type": "function",
            "function": {"name": "get_time", "arguments": "{}"},
        },
    ]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris"}
    assert choice["message"]["content"] == ""
    assert result.first_answer == 1.0  # a tool call is the answer


def test_text_completion_stream_reads_text_once() -> None:
    """Together's completion chunks repeat the piece in text and delta.content."""
    chunks = [
        {
            "id": "c1",
            "object": "completion.chunk",
            "choices": [
                {"index": 0, "text": t, "delta": {"content": t}, "finish_reason": f, "seed": s}
            ],
            "usage": u,
        }
        for t, f, s, u in [
            (" blue", None, None, None),
            (".", "length", 42, {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10}),
        ]
    ]
    result = feed(chunks, chat=False)
    assert result.error is None and result.body is not None
    assert result.body["object"] == "text.completion"
    (choice,) = result.body["choices"]
    assert choice["text"] == " blue." and choice["finish_reason"] == "length"
    assert choice["seed"] == 42
    assert result.body["usage"]["total_tokens"] == 10


def test_n_choices_are_kept_apart() -> None:
    def d(index: int, text: str, finish: str | None = None) -> dict[str, Any]:
        return {**delta(text, finish=finish), "index": index}

    result = feed(
        [
            chunk([d(0, "A"), d(1, "B")]),
            chunk([d(1, "b"), d(0, "a")]),
            chunk([d(0, "", "stop"), d(1, "", "length")], USAGE),
        ]
    )
    assert result.body is not None
    got = [
        (c["index"], c["message"]["content"], c["finish_reason"]) for c in result.body["choices"]
    ]
    assert got == [(0, "Aa", "stop"), (1, "Bb", "length")]


def test_logprobs_both_shapes_and_bare_numbers_merge() -> None:
    native = [
        {**delta("Hi"), "logprobs": {"tokens": ["Hi"], "token_logprobs": [-0.1]}},
        {**delta("!"), "logprobs": {"tokens": ["!"], "token_logprobs": [-0.2]}},
    ]
    result = feed([chunk([c]) for c in native])
    assert result.body is not None
    assert result.body["choices"][0]["logprobs"] == {
        "tokens": ["Hi", "!"],
        "token_logprobs": [-0.1, -0.2],
    }

    openai = [
        {**delta("Hi"), "logprobs": {"content": [{"token": "Hi", "logprob": -0.1}]}},
        {**delta("!"), "logprobs": {"content": [{"token": "!", "logprob": -0.2}]}},
    ]
    result = feed([chunk([c]) for c in openai])
    assert result.body is not None
    assert [t["token"] for t in result.body["choices"][0]["logprobs"]["content"]] == ["Hi", "!"]

    def one_token(text: str, lp: float, token_id: int) -> dict[str, Any]:
        d = delta(text, token_id=token_id)
        return {**d, "logprobs": lp, "top_logprobs": {text: lp, "?": lp - 3}}

    together = [one_token("Hi", -0.5, 17), one_token("!", -0.25, 0)]
    result = feed([chunk([c]) for c in together])
    assert result.body is not None
    assert result.body["choices"][0]["logprobs"] == {
        "token_ids": [17, 0],
        "tokens": ["Hi", "!"],
        "token_logprobs": [-0.5, -0.25],
        "top_logprobs": [{"Hi": -0.5, "?": -3.5}, {"!": -0.25, "?": -3.25}],
    }
    assert "top_logprobs" not in result.body["choices"][0]

    bare = [{**delta("Hi"), "logprobs": -0.5}, {**delta("!"), "logprobs": -0.25}]
    result = feed([chunk([c]) for c in bare])
    assert result.body is not None
    assert result.body["choices"][0]["logprobs"] == {
        "tokens": ["Hi", "!"],
        "token_logprobs": [-0.5, -0.25],
    }


def test_a_stream_without_done_is_not_a_result() -> None:
    result = feed([chunk([delta("Hello", finish="stop")], USAGE)], done=False)
    assert result.error == "the stream ended without data: [DONE] after 1 chunks"
    assert result.body is not None  # kept for the record, but not a result


def test_an_empty_stream_is_not_a_result() -> None:
    result = StreamAssembler(chat=True).finish()
    assert result.error is not None and "no chunk" in result.error
    assert result.body is None


def test_error_chunks_are_errors() -> None:
    top = feed([chunk([delta("Hel")]), {"error": {"message": "overloaded", "type": "server"}}])
    assert top.error == "the stream carried an error: overloaded"
    recorded = {  # Apriel, 2025-12 (reference section 2)
        "id": "",
        "choices": [{"index": 0, "text": "", "error": "[object Object]", "finish_reason": "error"}],
    }
    in_choice = feed([chunk([delta("Hel")]), recorded])
    assert in_choice.error == "the stream carried an error: [object Object]"
    assert in_choice.body is not None and in_choice.body["id"] == "omJK4at-1"


def test_garbage_in_a_stream_is_an_error() -> None:
    result = feed([chunk([delta("x")]), "{not json"])
    assert result.error is not None and result.error.startswith("a stream chunk is not JSON")


def test_sse_framing_comments_multiline_data_and_crlf_free_lines() -> None:
    asm = StreamAssembler(chat=True)
    lines = [
        ": keep-alive",
        "event: message",
        'data: {"id": "x", "choices": [{"index": 0,',
        'data:  "delta": {"content": "ok"}, "finish_reason": "stop"}]}',
        "",
        "data:[DONE]",
    ]
    for line in lines:
        asm.feed(line, 1.0)
    result = asm.finish()
    assert result.error is None and result.body is not None
    assert result.body["choices"][0]["message"]["content"] == "ok"


def test_nothing_counts_after_done() -> None:
    asm = StreamAssembler(chat=True)
    for line in [
        'data: {"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"}]}',
        "",
        "data: [DONE]",
        "",
        'data: {"choices": [{"index": 0, "delta": {"content": "b"}}]}',
        "",
    ]:
        asm.feed(line, 1.0)
    result = asm.finish()
    assert result.body is not None and result.body["choices"][0]["message"]["content"] == "a"
