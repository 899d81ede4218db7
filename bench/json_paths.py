"""JSON by hand or by orjson (issue 11): microseconds per call of each JSON path fanout
writes out itself, against orjson doing the same, on the lines the other benches use.

- decoding: a short job line (`write_jobs`), a Batch API job line with a system prompt, an
  eval-set item (bench/scoring.py's) with `jobs.load_json`; a result line (bench/scoring.py's)
  with `evals._results.parse_result_line`. Each against the `json` decoder it stood on
  alone and bare ``orjson.loads`` (which differs from `json` on big integers and deep
  nesting: `jobs.quick_json` is orjson behind a check for both);
- a response body checked for JSON (`runner._engine._as_json_text`) against orjson;
- encoding: `jobs.encode_body` (orjson behind a check) against the ``json.dumps`` it
  stood on and bare ``orjson.dumps(body, option=OPT_SORT_KEYS)`` (its own notation of
  small floats and NaN); where orjson's bytes differ (no spaces, no ASCII escapes):
  `ResultLine.to_json` against ``orjson.dumps`` with the body as an ``orjson.Fragment``,
  `evals._results._item_text` against ``orjson.dumps(_item_json(r))``.

``json_us`` is the `json` code the path stood on before issue 11 (or stands on), ``now_us``
the path as it is, ``orjson_us`` bare orjson.

Best of 5 repeats; prints one JSON object per path.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from _common import MODEL, REPLY, ROOT

sys.path.insert(0, str(ROOT))

import scoring  # noqa: E402

from evals._results import ItemResult, _item_json, _item_text, parse_result_line  # noqa: E402
from jobs import Defaults, ResultLine, encode_body, load_json, parse_line  # noqa: E402
from jobs._format import _STRICT  # noqa: E402
from runner._engine import _as_json_text  # noqa: E402


def _us(fn: Callable[[], object], number: int) -> float:
    return round(min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6, 3)


def _fail(reason: str) -> ValueError:
    return ValueError(reason)


def measure(number: int = 100_000) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        evalset, results = scoring.build(Path(tmp), 6)
        item_line = evalset.read_text().splitlines()[0]
        result_line = results.read_bytes().splitlines(keepends=True)[1]
    short = json.dumps(
        {
            "custom_id": "b-12345",
            "messages": [{"role": "user", "content": "Benchmark question 12345?"}],
            "max_tokens": 16,
        }
    )
    batch = json.dumps(
        {
            "custom_id": "req-12345",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": MODEL,
                "messages": [
                    {"role": "system", "content": "You are a careful assistant. " * 10},
                    {"role": "user", "content": "Explain the theory of relativity. " * 5},
                ],
                "max_tokens": 256,
                "temperature": 0.7,
                "top_p": 0.9,
            },
        }
    )
    rows: list[dict[str, Any]] = []

    def row(path: str, size: int, **timings: float) -> None:
        rows.append({"path": path, "bytes": size, **timings})
        print(json.dumps(rows[-1]), flush=True)

    for name, text in (("job line", short), ("Batch job line", batch), ("eval item", item_line)):
        row(
            f"load_json, {name}",
            len(text),
            json_us=_us(lambda t=text: _STRICT.decode(t.rstrip("\r\n")), number),
            now_us=_us(lambda t=text: load_json(t, _fail), number),
            orjson_us=_us(lambda t=text: orjson.loads(t), number),
        )
    row(
        "parse_result_line",
        len(result_line),
        json_us=_us(lambda: json.loads(result_line), number),
        now_us=_us(lambda: parse_result_line("f", 1, result_line), number),
        orjson_us=_us(lambda: orjson.loads(result_line), number),
    )
    body = REPLY.encode()
    row(
        "_as_json_text (engine)",
        len(body),
        json_us=_us(lambda: _as_json_text(body), number),
        orjson_us=_us(lambda: (orjson.loads(body), body.decode()), number),
    )
    line = ResultLine("fanout-1-12345", "b-12345", 200, "sim-248565c1-9c41", REPLY)

    def by_orjson() -> bytes:
        response = {
            "status_code": line.status_code,
            "request_id": line.request_id,
            "body": orjson.Fragment(line.body_json or ""),
        }
        return orjson.dumps(
            {"id": line.id, "custom_id": line.custom_id, "response": response, "error": None}
        )

    row(
        "ResultLine.to_json (other bytes with orjson)",
        len(line.to_json()),
        now_us=_us(line.to_json, number),
        orjson_us=_us(lambda: by_orjson().decode(), number),
    )
    r = ItemResult("arithmetic-000-1", "correct", "43", True, 1.0, "43 = 43", samples=1)
    row(
        "_item_text (other bytes with orjson)",
        len(_item_text(r)),
        now_us=_us(lambda: _item_text(r), number),
        json_us=_us(lambda: json.dumps(_item_json(r)), number),
        orjson_us=_us(lambda: orjson.dumps(_item_json(r)).decode(), number),
    )
    for name, text in (("job line", short), ("Batch job line", batch)):
        job_body = parse_line("f", 1, text, Defaults(model=MODEL)).body
        row(
            f"encode_body, {name} (other bytes with bare orjson)",
            len(encode_body(job_body)),
            json_us=_us(
                lambda b=job_body: json.dumps(
                    b, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                ),
                number,
            ),
            now_us=_us(lambda b=job_body: encode_body(b), number),
            orjson_us=_us(
                lambda b=job_body: orjson.dumps(b, option=orjson.OPT_SORT_KEYS).decode(), number
            ),
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=100_000, help="calls per repeat")
    measure(parser.parse_args().number)


if __name__ == "__main__":
    main()
