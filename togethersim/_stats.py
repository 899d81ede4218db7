"""What the simulator has seen and answered, readable from any thread.

The point is to let a test prove a client neither lost nor repeated work: every 200 answer
to an inference request is counted under its request :func:`signature`, so a signature
answered twice means the client sent (and the server completed) the same request twice.

Outcome keys in ``by_status`` are HTTP status codes as strings (``"200"``, ``"429"``...) plus
``"reset"`` (connection reset, no response), ``"truncate"`` (body cut short),
``"stream-cut"``, ``"stream-error"``, ``"stream-no-done"`` (a stream spoiled that way) and
``"abandoned"`` (the client hung up before the answer was sent, e.g. after its timeout).
Overload rejections (``SimConfig.overload_concurrency``) count under ``"503"``. Only a
``"200"`` counts as an answer in ``answered``.

``by_fault`` counts the faults injected (drawn or forced), by their ``x-sim-fault`` name,
when they take effect: a ``slow`` answer still ends as a ``"200"``, a stream fault drawn
for a request that does not stream is not injected, and a request refused by the limiter
or by overload never gets its fault. Requests to ``/sim/*`` are not counted.
"""

from __future__ import annotations

import threading
from typing import Any


class SimStats:
    """Counters behind a lock: the server thread writes, any thread reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0  # requests received, whatever became of them
        self._by_status: dict[str, int] = {}  # outcome key -> count
        self._by_fault: dict[str, int] = {}  # injected fault name -> count
        self._answered: dict[str, int] = {}  # signature -> number of 200 answers sent
        self._duplicates = 0  # signatures whose count is >= 2
        self._extra_answers = 0  # sum over signatures of (count - 1)

    def received(self) -> None:
        with self._lock:
            self._requests += 1

    def outcome(self, key: str, signature: str | None = None) -> None:
        """Record how a request ended; ``signature`` is given for a 200 inference answer."""
        with self._lock:
            self._by_status[key] = self._by_status.get(key, 0) + 1
            if signature is not None:
                count = self._answered.get(signature, 0) + 1
                self._answered[signature] = count
                if count >= 2:
                    self._extra_answers += 1
                    if count == 2:
                        self._duplicates += 1

    def fault(self, name: str) -> None:
        """Record that fault ``name`` was injected into a request."""
        with self._lock:
            self._by_fault[name] = self._by_fault.get(name, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "by_status": dict(self._by_status),
                "by_fault": dict(self._by_fault),
                "answered": dict(self._answered),
                "duplicates": self._duplicates,
                "extra_answers": self._extra_answers,
            }

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._by_status.clear()
            self._by_fault.clear()
            self._answered.clear()
            self._duplicates = 0
            self._extra_answers = 0

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"SimStats(requests={self._requests}, by_status={self._by_status}, "
                f"by_fault={self._by_fault}, signatures={len(self._answered)}, "
                f"duplicates={self._duplicates})"
            )
