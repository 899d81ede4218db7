"""The eval set format: one item a line, read as a stream, and turned into a chat job body.

An eval set is JSONL. Each non-blank line is one object::

    {"id": "gsm-17", "input": "Tom has 3 apples ...", "target": 12,
     "metadata": {"group": "arithmetic", "cluster": "passage-3", "difficulty": "hard"}}
    {"id": "mc-4", "input": "Which is larger?", "choices": ["9.9", "9.11"], "target": "A"}
    {"id": "cap-1", "messages": [{"role": "user", "content": "Capital of France?"}],
     "target": ["Paris", "paris, france"], "scorer": "includes"}

Keys:

- ``id``: a string (or integer) of at most 64 characters, unique in the file. It becomes
  the job's ``custom_id``, so Batch results join back on it.
- ``input`` (a string, sent as the user message) or ``messages`` (a chat list): exactly one.
- ``target``: a string, a number, or a non-empty list of them (any one is accepted). Two
  scorers read it otherwise: for ``tool_call`` it is the expected calls, a list of
  ``{"name": str, "arguments": {...}}`` (one call, or several made in parallel: all of them
  are expected, in any order; an empty list expects no call), or one such object; for
  ``json`` and ``json_schema`` it may also be a JSON object (the expected value).
- ``choices``: optional list of 2 to 26 options for multiple choice; they are lettered A, B,
  ... and the target is then a letter (``"B"``) or the text of one choice.
- ``scorer``: optional scorer name or ``module:function`` for this item; it overrides the
  scorer chosen for the whole set.
- ``params``: optional object of request parameters merged into the item's job body:
  ``tools``, ``tool_choice``, ``response_format``, ``n``, ``logprobs``, ``temperature``,
  ``max_tokens``, ... They override the eval-wide options (``--max-tokens``,
  ``--temperature``, ``--samples``); ``messages``, ``prompt`` and ``model`` are not
  allowed (the item and ``--model`` give those). The ``json_schema`` and ``regex_match``
  scorers read their schema or pattern from ``params.response_format``.
- ``metadata``: optional object, free except for three keys. ``group`` (string or
  integer) names a breakdown: reports show the accuracy of each group, with its size; it
  does not change any interval. ``cluster`` (string or integer) is for items that are not
  independent: several questions on one passage, items made from one source or one
  template. Items of one cluster are counted as one unit for the intervals (cluster-robust,
  CR1, with a t quantile on G - 1 degrees of freedom; with fewer than 10 clusters the
  plain interval is given and says so: see `evals._stats`). An item without a cluster
  stands alone. ``difficulty`` (string or number) is a breakdown too.

For example, a function-calling item and a structured-output item::

    {"id": "fc-1", "input": "Weather in Paris, in celsius?", "scorer": "tool_call",
     "params": {"tools": [{"type": "function", "function": {"name": "get_weather", ...}}]},
     "target": [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}]}
    {"id": "so-1", "input": "Extract the ticket ...", "scorer": "json_schema",
     "params": {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": "ticket", "schema": {...}}}},
     "target": {"priority": "high", "customer": {"name": "Ada"}}}

Any other key is an error (a misspelt ``target`` would otherwise be silently dropped): put
extra fields under ``metadata``. `iter_evalset` yields an `EvalItem` or a `jobs.LineError`
per line, never holding the file; `read_evalset` gathers the items and raises
`EvalSetInvalid` with the first errors if any line is bad.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs import MAX_CUSTOM_ID, LineError, load_json, read_lines

# The byte-level reading and strict JSON parsing are shared with the job-file reader so
# that both treat a BOM, CRLF, bad UTF-8, NaN or a cut-off file alike. (These are not in
# `jobs.__all__` yet; re-exporting them there would make this import public.)
from ._errors import EvalSetInvalid
from ._frozen import builder
from ._gc import gc_paused

__all__ = [
    "CHOICE_INSTRUCTION",
    "LETTERS",
    "EvalItem",
    "Target",
    "choice_prompt",
    "item_schema",
    "iter_evalset",
    "job_body",
    "parse_item",
    "read_evalset",
]

Target = str | int | float | dict[str, Any]  # an object: a tool call, or an expected JSON value
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_ID = MAX_CUSTOM_ID  # an item's id becomes its job's custom_id
_KEYS = frozenset({"id", "input", "messages", "target", "choices", "scorer", "params", "metadata"})
_NOT_PARAMS = ("messages", "prompt", "model")  # the item and --model give these
_OBJECT_TARGETS = frozenset({"json", "json_schema", "tool_call"})  # scorers reading objects
_ROLES = frozenset({"system", "user", "assistant", "developer"})
_SCALAR = (str, int, float)  # isinstance with a tuple: `str | int | float` is built per call
_ID = (str, int)

CHOICE_INSTRUCTION = (
    "Answer with the letter of the correct choice. "
    "End your reply with a line of the form 'Answer: X', where X is one of {letters}."
)


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One eval item, checked. ``target`` is as written; `targets` is always a tuple."""

    id: str
    target: Target | tuple[Target, ...]
    input: str | None = None
    messages: list[dict[str, Any]] | None = None
    choices: tuple[str, ...] | None = None
    scorer: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    line_no: int = 0

    @property
    def targets(self) -> tuple[Target, ...]:
        """Every accepted answer."""
        return self.target if isinstance(self.target, tuple) else (self.target,)

    @property
    def group(self) -> str | None:
        """The breakdown this item is reported under (accuracy by group), if any."""
        value = self.metadata.get("group")
        return None if value is None else str(value)

    @property
    def cluster(self) -> str | None:
        """The cluster of items this one is not independent of (for the intervals), if any."""
        value = self.metadata.get("cluster")
        return None if value is None else str(value)

    @property
    def difficulty(self) -> str | int | float | None:
        value = self.metadata.get("difficulty")
        return value if isinstance(value, _SCALAR) else None

    @property
    def letters(self) -> str:
        """The letters of the choices (``"ABCD"`` for four); empty without choices."""
        return LETTERS[: len(self.choices)] if self.choices else ""


_eval_item = builder(EvalItem)  # EvalItem(*every field), built fast (see _frozen)


def parse_item(path: str, line_no: int, text: str) -> EvalItem:
    """Parse and check one non-blank line; raise `jobs.LineError` naming what is wrong."""

    def fail(reason: str) -> LineError:
        return LineError(path, line_no, reason)

    obj = load_json(text, fail)
    if not isinstance(obj, dict):
        raise fail(f"an eval item must be a JSON object, got {_kind(obj)}")
    if not obj.keys() <= _KEYS:
        unknown = sorted(set(obj) - _KEYS)
        raise fail(f"unexpected key {unknown[0]!r} (put extra fields under 'metadata')")

    item_id = _id(obj.get("id"), fail)
    has_input, has_messages = obj.get("input") is not None, obj.get("messages") is not None
    if has_input == has_messages:
        which = "both" if has_input else "neither"
        raise fail(f"an item has 'input' or 'messages', exactly one; this one has {which}")
    text_input: str | None = None
    messages: list[dict[str, Any]] | None = None
    if has_input:
        text_input = obj["input"]
        if not isinstance(text_input, str) or not text_input or text_input.isspace():
            raise fail(f"'input' must be a non-empty string, got {_kind(text_input)}")
    else:
        messages = _messages(obj["messages"], fail)
    choices = _choices(obj.get("choices"), fail)
    scorer = obj.get("scorer")
    if scorer is not None and (not isinstance(scorer, str) or not scorer.strip()):
        raise fail(f"'scorer' must be a non-empty string, got {_kind(scorer)}")
    target: Target | tuple[Target, ...]
    if scorer == "tool_call":
        target = _calls(obj.get("target"), fail)
    else:
        target = _target(obj.get("target"), choices, fail, objects=scorer in _OBJECT_TARGETS)
    params = _params(obj.get("params"), fail)
    metadata = _metadata(obj.get("metadata"), fail)
    if scorer == "json_schema" and item_schema(params, metadata) is None:
        raise fail(
            "scorer 'json_schema' needs a schema: params.response_format.json_schema.schema "
            "(or response_format.schema), or metadata.schema"
        )
    return _eval_item(
        item_id, target, text_input, messages, choices, scorer, metadata, params, line_no
    )


def iter_evalset(path: str | Path) -> Iterator[EvalItem | LineError]:
    """Yield, in line order, an `EvalItem` per good line and a `LineError` per bad one.

    Reads one line at a time; a repeated id is an error on the later line.
    """
    return _iter_items(path)


def _iter_items(
    path: str | Path, start: int = 0, end: int | None = None, lines_before: int = 0
) -> Iterator[EvalItem | LineError]:
    """`iter_evalset` over the lines in bytes [start, end) (see `jobs.read_lines`)."""
    name = str(path)
    first_line: dict[str, int] = {}  # id -> line it was first seen on
    lines = read_lines(path, noun="items", start=start, end=end, lines_before=lines_before)
    for line in lines:
        if isinstance(line, LineError):
            yield line
            continue
        try:
            item = parse_item(name, line.no, line.text)
        except LineError as err:
            yield line.explain(err)
            continue
        seen = first_line.setdefault(item.id, line.no)
        if seen != line.no:
            yield LineError(name, line.no, f"duplicate id {item.id!r} (first on line {seen})")
            continue
        yield item


def read_evalset(path: str | Path, *, max_errors: int = 10) -> list[EvalItem]:
    """Every item of the eval set; raise `EvalSetInvalid` if any line is bad or none is there."""
    items: list[EvalItem] = []
    errors: list[LineError] = []
    total = 0
    with gc_paused():
        for entry in iter_evalset(path):
            if isinstance(entry, LineError):
                total += 1
                if len(errors) < max_errors:
                    errors.append(entry)
            else:
                items.append(entry)
    if total or not items:
        raise EvalSetInvalid(str(path), errors, total)
    return items


def job_body(item: EvalItem, *, system: str | None = None, **params: Any) -> dict[str, Any]:
    """The chat completion body that asks ``item``; ``params`` (model, max_tokens, ...) are added,
    then the item's own ``params`` (tools, response_format, n, ...), which win.

    A multiple-choice item gets its lettered choices and `CHOICE_INSTRUCTION` appended to
    its question (the last user message when it has ``messages``). ``system``, if given,
    becomes a leading system message. The item itself is never changed.
    """
    if item.messages is not None:
        messages = copy.deepcopy(item.messages)
    else:
        messages = [{"role": "user", "content": item.input or ""}]
    if item.choices:
        _append_choices(messages, item.choices)
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    return {"messages": messages, **params, **copy.deepcopy(item.params)}


def item_schema(params: dict[str, Any], metadata: dict[str, Any]) -> Any:
    """The JSON Schema an item's answer must follow, or None: ``params.response_format``'s
    ``json_schema.schema`` (or ``json_schema`` itself without a ``schema`` key; or
    Together's ``response_format.schema``), else ``metadata.schema``."""
    fmt = params.get("response_format")
    if isinstance(fmt, dict):
        inner = fmt.get("json_schema")
        if isinstance(inner, dict):
            return inner["schema"] if "schema" in inner else inner
        if isinstance(fmt.get("schema"), dict):
            return fmt["schema"]
    return metadata.get("schema")


def choice_prompt(choices: Sequence[str]) -> str:
    """The lettered choices and the instruction, as appended to a question."""
    letters = LETTERS[: len(choices)]
    listed = "\n".join(f"{letter}) {text}" for letter, text in zip(letters, choices, strict=True))
    return f"{listed}\n\n" + CHOICE_INSTRUCTION.format(letters=", ".join(letters))


def _append_choices(messages: list[dict[str, Any]], choices: Sequence[str]) -> None:
    addition = choice_prompt(choices)
    for msg in reversed(messages):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, list):
            content.append({"type": "text", "text": addition})
        else:
            msg["content"] = f"{content}\n\n{addition}" if content else addition
        return
    messages.append({"role": "user", "content": addition})


def _id(raw: object, fail: Any) -> str:
    if raw is None:
        raise fail("missing 'id' (every item needs one; results join on it)")
    if isinstance(raw, bool) or not isinstance(raw, _ID):
        raise fail(f"'id' must be a string, got {_kind(raw)}")
    item_id = str(raw)
    if not item_id or item_id.isspace():  # `not s.strip()`, without the copy
        raise fail("'id' is empty")
    if len(item_id) > MAX_ID:
        raise fail(
            f"'id' is {len(item_id)} characters long; at most {MAX_ID}, since it becomes "
            "the job's custom_id (Together's Batch API limit)"
        )
    return item_id


def _messages(raw: object, fail: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise fail("'messages' must be a non-empty list")
    for i, msg in enumerate(raw):
        if not isinstance(msg, dict):
            raise fail(f"messages[{i}] must be an object, got {_kind(msg)}")
        if msg.get("role") not in _ROLES:
            raise fail(
                f"messages[{i}].role must be one of {', '.join(sorted(_ROLES))}; "
                f"got {msg.get('role')!r}"
            )
        if not isinstance(msg.get("content"), str | list):
            raise fail(f"messages[{i}].content must be a string or a list of parts")
    return raw


def _choices(raw: object, fail: Any) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not 2 <= len(raw) <= len(LETTERS):
        raise fail(f"'choices' must be a list of 2 to {len(LETTERS)} options")
    out = []
    for i, choice in enumerate(raw):
        if isinstance(choice, bool) or not isinstance(choice, str | int | float):
            raise fail(f"choices[{i}] must be a string, got {_kind(choice)}")
        out.append(str(choice))
    return tuple(out)


def _target(
    raw: object, choices: tuple[str, ...] | None, fail: Any, *, objects: bool = False
) -> Target | tuple[Target, ...]:
    if not choices and (type(raw) is int or (type(raw) is str and raw and not raw.isspace())):
        return raw  # the usual target, one number or one string: nothing below objects to it
    if raw is None:
        raise fail("missing 'target' (the accepted answer, or a list of them)")
    raw_values: list[object] = raw if isinstance(raw, list) else [raw]
    if not raw_values:
        raise fail("'target' is an empty list")
    values: list[Target] = []
    for value in raw_values:
        if objects and isinstance(value, dict):
            values.append(value)
            continue
        if isinstance(value, bool) or not isinstance(value, _SCALAR):
            hint = (
                "" if objects else " (an object target needs scorer json, json_schema or tool_call)"
            )
            raise fail(
                f"'target' must be a string, a number or a list of them, got {_kind(value)}"
                + (hint if isinstance(value, dict) else "")
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise fail(f"'target' must be a finite number, got {value!r}")
        if isinstance(value, str) and not value.strip():
            raise fail("'target' is an empty string")
        if choices and not _is_choice(value, choices):
            letters = LETTERS[: len(choices)]
            raise fail(
                f"target {value!r} is neither a choice letter ({letters[0]}-{letters[-1]}) "
                "nor the text of a choice"
            )
        values.append(value)
    if isinstance(raw, list):
        return tuple(values)
    return values[0]


def _calls(raw: object, fail: Any) -> tuple[Target, ...]:
    """A tool_call target: the expected calls, each ``{"name": ..., "arguments": {...}}``."""
    if raw is None:
        raise fail('missing \'target\' (the expected calls: [{"name": ..., "arguments": {...}}])')
    calls: list[object] = raw if isinstance(raw, list) else [raw]
    out: list[Target] = []
    for i, call in enumerate(calls):
        where = f"target[{i}]" if isinstance(raw, list) else "target"
        if not isinstance(call, dict):
            raise fail(
                f'{where} must be a call {{"name": ..., "arguments": {{...}}}} for scorer '
                f"'tool_call', got {_kind(call)}"
            )
        unknown = sorted(set(call) - {"name", "arguments"})
        if unknown:
            raise fail(f"{where} has unexpected key {unknown[0]!r} (a call has name, arguments)")
        name = call.get("name")
        if not isinstance(name, str) or not name.strip():
            raise fail(f"{where}.name must be a non-empty string, got {_kind(name)}")
        arguments = call.get("arguments", {})
        if not isinstance(arguments, dict):
            raise fail(f"{where}.arguments must be an object, got {_kind(arguments)}")
        out.append({"name": name, "arguments": arguments})
    return tuple(out)


def _params(raw: object, fail: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise fail(f"'params' must be an object, got {_kind(raw)}")
    for key in _NOT_PARAMS:
        if key in raw:
            raise fail(
                f"params.{key} is not allowed (the item's input or messages and --model give it)"
            )
    checks: dict[str, tuple[type | tuple[type, ...], str]] = {
        "tools": (list, "a list"),
        "tool_choice": ((str, dict), "a string or an object"),
        "response_format": (dict, "an object"),
    }
    for key, (kind, words) in checks.items():
        if key in raw and not isinstance(raw[key], kind):
            raise fail(f"params.{key} must be {words}, got {_kind(raw[key])}")
    for i, tool in enumerate(raw.get("tools") or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise fail(
                f'params.tools[{i}] must be {{"type": "function", "function": {{"name": ...}}}}'
            )
    n = raw.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise fail(f"params.n must be an integer >= 1, got {n!r}")
    logprobs = raw.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, bool | int):
        raise fail(
            f"params.logprobs must be an integer (Together) or a boolean, got {_kind(logprobs)}"
        )
    return raw


def _is_choice(value: Target, choices: tuple[str, ...]) -> bool:
    text = str(value).strip()
    if isinstance(value, str) and len(text) == 1 and text in LETTERS[: len(choices)]:
        return True
    return text in (c.strip() for c in choices)


def _metadata(raw: object, fail: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise fail(f"'metadata' must be an object, got {_kind(raw)}")
    for key in ("group", "cluster"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, _ID)):
            raise fail(f"metadata.{key} must be a string, got {_kind(value)}")
    difficulty = raw.get("difficulty")
    if difficulty is not None and (
        isinstance(difficulty, bool) or not isinstance(difficulty, _SCALAR)
    ):
        raise fail(f"metadata.difficulty must be a string or a number, got {_kind(difficulty)}")
    return raw


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
