"""Scorers for constrained replies: tool calls, JSON Schema validity, a regex format.

==============  ====================================================================================
``tool_call``   the reply's tool calls are the item's expected calls (the target, a list of
                ``{"name", "arguments"}``): names equal, arguments equal as parsed JSON
                (``1 == 1.0``, key order ignored), parallel calls matched as a multiset (any
                order, none missing, none extra). An empty target expects no call.
``json_schema`` the answer (the whole text, or its last ```json fence) is JSON valid against
                the item's schema (`item_schema`: ``params.response_format``, else
                ``metadata.schema``). Correct means *valid*: for these items the accuracy is
                the validity rate. The reason also says whether the value equals the target.
``regex_match`` the whole answer (stripped, thinking removed) matches the item's pattern
                (``re.fullmatch``): ``params.response_format.pattern`` when its type is
                ``regex``, else ``metadata.pattern``, else each target is a pattern. Like
                ``json_schema`` it checks the format; check the value with ``exact`` or
                ``normalized`` (the item may still send the same ``response_format``).
==============  ====================================================================================

``tool_call`` reads the tool calls (it is registered with ``reads="tool_calls"``): its
``answer`` is `Extraction.calls_answer`, and a plain text answer is "no tool call". The
extracted answer it reports is canonical (calls sorted, arguments as sorted JSON) so that
the samples of a majority vote compare equal whatever their order.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._errors import ScorerError
from ._evalset import EvalItem, item_schema
from ._jsonschema import json_equal
from ._registry import Score, register_scorer
from ._scorers import _FENCE, _UNREADABLE, _checked, _compile, _show

__all__ = ["item_pattern"]

_MAX_PROBLEMS = 4  # reasons named in a tool_call score before "..."


@register_scorer("tool_call", reads="tool_calls")
def tool_call(answer: str | None, item: EvalItem) -> Score:
    if answer is None:
        return Score.no_answer("no tool call and no answer")
    expected = _expected_calls(item)
    content, raw_calls = _read_calls(answer)
    if not raw_calls:
        shown = content if content is not None else None
        if not expected:
            return Score.of(True, shown, "no tool call, as expected")
        return Score.of(False, shown, "no tool call (answered in text)")
    calls: list[tuple[str, Any]] = []  # (name, parsed arguments or the raw text if bad)
    bad: list[str] = []
    for name, text in raw_calls:
        parsed = _arguments(text)
        if parsed is _BAD:
            bad.append(f"arguments of {name or '(no name)'} are not valid JSON")
            calls.append((name, text))
        elif not isinstance(parsed, dict):
            bad.append(f"arguments of {name or '(no name)'} are not a JSON object")
            calls.append((name, text))
        else:
            calls.append((name, parsed))
    shown = _canonical(calls)
    if bad:
        return Score.of(False, shown, _join(bad))
    if not expected:
        return Score.of(False, shown, f"called {', '.join(n for n, _ in calls)}; expected no call")
    left = list(calls)
    unmatched = []
    for want in expected:
        hit = next(
            (
                i
                for i, (name, args) in enumerate(left)
                if name == want["name"] and json_equal(args, want["arguments"])
            ),
            None,
        )
        if hit is None:
            unmatched.append(want)
        else:
            left.pop(hit)
    if not unmatched and not left:
        what = "the expected call" if len(expected) == 1 else f"all {len(expected)} expected calls"
        return Score.of(True, shown, f"made {what}")
    problems: list[str] = []
    for want in unmatched:
        same = [i for i, (name, _) in enumerate(left) if name == want["name"]]
        if not same:
            problems.append(f"missing call {want['name']}")
            continue
        best = min(same, key=lambda i: len(_differences(want["arguments"], left[i][1])))
        prefix = f"{want['name']}: " if len(expected) > 1 else ""
        diffs = _differences(want["arguments"], left.pop(best)[1])
        problems += [prefix + d for d in diffs]
    problems += [f"extra call {name}" for name, _ in left]
    return Score.of(False, shown, _join(problems))


@register_scorer("json_schema")
def json_schema(answer: str | None, item: EvalItem) -> Score:
    if answer is None:
        return Score.no_answer()
    schema = item_schema(item.params, item.metadata)
    if schema is None:
        raise ScorerError(
            f"item {item.id!r}: scorer 'json_schema' needs a schema in "
            "params.response_format (json_schema.schema) or metadata.schema"
        )
    value = _whole_json(answer)
    if value is _BAD:
        return Score.of(False, None, "not valid JSON")
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    errors = _checked(value, schema, item)
    if errors:
        return Score.of(False, text, "invalid: " + "; ".join(errors))
    reason = "valid for the schema"
    wanted = [t for t in (_json_target(t) for t in item.targets) if t is not _BAD]
    if any(json_equal(value, t) for t in wanted):
        reason += "; equals the target"
    elif wanted:
        reason += f"; differs from the target at {_where_differs(value, wanted[0])}"
    return Score.of(True, text, reason)


@register_scorer("regex_match")
def regex_match(answer: str | None, item: EvalItem) -> Score:
    if answer is None:
        return Score.no_answer()
    got = answer.strip()
    pattern = item_pattern(item)
    patterns = [pattern] if pattern is not None else _target_patterns(item)
    for pattern in patterns:
        if _compile(pattern, item).fullmatch(got):
            return Score.of(True, got, f"matches /{pattern}/")
    if any(_compile(p, item).search(got) for p in patterns):
        return Score.of(False, got, f"only part of the answer matches /{patterns[0]}/")
    return Score.of(False, got, f"does not match /{patterns[0]}/")


# ---------------------------------------------------------------------------- helpers

_BAD = object()  # marks text that is not JSON


def _expected_calls(item: EvalItem) -> list[dict[str, Any]]:
    out = []
    for target in item.targets:
        if not isinstance(target, dict) or not isinstance(target.get("name"), str):
            raise ScorerError(
                f"item {item.id!r}: a tool_call target is a list of calls "
                f'{{"name": ..., "arguments": {{...}}}}, got {_show(item)}'
            )
        arguments = target.get("arguments", {})
        out.append({"name": target["name"], "arguments": arguments})
    return out


def _read_calls(answer: str) -> tuple[str | None, list[tuple[str, str]]]:
    """(text content, [(name, arguments text)]) from `Extraction.calls_answer`'s JSON; a
    plain text answer has no calls."""
    try:
        envelope = json.loads(answer)
    except json.JSONDecodeError:
        return answer.strip() or None, []
    if not isinstance(envelope, dict) or not isinstance(envelope.get("tool_calls"), list):
        return answer.strip() or None, []
    content = envelope.get("content")
    calls = [
        (str(c.get("name") or ""), str(c.get("arguments") or ""))
        for c in envelope["tool_calls"]
        if isinstance(c, dict)
    ]
    return content if isinstance(content, str) else None, calls


def _arguments(text: str) -> Any:
    if not text.strip():
        return {}  # some servers send "" for a call without arguments
    try:
        return json.loads(text, parse_constant=_refuse)
    except _UNREADABLE:
        return _BAD


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _canonical(calls: list[tuple[str, Any]]) -> str:
    def one(name: str, args: Any) -> str:
        text = args if isinstance(args, str) else json.dumps(args, sort_keys=True)
        return f"{name}({text})"

    return "; ".join(sorted(one(name, args) for name, args in calls))


def _differences(want: dict[str, Any], got: Any) -> list[str]:
    if not isinstance(got, dict):
        return ["arguments are not a JSON object"]
    out = []
    for key, value in want.items():
        if key not in got:
            out.append(f"missing argument {key}")
        elif not json_equal(got[key], value):
            out.append(f"argument {key}: expected {_short(value)}, got {_short(got[key])}")
    out += [f"unexpected argument {key}" for key in got if key not in want]
    return out or ["arguments differ"]


def _join(problems: list[str]) -> str:
    more = len(problems) - _MAX_PROBLEMS
    return "; ".join(problems[:_MAX_PROBLEMS]) + (f"; ... ({more} more)" if more > 0 else "")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _whole_json(answer: str) -> Any:
    """The answer as JSON: the whole stripped text, else its last fenced block."""
    for text in (answer.strip(), *reversed(_FENCE.findall(answer))):
        try:
            return json.loads(text, parse_constant=_refuse)
        except _UNREADABLE:
            continue
    return _BAD


def _json_target(target: Any) -> Any:
    if not isinstance(target, str):
        return target
    try:
        return json.loads(target)
    except _UNREADABLE:
        return _BAD


def _where_differs(got: Any, want: Any, where: str = "$") -> str:
    """The first path at which two JSON values differ."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in sorted(set(got) | set(want)):
            if key not in got or key not in want or not json_equal(got[key], want[key]):
                if key in got and key in want:
                    return _where_differs(got[key], want[key], f"{where}.{key}")
                return f"{where}.{key}"
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            if not json_equal(a, b):
                return _where_differs(a, b, f"{where}[{i}]")
    return where


def item_pattern(item: EvalItem) -> str | None:
    """The pattern ``regex_match`` checks: ``params.response_format.pattern`` (type
    ``regex``), else ``metadata.pattern``; None when the targets are the patterns."""
    fmt = item.params.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "regex":
        pattern = fmt.get("pattern")
        if not isinstance(pattern, str):
            raise ScorerError(f"item {item.id!r}: params.response_format.pattern is not a string")
        return pattern
    pattern = item.metadata.get("pattern")
    if pattern is not None and not isinstance(pattern, str):
        raise ScorerError(f"item {item.id!r}: metadata.pattern must be a string")
    return pattern


def _target_patterns(item: EvalItem) -> list[str]:
    out = []
    for target in item.targets:
        if isinstance(target, dict):
            raise ScorerError(f"item {item.id!r}: a regex_match target is a pattern, not an object")
        out.append(target if isinstance(target, str) else re.escape(str(target)))
    return out
