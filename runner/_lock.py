"""One `fanout run` per state file at a time.

Two processes working on the same run would both send its pending jobs and pay twice, so
`fanout run` holds an exclusive advisory lock (``flock``) on ``<db>.lock`` for as long as it
runs. The kernel drops the lock when the process dies, however it dies, so a killed run never
leaves a stale lock behind. Readers (`fanout status`, `fanout export`) take no lock: SQLite's
WAL lets them read while the run writes.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ._exceptions import StateError, UsageError

__all__ = ["StateLock"]


class StateLock:
    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(f"{db_path}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateError(f"cannot create lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise UsageError(
                f"another fanout run (pid {holder}) is using {str(self.path)[:-5]}; wait for it "
                "to finish or stop it (Ctrl-C), or use another --db"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
