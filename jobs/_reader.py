"""Stream a job file: one `Job` or `LineError` per non-blank line, never the whole file.

The reader hashes the bytes it reads, so the same pass that validates a file also yields
the digest that identifies it for resume (`JobFile.sha256` once iteration has finished).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from ._format import Defaults, Job, LineError, parse_line

__all__ = ["JobFile", "file_sha256"]

_CHUNK = 1 << 20


class JobFile:
    """A job file on disk, read lazily.

    Iterating yields, in line order, a `Job` for each good line and a `LineError` for each
    bad one (the caller decides whether to stop at the first or gather several).
    """

    def __init__(self, path: str | Path, defaults: Defaults | None = None) -> None:
        self.path = Path(path)
        self.defaults = defaults or Defaults()
        self._sha256: str | None = None

    @property
    def sha256(self) -> str:
        """Digest of the file's bytes; known after one full iteration."""
        if self._sha256 is None:
            raise RuntimeError("sha256 is known only after the file has been read through")
        return self._sha256

    def __iter__(self) -> Iterator[Job | LineError]:
        name = str(self.path)
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            for line_no, raw in enumerate(fh, start=1):
                digest.update(raw)
                if not raw.strip():
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield LineError(name, line_no, f"not valid UTF-8 (byte {exc.start + 1})")
                    continue
                if line_no == 1 and text.startswith("\ufeff"):
                    text = text[1:]
                try:
                    yield parse_line(name, line_no, text, self.defaults)
                except LineError as err:
                    yield err
        self._sha256 = digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    """Digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
