"""The baseline: the chosen transport with no state, no limiter, no retries.

``python bench/bare_loop.py URL JOBS_FILE CONCURRENCY [httpx|aiohttp]`` sends every job of
JOBS_FILE with CONCURRENCY workers and prints ``{"jobs": N, "seconds": S}`` (send phase
only, after imports and file reading), so fanout's figure can be put next to it.
"""

from __future__ import annotations

import json
import sys
import time

import anyio
import httpx
from httpx_aiohttp import AiohttpTransport

from jobs import Defaults, Job, JobFile


async def main(url: str, path: str, concurrency: int, transport: str) -> None:
    bodies = [
        (j.endpoint.removeprefix("/v1"), j.body)
        for j in JobFile(path, Defaults(model="meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"))
        if isinstance(j, Job)
    ]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    kwargs: dict[str, object] = {"limits": limits, "timeout": 60}
    if transport == "aiohttp":
        kwargs["transport"] = AiohttpTransport()
    send, receive = anyio.create_memory_object_stream[tuple[str, dict[str, object]]](concurrency)
    errors = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        async with receive.clone() as items:
            async for endpoint, body in items:
                r = await client.post(endpoint, json=body)
                r.json()
                if r.status_code != 200:
                    errors += 1

    async with httpx.AsyncClient(base_url=url, **kwargs) as client:  # type: ignore[arg-type]
        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker, client)
            async with send:
                for item in bodies:
                    await send.send(item)
            receive.close()
        seconds = time.perf_counter() - start
    print(json.dumps({"jobs": len(bodies), "seconds": seconds, "errors": errors}))


if __name__ == "__main__":
    url, path, conc = sys.argv[1], sys.argv[2], int(sys.argv[3])
    anyio.run(main, url, path, conc, sys.argv[4] if len(sys.argv) > 4 else "aiohttp")
