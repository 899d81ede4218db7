"""Result lines in the Batch API output format (OpenAI's and Together's).

::

    {"id": "...", "custom_id": "req-1",
     "response": {"status_code": 200, "request_id": "...", "body": {<chat.completion>}},
     "error": null}
    {"id": "...", "custom_id": "req-2", "response": null,
     "error": {"code": "rate_limit_exhausted", "message": "..."}}

A job that failed with an HTTP answer keeps that answer in ``response`` (its status and
error body, as OpenAI's batch error file does) and says why in ``error``. Response bodies are
stored as the server's JSON text and spliced in as-is, so writing a million lines does not
parse a million bodies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["ResultLine"]


@dataclass(frozen=True, slots=True)
class ResultLine:
    id: str
    custom_id: str
    status_code: int | None = None
    request_id: str | None = None
    body_json: str | None = None  # the response body exactly as received (JSON text)
    error_code: str | None = None
    error_message: str | None = None

    def to_json(self) -> str:
        """The line, spaced as ``json.dumps`` spaces it, the body spliced in as stored.

        Kept by hand, not orjson (issue 11, bench/RESULTS.md): ``orjson.dumps`` with the body
        as an ``orjson.Fragment`` takes 0.48 µs a line against 0.90 µs here, and a rerun
        exporting 500,000 results took 3.9 / 4.1 s with it against 4.5 / 4.3 s (same run);
        but it writes other bytes than the format of docs/formats.md (no space after ``:``
        and ``,``, non-ASCII ids as UTF-8 instead of ``\\u`` escapes).
        """
        if self.status_code is not None and self.body_json is not None:
            response = (
                f'{{"status_code": {self.status_code}, '
                f'"request_id": {json.dumps(self.request_id)}, "body": {self.body_json}}}'
            )
        else:
            response = "null"
        if self.error_code is not None:
            error = json.dumps({"code": self.error_code, "message": self.error_message or ""})
        else:
            error = "null"
        return (
            f'{{"id": {json.dumps(self.id)}, "custom_id": {json.dumps(self.custom_id)}, '
            f'"response": {response}, "error": {error}}}'
        )
