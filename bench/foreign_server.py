"""A server nobody here wrote: ``aiohttp.web`` answering every completion with one fixed reply.

``python bench/foreign_server.py [--port 0] [--loop uvloop|asyncio]`` serves, with
keep-alive (aiohttp's default), on ``127.0.0.1``:

- ``POST /v1/chat/completions`` and ``POST /v1/completions``: the request body is read and
  ignored; the answer is `_common.REPLY` (a Together-shaped chat.completion, 200,
  ``application/json``), its bytes encoded once at start-up, not per request.
- ``GET /stats`` (also ``/v1/stats``): ``{"requests": N}``, the completions answered so far,
  so a bench can check the server saw every request it meant to send.

It prints ``foreign server listening on http://127.0.0.1:PORT/v1`` once it accepts
connections (the base URL, as ``fanout sim`` prints its own); `foreign_process` runs it as a
child and yields that URL. No limits, no faults, no latency, no rate-limit headers: what is
measured against it is the client.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import REPLY, server_process
from aiohttp import web

BODY = REPLY.encode()
STATS = web.AppKey("requests", list[int])  # one cell, bumped by the completion handler


async def _complete(request: web.Request) -> web.Response:
    await request.read()
    request.app[STATS][0] += 1
    return web.Response(body=BODY, content_type="application/json")


async def _stats(request: web.Request) -> web.Response:
    return web.json_response({"requests": request.app[STATS][0]})


def app() -> web.Application:
    application = web.Application()
    application[STATS] = [0]
    application.add_routes(
        [
            web.post("/v1/chat/completions", _complete),
            web.post("/v1/completions", _complete),
            web.get("/stats", _stats),
            web.get("/v1/stats", _stats),
        ]
    )
    return application


async def serve(port: int) -> None:
    runner = web.AppRunner(app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    host, bound = runner.addresses[0][:2]
    print(f"foreign server listening on http://{host}:{bound}/v1", flush=True)
    try:
        await asyncio.Event().wait()  # until SIGTERM / SIGINT
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", default="uvloop", choices=["uvloop", "asyncio"])
    args = parser.parse_args()
    factory = None
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:  # not installed: the standard loop
            pass
        else:
            factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        try:
            runner.run(serve(args.port))
        except KeyboardInterrupt:
            pass


@contextmanager
def foreign_process(loop: str = "uvloop") -> Iterator[str]:
    """This server in a child process; yields its base URL (ending in ``/v1``)."""
    argv = [sys.executable, str(Path(__file__)), "--loop", loop]
    with server_process(argv, "foreign server") as url:
        yield url


if __name__ == "__main__":
    main()
