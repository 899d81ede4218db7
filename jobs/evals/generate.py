"""Seeded generator of the bundled eval sets: ``python jobs/evals/generate.py``.

Writes one file per task and ``mixed.jsonl`` (the tasks of `TASKS`) beside this script.
Every item is computed here, not downloaded: its target is right by construction. Same
seed, same files, byte for byte (a test checks that the shipped files match).

Tasks, each item with ``metadata.task``, ``metadata.difficulty`` (easy, medium, hard) and
``metadata.group`` (the template it came from: accuracy by group is shown apart; items of a
template are not one cluster, their prompts differ, so the sets carry no ``cluster``):

- ``arithmetic``: multi-step word problems (2, 3 or 4 steps); scorer ``numeric``.
- ``decimals``: which of two decimals is larger, the 9.9-against-9.11 trap included;
  scorer ``numeric``.
- ``letters``: how many times a letter occurs in a word ("strawberry"); ``numeric``.
- ``dates``: a date plus or minus some days, across month and leap-year ends; ``normalized``
  on ``YYYY-MM-DD``.
- ``logic``: multiple choice (orderings and syllogisms), lettered choices; ``choice``.
- ``json``: extract fields as JSON that must follow a schema; ``json``.

Two more sets carry request parameters (``params``) and are not in ``mixed.jsonl`` (its
numbers stay as they were); they are run as evals of their own (`SEPARATE`):

- ``function_calling``: ``params.tools`` offers realistic functions (weather, currency,
  flights, calendar, stocks, reminders); easy items offer one tool and want one call,
  medium items offer all of them and want the right one, hard items want 2 or 3 calls made
  in parallel (the same function, or different ones). The target is the expected calls;
  scorer ``tool_call``.
- ``structured_output``: extract a support ticket from a short message into a JSON Schema
  with enums (easy), a nested object (medium) and an array of objects (hard), sent as
  ``params.response_format`` (``json_schema``); the target is the right object; scorer
  ``json_schema`` (validity).
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


def _tool(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
            },
        },
    }


_STR = {"type": "string"}
TOOLS = {
    "get_weather": _tool(
        "get_weather",
        "Get the current weather in a city.",
        {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
    ),
    "convert_currency": _tool(
        "convert_currency",
        "Convert an amount of money from one currency to another.",
        {
            "amount": {"type": "number"},
            "from_currency": {"type": "string", "description": "ISO 4217 code, e.g. USD"},
            "to_currency": {"type": "string", "description": "ISO 4217 code, e.g. EUR"},
        },
    ),
    "search_flights": _tool(
        "search_flights",
        "Search for flights between two airports on a date.",
        {
            "origin": {"type": "string", "description": "IATA airport code, e.g. JFK"},
            "destination": {"type": "string", "description": "IATA airport code"},
            "date": {"type": "string", "description": "Departure date, YYYY-MM-DD"},
        },
    ),
    "create_event": _tool(
        "create_event",
        "Create a calendar event.",
        {
            "title": _STR,
            "date": {"type": "string", "description": "YYYY-MM-DD"},
            "attendees": {"type": "array", "items": {"type": "string"}},
        },
    ),
    "get_stock_price": _tool(
        "get_stock_price",
        "Get the latest price of a stock.",
        {"symbol": {"type": "string", "description": "Ticker symbol, e.g. AAPL"}},
    ),
    "set_reminder": _tool(
        "set_reminder",
        "Set a reminder some minutes from now.",
        {"text": _STR, "minutes": {"type": "integer", "minimum": 1}},
    ),
}
_WEATHER_CITIES = ["Paris", "Tokyo", "Nairobi", "Lima", "Oslo", "Cairo", "Toronto", "Sydney"]
_CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "INR", "BRL"]
_AIRPORTS = ["JFK", "LHR", "CDG", "NRT", "SFO", "DXB", "SIN", "GRU"]
_EVENTS = ["Budget review", "Team lunch", "Design sync", "Quarterly planning", "Offsite prep"]
_PEOPLE = ["ana@example.com", "li@example.com", "omar@example.com", "kim@example.com"]
_SYMBOLS = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG"]
_REMINDERS = ["call the dentist", "water the plants", "join the standup", "take the cake out"]

Call = tuple[str, dict[str, Any], str]  # function, arguments, how a user asks for it


def _request(rng: random.Random, name: str) -> Call:
    """One call to ``name`` with random arguments, and the words that ask for it."""
    if name == "get_weather":
        city, unit = rng.choice(_WEATHER_CITIES), rng.choice(["celsius", "fahrenheit"])
        return name, {"city": city, "unit": unit}, f"check the weather in {city} in {unit}"
    if name == "convert_currency":
        amount = rng.choice([rng.randint(5, 2000), round(rng.uniform(1, 500), 2)])
        a, b = rng.sample(_CURRENCIES, 2)
        args = {"amount": amount, "from_currency": a, "to_currency": b}
        return name, args, f"convert {amount} {a} to {b}"
    if name == "search_flights":
        origin, destination = rng.sample(_AIRPORTS, 2)
        day = dt.date(2026, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
        args = {"origin": origin, "destination": destination, "date": day}
        return name, args, f"search flights from {origin} to {destination} on {day}"
    if name == "create_event":
        title = rng.choice(_EVENTS)
        day = dt.date(2026, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
        people = rng.sample(_PEOPLE, rng.randint(1, 3))
        args = {"title": title, "date": day, "attendees": people}
        who = _listed(people)
        return name, args, f"create a calendar event titled '{title}' on {day} with {who}"
    if name == "get_stock_price":
        symbol = rng.choice(_SYMBOLS)
        return name, {"symbol": symbol}, f"look up the latest price of {symbol} stock"
    text, minutes = rng.choice(_REMINDERS), rng.randint(5, 180)
    return (
        name,
        {"text": text, "minutes": minutes},
        f"set a reminder to {text} in {minutes} minutes",
    )


def _listed(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b, and c``."""
    if len(words) < 3:
        return " and ".join(words)
    return ", ".join(words[:-1]) + f", and {words[-1]}"


def function_calling(rng: random.Random) -> Iterator[Item]:
    names = list(TOOLS)
    for n in range(PER_TASK):
        difficulty = DIFFICULTIES[n % 3]
        if difficulty == "hard":  # parallel calls: the same function, or different ones
            count = rng.choice([2, 3])
            if rng.random() < 0.5:
                same = rng.choice(["get_weather", "get_stock_price", "convert_currency"])
                calls: list[Call] = []
                while len(calls) < count:  # different requests, not one asked twice
                    call = _request(rng, same)
                    if all(
                        next(iter(call[1].values())) != next(iter(c[1].values())) for c in calls
                    ):
                        calls.append(call)
                group = "parallel-same"
            else:
                calls = [_request(rng, f) for f in rng.sample(names, count)]
                group = "parallel-mixed"
            offered = names
        else:
            name = names[(n // 3) % len(names)]
            calls = [_request(rng, name)]
            offered = [name] if difficulty == "easy" else names
            group = ("single-" if difficulty == "easy" else "choose-") + name
        wants = [words for _, _, words in calls]
        text = f"Please {_listed(wants)}. Use the tools, and make every call needed at once."
        target = [{"name": f, "arguments": args} for f, args, _ in calls]
        params = {"tools": [TOOLS[f] for f in offered]}
        yield _item(
            "function_calling", n, text, target, "tool_call", difficulty, group, params=params
        )


_PRIORITIES = ["low", "medium", "high"]
_CATEGORIES = ["billing", "shipping", "technical", "account"]
_TIERS = ["free", "pro", "enterprise"]
_PRODUCTS = ["router", "keyboard", "monitor", "headset", "webcam", "dock"]
_ISSUES = {
    "billing": "I was charged twice this month",
    "shipping": "my parcel has not arrived",
    "technical": "the device keeps restarting",
    "account": "I cannot log in to my account",
}


def structured_output(rng: random.Random) -> Iterator[Item]:
    for n in range(PER_TASK):
        difficulty = DIFFICULTIES[n % 3]
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = f"{first} {last}"
        email = f"{first.lower()}.{last.lower()}@example.com"
        priority, category = rng.choice(_PRIORITIES), rng.choice(_CATEGORIES)
        props: dict[str, Any] = {
            "priority": {"type": "string", "enum": _PRIORITIES},
            "category": {"type": "string", "enum": _CATEGORIES},
        }
        target: dict[str, Any] = {"priority": priority, "category": category}
        lines = [f"Hi, this is {name}. {_ISSUES[category]}.", f"It is {priority} priority."]
        if difficulty == "easy":
            props["name"] = _STR
            target["name"] = name
            group = "flat-enums"
        else:
            customer: dict[str, Any] = {"name": _STR, "email": _STR}
            target["customer"] = {"name": name, "email": email}
            lines.append(f"You can reach me at {email}.")
            if difficulty == "hard":
                tier = rng.choice(_TIERS)
                customer["tier"] = {"type": "string", "enum": _TIERS}
                target["customer"]["tier"] = tier
                lines.insert(1, f"I am on the {tier} plan.")
                products = rng.sample(_PRODUCTS, rng.randint(1, 3))
                order = [{"product": p, "quantity": rng.randint(1, 4)} for p in products]
                props["items"] = {
                    "type": "array",
                    "minItems": 1,
                    "items": _object({"product": _STR, "quantity": {"type": "integer"}}),
                }
                target["items"] = order
                listed = " and ".join(f"{o['quantity']} x {o['product']}" for o in order)
                lines.append(f"The order was {listed}.")
                refund = rng.random() < 0.5
                props["refund_requested"] = {"type": "boolean"}
                target["refund_requested"] = refund
                lines.append("I would like a refund." if refund else "I do not want a refund.")
                group = "nested-array"
            else:
                group = "nested-object"
            props["customer"] = _object(customer)
        schema = _object(props)
        text = (
            "Extract the support ticket from this message as one JSON object following this "
            f"JSON Schema: {json.dumps(schema)}\nMessage: {' '.join(lines)}"
        )
        params = {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "support_ticket", "schema": schema, "strict": True},
            }
        }
        yield _item(
            "structured_output",
            n,
            text,
            target,
            "json_schema",
            difficulty,
            group,
            params=params,
        )


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


TASKS: dict[str, Callable[[random.Random], Iterator[Item]]] = {
    "arithmetic": arithmetic,
    "decimals": decimals,
    "letters": letters,
    "dates": dates,
    "logic": logic,
    "json": extraction,
}
SEPARATE: dict[str, Callable[[random.Random], Iterator[Item]]] = {
    "function_calling": function_calling,
    "structured_output": structured_output,
}


def generate(seed: int = SEED) -> dict[str, list[Item]]:
    """Every set by name: the `TASKS` (in ``mixed.jsonl``), then the `SEPARATE` ones."""
    out: dict[str, list[Item]] = {}
    for name, make in {**TASKS, **SEPARATE}.items():
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
    mixed = [i for name in TASKS for i in sets[name]]
    (HERE / "mixed.jsonl").write_text(render(mixed))
    print(f"wrote {len(sets)} sets, {len(mixed)} items in mixed.jsonl, to {HERE}")


if __name__ == "__main__":
    main()
