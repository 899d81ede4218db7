"""Validate an inference request body the way Together does, and keep what the sim needs.

:func:`parse_request` turns the raw body into an :class:`InferenceRequest` or raises
:class:`InvalidRequest` (answered 400 ``invalid_request_error``). What it checks:

* ``model`` (a non-empty string); ``messages`` (chat: a non-empty list of objects; a
  ``tool`` message needs ``tool_call_id``) or ``prompt`` (text: a non-empty string);
* ``max_tokens`` integer >= 1; ``n`` integer 1-128; ``logprobs`` integer 0-20 (Together's
  own meaning: how many alternatives per token; OpenAI's boolean is refused, with a hint);
  ``temperature`` a number >= 0; ``stream`` a boolean;
* ``tools``: a list of ``{"type": "function", "function": {"name": str, "parameters"?:
  object, "description"?: str}}``; ``tool_choice``: ``"auto"``, ``"none"``,
  ``"required"`` or ``{"type": "function", "function": {"name": <an offered tool>}}``;
* ``response_format``: ``{"type": "text"}``, ``{"type": "json_object"}`` (optionally with
  ``schema``), ``{"type": "json_schema", "json_schema": {"name"?, "schema", "strict"?}}``
  (also the schema itself under ``json_schema``, or under ``schema`` as Together's docs
  write it) or ``{"type": "regex", "pattern": <a valid regex>}``.

Everything else (``top_p``, ``top_k``, ``repetition_penalty``, ``seed``, ``stop``,
``stream_options``, ``reasoning_effort``, ``reasoning``, ``chat_template_kwargs``, unknown
fields) is accepted and ignored.

``prompt_tokens`` is ``characters // 4`` plus 4 per chat message (at least 1), where a
message's characters are its text content and the names and arguments of its tool calls,
plus ``len(json.dumps(tools)) // 4`` when tools are offered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CHAT",
    "DEFAULT_MAX_TOKENS",
    "MAX_LOGPROBS",
    "MAX_N",
    "TEXT",
    "InferenceRequest",
    "InvalidRequest",
    "OutputFormat",
    "Tool",
    "parse_request",
]

CHAT = "/v1/chat/completions"
TEXT = "/v1/completions"
DEFAULT_MAX_TOKENS = 512  # what a request without max_tokens is charged against the TPM limit
MAX_N = 128
MAX_LOGPROBS = 20

ToolChoice = Literal["auto", "none", "required", "function"]


class InvalidRequest(ValueError):
    """A request body Together would answer with 400 ``invalid_request_error``."""


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(f"Input validation error: {message}")


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the client offers: its name and the JSON Schema of its arguments."""

    name: str
    parameters: dict[str, Any]  # {} when the function takes no described arguments


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """What ``response_format`` constrains the output to."""

    kind: Literal["json_object", "json_schema", "regex"]
    schema: dict[str, Any] | None = None  # json_schema (and json_object with a schema)
    pattern: str | None = None  # regex


@dataclass(frozen=True, slots=True)
class InferenceRequest:
    """A validated inference request and what the simulator needs from it."""

    endpoint: str  # CHAT or TEXT
    model: str
    body: dict[str, Any]
    prompt_tokens: int
    max_tokens: int | None
    stream: bool = False
    n: int = 1
    logprobs: int | None = None  # alternatives per token; None: no logprobs at all
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = "auto"
    tool_name: str | None = None  # the forced function when tool_choice == "function"
    output: OutputFormat | None = None
    after_tool: bool = False  # the last message is a tool result

    @property
    def estimated_tokens(self) -> int:
        """What the request costs against a TPM limit: prompt plus requested completions."""
        budget = DEFAULT_MAX_TOKENS if self.max_tokens is None else self.max_tokens
        return self.prompt_tokens + self.n * budget

    @property
    def calls_tool(self) -> bool:
        """Whether an ordinary reply is a tool call: tools offered, a call not ruled out,
        and (under ``auto``) the model has not just been given a tool result."""
        if self.endpoint != CHAT or not self.tools or self.tool_choice == "none":
            return False
        return self.tool_choice != "auto" or not self.after_tool

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_request(endpoint: str, raw: bytes) -> InferenceRequest:
    """Decode and check a request body; raise :class:`InvalidRequest` with Together's words."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("`model` is required")
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not _is_int(max_tokens) or max_tokens < 1):
        raise _invalid("`max_tokens` must be an integer >= 1")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _invalid("`stream` must be a boolean")
    n = body.get("n")
    if n is not None and (not _is_int(n) or not 1 <= n <= MAX_N):
        raise _invalid(f"`n` must be an integer between 1 and {MAX_N}")
    logprobs = _logprobs(body.get("logprobs"))
    temperature = body.get("temperature")
    if temperature is not None and (not _is_number(temperature) or temperature < 0):
        raise _invalid("`temperature` must be a number >= 0")
    tools = _tools(body.get("tools"))
    tool_choice, tool_name = _tool_choice(body.get("tool_choice"), tools)
    output = _response_format(body.get("response_format"))
    after_tool = False
    if endpoint == CHAT:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _invalid("`messages` must be a non-empty list")
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise _invalid("each message must be an object")
            if message.get("role") == "tool":
                call_id = message.get("tool_call_id")
                if not isinstance(call_id, str) or not call_id:
                    raise _invalid(f"messages[{i}]: a `tool` message needs a `tool_call_id`")
        after_tool = messages[-1].get("role") == "tool"
        chars = sum(_message_chars(m) for m in messages)
        prompt_tokens = max(1, chars // 4 + 4 * len(messages))
    else:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise _invalid("`prompt` must be a string")
        if not prompt:
            raise InvalidRequest("Prompt cannot be empty")
        prompt_tokens = max(1, len(prompt) // 4)
    if tools:
        prompt_tokens += len(json.dumps(body["tools"])) // 4
    return InferenceRequest(
        endpoint,
        model,
        body,
        prompt_tokens,
        max_tokens,
        stream=stream is True,
        n=1 if n is None else n,
        logprobs=logprobs,
        tools=tools,
        tool_choice=tool_choice,
        tool_name=tool_name,
        output=output,
        after_tool=after_tool,
    )


def _logprobs(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _invalid(
            f"`logprobs` must be an integer between 0 and {MAX_LOGPROBS} (the number of "
            "top alternatives per token), not a boolean"
        )
    if not _is_int(value) or not 0 <= value <= MAX_LOGPROBS:
        raise _invalid(f"`logprobs` must be an integer between 0 and {MAX_LOGPROBS}")
    result: int = value
    return result


def _tools(value: Any) -> tuple[Tool, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid("`tools` must be a list")
    tools: list[Tool] = []
    for i, tool in enumerate(value):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise _invalid(f'{where}: each tool must be {{"type": "function", "function": ...}}')
        function = tool.get("function")
        if not isinstance(function, dict):
            raise _invalid(f"{where}.function must be an object")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise _invalid(f"{where}.function.name must be a non-empty string")
        parameters = function.get("parameters", {})
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, dict):
            raise _invalid(f"{where}.function.parameters must be a JSON Schema object")
        description = function.get("description")
        if description is not None and not isinstance(description, str):
            raise _invalid(f"{where}.function.description must be a string")
        tools.append(Tool(name, parameters))
    return tuple(tools)


def _tool_choice(value: Any, tools: tuple[Tool, ...]) -> tuple[ToolChoice, str | None]:
    if value is None or value == "auto":
        return "auto", None
    if value == "none":
        return "none", None
    if value == "required":
        if not tools:
            raise _invalid("`tool_choice` is 'required' but no `tools` are given")
        return "required", None
    if isinstance(value, dict) and value.get("type") == "function":
        function = value.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise _invalid("`tool_choice.function.name` must be a non-empty string")
        if not any(t.name == name for t in tools):
            raise _invalid(f"`tool_choice` names {name!r}, which is not among the `tools`")
        return "function", name
    raise _invalid(
        "`tool_choice` must be 'auto', 'none', 'required' or "
        '{"type": "function", "function": {"name": ...}}'
    )


def _response_format(value: Any) -> OutputFormat | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid("`response_format` must be an object")
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        schema = value.get("schema")
        if schema is not None and not isinstance(schema, dict):
            raise _invalid("`response_format.schema` must be an object")
        return OutputFormat("json_object", schema=schema)
    if kind == "json_schema":
        return OutputFormat("json_schema", schema=_json_schema(value))
    if kind == "regex":
        pattern = value.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise _invalid("`response_format.pattern` must be a non-empty string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _invalid(f"`response_format.pattern` is not a valid regex: {exc}") from None
        return OutputFormat("regex", pattern=pattern)
    raise _invalid(
        "`response_format.type` must be one of 'text', 'json_object', 'json_schema', 'regex'"
    )


def _json_schema(value: dict[str, Any]) -> dict[str, Any]:
    spec = value.get("json_schema")
    if spec is None:
        schema = value.get("schema")  # Together's docs: {"type": "json_schema", "schema": ...}
        if not isinstance(schema, dict):
            raise _invalid("`response_format.json_schema` is required for type 'json_schema'")
        return schema
    if not isinstance(spec, dict):
        raise _invalid("`response_format.json_schema` must be an object")
    if "schema" not in spec:
        if set(spec) <= {"name", "strict", "description"}:
            raise _invalid("`response_format.json_schema.schema` is required")
        return spec  # the schema itself, as some clients send it
    schema = spec["schema"]
    if not isinstance(schema, dict):
        raise _invalid("`response_format.json_schema.schema` must be an object")
    name = spec.get("name")
    if name is not None and not isinstance(name, str):
        raise _invalid("`response_format.json_schema.name` must be a string")
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _invalid("`response_format.json_schema.strict` must be a boolean")
    return schema


def _message_chars(message: dict[str, Any]) -> int:
    content = message.get("content")
    chars = 0
    if isinstance(content, str):
        chars = len(content)
    elif isinstance(content, list):  # OpenAI-style parts: [{"type": "text", "text": ...}]
        chars = sum(
            len(part["text"])
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                chars += sum(
                    len(v) for k in ("name", "arguments") if isinstance(v := function.get(k), str)
                )
    return chars
