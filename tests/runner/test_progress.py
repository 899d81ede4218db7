"""The progress line fits the terminal, dropping fields by priority."""

from __future__ import annotations

from runner._engine import RunStats
from runner._progress import Progress


def _line(columns: int, *, total: int = 3000, cost: float | None = 1.5) -> str:
    stats = RunStats(requests=900, retries=12, rate_limited=3, succeeded=880, failed=2)
    progress = Progress(
        total=total,
        done=0,
        stats=stats,
        enabled=False,
        cost=lambda: cost,
        columns=lambda: columns,
    )
    return progress._fit(
        ["fail=2", "429=3", "$1.50", "1,800 req/min", "250,000 tok/min", "retry=12"]
    )


def test_at_80_columns_the_most_important_fields_stay() -> None:
    line = _line(80)
    assert line == "fail=2, 429=3, $1.50"


def test_a_wide_terminal_shows_every_field() -> None:
    assert _line(200) == "fail=2, 429=3, $1.50, 1,800 req/min, 250,000 tok/min, retry=12"


def test_the_fields_kept_never_pass_the_room_left() -> None:
    for columns in range(40, 200, 7):
        kept = _line(columns)
        fixed = len("fanout: 100%|") + 5 + len("| 3000/3000 [00:00<00:00, 9999.99job/s, ]")
        assert len(kept) <= max(0, columns - fixed - 1)


def test_live_cost_adds_earlier_sessions_and_this_one_at_the_catalogs_prices() -> None:
    from runner import Catalog
    from runner._run import _live_cost

    catalog = Catalog.load()
    llama = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"  # 0.18 / 0.18 per 1M
    qwen = "Qwen/Qwen3-235B-A22B-Thinking-2507"  # 0.65 / 3.00 per 1M
    stats = RunStats()
    cost = _live_cost(catalog, stats, lambda: {llama: (1_000_000, 0)})
    assert cost() == 0.18
    stats.tokens_by_model[qwen] = [1_000_000, 1_000_000]
    stats.tokens_by_model[llama] = [0, 1_000_000]
    assert abs(cost() - (0.18 + 0.18 + 0.65 + 3.00)) < 1e-9  # type: ignore[operator]
    stats.tokens_by_model["nobody/unpriced"] = [10, 10]
    assert cost() is None
