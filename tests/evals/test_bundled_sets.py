"""The bundled eval sets are what the seeded generator makes, and every target is right."""

from __future__ import annotations

import datetime as dt
import json
import re
import runpy
from pathlib import Path

from evals import read_evalset

HERE = Path(__file__).resolve().parents[2] / "jobs" / "evals"


def test_shipped_files_match_the_generator() -> None:
    gen = runpy.run_path(str(HERE / "generate.py"))
    sets = gen["generate"]()
    for name, items in sets.items():
        assert (HERE / f"{name}.jsonl").read_text() == gen["render"](items), name
    mixed = [i for items in sets.values() for i in items]
    assert (HERE / "mixed.jsonl").read_text() == gen["render"](mixed)


def test_every_bundled_set_reads_cleanly() -> None:
    items = read_evalset(HERE / "mixed.jsonl")
    assert len(items) == 360
    assert {i.metadata["difficulty"] for i in items} == {"easy", "medium", "hard"}
    assert all(i.group for i in items)


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
