"""Every answer-extraction rule of issue 4, one case each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evals import (
    REASONING_STYLES,
    Extraction,
    ToolCall,
    extract,
    extract_choices,
    extract_result,
    extract_result_choices,
)


def chat(
    content: Any,
    *,
    finish: str | None = "stop",
    usage: dict[str, Any] | None = None,
    **message: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": finish,
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def test_complete_think_block_is_removed() -> None:
    ex = extract(chat("<think>\n7 * 6 is 42.\n</think>\n\nAnswer: 42"))
    assert ex.answer == "Answer: 42"
    assert ex.reasoning == "7 * 6 is 42."
    assert not ex.truncated and not ex.length


def test_closing_tag_only_keeps_what_follows() -> None:
    # Qwen3-235B-A22B-Thinking-2507: the template opened the thinking, so no <think>.
    ex = extract(chat("Hmm… the user says hello. Done.\n</think>\n\nHello"))
    assert ex.answer == "Hello"
    assert ex.reasoning == "Hmm… the user says hello. Done."
    assert not ex.truncated


def test_several_closing_tags_keep_what_follows_the_last() -> None:
    ex = extract(chat("first pass</think>second pass</think>\n\nAnswer: B"))
    assert ex.answer == "Answer: B"
    assert ex.reasoning is not None
    assert "first pass" in ex.reasoning and "second pass" in ex.reasoning
    assert "</think>" not in ex.reasoning


def test_several_complete_blocks_are_all_removed() -> None:
    ex = extract(chat("<think>a</think>Answer: <think>b</think>42"))
    assert ex.answer == "Answer: 42"
    assert ex.reasoning == "a\nb"


def test_opened_never_closed_is_truncated_not_answered() -> None:
    ex = extract(chat("<think>\nLet me count the r's: s-t-r-a-w", finish="stop"))
    assert ex.answer is None
    assert ex.truncated
    assert ex.reasoning == "Let me count the r's: s-t-r-a-w"


def test_length_inside_thinking_is_truncated() -> None:
    ex = extract(chat("<think>\nFirst, 17 * 23 = 391, then", finish="length"))
    assert ex.answer is None
    assert ex.truncated
    assert ex.length


def test_length_inside_reasoning_field_is_truncated() -> None:
    # Together with a small max_tokens: content "", finish "length", cut-off reasoning.
    ex = extract(chat("", finish="length", reasoning="We need to add 2 and"))
    assert ex.answer is None
    assert ex.truncated
    assert ex.reasoning == "We need to add 2 and"


def test_length_right_after_thinking_closed_is_truncated() -> None:
    ex = extract(chat("<think>done thinking</think>\n", finish="length"))
    assert ex.answer is None
    assert ex.truncated


def test_length_after_thinking_keeps_the_answer_and_flags_length() -> None:
    ex = extract(chat("<think>ok</think>\nThe answer is 4 because two and", finish="length"))
    assert ex.answer == "The answer is 4 because two and"
    assert not ex.truncated
    assert ex.length
    assert ex.finish_reason == "length"


def test_no_open_style_without_closing_tag_never_left_thinking() -> None:
    text = "Okay, the user asks for 2+2. The answer is 4, I think"
    assert extract(chat(text, finish="length")).answer == text  # auto: no tag, an answer
    ex = extract(chat(text, finish="length"), style="inline-no-open")
    assert ex.answer is None
    assert ex.truncated
    assert ex.reasoning == text


@pytest.mark.parametrize(
    "text",
    [
        "Let's solve it step by step. First, 8 × 18 = 144. Then 144 − 101 = 4",
        "Step 1: Find the total.\n18 × 23 = 414 apples\n\nStep 2: Share equally among",
        '{"name": "Ann", "ag',
    ],
)
def test_length_before_a_marked_answer_is_truncated(text: str) -> None:
    # Cut off in its working: the numbers in it are steps, not an answer (issue 16).
    ex = extract(chat(text, finish="length"))
    assert ex.truncated and ex.answer is None and ex.length


@pytest.mark.parametrize(
    "text",
    [
        "Answer: 60 km/h\n\nExplanation: the train covers 150 km in 2.5 hours, so we div",
        "**Final Answer**\n\\boxed{43}\n\nLet me also check that",
        "I'd go with B. The other options fail because",
        '{"name": "Ann", "age": 31}',
    ],
)
def test_length_after_a_marked_answer_keeps_it(text: str) -> None:
    ex = extract(chat(text, finish="length"))
    assert ex.answer == text and not ex.truncated and ex.length


def test_no_open_style_with_closing_tag_answers() -> None:
    ex = extract(chat("2+2 is 4.</think>4"), style="inline-no-open")
    assert ex.answer == "4"
    assert not ex.truncated


@pytest.mark.parametrize("key", ["reasoning", "reasoning_content"])
def test_reasoning_field_is_kept_apart_from_content(key: str) -> None:
    ex = extract(chat("Answer: C", **{key: "Option C fits because ..."}))
    assert ex.answer == "Answer: C"
    assert ex.reasoning == "Option C fits because ..."


def test_reasoning_field_null_is_no_reasoning() -> None:
    ex = extract(chat("Hello", reasoning=None))
    assert ex.answer == "Hello"
    assert ex.reasoning is None
    assert ex.reasoning_tokens == 0
    assert not ex.reasoning_tokens_estimated


def test_reasoning_tokens_from_usage_top_level() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 300, "reasoning_tokens": 250}
    ex = extract(chat("A", usage=usage, reasoning="x" * 40))
    assert (ex.tokens_in, ex.tokens_out, ex.reasoning_tokens) == (12, 300, 250)
    assert not ex.reasoning_tokens_estimated


def test_reasoning_tokens_from_completion_tokens_details() -> None:
    usage = {
        "prompt_tokens": 5,
        "completion_tokens": 90,
        "completion_tokens_details": {"reasoning_tokens": 80},
    }
    ex = extract(chat("<think>x</think>A", usage=usage))
    assert ex.reasoning_tokens == 80
    assert not ex.reasoning_tokens_estimated


def test_reasoning_tokens_estimated_from_text_when_usage_is_silent() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 90}
    ex = extract(chat("<think>" + "a" * 41 + "</think>A", usage=usage))
    assert ex.reasoning_tokens == 11  # 41 characters at about 4 a token, rounded up
    assert ex.reasoning_tokens_estimated
    field = extract(chat("A", reasoning="b" * 400))
    assert field.reasoning_tokens == 100
    assert field.reasoning_tokens_estimated
    assert field.tokens_in is None and field.tokens_out is None


def test_text_completion_body() -> None:
    body = {
        "object": "text_completion",
        "choices": [{"index": 0, "text": "<think>hm</think> Paris", "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10},
    }
    ex = extract(body)
    assert ex.answer == "Paris"
    assert ex.reasoning == "hm"
    assert (ex.tokens_in, ex.tokens_out) == (3, 7)


def test_content_as_list_of_parts() -> None:
    ex = extract(chat([{"type": "text", "text": "Answer: "}, {"type": "text", "text": "B"}]))
    assert ex.answer == "Answer: B"


def test_empty_content_with_stop_is_no_answer_but_not_truncated() -> None:
    ex = extract(chat("  "))
    assert ex.answer is None
    assert not ex.truncated


def test_plain_answer_has_no_reasoning() -> None:
    ex = extract(chat("  42 \n"))
    assert ex == Extraction(answer="42", finish_reason="stop", reasoning_tokens=0)


def test_body_without_choices_is_an_error() -> None:
    ex = extract({"error": {"message": "model not found"}})
    assert ex.error == "error body: model not found"
    assert ex.answer is None and not ex.truncated


def test_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="style must be one of"):
        extract(chat("x"), style="think")


def test_styles_are_the_model_catalogs() -> None:
    import runner

    assert REASONING_STYLES is runner.REASONING_STYLES  # one list, the catalog's
    assert set(REASONING_STYLES) == {"none", "inline", "inline-no-open", "field", "auto"}
    for style in REASONING_STYLES:
        extract(chat("x"), style=style)  # every style the catalog allows is read


def test_result_line_ok() -> None:
    line = {
        "id": "r1",
        "custom_id": "q1",
        "response": {"status_code": 200, "request_id": "x", "body": chat("</think>B")},
        "error": None,
    }
    assert extract_result(line).answer == "B"


def test_result_line_with_body_as_text() -> None:
    import json

    line = {"custom_id": "q1", "response": {"status_code": 200, "body": json.dumps(chat("C"))}}
    assert extract_result(line).answer == "C"


def test_result_line_failed() -> None:
    line = {
        "id": "r2",
        "custom_id": "q2",
        "response": {"status_code": 400, "request_id": "y", "body": {"error": {"message": "bad"}}},
        "error": {"code": "invalid_request", "message": "max_tokens too large"},
    }
    ex = extract_result(line)
    assert ex.error == "invalid_request: max_tokens too large"
    assert ex.answer is None
    assert extract_result({"custom_id": "q3", "response": None, "error": None}).error == (
        "no response body"
    )
    assert extract_result({"response": {"status_code": 500, "body": {}}}).error == "HTTP 500"


# tool calls, several choices, log probabilities ----------------------------------------------

WEATHER_CALL = {
    "id": "functions.get_weather:0",
    "index": 0,
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


def test_tool_calls_are_read_and_finish_tool_calls_is_not_truncation() -> None:
    ex = extract(chat("", finish="tool_calls", tool_calls=[WEATHER_CALL]))
    assert ex.tool_calls == (
        ToolCall("get_weather", '{"city": "Paris"}', "functions.get_weather:0"),
    )
    assert ex.answer is None and not ex.truncated and not ex.length
    assert ex.finish_reason == "tool_calls"


def test_no_tool_calls_is_an_empty_tuple() -> None:
    ex = extract(chat("Hello", tool_calls=[]))
    assert ex.tool_calls == () and ex.answer == "Hello"


def test_tool_call_arguments_sent_as_an_object_or_missing() -> None:
    calls = [
        {"type": "function", "function": {"name": "a", "arguments": {"x": 1}}},
        {"type": "function", "function": {"name": "b"}},
        "junk",
        {"type": "function"},
    ]
    ex = extract(chat(None, finish="tool_calls", tool_calls=calls))
    assert ex.tool_calls == (ToolCall("a", '{"x": 1}'), ToolCall("b", ""))


def test_legacy_function_call() -> None:
    ex = extract(chat(None, finish="function_call", function_call={"name": "f", "arguments": "{}"}))
    assert ex.tool_calls == (ToolCall("f", "{}"),)


def test_tool_calls_from_a_model_whose_template_opens_thinking() -> None:
    # inline-no-open with empty content would be "still thinking"; a call means it finished.
    ex = extract(chat("", finish="tool_calls", tool_calls=[WEATHER_CALL]), "inline-no-open")
    assert not ex.truncated and ex.tool_calls


def test_tool_calls_with_thinking_in_the_reasoning_field() -> None:
    ex = extract(
        chat("", finish="tool_calls", tool_calls=[WEATHER_CALL], reasoning="Need weather.")
    )
    assert ex.reasoning == "Need weather." and ex.tool_calls and not ex.truncated


def test_calls_answer_is_what_a_tool_scorer_reads() -> None:
    ex = extract(chat("Checking.", finish="tool_calls", tool_calls=[WEATHER_CALL]))
    assert json.loads(ex.calls_answer() or "") == {
        "content": "Checking.",
        "tool_calls": [{"name": "get_weather", "arguments": '{"city": "Paris"}'}],
    }
    assert Extraction().calls_answer() is None
    assert json.loads(Extraction(answer="hi").calls_answer() or "")["tool_calls"] == []


def test_every_choice_is_read_in_index_order() -> None:
    body = {
        "choices": [
            {"index": 1, "message": {"content": "Answer: 5"}, "finish_reason": "stop"},
            {
                "index": 0,
                "message": {"content": "<think>hm</think>Answer: 4"},
                "finish_reason": "stop",
            },
            {"index": 2, "message": {"content": "<think>never done"}, "finish_reason": "length"},
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 30},
    }
    first, second, third = extract_choices(body)
    assert (first.answer, second.answer, third.answer) == ("Answer: 4", "Answer: 5", None)
    assert third.truncated and not first.truncated
    assert first.tokens_out == second.tokens_out == 30  # usage is the whole response's
    assert extract(body) == first


def test_result_line_choices() -> None:
    line = {
        "custom_id": "q",
        "response": {
            "status_code": 200,
            "body": {"choices": [{"message": {"content": "a"}}, {"message": {"content": "b"}}]},
        },
        "error": None,
    }
    assert [e.answer for e in extract_result_choices(line)] == ["a", "b"]
    failed = extract_result_choices({"custom_id": "q", "response": None, "error": "boom"})
    assert len(failed) == 1 and failed[0].error == "boom"
    assert extract_choices({"choices": []})[0].error is not None


def test_text_completion_logprobs() -> None:
    body = {
        "choices": [
            {
                "text": " 42",
                "finish_reason": "stop",
                "logprobs": {"tokens": [" 4", "2"], "token_logprobs": [-0.1, None]},
            }
        ]
    }
    assert extract(body).logprobs == ((" 4", -0.1), ("2", None))
