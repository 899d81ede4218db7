"""One job line: the two accepted formats, and the checks that turn a line into a `Job`.

A job file is JSONL. Each non-blank line is one of:

1. The Batch API line (OpenAI's and Together's)::

       {"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": {...}}

   ``method`` and ``url`` are optional; without ``url`` the endpoint follows the body.

2. The short line::

       {"custom_id": "req-1", "messages": [...], "max_tokens": 64}
       {"id": "req-2", "prompt": "Once upon a time"}

   Every key but ``custom_id``/``id``/``metadata`` is request body.

A ``messages`` body goes to ``/v1/chat/completions``, a ``prompt`` body to ``/v1/completions``.
A line without an id takes its line number as ``custom_id``.

The body is sent as written: every field Together accepts (sampling, ``stop``, ``n``,
``logprobs``, ``seed``, ``response_format``, ``tools``/``tool_choice``, ``reasoning_effort``,
``reasoning``, ``chat_template_kwargs``, ``stream``...) and any field it may accept tomorrow.
Only values that are surely wrong are refused here (a negative ``max_tokens``, ``n`` of 0,
``logprobs`` outside 0-20, a ``tool`` message without ``tool_call_id``, a malformed tool or
``response_format``), so a typo costs an error message, not a batch of 400s. A line with
``"stream": true`` is fetched as a stream and stored in the non-streamed shape.

`parse_line` checks one line on its own and raises `LineError` with a message a user can act
on; the checks that need the whole file (duplicate ids) live with the importer.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Literal

import orjson

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "Defaults",
    "Endpoint",
    "MAX_CUSTOM_ID",
    "Job",
    "LineError",
    "encode_body",
    "load_json",
    "parse_line",
    "quick_json",
    "request_hash",
]

Endpoint = Literal["/v1/chat/completions", "/v1/completions"]
CHAT: Endpoint = "/v1/chat/completions"
COMPLETIONS: Endpoint = "/v1/completions"

_URLS: dict[str, Endpoint] = {
    "/v1/chat/completions": CHAT,
    "/chat/completions": CHAT,
    "/v1/completions": COMPLETIONS,
    "/completions": COMPLETIONS,
}
_BATCH_KEYS = frozenset({"custom_id", "method", "url", "body"})
_ROLES = frozenset({"system", "user", "assistant", "tool", "function", "developer"})
_TOOL_CHOICES = frozenset({"none", "auto", "required"})
_FORMATS = frozenset({"text", "json_object", "json_schema", "regex"})
# Together's Batch API takes custom_ids of at most 64 characters (reference section 8); the
# same file is meant to run there too, so a longer id is refused here, before anything is sent.
MAX_CUSTOM_ID = 64


class LineError(ValueError):
    """A job line that cannot be run; ``str()`` names file, line and reason."""

    def __init__(self, path: str, line_no: int, reason: str) -> None:
        super().__init__(f"{path}:{line_no}: {reason}")
        self.path = path
        self.line_no = line_no
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Defaults:
    """What the command line fills in where a line leaves it out."""

    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool | None = None  # --stream: ask for a streamed answer where a line does not say

    def apply(self, body: dict[str, Any]) -> None:
        if self.model is not None:
            body.setdefault("model", self.model)
        if self.max_tokens is not None:
            body.setdefault("max_tokens", self.max_tokens)
        if self.temperature is not None:
            body.setdefault("temperature", self.temperature)
        if self.stream:
            body.setdefault("stream", True)


@dataclass(frozen=True, slots=True)
class Job:
    """A validated job: where it came from, where it goes, and the exact body to send."""

    line_no: int
    custom_id: str
    endpoint: Endpoint
    body: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.body["model"])


# How `encode_body` looks at orjson's text: digits become "0", the bytes of ".e-nul" stay,
# the rest becomes " ".
_FLOATS = bytes(0x30 if 0x30 <= b <= 0x39 else b if b in b".e-nul" else 0x20 for b in range(256))


def encode_body(body: dict[str, Any]) -> str:
    """The body as canonical JSON text (sorted keys, compact): what is stored and sent.

    The bytes of ``json.dumps(body, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)``, written by orjson where it surely writes the same: 2.3 to 2.8
    times as fast, the check included (bench/RESULTS.md, "orjson, issue 11"). orjson
    writes otherwise only a float of magnitude 1e-9 to 1e-5 (0.00001 and 1e-7 where `json`
    writes 1e-05 and 1e-07) and NaN or infinity (null, not NaN); a text in which
    `_FLOATS` shows ``0.0000``, ``0e-0`` (those floats, and some others) or ``null``
    is written again by `json`, as is what orjson refuses (integers out of 64-bit range,
    lone surrogates, nesting past 254, keys other than strings). Checked against
    `json.dumps` on random bodies (``tests/jobs/test_quick_json.py``).
    """
    try:
        text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        text = b"null"  # written by json below
    shape = text.translate(_FLOATS)
    if b"0.0000" in shape or b"0e-0" in shape or b"null" in shape:
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.decode()


def request_hash(endpoint: str, body_text: str) -> str:
    """A stable digest of what is sent: same endpoint and canonical body, same hash."""
    return hashlib.sha256(f"{endpoint}\n{body_text}".encode()).hexdigest()


def parse_line(path: str, line_no: int, text: str, defaults: Defaults = Defaults()) -> Job:
    """Parse and check one non-blank line; raise `LineError` naming what is wrong."""

    def fail(reason: str) -> LineError:
        return LineError(path, line_no, reason)

    obj = load_json(text, fail)
    if not isinstance(obj, dict):
        raise fail(f"a job line must be a JSON object, got {_kind(obj)}")

    if "body" not in obj and ("url" in obj or "method" in obj):
        # Without this, 'url' and 'method' would be taken for body keys and sent to the API.
        has = " and ".join(repr(k) for k in ("method", "url") if k in obj)
        raise fail(
            f"this line has {has} but no 'body': a Batch API line carries the request "
            "as a 'body' object"
        )
    if "body" in obj:
        unknown = sorted(set(obj) - _BATCH_KEYS)
        if unknown:
            raise fail(
                f"unexpected key {unknown[0]!r} in a Batch API line "
                "(it has custom_id, method, url and body)"
            )
        raw_id = obj.get("custom_id")
        method = obj.get("method", "POST")
        if method != "POST":
            raise fail(f"method must be 'POST', got {method!r}")
        body_obj = obj["body"]
        if not isinstance(body_obj, dict):
            raise fail(f"'body' must be an object, got {_kind(body_obj)}")
        body = dict(body_obj)
        url = obj.get("url")
        if url is not None:
            if not isinstance(url, str) or url not in _URLS:
                raise fail(f"url must be '/v1/chat/completions' or '/v1/completions', got {url!r}")
            url_endpoint: Endpoint | None = _URLS[url]
        else:
            url_endpoint = None
    else:
        if "custom_id" in obj and "id" in obj:
            raise fail("give either 'custom_id' or 'id', not both")
        raw_id = obj.get("custom_id", obj.get("id"))
        metadata = obj.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise fail(f"'metadata' must be an object, got {_kind(metadata)}")
        body = {k: v for k, v in obj.items() if k not in ("custom_id", "id", "metadata")}
        url_endpoint = None

    custom_id = _custom_id(raw_id, line_no, fail)
    endpoint = _endpoint(body, url_endpoint, fail)
    defaults.apply(body)
    _check_body(body, endpoint, fail)
    return Job(line_no=line_no, custom_id=custom_id, endpoint=endpoint, body=body)


class _NonFinite(ValueError):
    """A number JSON cannot carry (``NaN``, ``Infinity``, or a literal out of float range)."""


def _reject_constant(literal: str) -> float:
    raise _NonFinite(f"{literal} is not a JSON value (write a number or null)")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NonFinite(f"the number {literal} is out of range (it would be infinity)")
    return value


# Built once: `json.loads` with hooks builds a decoder per call, which took as long as the
# parsing of a short line.
_STRICT = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)

# `quick_json`'s look at a text before orjson decodes it: each byte becomes "0" (an ASCII
# digit), "[" (an opening bracket or brace) or " ".
_SHAPE = bytes(
    0x30 if 0x30 <= b <= 0x39 else 0x5B if b in (0x5B, 0x7B) else 0x20 for b in range(256)
)
_LONG_DIGITS = b"0" * 19  # every integer out of 64-bit range has 19 digits or more
_MANY_OPENERS = 500  # json on 3.11 nests to 1,000 less the frames on the stack (960 in pytest)


def quick_json(data: bytes) -> tuple[object] | None:
    """``(json.loads(data),)``, decoded by orjson; None where only `json` can say.

    orjson alone decodes a job, eval-set or result line in a third of the time `json`
    takes; with the check below, a job line in 0.7 of it and a result line (bytes, which
    ``json.loads`` decodes first) in under half (bench/RESULTS.md, "orjson, issue 11").
    It takes the same JSON (RFC 8259) to the same values, but for three things, each sent
    to `json` here:

    - an integer out of 64-bit range becomes a float in orjson (an int in `json`): a run of
      19 digits anywhere in the text (such an integer has one) is left to `json`;
    - orjson nests up to 1,024 deep, `json` until Python's recursion limit (on 3.11, 1,000
      less the frames already on the stack): a text with 500 opening brackets is left to it;
    - orjson refuses what `json` takes or words its own errors for (NaN, Infinity, 1e999,
      lone surrogates, other encodings than UTF-8, a byte order mark, any invalid JSON):
      every orjson error is left to `json`, which gives the value or the message it gave.

    ``tests/jobs/test_quick_json.py`` checks this against `json` on mutated lines.
    """
    shape = data.translate(_SHAPE)
    if _LONG_DIGITS in shape or shape.count(b"[") >= _MANY_OPENERS:
        return None
    try:
        return (orjson.loads(data),)
    except orjson.JSONDecodeError:
        return None


def load_json(text: str, fail: Any) -> object:
    """One line's JSON value; raise ``fail(reason)`` if it is not strict JSON.

    Python's json module accepts ``NaN``/``Infinity`` and turns ``1e999`` into infinity;
    neither can be sent back out as JSON, so both are refused here. A column is counted
    on the line without its line ending, and an error at its end says so. A good line is
    decoded by orjson (`quick_json`, which refuses all three); what it leaves, including
    every bad line, by the strict `json` decoder, whose messages these are.
    """
    try:
        quick = quick_json(text.encode())
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8, left to json
        quick = None
    if quick is not None:
        return quick[0]
    text = text.rstrip("\r\n")
    try:
        return _STRICT.decode(text)
    except _NonFinite as exc:
        raise fail(f"invalid JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        if exc.msg.endswith(" at"):  # "Unterminated string starting at"
            raise fail(f"invalid JSON: {exc.msg} column {exc.colno}") from None
        where = "at the end of the line" if exc.pos >= len(text) else f"column {exc.colno}"
        raise fail(f"invalid JSON: {exc.msg} ({where})") from None
    except RecursionError:
        raise fail("invalid JSON: nested too deeply") from None


def _custom_id(raw: object, line_no: int, fail: Any) -> str:
    if raw is None:
        return str(line_no)
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise fail(f"custom_id must be a string, got {_kind(raw)}")
    cid = str(raw)
    if not cid:
        raise fail("custom_id is empty")
    if len(cid) > MAX_CUSTOM_ID:
        raise fail(
            f"custom_id is {len(cid)} characters long; Together's Batch API takes at most "
            f"{MAX_CUSTOM_ID}"
        )
    return cid


def _endpoint(body: dict[str, Any], from_url: Endpoint | None, fail: Any) -> Endpoint:
    has_messages, has_prompt = "messages" in body, "prompt" in body
    if has_messages and has_prompt:
        raise fail("a body has 'messages' (chat) or 'prompt' (text completion), not both")
    if not (has_messages or has_prompt):
        raise fail("the body has neither 'messages' (chat) nor 'prompt' (text completion)")
    endpoint = CHAT if has_messages else COMPLETIONS
    if from_url is not None and from_url != endpoint:
        key = "messages" if has_messages else "prompt"
        raise fail(f"url is {from_url} but the body has '{key}' (that goes to {endpoint})")
    return endpoint


def _check_body(body: dict[str, Any], endpoint: Endpoint, fail: Any) -> None:
    model = body.get("model")
    if model is None:
        raise fail("no model: set 'model' in the line or pass --model")
    if not isinstance(model, str) or not model.strip():
        raise fail(f"'model' must be a non-empty string, got {_kind(model)}")

    if endpoint == CHAT:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            raise fail("'messages' must be a non-empty list")
        for i, msg in enumerate(messages):
            _check_message(i, msg, fail)
        _check_tools(body, fail)
    else:
        prompt = body["prompt"]
        if not isinstance(prompt, str):
            raise fail(f"'prompt' must be a string, got {_kind(prompt)}")
        if not prompt:
            raise fail("'prompt' is empty (Together rejects empty prompts)")

    _check_number(body, "max_tokens", fail, integer=True, low=1)
    _check_number(body, "n", fail, integer=True, low=1, high=128)
    _check_number(body, "temperature", fail, low=0.0, high=2.0)
    _check_number(body, "top_p", fail, low=0.0, high=1.0)
    _check_number(body, "top_k", fail, integer=True, low=1)
    _check_number(body, "min_p", fail, low=0.0, high=1.0)
    _check_number(body, "repetition_penalty", fail, low=0.0)
    _check_number(body, "presence_penalty", fail, low=-2.0, high=2.0)
    _check_number(body, "frequency_penalty", fail, low=-2.0, high=2.0)
    _check_number(body, "seed", fail, integer=True)
    _check_number(body, "top_logprobs", fail, integer=True, low=0, high=20)
    logprobs = body.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):  # OpenAI's form is a boolean
        _check_number(body, "logprobs", fail, integer=True, low=0, high=20)
    for key in ("stream", "echo"):
        if body.get(key) is not None and not isinstance(body[key], bool):
            raise fail(f"'{key}' must be true or false, got {_kind(body[key])}")
    for key in ("stream_options", "chat_template_kwargs", "logit_bias"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise fail(f"'{key}' must be an object, got {_kind(body[key])}")
    stop = body.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise fail("'stop' must be a string or a list of strings")
    effort = body.get("reasoning_effort")
    if effort is not None and (not isinstance(effort, str) or not effort):
        raise fail(f"'reasoning_effort' must be a string such as 'low', got {_kind(effort)}")
    reasoning = body.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            raise fail(
                "'reasoning' must be an object such as {\"enabled\": true}, "
                f"got {_kind(reasoning)}"
            )
        enabled = reasoning.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise fail(f"'reasoning.enabled' must be true or false, got {_kind(enabled)}")
    _check_response_format(body.get("response_format"), fail)


def _check_message(i: int, msg: object, fail: Any) -> None:
    if not isinstance(msg, dict):
        raise fail(f"messages[{i}] must be an object, got {_kind(msg)}")
    if "role" not in msg:
        raise fail(f"messages[{i}] has no 'role'")
    role = msg.get("role")
    if role not in _ROLES:
        raise fail(f"messages[{i}].role must be one of {', '.join(sorted(_ROLES))}; got {role!r}")
    content = msg.get("content")
    calls = msg.get("tool_calls")
    if calls is not None:
        if role != "assistant":
            raise fail(f"messages[{i}] has 'tool_calls' but only an assistant message can")
        if not isinstance(calls, list):
            raise fail(f"messages[{i}].tool_calls must be a list, got {_kind(calls)}")
        for j, call in enumerate(calls):
            where = f"messages[{i}].tool_calls[{j}]"
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                raise fail(f"{where} must be an object with a 'function' object")
            if not isinstance(function.get("name"), str) or not function["name"]:
                raise fail(f"{where}.function has no 'name'")
            arguments = function.get("arguments")
            if arguments is not None and not isinstance(arguments, str):
                raise fail(
                    f"{where}.function.arguments must be a JSON string, got {_kind(arguments)}"
                )
    if content is None:
        if role != "assistant" or not calls:
            raise fail(f"messages[{i}] has no 'content'")
    elif not isinstance(content, str | list):
        raise fail(
            f"messages[{i}].content must be a string or a list of parts, got {_kind(content)}"
        )
    if role == "tool":
        call_id = msg.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise fail(
                f"messages[{i}] is a tool result without 'tool_call_id' "
                "(the id of the assistant's call it answers)"
            )


def _check_tools(body: dict[str, Any], fail: Any) -> None:
    tools = body.get("tools")
    names: set[str] = set()
    if tools is not None:
        if not isinstance(tools, list):
            raise fail(f"'tools' must be a list, got {_kind(tools)}")
        for i, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict):
                raise fail(f"tools[{i}] must be an object with a 'function' object")
            if tool.get("type", "function") != "function":
                raise fail(f"tools[{i}].type must be 'function', got {tool.get('type')!r}")
            name = function.get("name")
            if not isinstance(name, str) or not name:
                raise fail(f"tools[{i}].function has no 'name'")
            parameters = function.get("parameters")
            if parameters is not None and not isinstance(parameters, dict):
                raise fail(
                    f"tools[{i}].function.parameters must be a JSON Schema object, "
                    f"got {_kind(parameters)}"
                )
            names.add(name)
    choice = body.get("tool_choice")
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in _TOOL_CHOICES:
            raise fail(
                f"'tool_choice' must be 'none', 'auto', 'required' or a function, got {choice!r}"
            )
        return
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str) or not name:
        raise fail(
            "'tool_choice' must be 'none', 'auto', 'required' or "
            '{"type": "function", "function": {"name": ...}}'
        )
    if tools is not None and name not in names:
        raise fail(f"'tool_choice' names the function {name!r}, which is not in 'tools'")


def _check_response_format(value: object, fail: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise fail(f"'response_format' must be an object, got {_kind(value)}")
    kind = value.get("type")
    if kind not in _FORMATS:
        raise fail(
            f"'response_format.type' must be one of {', '.join(sorted(_FORMATS))}; got {kind!r}"
        )
    if kind == "json_schema":
        spec = value.get("json_schema", value.get("schema"))
        if not isinstance(spec, dict):
            raise fail(
                "a 'json_schema' response_format needs the schema as an object: "
                "'json_schema': {'name': ..., 'schema': {...}} (or 'schema': {...})"
            )
        inner = spec.get("schema", spec) if "json_schema" in value else spec
        if not isinstance(inner, dict):
            raise fail(
                f"'response_format.json_schema.schema' must be an object, got {_kind(inner)}"
            )
    if kind == "regex":
        pattern = value.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise fail("a 'regex' response_format needs a non-empty 'pattern' string")


def _check_number(
    body: dict[str, Any],
    key: str,
    fail: Any,
    *,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
) -> None:
    if key not in body or body[key] is None:
        return
    value = body[key]
    ok_type = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, ok_type):
        want = "an integer" if integer else "a number"
        raise fail(f"'{key}' must be {want}, got {_kind(value)} {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f">= {low}" if high is None else f"between {low} and {high}"
        raise fail(f"'{key}' must be {span}, got {value!r}")


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
