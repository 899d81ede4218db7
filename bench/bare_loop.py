"""The baseline: the chosen transport with no state, no limiter, no retries.

``python bench/bare_loop.py URL JOBS_FILE CONCURRENCY [httpx|aiohttp] [asyncio|uvloop]
[bulk|paced]`` sends every job of JOBS_FILE with CONCURRENCY workers and prints ``{"jobs":
N, "seconds": S, "cpu_s": C, "latencies_ms": [...], "starts_s": [...]}`` (send phase
only, after imports and file reading; C is the process's CPU time over that phase; each
latency is timed around one ``post`` and its JSON decoding, as fanout times its own, and
each start is from the start of that phase), so fanout's figures can be put next to it.

It posts the same canonical body bytes fanout stores and sends. ``bulk`` (the default)
hands jobs to the workers as fast as they take them; ``paced`` awaits ``send`` for each
(anyio's own pattern), which wakes one idle worker per turn of the event loop: 25% more
CPU per job at zero latency (workers wait on the feeder), but no burst of a thousand
requests built at once when a run starts.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import anyio
import httpx
from httpx_aiohttp import AiohttpTransport

from jobs import Defaults, Job, JobFile, encode_body

JSON = {"content-type": "application/json"}


async def main(url: str, path: str, concurrency: int, transport: str, feed: str) -> None:
    bodies = [
        (j.endpoint.removeprefix("/v1"), encode_body(j.body).encode())
        for j in JobFile(path, Defaults(model="meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"))
        if isinstance(j, Job)
    ]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    kwargs: dict[str, object] = {"limits": limits, "timeout": 60}
    if transport == "aiohttp":
        kwargs["transport"] = AiohttpTransport(limits=limits)  # aiohttp alone would cap at 100
    send, receive = anyio.create_memory_object_stream[tuple[str, bytes]](concurrency)
    errors = 0
    latencies: list[float] = []
    starts: list[float] = []  # when each timed post began, from the start of the send phase

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        async with receive.clone() as items:
            async for endpoint, body in items:
                sent = time.perf_counter()
                r = await client.post(endpoint, content=body, headers=JSON)
                r.json()
                latencies.append(time.perf_counter() - sent)
                starts.append(sent - start)
                if r.status_code != 200:
                    errors += 1

    start = 0.0
    async with httpx.AsyncClient(base_url=url, **kwargs) as client:  # type: ignore[arg-type]
        start = time.perf_counter()
        cpu0 = _cpu()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker, client)
            async with send:
                for item in bodies:
                    if feed == "paced":
                        await send.send(item)  # one job a turn of the event loop
                        continue
                    try:
                        send.send_nowait(item)  # as many as the buffer and idle workers take
                    except anyio.WouldBlock:
                        await send.send(item)
            receive.close()
        seconds = time.perf_counter() - start
        cpu = _cpu() - cpu0
    result = {"jobs": len(bodies), "seconds": seconds, "cpu_s": cpu, "errors": errors}
    timed = {
        "latencies_ms": [round(x * 1000, 3) for x in latencies],
        "starts_s": [round(x, 6) for x in starts],
    }
    print(json.dumps({**result, **timed}))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    url, path, conc = sys.argv[1], sys.argv[2], int(sys.argv[3])
    transport = sys.argv[4] if len(sys.argv) > 4 else "aiohttp"
    loop = sys.argv[5] if len(sys.argv) > 5 else "asyncio"
    feed = sys.argv[6] if len(sys.argv) > 6 else "bulk"
    options = {"use_uvloop": loop == "uvloop"}
    anyio.run(main, url, path, conc, transport, feed, backend_options=options)
