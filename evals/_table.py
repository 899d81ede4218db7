"""The plain-text comparison table that ``fanout eval``, ``score`` and ``compare`` print.

One row per model (accuracy with its interval and how it was made, truncated / unparsed /
errors, tokens, latency, cost and the cost of 1,000 correct answers), then the paired line
of every model against the first: the difference, its interval and the test that interval
inverts (McNemar's score test for 0/1 scores, so "interval excludes 0" and "p < 0.05"
always agree; the exact p beside it), then, when the results have them, the validity rate,
pass@k with the majority vote, and calibration.
"""

from __future__ import annotations

import math

from ._results import Comparison, ModelScore, compare
from ._stats import Estimate, describe

__all__ = ["format_table"]


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def money(x: float | None) -> str:
    """Dollars as a person reads them, never with an exponent: cents from $1 up
    (``$1,234.50``), two significant digits below (``$0.41``, ``$0.0027``, ``$0.000062``),
    ``<$0.000001`` for less than a millionth. The report and this table both write money so.
    """
    if x is None or math.isnan(x):
        return "-"
    if x == 0:
        return "$0"
    if x >= 1:
        return f"${x:,.2f}"
    if x < 1e-6:
        return "<$0.000001"
    magnitude = math.floor(math.log10(x))
    decimals = max(2, 1 - magnitude)
    if decimals > 2 and round(x, decimals) >= 10 ** (magnitude + 1):
        decimals -= 1  # 0.0999 rounds up to 0.10, not 0.100
    return f"${x:.{decimals}f}"


def per_1k_correct(s: ModelScore) -> str:
    """The cost per correct answer, times 1,000: "$0.062" rather than "$0.000062"."""
    cost = s.cost_per_correct()
    return money(None if cost is None else 1000 * cost)


def _n(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:,.0f}"


def format_table(scores: list[ModelScore]) -> str:
    """The comparison as a plain-text table, then the paired tests against the first model."""
    head = [
        "model",
        "n",
        "accuracy (95% CI)",
        "interval",
        "trunc",
        "unparsed",
        "errors",
        "out tok",
        "reasoning tok",
        "latency p50/p95 ms",
        "cost",
        "$/1k correct",
    ]
    rows = []
    for s in scores:
        acc = s.accuracy()
        lat = s.latency()
        reasoning = s.tokens("reasoning_tokens")
        est = "~" if any(r.reasoning_estimated for r in s.items) else ""
        rows.append(
            [
                s.model,
                str(s.n),
                f"{_pct(acc.mean)} [{_pct(acc.ci_low)}, {_pct(acc.ci_high)}]",
                describe(acc),
                str(s.count("truncated")),
                str(s.count("unparsed")),
                str(s.count("error") + s.count("missing")),
                _n(s.tokens("tokens_out").mean),
                est + _n(reasoning.mean) if reasoning.n else "-",
                f"{_n(lat.p50)}/{_n(lat.p95)}" if lat.n else "-",
                money(s.cost()),
                per_1k_correct(s),
            ]
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    out = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]
    for other in scores[1:]:
        out.append("\n" + paired_line(compare(scores[0], other)))
    extra = [line for s in scores for line in _extra_lines(s)]
    if extra:
        out.append("")
        out += extra
    return "\n".join(out)


def points(x: float) -> str:
    """A difference in percentage points, signed; a bound that one decimal would show as
    0.0 keeps its first significant digits (it is past 0 when the test rejects)."""
    if math.isnan(x):
        return "-"
    shown = f"{100 * x:+.1f}"
    if x != 0 and shown in ("+0.0", "-0.0"):
        return f"{100 * x:+.1g}"
    return shown


def paired_line(c: Comparison) -> str:
    """B minus A: the difference, its interval and the test that interval inverts."""
    p, t = c.paired, c.test
    head = (
        f"{c.b.model} - {c.a.model} on {len(c.ids)} shared items: {points(p.diff)} points "
        f"[{points(p.ci_low)}, {points(p.ci_high)}] ({describe(p)})"
    )
    if p.mcnemar is not None:
        return (
            f"{head}; McNemar b={t.b} c={t.c} p={t.p_value:.3g} "
            f"({t.method.replace('score', 'score test', 1)}, the test the interval inverts; "
            f"exact p={t.p_exact:.3g}{', unclustered' if p.clusters else ''})"
        )
    return (
        f"{head}; paired t-test p={p.p_value:.3g}; on right/wrong: McNemar b={t.b} "
        f"c={t.c} p={t.p_value:.3g}"
    )


def _interval(e: Estimate) -> str:
    return f"{_pct(e.mean)} [{_pct(e.ci_low)}, {_pct(e.ci_high)}]"


def _dec(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.3f}"


def _extra_lines(s: ModelScore) -> list[str]:
    """Validity, samples and calibration of one model, when its results have them."""
    lines = []
    validity = s.validity()
    if validity is not None:
        valid = round(validity.mean * validity.n)
        lines.append(
            f"{s.model}: JSON Schema validity {valid}/{validity.n} = {_interval(validity)}"
        )
    passes = s.pass_at()
    majority = s.majority()
    if passes and majority is not None:
        shown = ", ".join(f"pass@{k} {_interval(e)}" for k, e in passes.items())
        lines.append(
            f"{s.model}: {s.max_samples} samples: {shown}; majority vote {_interval(majority)} "
            "(accuracy above: sample 0)"
        )
    cal = s.calibration()
    if cal is not None and not cal.n:
        lines.append(
            f"{s.model}: calibration: no answer was found among the tokens of its reply "
            f"({cal.without} answers)"
        )
    elif cal is not None:
        lines.append(
            f"{s.model}: calibration on {cal.n} answers ({cal.without} without a confidence): "
            f"ECE {_dec(cal.ece)}, Brier {_dec(cal.brier)}"
        )
    return lines
