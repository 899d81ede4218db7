"""Routing and decisions: from one HTTP request to a :class:`Reply`, with no I/O.

:meth:`SimApp.handle` is synchronous and cheap; the server (:mod:`._server`) carries out
what it returns: wait ``delay`` seconds, then send the response, reset the connection, or
send half the body. Keeping the decisions here makes them testable without sockets.

For an inference request the checks run in this order, the first that fires decides:

1. ``Authorization`` (only when ``SimConfig.api_key`` is set) -> 401
2. the body (:func:`._request.parse_request`) and the ``x-sim-*`` headers -> 400
   the model: ``SimConfig.unknown_models`` -> 404, ``dedicated_models`` -> 400, a name
   outside ``served_models`` (when set) -> 404, all ``model_not_available`` (no fault drawn,
   no rate-limit charge: refused at the door)
3. one fault draw from the seeded RNG (every valid request draws, whatever follows)
4. ``x-sim-fault: 429`` or the rate limiter -> 429 (limiter headers go on every later reply)
5. overload: ``SimConfig.overload_concurrency`` requests already in progress -> 503
   ``Engine overloaded`` (the rate-limit charge is given back)
6. the forced or drawn fault -> 500 / 503 / 520 / reset / truncate / slow
7. the normal 200 answer: a JSON body, or for ``"stream": true`` a stream of events
   (:mod:`._stream`), which the stream faults (cut, error, no ``[DONE]``) may spoil

A request that gets past step 5 is *in progress* until the server reports how it ended
with :meth:`SimApp.finish` (answer sent, connection reset or cut, client gone) or
:meth:`SimApp.release`; the reply carries a ticket for that. Finishing frees its place,
refunds its unused token budget to the limiter and, for a 200, counts a success towards
the dynamic rate.

The per-request latency (``SimConfig.latency``, drawn from its own seeded RNG so it cannot
shift the fault sequence) delays steps 6 and 7; 4xx answers and overload 503s are
immediate, as they are from Together's edge. A stream sends its headers at once and spreads
the latency (and ``token_seconds`` per token) over its events (:func:`._stream.pace`).
A streamed request is admitted, charged, refunded and counted exactly as a non-streamed one.

Request headers the simulator reads (a bad value is a 400):

=========================  ================================================================
``x-sim-fault``            force a fault (:mod:`._faults`)
``x-sim-stream-usage``     ``finish`` or ``trailing``: where a stream puts usage
``x-sim-logprobs-shape``   ``together`` (default) or ``openai`` (:mod:`._logprobs`)
=========================  ================================================================
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

from . import _errors, _stream
from ._answers import eval_reply
from ._bodies import chat_body, models_body, text_body
from ._config import SimConfig
from ._faults import Fault, FaultPicker, forced_fault
from ._inference import reasoning_style, signature, synthesize
from ._logprobs import SHAPES, Shape
from ._ratelimit import DynamicLimits, Headers, RateLimiter, Verdict
from ._request import CHAT, TEXT, InferenceRequest, InvalidRequest, parse_request
from ._sample import Sample
from ._stats import SimStats
from ._stream import PLACEMENTS, StreamPlan, UsagePlacement

JSON = b"application/json"
TEXT_PLAIN = b"text/plain; charset=utf-8"
EVENT_STREAM = b"text/event-stream;charset=utf-8"
STREAM_ERROR_MESSAGE = "Internal server error"

RequestHeaders = Sequence[tuple[bytes, bytes]]  # lower-case names, as h11 gives them

_INFERENCE = {b"/chat/completions": CHAT, b"/completions": TEXT}


class Action(enum.Enum):
    RESPOND = "respond"  # send the whole response
    RESET = "reset"  # send nothing; close the connection with RST
    TRUNCATE = "truncate"  # send headers and half the body, then close
    STREAM = "stream"  # send headers, then Reply.stream's events as they come due


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
    stream: StreamPlan | None = None  # the events to send when action is STREAM


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
        try:
            forced, placement, shape = _sim_headers(headers)
            request = parse_request(endpoint, raw)
        except InvalidRequest as exc:
            return self._error(400, str(exc))
        refused = self._refuse_model(request.model)
        if refused is not None:
            return refused
        drawn = self._faults.draw()
        fault = drawn if forced is None else forced
        if fault.streams_only and not request.stream:
            fault = Fault.NONE

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
                if fault is Fault.HTTP_429:
                    self.stats.fault(fault.value)
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
        if fault is not Fault.NONE:
            self.stats.fault(fault.value)
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
        samples = self._samples(request, sig)
        ticket.completion_tokens = sum(s.completion_tokens for s in samples)
        longest = max(s.completion_tokens for s in samples)  # the choices run in parallel
        reply_id, created = self._reply_id(), int(time.time())
        if request.stream:
            where = placement or _stream.usage_placement(request.model)
            events = _stream.events(request, samples, reply_id, created, where, shape)
            return self._stream_reply(events, longest, fault, delay, sig, limit_headers, ticket)
        delay += longest * self.config.token_seconds
        build = chat_body if endpoint == CHAT else text_body
        body = _dumps(build(request, samples, reply_id, created, shape))
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

    def _refuse_model(self, model: str) -> Reply | None:
        """Together's answer to a model it does not serve serverless, if ``model`` is one."""
        config = self.config  # unknown_models and dedicated_models are disjoint
        if model in config.dedicated_models:
            status, body = 400, _errors.dedicated_only(self._reply_id(), model)
        elif model in config.unknown_models or (
            config.served_models is not None and model not in config.served_models
        ):
            status, body = 404, _errors.unknown_model(self._reply_id(), model)
        else:
            return None
        return Reply(status, body, [(b"content-type", JSON)], outcome=str(status))

    def _samples(self, request: InferenceRequest, sig: str) -> list[Sample]:
        """The reply's choices: eval answers when the key knows the prompt, else babble."""
        spec = self.config.answers.lookup(request.body) if self.config.answers else None
        if spec is not None and spec.scorer == "tool_call" and request.tools:
            if not request.calls_tool:  # tool_choice none, or the tool result is in
                spec = None  # the model answers in words
        style = self.config.styles.get(request.model) or reasoning_style(request.model)
        reasons = request.endpoint == CHAT and style != "none"
        accuracy = self.config.accuracy.get(request.model) or self.config.default_accuracy.get(
            "reasoning" if reasons else "direct"
        )
        samples = []
        for index in range(request.n):
            reply = None
            if spec is not None:
                reply = eval_reply(
                    spec,
                    request.model,
                    sig,
                    seed=self.config.seed,
                    reasons=reasons,
                    accuracy=accuracy,
                    sample=index,
                    tools=request.tools,
                    output=request.output,
                )
            samples.append(synthesize(request, sig, index, reply, style))
        return samples

    def _stream_reply(
        self,
        events: list[_stream.Event],
        longest: int,
        fault: Fault,
        latency: float,
        sig: str,
        limit_headers: Headers,
        ticket: Ticket,
    ) -> Reply:
        """A 200 stream: the events, paced, spoiled as a stream fault says."""
        # Pace as the longest choice: n choices are generated side by side.
        scale = longest / max(1, sum(e.tokens for e in events))
        delays = _stream.pace(
            [e.tokens for e in events], latency, self.config.token_seconds * scale
        )
        timed = [(d, e.data) for d, e in zip(delays, events, strict=True)]
        half = max(1, len(timed) // 2)  # where a cut or an error strikes
        outcome, abrupt, ending = "200", False, _stream.DONE
        if fault is Fault.STREAM_CUT or fault is Fault.TRUNCATE:
            timed, abrupt, ending = timed[:half], True, b""
            outcome = "truncate" if fault is Fault.TRUNCATE else fault.value
        elif fault is Fault.STREAM_ERROR:
            timed, ending = timed[:half], _stream.error_event(STREAM_ERROR_MESSAGE)
            outcome = fault.value
        elif fault is Fault.STREAM_NO_DONE:
            ending, outcome = b"", fault.value
        if ending:
            timed.append((0.0, ending))
        headers = [
            (b"content-type", EVENT_STREAM),
            (b"cache-control", b"no-cache, no-transform"),
            *limit_headers,
        ]
        return Reply(
            200,
            b"",
            headers,
            outcome=outcome,
            signature=sig if outcome == "200" else None,
            delay=self.config.slow_seconds if fault is Fault.SLOW else 0.0,
            action=Action.STREAM,
            ticket=ticket,
            stream=StreamPlan(tuple(timed), abrupt),
        )

    def _rate_limited(self, model: str, verdict: Verdict) -> bytes:
        """The 429 body matching why ``verdict`` rejected the request."""
        reply_id = self._reply_id()
        if verdict.kind == "model_rate_limit":
            return _errors.model_rate_limited(reply_id, model, verdict.rpm, verdict.tpm)
        if verdict.kind in ("dynamic_request_limited", "dynamic_token_limited"):
            return _errors.dynamic_limited(reply_id, verdict.kind, verdict.dynamic_rpm, verdict.tpm)
        return _errors.rate_limited(reply_id, verdict.rpm, verdict.tpm)


def _sim_headers(
    headers: RequestHeaders,
) -> tuple[Fault | None, UsagePlacement | None, Shape]:
    """The ``x-sim-*`` request headers; raises :class:`InvalidRequest` on a bad value."""
    forced: Fault | None = None
    raw = _header(headers, b"x-sim-fault")
    if raw is not None:
        forced = forced_fault(raw)
        if forced is None:
            values = "|".join(f.value for f in Fault)
            raise InvalidRequest(f"x-sim-fault must be one of {values}")
    placement: UsagePlacement | None = None
    raw = _header(headers, b"x-sim-stream-usage")
    if raw is not None:
        text = raw.decode("ascii", "replace").strip().lower()
        placement = next((p for p in PLACEMENTS if p == text), None)
        if placement is None:
            raise InvalidRequest(f"x-sim-stream-usage must be one of {'|'.join(PLACEMENTS)}")
    shape: Shape = "together"
    raw = _header(headers, b"x-sim-logprobs-shape")
    if raw is not None:
        text = raw.decode("ascii", "replace").strip().lower()
        found = next((s for s in SHAPES if s == text), None)
        if found is None:
            raise InvalidRequest(f"x-sim-logprobs-shape must be one of {'|'.join(SHAPES)}")
        shape = found
    return forced, placement, shape


def _header(headers: RequestHeaders, name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None
