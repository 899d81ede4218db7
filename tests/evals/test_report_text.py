"""The report's words and numbers as written (the browser test renders them): money is
written one way in the report and the text table, a figure keeps its method beside it, and
the figures keep their text inside their drawing by the width estimate."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from evals import EvalItem, format_table
from evals._report import text_width, write_report
from evals._results import ModelScore, score_results
from evals._table import money

LONG = "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo"


@pytest.mark.parametrize(
    ("dollars", "shown"),
    [
        (None, "-"),
        (math.nan, "-"),
        (0.0, "$0"),
        (1234.5, "$1,234.50"),
        (1.0, "$1.00"),
        (0.41, "$0.41"),
        (0.5, "$0.50"),
        (0.0714, "$0.071"),
        (0.0999, "$0.10"),
        (0.0027, "$0.0027"),
        (0.0000621, "$0.000062"),
        (0.00000149, "$0.0000015"),
        (0.0000001, "<$0.000001"),
    ],
)
def test_money_is_written_without_exponents(dollars: float | None, shown: str) -> None:
    assert money(dollars) == shown


def scored(model: str, right: int, n: int = 20) -> ModelScore:
    items = {f"q{i}": EvalItem(id=f"q{i}", target=i, input="?") for i in range(n)}
    lines: list[dict[str, Any]] = [
        {
            "custom_id": f"q{i}",
            "response": {
                "status_code": 200,
                "body": {
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"content": f"Answer: {i if i < right else -1}"},
                        }
                    ],
                    "usage": {"prompt_tokens": 30, "completion_tokens": 7},
                },
            },
            "error": None,
        }
        for i in range(n)
    ]
    s = score_results(lines, items, label=model)
    s.price = (0.18, 0.18)
    return s


def test_cost_per_1k_correct_in_the_table_and_the_report(tmp_path: Path) -> None:
    s = scored(LONG, 12)
    cost = s.cost()
    assert cost is not None and math.isclose(cost, 20 * 37 * 0.18 / 1e6)
    per_1k = money(1000 * cost / 12)  # $0.011
    table = format_table([s])
    assert "$/1k correct" in table and per_1k in table and "e-0" not in table
    write_report([s], tmp_path / "r.html", title="t")
    md = (tmp_path / "r.md").read_text()
    assert f"| {money(cost)} | {per_1k} |" in md
    page = (tmp_path / "r.html").read_text()
    assert per_1k in page and "cost per 1k correct" in page


def test_a_long_name_is_whole_in_the_figure_and_breaks_only_after_its_slash(
    tmp_path: Path,
) -> None:
    a, b = scored(LONG, 12), scored("Qwen/Qwen3-235B-A22B-Thinking-2507", 18)
    page = write_report([a, b], tmp_path / "r.html", title="t").read_text()
    # In the figure without its org (the rest tells the models apart), never cut.
    assert ">Meta-Llama-3.1-405B-Instruct-Turbo</text>" in page
    # In the tables: a line may break after "meta-llama/", nowhere else.
    assert (
        '<span class="nw">meta-llama/</span><wbr><span class="nw">'
        "Meta-Llama-3.1-405B-Instruct-Turbo</span>"
    ) in page
    # A figure's method sits under it in HTML, beside it in Markdown.
    assert '<span class="how nw">wilson</span>' in page
    assert "(wilson)" in (tmp_path / "r.md").read_text()


def test_the_width_estimate_errs_wide() -> None:
    """DejaVu Sans advance widths (em), as Chromium measured them: the estimate is never
    narrower, for the widest glyph of each kind."""
    dejavu = {"M": 0.863, "W": 0.989, "m": 0.974, "w": 0.818, "Q": 0.787, "o": 0.612}
    dejavu |= {"0": 0.636, "-": 0.361, "/": 0.337, " ": 0.318, "r": 0.411, "{": 0.636}
    dejavu |= {"%": 0.950, "@": 1.0, "#": 0.838, "&": 0.780, "+": 0.838, "…": 1.0}
    for ch, em in dejavu.items():
        assert text_width(ch, 10) >= 10 * em, ch
