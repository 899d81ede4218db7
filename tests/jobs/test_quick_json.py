"""orjson where it gives what `json` gives (issue 11), checked against `json` itself.

`quick_json` (behind `load_json` and the result-file reader) against ``json.loads``, and
`encode_body` against ``json.dumps``: on the cases where orjson differs (big integers, deep
nesting, NaN, small floats, lone surrogates, encodings) and on seeded random inputs.
"""

from __future__ import annotations

import json
import math
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from evals._results import parse_result_line
from jobs import encode_body, load_json, quick_json
from jobs._format import _STRICT

ROOT = Path(__file__).resolve().parents[2]


def same(a: object, b: object) -> bool:
    """Equal values of the same types, keys in the same order, -0.0 apart from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):  # loops, not all(...): one frame a level, for the deep cases
        assert isinstance(b, dict)
        if list(a) != list(b):
            return False
        for k in a:
            if not same(a[k], b[k]):
                return False
        return True
    if isinstance(a, list):
        assert isinstance(b, list)
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            if not same(x, y):
                return False
        return True
    if isinstance(a, float):
        return struct.pack("d", a) == struct.pack("d", b)  # type: ignore[arg-type]
    return a == b


def agrees(data: bytes) -> bool:
    """`quick_json` gives what ``json.loads`` gives, or leaves the text to it."""
    quick = quick_json(data)
    if quick is None:
        return True
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return False
    return same(quick[0], value)


@pytest.mark.parametrize(
    "text",
    [
        "18446744073709551616",  # past 64 bits: orjson's float, json's int
        "-9223372036854775809",
        "18446744073709551615",  # in range, but 19 digits or more are left to json
        '{"seed": 123456789012345678901234567890}',
        "[" * 600 + "]" * 600,  # orjson nests to 1,024, json (3.11) to about 1,000 less the stack
        "NaN",
        '{"t": Infinity}',
        "1e999",
        '"\\ud800"',  # a lone surrogate
        "\ufeff{}",
        "[1,]",
        "",
    ],
)
def test_quick_json_leaves_what_orjson_takes_otherwise(text: str) -> None:
    assert quick_json(text.encode()) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [true, false, null], "a": 2}',  # the last of a repeated key, in place
        "[-0, -0.0, 0.1, 1e-7, 1E+22, 2.5e-400, 999999999999999999, -123456789012345678]",
        '"\\u0000\\n\\t \\ud83d\\ude00 \u00e9 \U0001f600"',
        " 1 \r\n",
        "[" * 499 + "]" * 499,
    ],
)
def test_quick_json_decodes_what_json_decodes(text: str) -> None:
    quick = quick_json(text.encode())
    assert quick is not None and same(quick[0], json.loads(text))


def mutations(seed: int, n: int) -> list[str]:
    """Job lines, eval items and number-heavy lines with 1-3 random edits each."""
    rng = random.Random(seed)
    base = (ROOT / "jobs" / "evals" / "mixed.jsonl").read_text().splitlines()[:60]
    base.append(
        json.dumps(
            {
                "custom_id": "b-1",
                "messages": [{"role": "user", "content": 'q\u00e9\U0001f600 \\ " \n'}],
                "max_tokens": 16,
                "temperature": 0.7,
                "x": [1, -0, -0.0, 1e5, 1e-5, 1e-7, 123456789012345678, True, None, {}, []],
            }
        )
    )
    pieces = [*'{}[]",:0123456789-+.eE \t\r\n\\/ubfnrtalsNI\x00\x1f\x7f\u00e9\ud800\ufeff']
    pieces += ["null", "true", "NaN", "Infinity", "\\u0000", "\\ud800", "\\ud83d\\ude00"]
    pieces += ["1e400", "01", "-0", "9" * 19, "\u0661", "[" * 600]
    out = []
    for _ in range(n):
        s = rng.choice(base)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(s) + 1)
            op = rng.random()
            if op < 0.4:
                s = s[:at] + rng.choice(pieces) + s[at:]
            elif op < 0.7:
                s = s[:at] + s[at + rng.randint(1, 3) :]
            else:
                s = s[:at] + rng.choice(pieces) + s[at + 1 :]
        out.append(s)
    return out


def test_quick_json_agrees_with_json_on_mutated_lines() -> None:
    taken = 0
    for text in mutations(1, 20_000):
        try:
            data = text.encode()
        except UnicodeEncodeError:
            data = text.encode("utf-8", "surrogatepass")
        assert agrees(data), text
        taken += quick_json(data) is not None
    assert taken > 5_000  # the fast path is exercised, not only the fallback


def test_quick_json_agrees_with_json_on_numbers() -> None:
    rng = random.Random(2)
    for _ in range(20_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20)))
        literal = ("-" if rng.random() < 0.3 else "") + (digits.lstrip("0") or "0")
        if rng.random() < 0.7:
            literal += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 18)))
        if rng.random() < 0.5:
            literal += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 330))
        assert agrees(literal.encode()), literal
        x = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(x):
            assert agrees(repr(x).encode()), repr(x)


def test_load_json_gives_the_strict_decoders_values() -> None:
    def fail(reason: str) -> ValueError:
        return ValueError(reason)

    for text in mutations(3, 5_000):
        try:
            want: Any = ("ok", _STRICT.decode(text.rstrip("\r\n")))
        except (ValueError, RecursionError):
            want = ("error",)
        try:
            got: Any = ("ok", load_json(text, fail))
        except ValueError:
            got = ("error",)
        assert got[0] == want[0] and (got[0] == "error" or same(got[1], want[1])), text
    assert load_json('{"a": "\ud800"}', fail) == {"a": "\ud800"}  # a str json takes


def test_parse_result_line_gives_json_loads_values() -> None:
    for raw in (
        b'{"custom_id": "q1", "response": {"body": {"seed": 123456789012345678901234}}}\n',
        b'{"custom_id": "q1", "logprob": NaN}\r\n',
        b'\xef\xbb\xbf{"custom_id": "q1"}\n',  # json.loads takes a UTF-8 BOM in bytes
        b'{"custom_id": "q1", "x": [1.5e-7, -0.0]}\n',
    ):
        assert same(parse_result_line("f", 1, raw), json.loads(raw))


def random_body(rng: random.Random, depth: int = 0) -> Any:
    chars = ["a", "Z", "\u00e9", "\u2028", "\x00", "\x1f", "\x7f", '"', "\\", "/", "\n"]
    chars += ["\U0001f600", "\ue000", "\uffff", "e-7", "0.0000", " ", "null", "\u4e2d"]
    r = rng.random()
    if depth < 4 and r < 0.25:
        return {
            "".join(rng.choices(chars, k=rng.randint(0, 4))): random_body(rng, depth + 1)
            for _ in range(rng.randint(0, 5))
        }
    if depth < 4 and r < 0.4:
        return [random_body(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if r < 0.7:
        return "".join(rng.choices(chars, k=rng.randint(0, 6)))
    r = rng.random()
    if r < 0.3:
        return struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
    if r < 0.6:
        return rng.choice([1, 1.5, 0.7, 9.99, -2.5]) * 10.0 ** rng.randint(-12, 20)
    if r < 0.8:
        return rng.randint(-(2**70), 2**70) >> rng.randint(0, 70)
    return rng.choice(
        [0, -0.0, True, False, None, 2**63, 2**64 - 1, 2**64, -(2**63) - 1, math.nan, math.inf]
    )


def test_encode_body_is_json_dumps_byte_for_byte() -> None:
    rng = random.Random(4)
    for _ in range(20_000):
        body = {"model": "m", "x": random_body(rng)}
        try:
            want = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        except ValueError:  # a lone surrogate cannot be written; encode_body does as json
            continue
        assert encode_body(body) == want


@pytest.mark.parametrize(
    "value",
    [1e-5, -3.25e-7, 1e-9, math.nan, -math.inf, 2**64, "\ud800", {1: "int key"}, [[[[]]]]],
)
def test_encode_body_where_orjson_writes_otherwise(value: Any) -> None:
    body = {"model": "m", "v": value}
    assert encode_body(body) == json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    deep: Any = []
    for _ in range(300):  # past orjson's 254 levels
        deep = [deep]
    assert encode_body({"v": deep}) == json.dumps({"v": deep}, separators=(",", ":"))
