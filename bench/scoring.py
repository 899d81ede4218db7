"""Scoring speed: results scored per second by ``fanout score`` (extraction + scorer + stats).

Builds an eval set of N items over the six bundled tasks (ids made unique) and a Batch
output file answering each, half with reasoning models' think blocks, then times
``fanout score RESULTS --evalset SET --json`` as a whole process (start-up included) and
the in-process scoring loop alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import FANOUT, ROOT, run_child


def build(tmp: Path, n: int) -> tuple[Path, Path]:
    base = [json.loads(x) for x in (ROOT / "jobs/evals/mixed.jsonl").read_text().splitlines()]
    evalset, results = tmp / "set.jsonl", tmp / "results.jsonl"
    with evalset.open("w") as fe, results.open("w") as fr:
        for i in range(n):
            item = dict(base[i % len(base)])
            item["id"] = f"{item['id']}-{i}"
            fe.write(json.dumps(item) + "\n")
            target = item["target"]
            answer = f"Answer: {target}" if i % 3 else "Answer: 0"
            if item.get("choices"):
                answer = f"ANSWER: ${target}$"
            content = (
                f"<think>\nworking it out step by step {i}\n</think>\n\n{answer}"
                if i % 2
                else answer
            )
            body: dict[str, Any] = {
                "model": "deepseek-ai/DeepSeek-R1",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 50, "completion_tokens": 40, "total_tokens": 90},
            }
            line = {
                "id": f"b-{i}",
                "custom_id": item["id"],
                "response": {"status_code": 200, "request_id": "r", "body": body},
                "error": None,
            }
            fr.write(json.dumps(line) + "\n")
    return evalset, results


def measure(n: int = 100_000) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from evals import read_evalset
    from evals._results import read_result_lines, score_results

    with tempfile.TemporaryDirectory() as tmp_name:
        evalset, results = build(Path(tmp_name), n)
        child = run_child([*FANOUT, "score", str(results), "--evalset", str(evalset), "--json"])
        if child.returncode != 0:
            raise RuntimeError(child.stderr[-2000:])
        items = {i.id: i for i in read_evalset(evalset)}
        start = time.perf_counter()
        score = score_results(read_result_lines(results), items, label="bench")
        score.accuracy()
        loop = time.perf_counter() - start
    return {
        "items": n,
        "process_s": round(child.seconds, 2),
        "process_items_per_s": round(n / child.seconds),
        "loop_s": round(loop, 2),
        "loop_items_per_s": round(n / loop),
        "peak_rss_mb": round(child.max_rss_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    print(json.dumps(measure(parser.parse_args().items)))


if __name__ == "__main__":
    main()
