"""Seeded generator of the bundled eval sets: ``python jobs/evals/generate.py``.

Writes one file per task and ``mixed.jsonl`` (all of them) beside this script. Every item
is computed here, not downloaded: its target is right by construction. Same seed, same
files, byte for byte (a test checks that the shipped files match).

Tasks, each item with ``metadata.task``, ``metadata.difficulty`` (easy, medium, hard) and
``metadata.group`` (the template it came from, for clustered standard errors):

- ``arithmetic``: multi-step word problems (2, 3 or 4 steps); scorer ``numeric``.
- ``decimals``: which of two decimals is larger, the 9.9-against-9.11 trap included;
  scorer ``numeric``.
- ``letters``: how many times a letter occurs in a word ("strawberry"); ``numeric``.
- ``dates``: a date plus or minus some days, across month and leap-year ends; ``normalized``
  on ``YYYY-MM-DD``.
- ``logic``: multiple choice (orderings and syllogisms), lettered choices; ``choice``.
- ``json``: extract fields as JSON that must follow a schema; ``json``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 20261125
PER_TASK = 60
DIFFICULTIES = ("easy", "medium", "hard")

Item = dict[str, Any]


def _item(
    task: str,
    n: int,
    text: str,
    target: Any,
    scorer: str,
    difficulty: str,
    group: str,
    **extra: Any,
) -> Item:
    item: Item = {"id": f"{task}-{n:03d}", "input": text, "target": target, "scorer": scorer}
    item.update(extra)
    item["metadata"] = {"task": task, "difficulty": difficulty, "group": f"{task}/{group}"}
    return item


def arithmetic(rng: random.Random) -> Iterator[Item]:
    things = ["apples", "books", "marbles", "stamps", "bolts", "cards"]
    for n in range(PER_TASK):
        difficulty = DIFFICULTIES[n % 3]
        thing = rng.choice(things)
        boxes, per = rng.randint(3, 19), rng.randint(6, 24)
        sold = rng.randint(1, boxes * per - 1)
        more = rng.randint(2, 9) if difficulty != "easy" else 0
        shares = rng.choice([2, 3, 4, 5]) if difficulty == "hard" else 1
        fix = (boxes * per - sold + more * per) % shares  # so the shares come out whole
        sold = sold + fix if sold + fix < boxes * per else sold - (shares - fix)
        total = (boxes * per - sold + more * per) // shares
        parts = [
            f"A store has {boxes} crates with {per} {thing} in each.",
            f"It sells {sold} {thing}.",
        ]
        group = "crates-sell"
        if more:
            parts.append(f"Then {more} more crates of the same size arrive.")
            group += "-arrive"
        if shares > 1:
            parts.append(f"Everything left is shared equally among {shares} branches.")
            ask = f"How many {thing} does each branch get?"
            group += "-share"
        else:
            ask = f"How many {thing} are there now?"
        text = " ".join([*parts, ask, "End with 'Answer: N'."])
        yield _item("arithmetic", n, text, total, "numeric", difficulty, group)


def decimals(rng: random.Random) -> Iterator[Item]:
    for n in range(PER_TASK):
        difficulty = DIFFICULTIES[n % 3]
        whole = rng.randint(1, 20)
        if difficulty == "easy":  # different whole parts
            bigger = whole + rng.randint(1, 5)
            a, b = f"{whole}.{rng.randint(1, 9)}", f"{bigger}.{rng.randint(1, 9)}"
            group = "whole"
        elif difficulty == "medium":  # same length decimals
            x, y = rng.sample(range(10, 99), 2)
            a, b = f"{whole}.{x}", f"{whole}.{y}"
            group = "same-length"
        else:  # the trap: 9.9 against 9.11
            d = rng.randint(2, 9)
            a, b = f"{whole}.{d}", f"{whole}.{rng.randint(1, d - 1)}{rng.randint(1, 9)}"
            group = "trap"
        pair = [a, b]
        rng.shuffle(pair)
        larger = max(pair, key=float)
        text = f"Which number is larger, {pair[0]} or {pair[1]}? End with 'Answer: N'."
        yield _item("decimals", n, text, float(larger), "numeric", difficulty, group)


_WORDS = {
    "easy": ["banana", "apple", "letter", "coffee", "bottle", "puzzle"],
    "medium": ["strawberry", "mississippi", "bookkeeper", "assessment", "committee"],
    "hard": [
        "onomatopoeia",
        "supercalifragilistic",
        "unnecessarily",
        "parallelogram",
        "accommodation",
        "disproportionate",
    ],
}


def letters(rng: random.Random) -> Iterator[Item]:
    for n in range(PER_TASK):
        difficulty = DIFFICULTIES[n % 3]
        word = rng.choice(_WORDS[difficulty])
        letter = rng.choice(sorted(set(word)))
        text = (
            f"How many times does the letter '{letter}' appear in the word '{word}'? "
            "End with 'Answer: N'."
        )
        yield _item("letters", n, text, word.count(letter), "numeric", difficulty, word)


def dates(rng: random.Random) -> Iterator[Item]:
    for n in range(PER_TASK):
        difficulty = DIFFICULTIES[n % 3]
        start = dt.date(rng.randint(2019, 2030), rng.randint(1, 12), rng.randint(1, 28))
        if difficulty == "easy":
            days, group = rng.randint(1, 20), "days-forward"
        elif difficulty == "medium":
            days, group = rng.randint(21, 120), "months-forward"
        else:
            start = dt.date(rng.choice([2020, 2024, 2028]), 2, rng.randint(20, 28))
            days, group = -rng.randint(30, 400), "leap-back"
        end = start + dt.timedelta(days=days)
        way = f"{days} days after" if days > 0 else f"{-days} days before"
        text = f"What date is {way} {start.isoformat()}? End with 'Answer: YYYY-MM-DD'."
        yield _item("dates", n, text, end.isoformat(), "normalized", difficulty, group)


_NAMES = ["Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus"]
_NONSENSE = ["bloops", "razzies", "lazzies", "tovs", "wugs", "glims", "frobs"]


def logic(rng: random.Random) -> Iterator[Item]:
    for n in range(PER_TASK):
        difficulty = DIFFICULTIES[n % 3]
        if n % 2 == 0:  # an ordering
            k = {"easy": 3, "medium": 4, "hard": 5}[difficulty]
            people = rng.sample(_NAMES, k)  # tallest first
            facts = [f"{people[i]} is taller than {people[i + 1]}." for i in range(k - 1)]
            rng.shuffle(facts)
            ask_short = rng.random() < 0.5
            answer = people[-1] if ask_short else people[0]
            choices = sorted(people)
            text = " ".join(facts) + f" Who is the {'shortest' if ask_short else 'tallest'}?"
            group = f"ordering-{k}"
        else:  # a syllogism
            a, b, c = rng.sample(_NONSENSE, 3)
            valid = rng.random() < 0.5
            if valid:
                facts = [f"All {a} are {b}.", f"All {b} are {c}."]
                question, answer = f"Are all {a} {c}?", "Yes"
            else:
                facts = [f"All {a} are {b}.", f"Some {b} are {c}."]
                question, answer = f"Are all {a} {c}?", "Cannot be determined"
            if difficulty == "hard":
                other = rng.choice([x for x in _NONSENSE if x not in (a, b, c)])
                facts.append(f"No {c} are {other}.")  # a distractor
            choices = ["Yes", "No", "Cannot be determined"]
            text = " ".join(facts) + " " + question
            group = f"syllogism-{'valid' if valid else 'invalid'}"
        letter = "ABCDEFG"[choices.index(answer)]
        yield _item("logic", n, text, letter, "choice", difficulty, group, choices=choices)


_FIRST = ["Maria", "Kenji", "Amara", "Lars", "Priya", "Tom", "Sofia", "Omar"]
_LAST = ["Lopez", "Tanaka", "Okafor", "Berg", "Shah", "Reed", "Rossi", "Haddad"]
_CITIES = ["Lyon", "Osaka", "Lagos", "Bergen", "Pune", "Leeds", "Turin", "Beirut"]
_ROLES = ["engineer", "teacher", "nurse", "chef", "pilot"]


def extraction(rng: random.Random) -> Iterator[Item]:
    for n in range(PER_TASK):
        difficulty = DIFFICULTIES[n % 3]
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        age, city, role = rng.randint(19, 80), rng.choice(_CITIES), rng.choice(_ROLES)
        props: dict[str, Any] = {"name": {"type": "string"}, "age": {"type": "integer"}}
        target: dict[str, Any] = {"name": name, "age": age}
        sentence = f"{name}, aged {age}, lives in {city}."
        if difficulty != "easy":
            props["city"] = {"type": "string"}
            target["city"] = city
        if difficulty == "hard":
            props["role"] = {"type": "string", "enum": _ROLES}
            props["contact"] = {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            }
            target["role"] = role
            target["contact"] = {"city": city}
            sentence = f"Our new {role}, {name} ({age}), joins from {city}."
        schema = {
            "type": "object",
            "properties": props,
            "required": sorted(props),
            "additionalProperties": False,
        }
        text = (
            f"Extract {', '.join(sorted(props))} from the text as one JSON object following "
            f"this JSON Schema: {json.dumps(schema)}\nText: {sentence}"
        )
        yield _item(
            "json",
            n,
            text,
            json.dumps(target, sort_keys=True),  # a target is a string: the JSON text
            "json",
            difficulty,
            f"fields-{len(props)}",
            metadata_schema=schema,
        )


TASKS: dict[str, Callable[[random.Random], Iterator[Item]]] = {
    "arithmetic": arithmetic,
    "decimals": decimals,
    "letters": letters,
    "dates": dates,
    "logic": logic,
    "json": extraction,
}


def generate(seed: int = SEED) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for name, make in TASKS.items():
        rng = random.Random(f"{seed}:{name}")
        items = []
        for item in make(rng):
            schema = item.pop("metadata_schema", None)
            if schema is not None:
                item["metadata"]["schema"] = schema
            items.append(item)
        out[name] = items
    return out


def render(items: list[Item]) -> str:
    return "".join(json.dumps(i, sort_keys=True) + "\n" for i in items)


def main() -> None:
    sets = generate()
    for name, items in sets.items():
        (HERE / f"{name}.jsonl").write_text(render(items))
    mixed = [i for items in sets.values() for i in items]
    (HERE / "mixed.jsonl").write_text(render(mixed))
    print(f"wrote {len(sets)} sets, {len(mixed)} items, to {HERE}")


if __name__ == "__main__":
    main()
