"""Retry decisions as values, and the backoff that acts on them.

Every HTTP answer or transport error is classified once, here, into a `Decision`:

- ``DONE``: a 2xx whose body is a completion: a JSON object with a non-empty ``choices``
  list of objects. The job succeeded.
- ``RETRY``: worth another attempt: 408, 409, 429, any 5xx (Cloudflare's 52x ``text/plain``
  pages and proxies' HTML error pages included), a connection error, a timeout, and a 2xx
  that is not a completion (``invalid_response``): a truncated or non-JSON body, a JSON
  array, an object without ``choices`` or with ``choices: []``. Such an answer holds no
  result, so recording it as a success would lose the job; once the attempts are spent
  it fails as ``invalid_response_exhausted``.
- ``FAIL``: the request itself is wrong and will be wrong again: 400, 403, 404, 422 and the
  other 4xx. Not retried; recorded with the server's message. At Together a 403 is a
  request too long for the model (input tokens + ``max_tokens`` over its context), so it
  fails that job, not the run. Some of these refuse the model, not the request
  (`refuses_model`: ``model_not_available``, any 404, a 403): when a model's first
  attempts are all refused the same way, `runner._breaker` stops sending that model.
- ``ABORT``: the account, not the request, is the problem (401 bad key, 402 no credit):
  every other job would fail the same way, so the run stops and leaves its jobs pending
  for a rerun once the account is fixed.

`Backoff` turns a ``RETRY`` into a wait: exponential with full jitter
(``uniform(0, min(cap, base * 2**(attempt-1)))``, AWS's "full jitter"), unless the server
said how long to wait (``retry-after-ms``, then ``retry-after`` in seconds or as an HTTP
date), in which case that wait is honoured, plus up to 10% jitter so that workers told the
same thing do not return in lockstep.

An error message is short, readable text: the ``message`` of Together's envelope (also when
it is itself an object), the ``<title>`` of an HTML error page, or the start of a plain body.
"""

from __future__ import annotations

import enum
import html
import json
import random
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = [
    "CONNECTION_ERROR",
    "Action",
    "Backoff",
    "Decision",
    "classify_exception",
    "classify_response",
    "refuses_model",
]

RETRY_STATUSES = frozenset({408, 409, 429})
ABORT_STATUSES = frozenset({401, 402})
MODEL_REFUSED = "model_not_available"  # Together's code for a model it will not serve
CONNECTION_ERROR = "connection_error"  # no HTTP answer: refused, reset, cut off
MAX_RETRY_AFTER = 600.0


class Action(enum.Enum):
    DONE = "done"
    RETRY = "retry"
    FAIL = "fail"
    ABORT = "abort"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after one attempt, and why."""

    action: Action
    code: str = ""  # short machine code: "rate_limit", "http_500", "timeout", ...
    message: str = ""
    retry_after: float | None = None  # seconds the server asked us to wait
    rate_limited: bool = False

    @property
    def retryable(self) -> bool:
        return self.action is Action.RETRY


OK = Decision(Action.DONE)


def classify_response(
    status: int, headers: httpx.Headers, body: bytes
) -> tuple[Decision, dict[str, Any] | None]:
    """Classify an HTTP answer; returns the decision and the parsed JSON object, if any."""
    parsed = _json_object(body)
    if 200 <= status < 300:
        if parsed is None:
            what = _body_text(body, headers, 80)
            message = (
                f"HTTP {status} with a body that is not a JSON object: {what!r}"
                if what
                else f"HTTP {status} with an empty body"
            )
            return Decision(Action.RETRY, "invalid_response", message), None
        missing = _not_a_completion(parsed)
        if missing is not None:
            _, error = _error_fields(status, parsed, body, headers)
            detail = f" ({error.removeprefix(f'HTTP {status}: ')})" if "error" in parsed else ""
            message = f"HTTP {status} without a completion: {missing}{detail}"
            return Decision(Action.RETRY, "invalid_response", message), parsed
        return OK, parsed

    code, message = _error_fields(status, parsed, body, headers)
    retry_after = parse_retry_after(headers)
    if status == 429:
        return Decision(Action.RETRY, code, message, retry_after, rate_limited=True), parsed
    if status in RETRY_STATUSES or status >= 500:
        return Decision(Action.RETRY, code, message, retry_after), parsed
    if status in ABORT_STATUSES:
        return Decision(Action.ABORT, code, message), parsed
    return Decision(Action.FAIL, code, message), parsed


def refuses_model(status: int | None, decision: Decision) -> bool:
    """Whether a failed answer may refuse the model rather than the request.

    Together's ``model_not_available`` (404 for a name it does not know, 400 for a model it
    serves only on a dedicated endpoint); any 404 on an inference endpoint (a model name or
    a base URL it does not know: vLLM and OpenAI answer an unknown model so); a 403 (a key
    without access to the model, or at Together a request too long for it). One such answer
    proves nothing about the model; `runner._breaker` decides from the first few.
    """
    if decision.action is not Action.FAIL:
        return False
    return decision.code == MODEL_REFUSED or status in (403, 404)


def classify_exception(exc: Exception) -> Decision:
    """Classify a transport error raised by httpx while sending or reading.

    Transports that wrap another library (aiohttp) map its errors onto httpx's coarsely: a
    server that drops the connection arrives as ``ConnectTimeout``. The decision is the
    same (retry); the code names what really happened, read from the wrapped cause.
    """
    if isinstance(exc, httpx.TimeoutException):
        cause = exc.__cause__
        if cause is not None and not isinstance(cause, TimeoutError):
            return Decision(Action.RETRY, CONNECTION_ERROR, _describe(cause))
        return Decision(Action.RETRY, "timeout", f"{type(exc).__name__}: request timed out")
    if isinstance(exc, httpx.RemoteProtocolError):
        return Decision(
            Action.RETRY, CONNECTION_ERROR, f"server broke off the response: {_describe(exc)}"
        )
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.LocalProtocolError):
        return Decision(Action.RETRY, CONNECTION_ERROR, _describe(exc))
    return Decision(Action.FAIL, "client_error", _describe(exc))


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = -1.0
        if 0 < value <= MAX_RETRY_AFTER:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        date = headers.get("date")
        try:
            now = parsedate_to_datetime(date) if date else None
        except (TypeError, ValueError):
            now = None
        if now is None:
            from datetime import UTC, datetime

            now = datetime.now(UTC)
        value = (when - now).total_seconds()
    if 0 < value <= MAX_RETRY_AFTER:
        return value
    return None


@dataclass
class Backoff:
    """Exponential backoff with full jitter; honours what the server asked for."""

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random | None = None

    def delay(self, attempt: int, decision: Decision) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        rng = self.rng or random
        if decision.retry_after is not None:
            return decision.retry_after * (1.0 + 0.1 * rng.random())
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return rng.uniform(0.0, ceiling)


def _json_object(body: bytes) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _not_a_completion(parsed: dict[str, Any]) -> str | None:
    """What keeps a 2xx JSON object from being a chat or text completion, if anything."""
    choices = parsed.get("choices")
    if choices is None:
        return "no 'choices'"
    if not isinstance(choices, list):
        return "'choices' is not a list"
    if not choices:
        return "'choices' is empty"
    if not all(isinstance(c, dict) for c in choices):
        return "a choice is not an object"
    return None


def _error_fields(
    status: int, parsed: dict[str, Any] | None, body: bytes, headers: httpx.Headers
) -> tuple[str, str]:
    """The (code, message) of an error answer, from Together's envelope when there is one."""
    default_code = "rate_limit" if status == 429 else f"http_{status}"
    if parsed is not None:
        err = parsed.get("error")
        if isinstance(err, dict):
            message: Any = err.get("message", "")
            if isinstance(message, dict):  # Together sometimes nests the message object
                message = message.get("message", json.dumps(message))
            code = err.get("code") or err.get("type") or default_code
            return str(code), f"HTTP {status}: {message}"
        if isinstance(err, str):
            return default_code, f"HTTP {status}: {err}"
        if "message" in parsed:
            return default_code, f"HTTP {status}: {parsed['message']}"
    text = _body_text(body, headers, 200)
    return default_code, f"HTTP {status}: {text}" if text else f"HTTP {status}"


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HIDDEN = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _body_text(body: bytes, headers: httpx.Headers, limit: int) -> str:
    """A short line of text from a non-JSON body: an HTML page's title, else its start.

    Gateways and proxies (nginx, Cloudflare, load balancers) answer 502/503/504 with whole
    HTML pages; their title ("502 Bad Gateway") says it all, the markup would drown it.
    """
    text = body[:8192].decode("utf-8", "replace")
    is_html = "html" in headers.get("content-type", "").lower() or text.lstrip().startswith("<")
    if is_html:
        title = _TITLE.search(text)
        text = title.group(1) if title else _TAG.sub(" ", _HIDDEN.sub(" ", text))
        text = " ".join(html.unescape(text).split())
        return f"{_clip(text, limit)} (an HTML page)" if text else "an HTML page"
    return _clip(" ".join(text.split()), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
