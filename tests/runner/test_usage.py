"""The one reader of a response's ``usage``: what counts as a token count, where reasoning
tokens are found, and that a strange value never raises in the client nor reaches the
engine's totals; the eval stage reads the same counts."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from evals import extract
from jobs import Defaults, JobFile
from runner import Store, Usage, read_usage
from runner._client import ApiClient
from runner._clock import FakeClock
from runner._engine import Engine, EngineSettings
from runner._limiter import NoLimit
from runner._retry import Action
from runner._usage import token_count


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (0, 0),
        (12, 12),
        (12.0, 12),
        (12.7, 12),  # a float is truncated, as int() does
        (-1, None),  # a negative is no count
        (-0.5, None),
        (True, None),  # a bool is not the number 1
        (False, None),
        ("12", None),  # nor is a string
        (None, None),
        ([3], None),
        ({"n": 3}, None),
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
    ],
)
def test_token_count(value: object, count: int | None) -> None:
    got = token_count(value)
    assert got == count and (got is None or type(got) is int)


def test_a_full_usage_object() -> None:
    body = {"usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}
    assert Usage.from_body(body) == Usage(5, 7, 12, None)
    assert read_usage(body) == (5, 7, 12, None)


def test_no_usage_object_is_no_usage() -> None:
    for body in ({}, {"usage": None}, {"usage": [1, 2]}, {"usage": "5 tokens"}):
        assert Usage.from_body(body) is None and read_usage(body) is None


def test_counts_the_server_did_not_give_are_unknown_not_zero() -> None:
    assert Usage.from_body({"usage": {}}) == Usage(None, None, None, None)
    bad = {"prompt_tokens": True, "completion_tokens": "7", "total_tokens": -3}
    assert Usage.from_body({"usage": bad}) == Usage(None, None, None, None)


def test_total_missing_or_zero_is_the_sum_of_the_parts_given() -> None:
    assert Usage.from_body({"usage": {"prompt_tokens": 5, "completion_tokens": 7}}) == Usage(
        5, 7, 12
    )
    zero = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 0}
    assert Usage.from_body({"usage": zero}) == Usage(5, 7, 12)
    assert Usage.from_body({"usage": {"prompt_tokens": 5}}) == Usage(5, None, 5)
    assert Usage.from_body({"usage": {"total_tokens": 0}}) == Usage(None, None, 0)


def test_reasoning_tokens_top_level_first_then_the_details() -> None:
    details = {"completion_tokens_details": {"reasoning_tokens": 80}}
    assert Usage.from_body({"usage": {"reasoning_tokens": 9, **details}}) == Usage(
        reasoning_tokens=9
    )
    assert Usage.from_body({"usage": details}) == Usage(reasoning_tokens=80)
    # A top-level value that is not a count does not hide the details' count.
    for bad in (None, True, "9", -9, math.nan):
        assert Usage.from_body({"usage": {"reasoning_tokens": bad, **details}}) == Usage(
            reasoning_tokens=80
        )
    assert Usage.from_body({"usage": {"completion_tokens_details": None}}) == Usage()
    assert Usage.from_body({"usage": {"reasoning_tokens": 0}}) == Usage(reasoning_tokens=0)


def test_the_eval_stage_reads_the_same_counts() -> None:
    usage = {
        "prompt_tokens": 12.0,
        "completion_tokens": True,
        "reasoning_tokens": -1,
        "completion_tokens_details": {"reasoning_tokens": 4},
    }
    body = {"choices": [{"message": {"content": "4"}, "finish_reason": "stop"}], "usage": usage}
    ex = extract(body)
    assert (ex.tokens_in, ex.tokens_out, ex.reasoning_tokens) == (12, None, 4)
    assert not ex.reasoning_tokens_estimated


CHAT = {"choices": [{"index": 0, "message": {"content": "4"}, "finish_reason": "stop"}]}


@pytest.mark.asyncio
@pytest.mark.parametrize("count", ["NaN", "Infinity", "1e999", "-5", "true", '"5"'])
async def test_a_strange_count_never_raises_in_the_client(count: str) -> None:
    """``json.loads`` takes NaN and 1e999: reading them as counts must not raise."""
    raw = json.dumps({**CHAT, "id": "r-1"})[:-1] + f', "usage": {{"prompt_tokens": {count}, '
    raw += '"completion_tokens": 3, "total_tokens": 8}}'
    handler = lambda request: httpx.Response(200, content=raw.encode())  # noqa: E731
    async with ApiClient("http://test/v1", None, transport=httpx.MockTransport(handler)) as c:
        attempt = await c.post("/v1/chat/completions", b"{}")
    assert attempt.decision.action is Action.DONE
    assert attempt.usage == Usage(None, 3, 8)


@pytest.mark.asyncio
async def test_the_engine_stores_unknown_counts_as_null_and_adds_nothing(tmp_path: Path) -> None:
    usages: list[dict[str, Any]] = [
        {"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10},
        {"prompt_tokens": 4, "completion_tokens": None},
        {"prompt_tokens": -1, "completion_tokens": 2.0},
    ]
    path = tmp_path / "j.jsonl"
    path.write_text(
        "".join(json.dumps({"custom_id": f"c{i}", "prompt": "p"}) + "\n" for i in (0, 1, 2))
    )
    store = Store.open(tmp_path / "s.db")
    run = store.create_run(
        jobs_path=str(path),
        jobs_sha256="s",
        options_json="{}",
        identity="i",
        out_path="o",
        jobs=JobFile(path, Defaults(model="m", max_tokens=16)),
    )
    assert run.id is not None
    sent = iter(usages)

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**CHAT, "id": "r", "usage": next(sent)})

    clock = FakeClock()
    client = ApiClient("http://test/v1", None, transport=httpx.MockTransport(respond), clock=clock)
    settings = EngineSettings(concurrency=1, max_attempts=1)
    engine = Engine(store, run.id, client, NoLimit(), settings, clock=clock)
    await engine.run()
    store.close()
    assert (engine.stats.prompt_tokens, engine.stats.completion_tokens) == (8, 8)
    db = sqlite3.connect(tmp_path / "s.db")
    rows = db.execute(
        "SELECT prompt_tokens, completion_tokens, total_tokens FROM jobs ORDER BY id"
    ).fetchall()
    db.close()
    assert rows == [(4, 6, 10), (4, None, 4), (None, 2, 2)]
