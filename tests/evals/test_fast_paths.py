"""The scoring speed-ups (issue 6) give what the plain code gives, exactly.

Each fast path is checked against the slow one it stands in for: `builder` against the
dataclass constructor, `_item_text` against ``json.dumps``, and the two-process split
of `_parallel` against one process, on good files and on files whose trouble is in the
half the child reads; and the byte-range reading that split stands on, against reading
the whole file.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import evals._parallel
import jobs._reader
from evals import EvalItem, EvalSetInvalid, ScorerError, read_evalset
from evals._errors import ResultFileInvalid
from evals._frozen import builder
from evals._parallel import read_evalset_split, score_file
from evals._registry import Score
from evals._results import ItemResult, _item_json, _item_text, read_result_lines, score_results
from jobs import LineError, read_lines

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "jobs" / "evals").glob("*.jsonl"))
DISJOINT = [p for p in BUNDLED if p.name != "mixed.jsonl"]  # mixed.jsonl repeats the others
BAD_EVAL = sorted((ROOT / "tests" / "data" / "bad" / "eval").glob("*.jsonl"))

# -------------------------------------------------------------------------------- builder


def test_builder_makes_what_the_constructor_makes() -> None:
    values = dict(
        id="q1",
        outcome="correct",
        answer="42",
        correct=True,
        value=1.0,
        reason="42 = 42",
        tokens_in=10,
        tokens_out=5,
        reasoning_tokens=3,
        reasoning_estimated=True,
        latency_ms=12.5,
        difficulty="hard",
        group="g",
        cluster="c",
        scorer="numeric",
        samples=1,
        samples_correct=1,
        majority="42",
        majority_correct=True,
        confidence=0.9,
        has_logprobs=True,
    )
    assert tuple(values) == ItemResult.__slots__  # every field, in order
    built = builder(ItemResult)(*values.values())
    made = ItemResult(**values)  # type: ignore[arg-type]
    assert type(built) is ItemResult and isinstance(built, ItemResult)
    assert built == made and hash(built) == hash(made) and repr(built) == repr(made)
    assert pickle.loads(pickle.dumps(built)) == made
    assert dataclasses.replace(built, answer="7").answer == "7"
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.answer = "7"  # type: ignore[misc]


def test_builder_refuses_what_it_cannot_build() -> None:
    @dataclasses.dataclass(frozen=True)
    class Loose:  # no __slots__
        a: int

    with pytest.raises(TypeError, match="slotted dataclass"):
        builder(Loose)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"answer": None, "correct": False, "outcome": "truncated", "reason": 'cut "off" \u00e9'},
        {"samples": 3, "samples_correct": 2, "majority": "42", "majority_correct": True},
        {"samples": 4, "majority": None, "majority_correct": None, "confidence": 0.1234567},
        {"confidence": float("nan")},
    ],
)
def test_item_text_is_json_dumps_of_item_json(changes: dict[str, Any]) -> None:
    base = ItemResult("q1", "correct", "42", True, 1.0, "42 = 42", samples=1, samples_correct=1)
    r = dataclasses.replace(base, **changes)
    assert _item_text(r) == json.dumps(_item_json(r))


def test_score_shortcuts_equal_the_constructor() -> None:
    assert Score.of(True, "B", "r") == Score(1.0, True, "B", "r")
    assert Score.of(False, None, "r") == Score(0.0, False, None, "r")
    assert Score.no_answer("x") == Score(0.0, False, None, "x", unparsed=True)


# ------------------------------------------------------------------ the eval set's reader


def shown(entries: list[Any]) -> list[str]:
    return [str(e) if isinstance(e, LineError) else repr(e) for e in entries]


GOOD = '{"id": "%s", "input": "What is 2+2?", "target": 4}'


def crafted(tmp: Path) -> Iterator[Path]:
    """Files whose trouble sits where the block reader hands over to read_lines."""
    good = [GOOD % f"q{i}" for i in range(40)]
    cases: dict[str, bytes] = {
        "plain.jsonl": ("\n".join(good) + "\n").encode(),
        "no_last_newline.jsonl": "\n".join(good).encode(),
        "blank_inside.jsonl": ("\n".join(good[:5]) + "\n\n  \t\n" + "\n".join(good[5:])).encode(),
        "bom.jsonl": b"\xef\xbb\xbf" + "\n".join(good).encode(),
        "crlf.jsonl": ("\r\n".join(good) + "\r\n").encode(),
        "crlf_midway.jsonl": ("\n".join(good[:20]) + "\r\n" + "\n".join(good[20:])).encode(),
        "bad_utf8_late.jsonl": ("\n".join(good[:30]) + "\n").encode() + b'{"id": "\xff"}\n',
        "nul_late.jsonl": ("\n".join(good[:30]) + "\n").encode() + b"\x00\n" + good[31].encode(),
        "duplicate_late.jsonl": ("\n".join(good + [GOOD % "q3"]) + "\n").encode(),
        "bad_item_late.jsonl": ("\n".join(good[:35]) + '\n{"id": "z"}\n' + good[36]).encode(),
        "bad_json_late.jsonl": ("\n".join(good[:35]) + "\n{nope\n" + good[36]).encode(),
        "truncated_last.jsonl": ("\n".join(good[:10]) + '\n{"id": "q99", "inp').encode(),
        "long_line.jsonl": (
            "\n".join(good[:10]) + "\n" + GOOD % ("x" * 10) + " " * 3000 + "\n" + good[11]
        ).encode(),
        "only_blank.jsonl": b"\n \n\t\n",
        "empty.jsonl": b"",
        "nan_late.jsonl": (
            "\n".join(good[:10]) + '\n{"id": "n", "input": "x", "target": NaN}\n'
        ).encode(),
    }
    for name, data in cases.items():
        path = tmp / name
        path.write_bytes(data)
        yield path


def boundaries(path: Path) -> list[tuple[int, int]]:
    """(byte just after each newline, lines before it), the places a file may be split."""
    data = path.read_bytes()
    out, no = [], 0
    for at, byte in enumerate(data):
        if byte == 0x0A:
            no += 1
            out.append((at + 1, no))
    return out


def test_reading_a_file_in_two_byte_ranges_gives_the_whole_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `_parallel` splits: read_lines over [0, mid) then [mid, end), at every line
    boundary, yields what one read of the whole file yields. (Files whose reading stops
    early, at a NUL byte or a UTF-16 mark, or that have no line at all, read differently
    in parts by design: the split falls back to one read on any error.)"""
    monkeypatch.setattr(jobs._reader, "MAX_LINE_BYTES", 2048)  # long_line.jsonl is too long
    checked = 0
    for path in [*BUNDLED[:2], *BAD_EVAL, *crafted(tmp_path)]:
        whole = shown(list(read_lines(path, noun="items")))
        if any("NUL byte" in e or "UTF-16" in e or "has no items" in e for e in whole):
            continue
        for mid, before in boundaries(path)[:: max(1, len(boundaries(path)) // 25)]:
            first = list(read_lines(path, noun="items", end=mid))
            rest = list(read_lines(path, noun="items", start=mid, lines_before=before))
            assert shown(first + rest) == whole, (path.name, mid)
        checked += 1
    assert checked >= 20


def test_result_lines_in_two_byte_ranges_give_the_whole_read(tmp_path: Path) -> None:
    items = read_evalset(BUNDLED[0])
    path = results_file(tmp_path, items, ["", "  "])  # blank lines at the end, skipped
    whole = list(read_result_lines(path))
    for mid, before in boundaries(path):
        first = list(read_result_lines(path, 0, mid))
        rest = list(read_result_lines(path, mid, None, before))
        assert first + rest == whole


# --------------------------------------------------------------------- the two-process split


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Split every file, however small; count the children forked."""
    monkeypatch.setattr(evals._parallel, "MIN_BYTES", 1)
    forks: list[int] = []
    real = evals._parallel._Child.__init__

    def counting(self: Any, *args: Any) -> None:
        forks.append(1)
        real(self, *args)

    monkeypatch.setattr(evals._parallel._Child, "__init__", counting)
    if not evals._parallel._can_fork():
        pytest.skip("the split needs Linux, two usable cores and no other thread")
    return forks


def results_file(tmp: Path, items: list[EvalItem], extra: list[str] | None = None) -> Path:
    """A Batch output file answering each item, some right, some wrong, some cut off."""
    path = tmp / "results.jsonl"
    with path.open("w") as fh:
        for i, item in enumerate(items):
            target = item.target if not isinstance(item.target, tuple) else item.target[0]
            text = json.dumps(target) if not isinstance(target, str) else target
            content = [f"Answer: {text}", "Answer: 0", f"<think>hmm {i}</think>\n{text}"][i % 3]
            finish = "length" if i % 7 == 0 else "stop"
            if i % 7 == 0:
                content = "<think>still going"
            body = {
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": finish,
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 10 + i % 5, "completion_tokens": 20 + i % 11},
            }
            line = {
                "id": f"b{i}",
                "custom_id": item.id,
                "response": {"status_code": 200, "request_id": "r", "body": body},
                "error": None,
            }
            fh.write(json.dumps(line) + "\n")
        for text in extra or []:
            fh.write(text + "\n")
    return path


def test_split_eval_set_equals_one_process(split: list[int]) -> None:
    for path in BUNDLED:
        assert read_evalset_split(path) == read_evalset(path)
    assert len(split) == len(BUNDLED)


def test_split_eval_set_errors_in_the_second_half_are_worded_the_same(
    tmp_path: Path, split: list[int]
) -> None:
    good = [GOOD % f"q{i}" for i in range(40)]
    for name, tail in (
        ("dup.jsonl", GOOD % "q1"),  # an id of the first half, again in the second
        ("bad.jsonl", '{"id": "z"}'),
        ("json.jsonl", "{nope"),
    ):
        path = tmp_path / name
        path.write_text("\n".join([*good, tail, *good[:0]]) + "\n")
        with pytest.raises(EvalSetInvalid) as one:
            read_evalset(path)
        with pytest.raises(EvalSetInvalid) as two:
            read_evalset_split(path)
        assert str(two.value) == str(one.value)
    assert split


def test_split_scoring_equals_one_process(tmp_path: Path, split: list[int]) -> None:
    items = [i for p in DISJOINT for i in read_evalset(p)]
    by_id = {i.id: i for i in items}
    assert len(by_id) == len(items)
    # a duplicate of an early line late in the file (the first line counts), and a line
    # for an item not in the set
    first = json.loads(results_file(tmp_path, items[:1]).read_text())
    first["response"]["body"]["choices"][0]["message"]["content"] = "Answer: 123456"
    path = results_file(
        tmp_path, items, [json.dumps(first), json.dumps({**first, "custom_id": "nobody"})]
    )
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    one = score_results(lines, by_id, label="r")
    forks_before = len(split)
    two = score_file(path, by_id, label="r")
    assert len(split) == forks_before + 1
    assert two.to_json() == one.to_json()
    assert two.items == one.items
    assert "".join(two.json_pieces()) == json.dumps(one.to_json())


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"{not json", "not a JSON result line: Expecting property name"),
        (b"[1, 2]", "a result line must be a JSON object, got an array"),
        (b'{"custom_id": "\xff"}', "not UTF-8 text"),
    ],
)
def test_a_bad_line_in_the_second_half_is_named_with_its_line(
    tmp_path: Path, split: list[int], bad: bytes, reason: str
) -> None:
    items = read_evalset(BUNDLED[0])
    path = results_file(tmp_path, items)
    with path.open("ab") as fh:
        fh.write(b"\r\n" + bad + b"\r\n")  # after a blank line, with CRLF
    where = f"{path}:{len(items) + 2}: "
    with pytest.raises(ResultFileInvalid, match=re.escape(where + reason)):
        score_file(path, {i.id: i for i in items}, label="r")
    with pytest.raises(ResultFileInvalid, match=re.escape(where + reason)):
        list(read_result_lines(path))
    assert split  # the split was tried, and fell back to the one-process path


def test_a_users_scorer_is_never_split(tmp_path: Path, split: list[int]) -> None:
    items = read_evalset(BUNDLED[0])
    path = results_file(tmp_path, items)
    user = {i.id: dataclasses.replace(i, scorer="tests.nowhere:fn") for i in items}
    before = len(split)
    with pytest.raises(ScorerError):
        score_file(path, user, label="r")
    assert len(split) == before
