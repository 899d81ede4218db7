"""The blocking forms of the API: one event loop per call, refused inside a running one.

``anyio.run`` inside a running loop fails with "Already running asyncio in this thread",
which tells a notebook user nothing; a blocking form says which ``await`` to write instead.
`blocking` makes one from an async function, with the same signature (so ``help()``, IDEs
and mypy see every keyword), running it on a new loop chosen by its ``loop`` keyword, with
Ctrl-C and SIGTERM turned into a graceful stop when called from the main thread.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio

from runner import UsageError, backend_options

__all__ = ["blocking"]

P = ParamSpec("P")
T = TypeVar("T")


def blocking(async_fn: Callable[P, Awaitable[T]], name: str, doc: str) -> Callable[P, T]:
    """``name``: ``async_fn`` run to completion on a new event loop (see the module)."""

    @functools.wraps(async_fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise UsageError(
                f"fanout.{name}() was called inside a running event loop (Jupyter, an async "
                f"app): write `await fanout.{async_fn.__name__}(...)` there instead"
            )
        if threading.current_thread() is threading.main_thread():
            kwargs.setdefault("_handle_signals", True)
        options = backend_options(kwargs.get("loop"))  # type: ignore[arg-type]

        async def main() -> T:
            return await async_fn(*args, **kwargs)

        return anyio.run(main, backend="asyncio", backend_options=options)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc
    return run
