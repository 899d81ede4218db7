"""The simulator's HTTP/1.1 server: anyio TCP listener, h11 for the protocol.

One task per connection runs a keep-alive loop: read a request with h11, ask
:class:`._app.SimApp` what to do, do it, and start the next cycle. Owning the socket is
what makes the faults real:

* reset: set ``SO_LINGER`` to (on, 0 s) and close, so the kernel sends RST instead of FIN
  and the client's read fails with "connection reset by peer";
* truncate: send the headers (full ``Content-Length``) and half the body, then close, so
  the client's HTTP parser sees the body end early;
* delays (latency, slow): wait while watching the socket, so a client that gives up and
  hangs up is noticed and its request counted as ``abandoned``, not answered;
* streams: headers without ``Content-Length`` (so h11 frames the body chunked), then each
  event after its pause, one write each, so a client sees them arrive over time; a cut
  stream ends with the connection closed and the chunked body unfinished. A client that
  hangs up mid-stream is counted as ``abandoned``.

However a request ends, the server reports it to :meth:`._app.SimApp.finish` once, just
before the last bytes go out (so a client that reads its answer and asks
:meth:`SimServer.stats` at once finds it counted), and in any case when the handler leaves
(cancelled, socket error): that frees its place in ``overload_concurrency`` and refunds its
unused tokens.

:meth:`SimServer.serve` runs in the caller's event loop (``await tg.start(server.serve)``);
:meth:`SimServer.run_in_thread` gives blocking code a server on its own loop and thread.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import h11
from anyio.abc import SocketAttribute, SocketStream, TaskStatus

from ._app import Action, Reply, SimApp
from ._config import SimConfig

logger = logging.getLogger("togethersim")

_DEFAULT_CONFIG = SimConfig()
_READ_SIZE = 65536
_SERVER_HEADER = (b"server", b"fanout-sim")


def _reason(status: int) -> bytes:
    if status == 520:
        return b"Unknown Error"  # Cloudflare's name for it
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


class _ClientGone(Exception):
    """The client closed or reset the connection while we were busy with its request."""


class SimServer:
    """A simulated Together API on a real loopback socket.

    ``port=0`` binds a free port; after :meth:`serve` has started, :attr:`port` is the real
    one. The fault RNG, rate-limit buckets and stats live as long as this object, across
    restarts of :meth:`serve`. ``clock`` is what the rate limiter reads (seconds, monotonic).
    """

    def __init__(
        self,
        config: SimConfig = _DEFAULT_CONFIG,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.host = host
        self.port = port
        self._app = SimApp(config, clock)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def stats(self) -> dict[str, Any]:
        """Counts of requests and outcomes (see :mod:`._stats`); safe from any thread."""
        return self._app.stats.snapshot()

    def reset_stats(self) -> None:
        self._app.stats.reset()

    @property
    def in_flight(self) -> int:
        """Inference requests admitted and not yet answered (what overload counts)."""
        return self._app.in_flight

    def __repr__(self) -> str:
        return f"SimServer({self.base_url!r}, {self.config!r})"

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled; ``task_status.started()`` once bound."""
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        async with listener:
            self.port = listener.extra(SocketAttribute.local_port)
            task_status.started()
            await listener.serve(self._serve_connection)

    @contextmanager
    def run_in_thread(self) -> Iterator[str]:
        """Serve from a daemon thread with its own event loop; yield :attr:`base_url`.

        On exit the loop is cancelled, every socket closed and the thread joined.
        """
        ready = threading.Event()
        box: dict[str, Any] = {}  # token, scope, error: handed from the thread

        async def main() -> None:
            with anyio.CancelScope() as scope:
                box["token"] = anyio.lowlevel.current_token()
                box["scope"] = scope
                async with anyio.create_task_group() as tg:
                    await tg.start(self.serve)
                    ready.set()
                    await anyio.sleep_forever()

        def thread_main() -> None:
            try:
                anyio.run(main)
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc
            finally:
                ready.set()

        thread = threading.Thread(target=thread_main, name="fanout-sim", daemon=True)
        thread.start()
        ready.wait()
        if "error" in box:
            thread.join()
            raise RuntimeError(f"simulator failed to start: {box['error']}") from box["error"]
        try:
            yield self.base_url
        finally:
            try:
                anyio.from_thread.run_sync(box["scope"].cancel, token=box["token"])
            except anyio.RunFinishedError:
                pass  # the loop already ended (it failed); nothing to stop
            thread.join()
            error = box.get("error")
            if error is not None:
                raise RuntimeError(f"simulator stopped with an error: {error}") from error

    # -- one connection -------------------------------------------------------------------

    async def _serve_connection(self, stream: SocketStream) -> None:
        async with stream:
            try:
                await self._converse(stream, h11.Connection(h11.SERVER))
            except (_ClientGone, anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass
            except Exception:  # keep serving other connections whatever happened here
                logger.exception("simulator: connection handler failed")

    async def _converse(self, stream: SocketStream, conn: h11.Connection) -> None:
        """Keep-alive loop: one request/response cycle per iteration."""
        while True:
            request, body = await self._read_request(stream, conn)
            if request is None:
                return
            reply = self._app.handle(request.method, request.target, request.headers, body)
            try:
                keep_alive = await self._carry_out(stream, conn, reply)
            finally:
                self._app.release(reply)  # no-op unless it ended without finish (cancelled)
            if not keep_alive:
                return
            conn.start_next_cycle()

    async def _carry_out(self, stream: SocketStream, conn: h11.Connection, reply: Reply) -> bool:
        """Do what ``reply`` says; False when the connection is over."""
        if reply.delay > 0:
            try:
                await self._pause(stream, conn, reply.delay)
            except _ClientGone:
                self._app.finish(reply, "abandoned")
                raise
        if reply.action is Action.RESET:
            self._app.finish(reply)
            raw = stream.extra(SocketAttribute.raw_socket)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            await stream.aclose()
            return False
        if reply.action is Action.STREAM:
            return await self._stream(stream, conn, reply)
        if reply.action is Action.TRUNCATE:
            data = conn.send(self._response(reply)) or b""
            data += conn.send(h11.Data(data=reply.body[: len(reply.body) // 2])) or b""
            self._app.finish(reply)
            await stream.send(data)
            await stream.send_eof()
            return False
        self._app.finish(reply)
        await self._send(stream, conn, reply)
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            await stream.send_eof()
            return False
        return True

    async def _read_request(
        self, stream: SocketStream, conn: h11.Connection
    ) -> tuple[h11.Request | None, bytes]:
        """The next request and its body, or (None, b"") once the client is done."""
        request: h11.Request | None = None
        chunks: list[bytes] = []
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                await self._reject_garbage(stream, conn, exc)
                return None, b""
            if event is h11.NEED_DATA:
                try:
                    data = await stream.receive(_READ_SIZE)
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    data = b""
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return request, b"".join(chunks)
            else:  # ConnectionClosed (or PAUSED, which cannot happen while reading)
                return None, b""

    async def _reject_garbage(
        self, stream: SocketStream, conn: h11.Connection, exc: h11.RemoteProtocolError
    ) -> None:
        """Answer a request h11 cannot parse with a bare 400, if a response is still possible."""
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = f"bad request: {exc}".encode()
        reply = Reply(exc.error_status_hint, body, [(b"content-type", b"text/plain")])
        try:
            await self._send(stream, conn, reply)
        except h11.LocalProtocolError:
            return

    async def _stream(self, stream: SocketStream, conn: h11.Connection, reply: Reply) -> bool:
        """Send a stream's events as they come due; False when the connection is over."""
        assert reply.stream is not None
        events = reply.stream.events
        finished = False
        try:
            await stream.send(conn.send(self._response(reply)) or b"")
            for i, (delay, data) in enumerate(events):
                if delay > 0:
                    await self._pause(stream, conn, delay)
                if i == len(events) - 1:
                    self._app.finish(reply)
                    finished = True
                await stream.send(conn.send(h11.Data(data=data)) or b"")
            if not finished:  # no events at all
                self._app.finish(reply)
                finished = True
        except (_ClientGone, anyio.BrokenResourceError, anyio.ClosedResourceError):
            if not finished:
                self._app.finish(reply, "abandoned")
            raise
        if reply.stream.abrupt:
            await stream.send_eof()
            return False
        await stream.send(conn.send(h11.EndOfMessage()) or b"")
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            await stream.send_eof()
            return False
        return True

    def _response(self, reply: Reply) -> h11.Response:
        framing = (
            []
            if reply.action is Action.STREAM
            else [(b"content-length", str(len(reply.body)).encode())]
        )
        headers = [*reply.headers, *framing, _SERVER_HEADER]
        return h11.Response(status_code=reply.status, headers=headers, reason=_reason(reply.status))

    async def _send(self, stream: SocketStream, conn: h11.Connection, reply: Reply) -> None:
        data = conn.send(self._response(reply)) or b""
        data += conn.send(h11.Data(data=reply.body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        await stream.send(data)

    async def _pause(self, stream: SocketStream, conn: h11.Connection, seconds: float) -> None:
        """Sleep ``seconds`` while watching the socket; raise :class:`_ClientGone` on hang-up.

        Bytes that arrive meanwhile (a pipelined next request) are handed to h11 for later.
        """
        with anyio.move_on_after(seconds):
            while True:
                try:
                    data = await stream.receive(_READ_SIZE)
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    raise _ClientGone from None
                conn.receive_data(data)
