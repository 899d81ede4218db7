"""A small round of bench/torture.py: random SIGKILLs under faults and rate limits.

The bench runs 5,000 jobs and 10 kills for the record (bench/RESULTS.md); this round
(1,200 jobs, 3 kills) runs in the suite so a regression in crash safety fails CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import torture  # noqa: E402


def test_random_kills_under_faults_lose_nothing_and_resend_at_most_the_window(
    tmp_path: Path,
) -> None:
    result = torture.torture(1200, 3, seed=7, concurrency=16, tmp=tmp_path)
    # torture() itself asserts one line per job in order, each success its own reply, and
    # the state file's integrity after every kill; what is left is what kills cost.
    assert result["failed_for_good"] == 0, result
    assert len(result["answered_twice_per_kill"]) == 3
    assert result["worst_kill_within_window"], result
    for fault in ("500", "503", "reset", "truncate", "abandoned"):  # abandoned: timed out
        assert result["by_status"].get(fault, 0) > 0, (fault, result["by_status"])
    print(f"\ntorture: {result}")
