"""The HTTP client: one connection pool for the whole run.

One pool, kept alive, sized to the run's concurrency so that no request waits for a
connection. The transport is chosen by name or given:

- ``"aiohttp"`` (default): aiohttp's own API, driven directly (`ApiClient._post_aiohttp`):
  no httpx request or response is built around a request. Measured (bench/RESULTS.md,
  "Client ceiling"): through `httpx_aiohttp.AiohttpTransport` the httpx layer cost as much
  CPU a request as all of fanout's own work; direct, fanout's CPU a job went from
  0.28-0.37 ms to 0.17-0.25 ms at concurrency 64 and 512. Against httpx's own pool
  (httpcore) aiohttp's gave about 1,000 requests/s at 64 and 256 in flight where httpcore
  gave 145 and 61, with p99 of 3 s and 16 s (its pool scans every connection for every
  request).
- ``"httpx"``: httpx's default transport (httpcore), for comparison and as a fallback.
- any `httpx.AsyncBaseTransport` instance (tests pass `httpx.MockTransport`).

On the httpx paths `ApiClient.post` builds its request with the `httpx.AsyncClient`
(headers, timeouts) and hands it straight to the transport, skipping
``AsyncClient.send``: its layers (the auth flow, the redirect loop, the cookie jar's parse
of every response, the response wrapper) do nothing fanout uses and cost 85-90 µs of CPU a
request. Cookies a server sets are not kept on any path, redirects not followed.

`ApiClient.post` makes exactly one attempt and never raises for HTTP or transport trouble:
it returns an `Attempt` carrying the retry `Decision` (see `_retry`), the raw body and the
usage (`Usage.from_body`, see `_usage`), and the caller decides what to do. The API key
goes into the ``Authorization`` header and nowhere else: not into any attribute, repr,
message or record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp.transport import map_aiohttp_exceptions

from ._clock import Clock, SystemClock
from ._retry import Action, Decision, classify_exception, classify_response
from ._sse import StreamAssembler, StreamResult
from ._usage import Usage

__all__ = ["DEFAULT_BASE_URL", "TRANSPORTS", "ApiClient", "Attempt", "make_transport"]

DEFAULT_BASE_URL = "https://api.together.xyz/v1"
USER_AGENT = "fanout/0.1"


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one HTTP attempt."""

    decision: Decision
    status: int | None  # None when no HTTP answer came back
    body: bytes | None
    request_id: str | None
    usage: Usage | None
    headers: httpx.Headers | None
    latency: float  # seconds from send to the last byte of the body
    ttft: float | None = None  # streamed: seconds from send to the first token
    ttfa: float | None = None  # streamed: seconds from send to the first answer token


class ApiClient:
    """Posts chat and text-completion requests to one OpenAI-compatible base URL."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        concurrency: int = 64,
        timeout: float = 600.0,
        transport: httpx.AsyncBaseTransport | str = "aiohttp",
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._clock = clock or SystemClock()
        headers = {"user-agent": USER_AGENT, "content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        limits = httpx.Limits(
            max_connections=concurrency,
            max_keepalive_connections=concurrency,
            keepalive_expiry=30.0,
        )
        self._timeout = timeout
        self._concurrency = concurrency
        self._headers = headers
        # The default transport is driven directly (`_post_aiohttp`); its session is made
        # in the event loop, on the first request.
        # The other transports go through an httpx client, made here.
        direct = transport == "aiohttp"
        self._session: aiohttp.ClientSession | None = None
        self._transport: httpx.AsyncBaseTransport | None = None
        self._http: httpx.AsyncClient | None = None
        if not direct:
            self._transport = make_transport(transport, limits)
            self._http = httpx.AsyncClient(
                headers=headers,
                limits=limits,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0), pool=None),
                transport=self._transport,  # closed with the client
                follow_redirects=False,
            )

    def url_for(self, endpoint: str) -> str:
        """``/v1/chat/completions`` under a base URL that already ends in ``/v1``."""
        path = endpoint[3:] if endpoint.startswith("/v1/") else endpoint
        return self.base_url + path

    async def post(self, endpoint: str, body: bytes) -> Attempt:
        """Send one request body (JSON bytes); classify what comes back.

        The answer is read as a stream either way. An ``text/event-stream`` answer (the body
        asked for ``"stream": true``) is reassembled by `StreamAssembler` into the response a
        non-streamed request gets; a stream that breaks off, carries an error or ends
        without ``[DONE]`` is a ``RETRY`` (``stream_error``), its partial text discarded.
        """
        http, transport = self._http, self._transport
        if http is None or transport is None:
            return await self._post_aiohttp(endpoint, body)
        clock = self._clock
        start = clock.monotonic()
        request = http.build_request("POST", self.url_for(endpoint), content=body)
        streamed: StreamResult | None = None
        try:
            response = await transport.handle_async_request(request)
            response.request = request
            try:
                kind = response.headers.get("content-type", "")
                if response.status_code == 200 and kind.startswith("text/event-stream"):
                    assembler = StreamAssembler(chat=endpoint.endswith("chat/completions"))
                    async for line in response.aiter_lines():
                        assembler.feed(line, clock.monotonic())
                    streamed = assembler.finish()
                    raw = b""
                else:
                    raw = await response.aread()
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            return Attempt(
                classify_exception(exc), None, None, None, None, None, clock.monotonic() - start
            )
        latency = clock.monotonic() - start
        if streamed is not None:
            return self._stream_attempt(response, streamed, start, latency)
        decision, parsed = classify_response(response.status_code, response.headers, raw)
        return self._attempt(decision, response, raw, parsed, latency)

    async def _post_aiohttp(self, endpoint: str, body: bytes) -> Attempt:
        """`post` on aiohttp's own API, with no httpx request or response built around it.

        Why: the httpx layer (``build_request``, the transport's wrapping of aiohttp's
        response in an `httpx.Response` and its stream) cost as much CPU per request as all
        of fanout's own work (bench/RESULTS.md, "Client ceiling"). What is kept from httpx:
        its exception classes (aiohttp's errors are mapped onto them by the same
        `map_aiohttp_exceptions` as the httpx transport's, so `classify_exception` decides
        as before) and `httpx.Headers` for the answer's headers (the retry and limiter code
        read them). The timeouts are the transport's: ``sock_connect`` and ``sock_read``.
        """
        clock = self._clock
        start = clock.monotonic()
        session = self._session
        if session is None:
            session = self._session = _aiohttp_session(
                self._headers, self._concurrency, self._timeout
            )
        streamed: StreamResult | None = None
        try:
            with map_aiohttp_exceptions():
                async with session.post(
                    self.url_for(endpoint), data=body, allow_redirects=False
                ) as response:
                    status = response.status
                    headers = httpx.Headers(response.raw_headers)
                    kind = response.headers.get("content-type", "")
                    if status == 200 and kind.startswith("text/event-stream"):
                        assembler = StreamAssembler(chat=endpoint.endswith("chat/completions"))
                        async for line in response.content:
                            assembler.feed(line.decode("utf-8").rstrip("\r\n"), clock.monotonic())
                        streamed = assembler.finish()
                        raw = b""
                    else:
                        raw = await response.read()
        except httpx.HTTPError as exc:
            return Attempt(
                classify_exception(exc), None, None, None, None, None, clock.monotonic() - start
            )
        latency = clock.monotonic() - start
        answer = _Answer(status, headers)
        if streamed is not None:
            return self._stream_attempt(answer, streamed, start, latency)
        decision, parsed = classify_response(status, headers, raw)
        return self._attempt(decision, answer, raw, parsed, latency)

    def _stream_attempt(
        self,
        response: httpx.Response | _Answer,
        streamed: StreamResult,
        start: float,
        latency: float,
    ) -> Attempt:
        raw = b"" if streamed.body is None else json.dumps(streamed.body).encode()
        ttft = None if streamed.first_token is None else streamed.first_token - start
        ttfa = None if streamed.first_answer is None else streamed.first_answer - start
        if streamed.error is not None:
            decision = Decision(Action.RETRY, "stream_error", streamed.error)
            parsed = streamed.body
        else:
            decision, parsed = classify_response(200, response.headers, raw)
        return self._attempt(decision, response, raw, parsed, latency, ttft, ttfa)

    @staticmethod
    def _attempt(
        decision: Decision,
        response: httpx.Response | _Answer,
        raw: bytes,
        parsed: dict[str, Any] | None,
        latency: float,
        ttft: float | None = None,
        ttfa: float | None = None,
    ) -> Attempt:
        request_id = None
        usage = None
        if parsed is not None:
            rid = parsed.get("id")
            request_id = rid if isinstance(rid, str) and rid else None
            usage = Usage.from_body(parsed)
        request_id = request_id or response.headers.get("x-request-id")
        return Attempt(
            decision,
            response.status_code,
            raw,
            request_id,
            usage,
            response.headers,
            latency,
            ttft,
            ttfa,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self.base_url!r})"


TRANSPORTS = ("aiohttp", "httpx")


@dataclass(frozen=True, slots=True)
class _Answer:
    """What `ApiClient._attempt` reads of an answer: its status and headers."""

    status_code: int
    headers: httpx.Headers


def _aiohttp_session(
    headers: dict[str, str], concurrency: int, timeout: float
) -> aiohttp.ClientSession:
    """The session of the direct path: as `httpx_aiohttp.AiohttpTransport` makes it (one
    pool of ``concurrency`` connections kept alive 30 s, no redirects), its timeouts those
    the httpx client gives the transport."""
    connector = aiohttp.TCPConnector(
        limit=concurrency, keepalive_timeout=30.0, ssl=httpx.create_ssl_context()
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers=headers,
        timeout=aiohttp.ClientTimeout(sock_connect=min(timeout, 30.0), sock_read=timeout),
        auto_decompress=True,
        requote_redirect_url=False,
    )


def make_transport(
    choice: httpx.AsyncBaseTransport | str, limits: httpx.Limits
) -> httpx.AsyncBaseTransport:
    """The httpx transport named by ``choice``, or ``choice`` itself (``"aiohttp"`` is no
    httpx transport: `ApiClient` drives aiohttp directly)."""
    if isinstance(choice, httpx.AsyncBaseTransport):
        return choice
    if choice == "httpx":
        return httpx.AsyncHTTPTransport(limits=limits)
    raise ValueError(f"unknown transport {choice!r} (choose from {', '.join(TRANSPORTS)})")
