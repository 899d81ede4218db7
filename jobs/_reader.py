"""Stream a job file: one `Job` or `LineError` per non-blank line, never the whole file.

The reader hashes the bytes it reads, so the same pass that validates a file also yields
the digest that identifies it for resume (`JobFile.sha256` once iteration has finished).

`read_lines` is the byte-level half, shared with the eval-set reader: it splits a JSONL
file into decoded lines and turns what cannot be text into a `LineError` naming the line:

- a line longer than `MAX_LINE_BYTES` is measured and skipped in chunks, never held whole
  (a JSON array written on one line would otherwise load a whole file into memory);
- a UTF-16 file (byte order mark ``FF FE`` or ``FE FF``) and a NUL byte (UTF-16 without a
  mark, or a binary file) are named as such, once, and end the reading; invalid UTF-8 is
  an error on its line;
- a UTF-8 byte order mark on line 1, CRLF line endings and blank lines are accepted;
- a file with no line at all is an error on line 1: an empty job file is nearly always the
  wrong file, and running it would "succeed" having done nothing.

Each good line comes with whether it ended in a newline, so that invalid JSON on a last,
unterminated line can say the file looks cut off (`Line.explain`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ._format import Defaults, Job, LineError, parse_line

__all__ = ["MAX_LINE_BYTES", "JobFile", "Line", "file_sha256", "read_lines"]

_CHUNK = 1 << 20
# The longest line read: 32 MiB. No documented Together limit is smaller (a Batch file may
# hold 100 MB), and a chat line with inline base64 images can run to several MB, so a
# 10 MB line is read and run; past this, the file is almost surely not JSONL.
MAX_LINE_BYTES = 32 << 20
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line of a JSONL file, decoded (without its UTF-8 byte order mark)."""

    no: int
    text: str
    ended: bool  # False for a last line with no newline: the file may have been cut off

    def explain(self, err: LineError) -> LineError:
        """``err``, with a hint when it is invalid JSON on an unterminated last line."""
        if self.ended or not err.reason.startswith("invalid JSON"):
            return err
        hint = "; the file ends inside this line (was it cut off?)"
        return LineError(err.path, err.line_no, err.reason + hint)


def read_lines(
    path: str | Path,
    *,
    noun: str,
    digest: Any | None = None,
    start: int = 0,
    end: int | None = None,
    lines_before: int = 0,
) -> Iterator[Line | LineError]:
    """Yield a `Line` per non-blank line, or a `LineError` for a line that is not text.

    ``noun`` names what the file holds ("jobs", "items") for the empty-file error;
    ``digest`` (a hashlib object), if given, is fed every byte read.

    ``start`` and ``end`` read the lines in that byte range only (both just after a
    newline, or the file's ends), the first numbered ``lines_before + 1``: a part of the
    file, for a reader that splits it (evals/_parallel.py). The checks of a whole file
    (byte order marks on line 1, no line at all) apply to a read from its start.
    """
    name = str(path)
    limit = MAX_LINE_BYTES  # read at call time, so a test can lower it
    line_no = lines_before
    at = start  # the byte the next line starts at
    found = start > 0  # any non-blank line yet (a later part is never the "empty file")
    with Path(path).open("rb") as fh:
        if start:
            fh.seek(start)
        while (end is None or at < end) and (raw := fh.readline(limit + 1)):
            line_no += 1
            at += len(raw)
            if digest is not None:
                digest.update(raw)
            if len(raw) > limit and not raw.endswith(b"\n"):
                skipped = _skip_line(fh, digest)
                at += skipped
                size = len(raw) + skipped
                found = True
                yield LineError(
                    name,
                    line_no,
                    f"the line is {size:,} bytes long; a line may be at most {limit:,} bytes "
                    "(is the file JSONL, one JSON object a line?)",
                )
                continue
            if not raw.strip():
                continue
            found = True
            if line_no == 1 and raw.startswith(_UTF16_MARKS):
                yield LineError(
                    name,
                    1,
                    "the file is UTF-16 (it starts with a UTF-16 byte order mark); "
                    "save it as UTF-8",
                )
                _skip_rest(fh, digest)
                return
            nul = raw.find(b"\x00")
            if nul >= 0:  # no JSON text has one; every later line would be garbage too
                yield LineError(
                    name,
                    line_no,
                    f"NUL byte at byte {nul + 1} of the line: the file is not UTF-8 text "
                    "(UTF-16, or binary?)",
                )
                _skip_rest(fh, digest)
                return
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield LineError(
                    name,
                    line_no,
                    f"not valid UTF-8 at byte {exc.start + 1} of the line "
                    f"(0x{raw[exc.start]:02x}); save the file as UTF-8",
                )
                continue
            if line_no == 1 and text.startswith("\ufeff"):
                text = text[1:]
                if not text.strip():  # a byte order mark and nothing else
                    found = False
                    continue
            yield Line(line_no, text, raw.endswith(b"\n"))
    if not found:
        why = "it is empty" if line_no == 0 else "it has only blank lines"
        yield LineError(name, 1, f"the file has no {noun} ({why})")


def _skip_line(fh: IO[bytes], digest: Any | None) -> int:
    """Read past the rest of an over-long line in chunks; return how many bytes it had."""
    skipped = 0
    while chunk := fh.readline(_CHUNK):
        skipped += len(chunk)
        if digest is not None:
            digest.update(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def _skip_rest(fh: IO[bytes], digest: Any | None) -> None:
    while chunk := fh.read(_CHUNK):
        if digest is not None:
            digest.update(chunk)


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
        for line in read_lines(self.path, noun="jobs", digest=digest):
            if isinstance(line, LineError):
                yield line
                continue
            try:
                yield parse_line(name, line.no, line.text, self.defaults)
            except LineError as err:
                yield line.explain(err)
        self._sha256 = digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    """Digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
