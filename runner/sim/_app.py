"""Routing and decisions: from one HTTP request to a :class:`Reply`, with no I/O.

:meth:`SimApp.handle` is synchronous and cheap; the server (:mod:`._server`) carries out
what it returns: wait ``delay`` seconds, then send the response, reset the connection, or
send half the body. Keeping the decisions here makes them testable without sockets.

For an inference request the checks run in this order, the first that fires decides:

1. ``Authorization`` (only when ``SimConfig.api_key`` is set) -> 401
2. the body (:func:`._inference.parse_request`) and ``x-sim-fault`` value -> 400
3. one fault draw from the seeded RNG (every valid request draws, whatever follows)
4. ``x-sim-fault: 429`` or the rate limiter -> 429 (limiter headers go on every later reply)
5. overload: ``SimConfig.overload_concurrency`` requests already in progress -> 503
   ``Engine overloaded`` (the rate-limit charge is given back)
6. the forced or drawn fault -> 500 / 503 / 520 / reset / truncate / slow
7. the normal 200 answer

A request that gets past step 5 is *in progress* until the server reports how it ended
with :meth:`SimApp.finish` (answer sent, connection reset or cut, client gone) or
:meth:`SimApp.release`; the reply carries a ticket for that. Finishing frees its place,
refunds its unused token budget to the limiter and, for a 200, counts a success towards
the dynamic rate.

The per-request latency (``SimConfig.latency``, drawn from its own seeded RNG so it cannot
shift the fault sequence) delays steps 6 and 7; 4xx answers and overload 503s are
immediate, as they are from Together's edge.
"""

from __future__ import annotations

import enum
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _errors
from ._answers import eval_reply
from ._config import SimConfig
from ._faults import Fault, FaultPicker, forced_fault
from ._inference import (
    CHAT,
    TEXT,
    InvalidRequest,
    chat_body,
    models_body,
    parse_request,
    reasoning_style,
    signature,
    synthesize,
    text_body,
)
from ._ratelimit import DynamicLimits, Headers, RateLimiter, Verdict
from ._stats import SimStats

JSON = b"application/json"
TEXT_PLAIN = b"text/plain; charset=utf-8"

RequestHeaders = Sequence[tuple[bytes, bytes]]  # lower-case names, as h11 gives them

_INFERENCE = {b"/chat/completions": CHAT, b"/completions": TEXT}


class Action(enum.Enum):
    RESPOND = "respond"  # send the whole response
    RESET = "reset"  # send nothing; close the connection with RST
    TRUNCATE = "truncate"  # send headers and half the body, then close


@dataclass(slots=True)
class Ticket:
    """An inference request in progress: what to settle with the limiter when it ends."""

    model: str
    charged_tokens: float  # taken from the model's token bucket on admission
    prompt_tokens: int
    completion_tokens: int = 0  # of the answer produced; 0 when there is none

    @property
    def unused_tokens(self) -> float:
        return max(0.0, self.charged_tokens - self.prompt_tokens - self.completion_tokens)


@dataclass(slots=True)
class Reply:
    """What to do with one request, decided by :class:`SimApp`."""

    status: int
    body: bytes
    headers: Headers = field(default_factory=list)  # content-type and extras
    outcome: str | None = None  # key to count in stats["by_status"]; None = not counted
    signature: str | None = None  # set on a 200 inference answer
    delay: float = 0.0  # seconds to wait before acting
    action: Action = Action.RESPOND
    ticket: Ticket | None = None  # set while an admitted inference request is in progress


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class SimApp:
    """The simulated Together API, minus the sockets."""

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.stats = SimStats()
        self._faults = FaultPicker(config.faults, config.seed)
        self._latency_rng = random.Random(f"latency:{config.seed}")
        dynamic = None
        if config.dynamic:
            dynamic = DynamicLimits(
                config.dynamic_base_rpm, config.dynamic_cap_rpm, config.dynamic_window
            )
        self._limiter = RateLimiter(
            config.rpm,
            config.tpm,
            clock,
            burst=config.burst,
            model_limits=config.model_limits,
            dynamic=dynamic,
        )
        self._in_flight = 0  # admitted inference requests not yet finished
        self._auth = f"Bearer {config.api_key}".encode() if config.api_key is not None else None
        self._id_prefix = os.urandom(4).hex()  # ids differ between server runs
        self._next_id = 0

    @property
    def in_flight(self) -> int:
        """Admitted inference requests whose end the server has not reported yet."""
        return self._in_flight

    def finish(self, reply: Reply, outcome: str | None = None) -> None:
        """The server is done with ``reply``: count ``outcome`` (default ``reply.outcome``)
        in the stats and :meth:`release` its ticket."""
        key = outcome or reply.outcome
        if key is not None:
            self.stats.outcome(key, reply.signature if key == "200" else None)
        self.release(reply, success=key == "200")

    def release(self, reply: Reply, success: bool = False) -> None:
        """Free ``reply``'s place in progress and settle its tokens; no-op after the first."""
        ticket, reply.ticket = reply.ticket, None
        if ticket is None:
            return
        self._in_flight -= 1
        if self._limiter.enabled:
            self._limiter.finished(ticket.model, ticket.unused_tokens, success)

    def _reply_id(self) -> str:
        self._next_id += 1
        return f"sim-{self._id_prefix}-{self._next_id:x}"

    def _latency(self) -> float:
        low, high = self.config.latency
        return low if high <= low else self._latency_rng.uniform(low, high)

    def _error(self, status: int, message: str, code: str | None = None) -> Reply:
        body = _errors.envelope(self._reply_id(), message, code=code)
        return Reply(status, body, [(b"content-type", JSON)], outcome=str(status))

    def handle(self, method: bytes, target: bytes, headers: RequestHeaders, body: bytes) -> Reply:
        """Decide the reply to one request (``headers`` have lower-case names, as h11 gives)."""
        path = target.split(b"?", 1)[0]
        if path.startswith(b"/v1/"):
            path = path[3:]
        if path.startswith(b"/sim/"):
            return self._control(method, path)
        self.stats.received()
        endpoint = _INFERENCE.get(path)
        if endpoint is not None and method == b"POST":
            return self._inference(endpoint, headers, body)
        if path == b"/models" and method == b"GET":
            if self._auth is not None and _header(headers, b"authorization") != self._auth:
                return Reply(
                    401,
                    _dumps({"error": {"message": "Unauthorized"}}),
                    [(b"content-type", JSON)],
                    outcome="401",
                )
            return Reply(200, _dumps(models_body()), [(b"content-type", JSON)], outcome="200")
        where = f"{method.decode('ascii', 'replace')} {target.decode('ascii', 'replace')}"
        return self._error(404, f"Unknown endpoint: {where}")

    def _control(self, method: bytes, path: bytes) -> Reply:
        if path == b"/sim/stats" and method == b"GET":
            return Reply(200, _dumps(self.stats.snapshot()), [(b"content-type", JSON)])
        if path == b"/sim/reset-stats" and method == b"POST":
            self.stats.reset()
            return Reply(200, _dumps(self.stats.snapshot()), [(b"content-type", JSON)])
        return Reply(
            404,
            _errors.envelope(self._reply_id(), "Unknown simulator control path"),
            [(b"content-type", JSON)],
        )

    def _inference(self, endpoint: str, headers: RequestHeaders, raw: bytes) -> Reply:
        if self._auth is not None and _header(headers, b"authorization") != self._auth:
            return self._error(401, _errors.INVALID_API_KEY, code="invalid_api_key")
        forced: Fault | None = None
        forced_raw = _header(headers, b"x-sim-fault")
        if forced_raw is not None:
            forced = forced_fault(forced_raw)
            if forced is None:
                values = "|".join(f.value for f in Fault)
                return self._error(400, f"x-sim-fault must be one of {values}")
        try:
            request = parse_request(endpoint, raw)
        except InvalidRequest as exc:
            return self._error(400, str(exc))
        drawn = self._faults.draw()
        fault = drawn if forced is None else forced

        limit_headers: Headers = []
        if fault is Fault.HTTP_429:
            verdict = self._limiter.reject(request.model)
        elif self._limiter.enabled:
            verdict = self._limiter.check(request.model, request.estimated_tokens)
        else:
            verdict = None
        if verdict is not None:
            limit_headers = verdict.headers
            if not verdict.allowed:
                body = self._rate_limited(request.model, verdict)
                return Reply(429, body, [(b"content-type", JSON), *limit_headers], outcome="429")
        charged = verdict.charged_tokens if verdict is not None else 0.0

        json_headers = [(b"content-type", JSON), *limit_headers]
        most = self.config.overload_concurrency
        if most is not None and self._in_flight >= most:
            if verdict is not None:
                self._limiter.refund(request.model, charged, requests=1)
            body = _errors.overloaded(self._reply_id())
            return Reply(503, body, json_headers, outcome="503")

        self._in_flight += 1
        ticket = Ticket(request.model, charged, request.prompt_tokens)
        delay = self._latency()
        if fault is Fault.HTTP_500:
            body = _errors.internal_error(self._reply_id())
            return Reply(500, body, json_headers, outcome="500", delay=delay, ticket=ticket)
        if fault is Fault.HTTP_503:
            body = _errors.overloaded(self._reply_id())
            return Reply(503, body, json_headers, outcome="503", delay=delay, ticket=ticket)
        if fault is Fault.HTTP_520:
            return Reply(
                520,
                _errors.cloudflare(520),
                [(b"content-type", TEXT_PLAIN), *limit_headers],
                outcome="520",
                delay=delay,
                ticket=ticket,
            )
        if fault is Fault.RESET:
            return Reply(0, b"", outcome="reset", delay=delay, action=Action.RESET, ticket=ticket)

        sig = signature(endpoint, request.body)
        reply = None
        spec = self.config.answers.lookup(request.body) if self.config.answers else None
        style = self.config.styles.get(request.model) or reasoning_style(request.model)
        if spec is not None:
            reply = eval_reply(
                spec,
                request.model,
                sig,
                seed=self.config.seed,
                reasons=endpoint == CHAT and style != "none",
                accuracy=self.config.accuracy.get(request.model),
            )
        completion = synthesize(request, sig, reply, style)
        delay += completion.completion_tokens * self.config.token_seconds
        ticket.completion_tokens = completion.completion_tokens
        build = chat_body if endpoint == CHAT else text_body
        body = _dumps(build(request, completion, self._reply_id(), int(time.time())))
        if fault is Fault.TRUNCATE:
            return Reply(
                200,
                body,
                json_headers,
                outcome="truncate",
                delay=delay,
                action=Action.TRUNCATE,
                ticket=ticket,
            )
        if fault is Fault.SLOW:
            delay += self.config.slow_seconds
        return Reply(
            200, body, json_headers, outcome="200", signature=sig, delay=delay, ticket=ticket
        )

    def _rate_limited(self, model: str, verdict: Verdict) -> bytes:
        """The 429 body matching why ``verdict`` rejected the request."""
        reply_id = self._reply_id()
        if verdict.kind == "model_rate_limit":
            return _errors.model_rate_limited(reply_id, model, verdict.rpm, verdict.tpm)
        if verdict.kind in ("dynamic_request_limited", "dynamic_token_limited"):
            return _errors.dynamic_limited(reply_id, verdict.kind, verdict.dynamic_rpm, verdict.tpm)
        return _errors.rate_limited(reply_id, verdict.rpm, verdict.tpm)


def _header(headers: RequestHeaders, name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None
