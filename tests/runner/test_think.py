"""The one ``<think>`` splitter: its three rules, where it says the answer starts, and that
the stream reader's time to first answer and the eval stage's answer agree through it."""

from __future__ import annotations

import itertools
import json

import pytest

from evals import extract
from runner import split_thinking
from runner._sse import StreamAssembler


@pytest.mark.parametrize(
    ("text", "answer", "thinking"),
    [
        ("  42 \n", "  42 \n", []),
        ("<think>a</think>\n\nAnswer: 4", "\n\nAnswer: 4", ["a"]),
        ("<think>a</think>Answer: <think>b</think>42", "Answer: 42", ["a", "b"]),  # rule 1
        ("R</think>A", "A", ["R"]),  # rule 2
        ("one</think>two</think> A", " A", ["one\ntwo"]),
        ("X</think>Y<think>Z</think>W", "YW", ["X", "Z"]),
        ("<think>never closed", None, ["never closed"]),  # rule 3
        ("said <think>then thought", None, ["then thought"]),
        ("<think>a</think>B<think>c", None, ["a", "c"]),
        ("<think>a</think>", "", ["a"]),
        ("<THINK>a</THINK>b", "<THINK>a</THINK>b", []),  # tags are lower case
    ],
)
def test_the_rules(text: str, answer: str | None, thinking: list[str]) -> None:
    got, parts, _ = split_thinking(text)
    assert (got, parts) == (answer, thinking)


def test_no_open_without_a_closing_tag_never_left_its_thinking() -> None:
    assert split_thinking("2+2 is", no_open=True) == (None, ["2+2 is"], None)
    assert split_thinking("2+2 is 4.</think>4", no_open=True) == ("4", ["2+2 is 4."], 17)


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("42", 0),
        ("  \n42", 3),
        ("<think>a</think>\n\nB", 18),
        ("R</think> A", 10),
        ("<think>a</think>  <think>b</think> C", 35),  # past a block removed from the answer
        ("X</think>Y<think>Z</think>W", 9),  # Y: the first of the answer "YW"
        ("</thi<think>x</think>nk>A", 24),  # a stray tag made by removing a block
        ("<think>a</think> \n", None),  # a blank answer
        ("<think>a", None),
        ("", None),
    ],
)
def test_answer_at_is_the_answers_first_character_in_the_text(text: str, at: int | None) -> None:
    answer, _, got = split_thinking(text)
    assert got == at
    if at is not None:
        assert answer is not None and text[at] == answer.lstrip()[0]


def test_answer_at_on_every_small_mix_of_tags() -> None:
    """Over every text of up to six pieces: answer_at points at the answer's first
    non-blank character, which is also the first one of evals' stripped answer."""
    pieces = ["<think>", "</think>", "a", " ", "b"]
    for n in range(7):
        for combo in itertools.product(pieces, repeat=n):
            text = "".join(combo)
            answer, _, at = split_thinking(text)
            stripped = answer.strip() if answer is not None else ""
            assert (at is None) == (stripped == ""), text
            if at is not None:
                assert text[at] == stripped[0], text
                assert text[at:].replace("<think>", "").replace("</think>", "").strip()
            ex = extract({"choices": [{"message": {"content": text}, "finish_reason": "stop"}]})
            assert ex.answer == (stripped or None), text


def stream(pieces: list[str]) -> float | None:
    """The first-answer time of a stream whose content arrives in ``pieces`` at 1, 2, ..."""
    asm = StreamAssembler(chat=True)
    for i, content in enumerate(pieces):
        chunk = {"id": "r", "choices": [{"index": 0, "delta": {"content": content}}]}
        asm.feed(f"data: {json.dumps(chunk)}", float(i + 1))
        asm.feed("", float(i + 1))
    asm.feed("data: [DONE]", 99.0)
    result = asm.finish()
    assert result.error is None and result.body is not None
    return result.first_answer


def test_the_stream_times_the_answer_the_eval_stage_scores() -> None:
    assert stream(["<think>a", "</think>", "\n\n", "Four"]) == 4.0
    assert stream(["  ", "Four"]) == 2.0
    # The answer of "<think>a</think>B<think>c</think>D" is "BD": it starts at B.
    assert stream(["<think>a</think>", "B", "<think>c</think>", "D"]) == 2.0
    # A reply that opens a block it never closes has no answer, whatever came before.
    assert stream(["Let me see ", "<think>hmm"]) is None
    assert stream(["<think>a</think>B", "<think>c"]) is None
