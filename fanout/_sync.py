"""The blocking forms of the API: one event loop per call, refused inside a running one.

``anyio.run`` inside a running loop fails with "Already running asyncio in this thread",
which tells a notebook user nothing; `run_sync` says which ``await`` to write instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from runner import UsageError

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(
    name: str,
    async_name: str,
    make: Callable[[], Awaitable[T]],
    backend_options: dict[str, Any] | None = None,
) -> T:
    """``await make()`` on a new asyncio loop; `UsageError` if a loop already runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise UsageError(
            f"fanout.{name}() was called inside a running event loop (Jupyter, an async "
            f"app): write `await fanout.{async_name}(...)` there instead"
        )

    async def main() -> T:
        return await make()

    return anyio.run(main, backend="asyncio", backend_options=backend_options or {})
