"""The ceiling: a raw aiohttp loop, nothing between the workers and aiohttp's client.

``python bench/raw_loop.py URL JOBS_FILE CONCURRENCY [--loop asyncio|uvloop]`` posts every
job of JOBS_FILE to URL (a base URL ending in ``/v1``) with CONCURRENCY workers sharing one
`aiohttp.ClientSession` (``TCPConnector(limit=CONCURRENCY)``, keep-alive): each worker takes
the next body from a shared iterator, ``session.post(url, data=body, headers=...)``, then
``await resp.json()``. It prints what `bench/bare_loop.py` prints: ``{"jobs": N, "seconds":
S, "cpu_s": C, "errors": E, "latencies_ms": [...], "starts_s": [...]}``, over the send phase
only (after imports and file reading; C is the process's CPU time over that phase).

The bodies are the canonical bytes fanout stores and sends (as bare_loop.py's), so the three
clients of bench/ceiling.py send the same requests. No httpx, no anyio, no state, no limiter,
no retries: what one Python process can do with aiohttp alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections.abc import Callable, Iterator

import aiohttp

from jobs import Defaults, Job, JobFile, encode_body

JSON = {"content-type": "application/json"}
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


async def main(url: str, path: str, concurrency: int) -> None:
    base = url.rstrip("/")
    bodies = [
        (base + j.endpoint.removeprefix("/v1"), encode_body(j.body).encode())
        for j in JobFile(path, Defaults(model=MODEL))
        if isinstance(j, Job)
    ]
    todo: Iterator[tuple[str, bytes]] = iter(bodies)  # the queue: every worker takes the next
    errors = 0
    latencies: list[float] = []
    starts: list[float] = []  # when each timed post began, from the start of the send phase

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for endpoint, body in todo:
            sent = time.perf_counter()
            async with session.post(endpoint, data=body, headers=JSON) as resp:
                await resp.json()
            latencies.append(time.perf_counter() - sent)
            starts.append(sent - start)
            if resp.status != 200:
                errors += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        cpu0 = _cpu()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
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


def _loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("jobs_file")
    parser.add_argument("concurrency", type=int)
    parser.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=_loop_factory(args.loop)) as runner:
        runner.run(main(args.url, args.jobs_file, args.concurrency))
