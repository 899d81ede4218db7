"""The bundled eval sets are what the seeded generator makes, and every target is right."""

from __future__ import annotations

import datetime as dt
import json
import re
import runpy
from pathlib import Path

from evals import get_scorer, read_evalset
from evals._jsonschema import schema_errors

HERE = Path(__file__).resolve().parents[2] / "jobs" / "evals"


def test_shipped_files_match_the_generator() -> None:
    gen = runpy.run_path(str(HERE / "generate.py"))
    sets = gen["generate"]()
    assert set(sets) == set(gen["TASKS"]) | set(gen["SEPARATE"])
    for name, items in sets.items():
        assert (HERE / f"{name}.jsonl").read_text() == gen["render"](items), name
    mixed = [i for name in gen["TASKS"] for i in sets[name]]
    assert (HERE / "mixed.jsonl").read_text() == gen["render"](mixed)


def test_every_bundled_set_reads_cleanly() -> None:
    items = read_evalset(HERE / "mixed.jsonl")
    assert len(items) == 360  # the demo's set: the separate sets are not in it
    assert {i.metadata["difficulty"] for i in items} == {"easy", "medium", "hard"}
    assert all(i.group for i in items)
    for name, scorer in (("function_calling", "tool_call"), ("structured_output", "json_schema")):
        separate = read_evalset(HERE / f"{name}.jsonl")
        assert len(separate) == 60
        assert {i.scorer for i in separate} == {scorer}
        assert {i.difficulty for i in separate} == {"easy", "medium", "hard"}
        assert not {i.id for i in separate} & {i.id for i in items}


def test_targets_are_right_by_an_independent_computation() -> None:
    for item in read_evalset(HERE / "mixed.jsonl"):
        text = item.input or ""
        task = item.metadata["task"]
        if task == "letters":
            letter, word = re.findall(r"'([^']+)'", text)[:2]
            assert item.target == word.count(letter)
        elif task == "decimals":
            a, b = map(float, re.findall(r"\d+\.\d+", text)[:2])
            assert item.target == max(a, b)
        elif task == "dates":
            days = int(re.search(r"(\d+) days", text).group(1))  # type: ignore[union-attr]
            start = dt.date.fromisoformat(re.search(r"\d{4}-\d\d-\d\d", text).group(0))  # type: ignore[union-attr]
            sign = 1 if "after" in text else -1
            assert item.target == (start + dt.timedelta(days=sign * days)).isoformat()
        elif task == "json":
            target = json.loads(str(item.target))
            assert target["name"] in text and str(target["age"]) in text


def test_function_calling_targets_use_offered_tools_with_arguments_from_the_text() -> None:
    parallel = 0
    for item in read_evalset(HERE / "function_calling.jsonl"):
        text = item.input or ""
        offered = {t["function"]["name"]: t["function"] for t in item.params["tools"]}
        assert len(item.targets) in ((2, 3) if item.difficulty == "hard" else (1,))
        parallel += len(item.targets) > 1
        assert (len(offered) == 1) == (item.difficulty == "easy")
        for call in item.targets:
            assert isinstance(call, dict)
            spec = offered[call["name"]]["parameters"]
            assert schema_errors(call["arguments"], spec) == []  # the tool's own schema
            assert sorted(call["arguments"]) == sorted(spec["required"])
            for value in call["arguments"].values():
                for part in value if isinstance(value, list) else [value]:
                    assert str(part) in text, (item.id, part)
        reply = json.dumps(
            {
                "content": None,
                "tool_calls": [
                    {"name": c["name"], "arguments": json.dumps(c["arguments"])}  # type: ignore[index]
                    for c in reversed(item.targets)
                ],
            }
        )
        assert get_scorer("tool_call")(reply, item).correct
    assert parallel == 20


def test_structured_output_targets_follow_their_schema_and_the_text() -> None:
    for item in read_evalset(HERE / "structured_output.jsonl"):
        text = (item.input or "").split("\nMessage: ")[1]
        schema = item.params["response_format"]["json_schema"]["schema"]
        assert isinstance(item.target, dict)
        assert schema_errors(item.target, schema) == []
        assert f"{item.target['priority']} priority" in text
        customer = item.target.get("customer", {"name": item.target.get("name")})
        assert customer["name"] in text
        if "email" in customer:
            assert customer["email"] in text
        score = get_scorer("json_schema")(json.dumps(item.target), item)
        assert score.correct and score.reason.endswith("equals the target")
