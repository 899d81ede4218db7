"""Reading a streamed completion (server-sent events) back into one ordinary response.

A streamed reply arrives as SSE events, one JSON chunk each (``data: {...}``), and ends with
``data: [DONE]``. `StreamAssembler` is fed the body's lines as they arrive and rebuilds the
response a non-streamed request would have got, so the state file, the output and the eval
stage never need to know how a result was fetched:

- **Content** is the concatenation of ``delta.content`` per choice (chat), or of
  ``choices[].text`` (text completions: Together also repeats the piece in ``delta.content``,
  so only one of the two is read, by endpoint).
- **Reasoning** is the concatenation of ``delta.reasoning`` (or ``reasoning_content``).
- **Tool calls** arrive in pieces keyed by their ``index``: the first piece carries ``id``,
  ``type`` and ``function.name``, later ones add fragments of ``function.arguments``
  (a string, concatenated as is).
- **Logprobs** are merged per choice whatever their shape: Together's parallel lists
  (``tokens``, ``token_logprobs``, ``top_logprobs``, ``token_ids``) are extended, OpenAI's
  ``content`` list is extended, and Together's one-token chunk (``logprobs`` a number,
  ``top_logprobs`` a ``{token: logprob}`` object beside it, ``delta.token_id``) adds one
  entry to each of the four lists, the chunk's text as its token.
- **Usage** is taken from whichever chunk carries it: Together puts it either on the chunk
  with ``finish_reason`` or on a trailing chunk with ``choices: []`` (API notes, section 2).
  The last one seen wins.
- **finish_reason** is the last non-null one per choice; other top-level keys (``id``,
  ``model``, ``created``, ``warnings``, ``system_fingerprint``...) are kept, first non-empty
  ``id`` winning.

A stream is complete only when ``[DONE]`` came and no chunk carried an error: a top-level
``error`` object, a choice with ``error`` or with ``finish_reason: "error"``. Anything else
(a stream cut off, an error chunk, a clean end without ``[DONE]``) is `StreamResult.error`,
and the caller retries it like any transient failure: the partial text is not a result.

Timings. Each chunk is stamped with the clock when it is read. ``first_token`` is the first
chunk that carried any text (content, reasoning or a tool-call piece). ``first_answer`` is
the chunk that carried the first character of the *answer* of choice 0: found after the
stream ends, when the content is known whole, because a model that thinks inline without an
opening tag (Qwen3-Thinking-2507) only reveals that its first words were thinking when
``</think>`` arrives. The answer is what `split_thinking` (the eval stage's rules) calls
the answer, its first non-blank character counted; or the first tool-call piece, if that
came first. Content that never leaves its thinking has no answer time from its text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ._think import split_thinking

__all__ = ["StreamAssembler", "StreamResult"]

_CHOICE_KEYS = frozenset(
    {"index", "delta", "text", "logprobs", "top_logprobs", "finish_reason", "error"}
)


@dataclass(slots=True)
class _ToolCall:
    id: str | None = None
    type: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, index: int) -> dict[str, Any]:
        call: dict[str, Any] = {
            "id": self.id or "",
            "index": index,
            "type": self.type or "function",
            "function": {"name": self.name, "arguments": "".join(self.arguments)},
        }
        call.update(self.extra)
        return call


@dataclass(slots=True)
class _Choice:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    role: str | None = None
    finish_reason: str | None = None
    tool_calls: dict[int, _ToolCall] = field(default_factory=dict)
    logprobs: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. seed, set on the last chunk
    content_len: int = 0
    # (content length after the chunk, when it was read), for the time to the answer
    marks: list[tuple[int, float]] = field(default_factory=list)
    first_tool_at: float | None = None


@dataclass(frozen=True, slots=True)
class StreamResult:
    """What a finished (or broken) stream amounts to."""

    body: dict[str, Any] | None  # the response in non-streamed shape; None if no chunk parsed
    error: str | None  # why the stream is not a result; None when complete
    chunks: int
    first_token: float | None  # clock time of the first chunk with text
    first_answer: float | None  # clock time of the first answer character of choice 0


class StreamAssembler:
    """Feed it the lines of an SSE body (`feed`), then call `finish`."""

    def __init__(self, *, chat: bool) -> None:
        self.chat = chat
        self._data: list[str] = []  # data lines of the event being read
        self._top: dict[str, Any] = {}
        self._choices: dict[int, _Choice] = {}
        self._usage: dict[str, Any] | None = None
        self._done = False
        self._error: str | None = None
        self._chunks = 0
        self._first_token: float | None = None

    def feed(self, line: str, now: float) -> None:
        """One line of the body, without its line ending, read at clock time ``now``."""
        if not line:  # a blank line ends an event
            self._dispatch(now)
            return
        if line.startswith(":"):  # a comment (keep-alive)
            return
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        # "event:", "id:" and "retry:" lines carry nothing we use.

    def finish(self) -> StreamResult:
        """The assembled response, or why the stream is not one."""
        self._dispatch(None)  # a last event not followed by a blank line
        error = self._error
        if error is None and not self._done:
            error = "the stream ended without data: [DONE]" + (
                f" after {self._chunks} chunks" if self._chunks else " (no chunk at all)"
            )
        elif error is None and not self._chunks:
            error = "the stream held data: [DONE] and no chunk at all"
        return StreamResult(
            body=self._body() if self._chunks else None,
            error=error,
            chunks=self._chunks,
            first_token=self._first_token,
            first_answer=self._first_answer(),
        )

    # -- events -------------------------------------------------------------------

    def _dispatch(self, now: float | None) -> None:
        if not self._data:
            return
        data = "\n".join(self._data)
        self._data.clear()
        if data.strip() == "[DONE]":
            self._done = True
            return
        if self._done:
            return  # nothing counts after [DONE]
        try:
            chunk = json.loads(data)
        except (ValueError, RecursionError):
            self._fail(f"a stream chunk is not JSON: {data[:80]!r}")
            return
        if not isinstance(chunk, dict):
            self._fail(f"a stream chunk is not a JSON object: {data[:80]!r}")
            return
        self._chunks += 1
        self._chunk(chunk, 0.0 if now is None else now)

    def _fail(self, reason: str) -> None:
        if self._error is None:
            self._error = reason

    def _chunk(self, chunk: dict[str, Any], now: float) -> None:
        error = chunk.get("error")
        if error is not None:
            self._fail(f"the stream carried an error: {_message(error)}")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        for key, value in chunk.items():
            if key in ("choices", "usage", "error", "object") or value is None:
                continue
            if key == "id" and (not value or self._top.get("id")):
                continue
            self._top[key] = value
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for raw in choices:
                if isinstance(raw, dict):
                    self._choice(raw, now)

    def _choice(self, raw: dict[str, Any], now: float) -> None:
        index = raw.get("index", 0)
        index = index if isinstance(index, int) and not isinstance(index, bool) else 0
        choice = self._choices.setdefault(index, _Choice())
        if raw.get("error") is not None:
            self._fail(f"the stream carried an error: {_message(raw['error'])}")
        finish = raw.get("finish_reason")
        if finish:
            choice.finish_reason = str(finish)
            if finish == "error":
                self._fail("the stream ended with finish_reason 'error'")
        for key, value in raw.items():
            if key not in _CHOICE_KEYS and value is not None:
                choice.extra[key] = value
        delta = raw.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        got_text = False
        if self.chat:
            piece = delta.get("content")
        else:
            piece = raw.get("text")
            if piece is None:
                piece = delta.get("content")
        if isinstance(piece, str) and piece:
            choice.content.append(piece)
            choice.content_len += len(piece)
            choice.marks.append((choice.content_len, now))
            got_text = True
        reasoning = delta.get("reasoning")
        if reasoning is None:
            reasoning = delta.get("reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            choice.reasoning.append(reasoning)
            got_text = True
        role = delta.get("role")
        if isinstance(role, str) and role:
            choice.role = role
        calls = delta.get("tool_calls")
        if isinstance(calls, list) and calls:
            self._tool_pieces(choice, calls, now)
            got_text = True
        self._logprobs(choice, raw, delta, piece if isinstance(piece, str) else "")
        if got_text and self._first_token is None:
            self._first_token = now

    def _tool_pieces(self, choice: _Choice, pieces: list[Any], now: float) -> None:
        if choice.first_tool_at is None:
            choice.first_tool_at = now
        for position, piece in enumerate(pieces):
            if not isinstance(piece, dict):
                continue
            index = piece.get("index", position)
            index = index if isinstance(index, int) and not isinstance(index, bool) else position
            call = choice.tool_calls.setdefault(index, _ToolCall())
            if isinstance(piece.get("id"), str) and piece["id"]:
                call.id = piece["id"]
            if isinstance(piece.get("type"), str) and piece["type"]:
                call.type = piece["type"]
            function = piece.get("function")
            if isinstance(function, dict):
                name = function.get("name")
                if isinstance(name, str) and name:
                    call.name = name if not call.name else call.name
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    call.arguments.append(arguments)
                elif isinstance(arguments, dict):  # some servers send the parsed object
                    call.arguments.append(json.dumps(arguments))
            for key, value in piece.items():
                if key not in ("index", "id", "type", "function") and value is not None:
                    call.extra[key] = value

    @staticmethod
    def _logprobs(choice: _Choice, chunk: dict[str, Any], delta: dict[str, Any], text: str) -> None:
        raw = chunk.get("logprobs")
        if raw is None:
            return
        merged = choice.logprobs if choice.logprobs is not None else {}
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            # Together's chunk shape: one token, its logprob, its id in the delta and its
            # alternatives as a {token: logprob} object beside the logprobs.
            token_id = delta.get("token_id")
            if isinstance(token_id, int) and not isinstance(token_id, bool):
                merged.setdefault("token_ids", []).append(token_id)
            merged.setdefault("tokens", []).append(text)
            merged.setdefault("token_logprobs", []).append(raw)
            top = chunk.get("top_logprobs")
            if isinstance(top, dict):
                merged.setdefault("top_logprobs", []).append(top)
        elif isinstance(raw, dict):
            for key, value in raw.items():
                if isinstance(value, list):
                    merged.setdefault(key, []).extend(value)
                elif value is not None:
                    merged[key] = value
        else:
            return
        choice.logprobs = merged

    # -- the response ---------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self._top.pop("id", ""),
            "object": "chat.completion" if self.chat else "text.completion",
        }
        body.update(self._top)
        choices = []
        for index in sorted(self._choices):
            choice = self._choices[index]
            out: dict[str, Any] = {"index": index}
            content = "".join(choice.content)
            if self.chat:
                message: dict[str, Any] = {"role": choice.role or "assistant", "content": content}
                if choice.reasoning:
                    message["reasoning"] = "".join(choice.reasoning)
                if choice.tool_calls:
                    message["tool_calls"] = [
                        choice.tool_calls[i].to_json(i) for i in sorted(choice.tool_calls)
                    ]
                out["message"] = message
            else:
                out["text"] = content
            out["logprobs"] = choice.logprobs
            out["finish_reason"] = choice.finish_reason
            out.update(choice.extra)
            choices.append(out)
        body["choices"] = choices
        if self._usage is not None:
            body["usage"] = self._usage
        return body

    def _first_answer(self) -> float | None:
        choice = self._choices.get(0)
        if choice is None:
            return None
        _, _, start = split_thinking("".join(choice.content))
        text_at = None
        if start is not None:  # the chunk that carried the answer's first character
            text_at = next((t for length, t in choice.marks if length > start), None)
        tool_at = choice.first_tool_at
        if text_at is None or tool_at is None:
            return text_at if tool_at is None else tool_at
        return min(text_at, tool_at)


def _message(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message", error)
        if isinstance(message, dict):
            message = message.get("message", json.dumps(message))
        return str(message)[:200]
    return str(error)[:200]
