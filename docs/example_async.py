"""The same as example.py inside a running event loop (Jupyter, an async app): await the
``a`` forms. In a notebook cell, write the body of main() with top-level ``await``.
"""

import asyncio

import fanout


async def main() -> None:
    jobs = [{"custom_id": f"q{i}", "prompt": f"Once upon a time, {i}"} for i in range(1000)]
    run = await fanout.arun_batch(jobs, model="meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
                                  sim=True)
    print(f"run {run.id}: {run.counts.succeeded} of {run.counts.total} succeeded")
    ev = await fanout.aevaluate("logic", ["Qwen/Qwen3-235B-A22B-Instruct-2507-tput",
                                          "Qwen/Qwen3-235B-A22B-Thinking-2507"], sim=True)
    for s in ev.scores:
        print(f"{s.model}: {s.accuracy().mean:.1%} on {s.n} items")


asyncio.run(main())
