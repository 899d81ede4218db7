"""A self-contained report: one HTML file (inline CSS and SVG, no script, no CDN) and the
same tables in Markdown beside it.

Contents: per model accuracy with its 95% interval (a dot-and-whisker plot and a table),
truncated / unparsed / errors, tokens (output and reasoning, mean and p95), latency, cost
and cost per correct answer; accuracy by difficulty; the paired comparison of every model
against the first (difference, interval, McNemar b, c, p, overthinking).
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from ._results import ModelScore, compare

__all__ = ["write_report"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;
text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
.note{color:#a40;font-weight:600}svg text{font:12px system-ui,sans-serif}
"""


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:,.0f}"


def _money(x: float | None) -> str:
    if x is None:
        return "-"
    return f"${x:,.2f}" if x >= 1 else f"${x:.2g}" if x < 0.001 else f"${x:.4f}"


def _tables(scores: list[ModelScore]) -> list[tuple[str, list[str], list[list[str]]]]:
    main_rows = []
    for s in scores:
        acc = s.accuracy()
        out, rea, lat = s.tokens("tokens_out"), s.tokens("reasoning_tokens"), s.latency()
        est = " (estimated)" if any(r.reasoning_estimated for r in s.items) else ""
        main_rows.append(
            [
                s.model,
                str(s.n),
                str(s.correct),
                _pct(acc.mean),
                f"{_pct(acc.ci_low)} to {_pct(acc.ci_high)} ({acc.method})",
                str(s.count("wrong")),
                str(s.count("truncated")),
                str(s.count("unparsed")),
                str(s.count("error") + s.count("missing")),
                f"{_num(out.mean)} / {_num(out.p95)}",
                (f"{_num(rea.mean)} / {_num(rea.p95)}{est}" if rea.n else "-"),
                (f"{_num(lat.p50)} / {_num(lat.p95)}" if lat.n else "-"),
                _money(s.cost()),
                _money(s.cost_per_correct()),
            ]
        )
    tables = [
        (
            "Models",
            [
                "model",
                "n",
                "correct",
                "accuracy",
                "95% interval",
                "wrong",
                "truncated",
                "unparsed",
                "errors",
                "output tokens mean / p95",
                "reasoning tokens mean / p95",
                "latency ms p50 / p95",
                "cost",
                "cost per correct",
            ],
            main_rows,
        )
    ]
    order = {"easy": 0, "medium": 1, "hard": 2}
    levels = sorted(
        {k for s in scores for k in s.by("difficulty")}, key=lambda k: (order.get(k, 3), k)
    )
    tables.append(
        (
            "Accuracy by difficulty",
            ["model", *levels],
            [
                [
                    s.model,
                    *(
                        _pct(s.by("difficulty")[k].mean) if k in s.by("difficulty") else "-"
                        for k in levels
                    ),
                ]
                for s in scores
            ],
        )
    )
    groups = sorted({k for s in scores for k in s.by("group")})
    if groups != ["-"]:
        tables.append(
            (
                "Accuracy by group",
                ["group", *(s.model for s in scores)],
                [
                    [
                        g,
                        *(
                            _pct(s.by("group")[g].mean) if g in s.by("group") else "-"
                            for s in scores
                        ),
                    ]
                    for g in groups
                ],
            )
        )
    if len(scores) > 1:
        rows = []
        for other in scores[1:]:
            c = compare(scores[0], other)
            p, t = c.paired, c.test
            ot = c.overthinking()
            boot = c.bootstrap()
            rows.append(
                [
                    f"{other.model} - {scores[0].model}",
                    str(len(c.ids)),
                    f"{100 * p.diff:+.1f}",
                    f"{100 * p.ci_low:+.1f} to {100 * p.ci_high:+.1f}",
                    f"{100 * (boot['ci_low'] or 0):+.1f} to {100 * (boot['ci_high'] or 0):+.1f}",
                    str(t.b),
                    str(t.c),
                    f"{t.p_value:.3g}",
                    str(ot["items"]),
                    f"{_num(ot['a_output_tokens']['mean'] or math.nan)} / "
                    f"{_num(ot['b_output_tokens']['mean'] or math.nan)}",
                ]
            )
        tables.append(
            (
                "Paired comparison against the first model",
                [
                    "pair",
                    "shared items",
                    "difference (points)",
                    "95% interval (paired SE)",
                    "95% interval (bootstrap)",
                    "McNemar b",
                    "McNemar c",
                    "p (exact)",
                    "both right",
                    "output tokens where both right (A / B)",
                ],
                rows,
            )
        )
    return tables


def _svg(scores: list[ModelScore]) -> str:
    """Accuracy with its interval per model: a dot and a whisker on a 0-100% axis."""
    row, left, width = 28, 260, 420
    height = row * len(scores) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 60}" '
        f'height="{height}" role="img" aria-label="accuracy with 95% intervals">'
    ]
    for tick in range(0, 101, 20):
        x = left + width * tick / 100
        parts.append(f'<line x1="{x}" y1="10" x2="{x}" y2="{height - 25}" stroke="#ddd"/>')
        parts.append(f'<text x="{x}" y="{height - 8}" text-anchor="middle">{tick}%</text>')
    for i, s in enumerate(scores):
        acc = s.accuracy()
        y = 25 + i * row
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">'
            f"{html.escape(s.model[-38:])}</text>"
        )
        if math.isnan(acc.mean):
            continue
        x0, x1 = left + width * acc.ci_low, left + width * acc.ci_high
        xm = left + width * acc.mean
        parts.append(
            f'<line x1="{x0:.1f}" y1="{y}" x2="{x1:.1f}" y2="{y}" stroke="#357" stroke-width="2"/>'
        )
        parts.append(f'<circle cx="{xm:.1f}" cy="{y}" r="5" fill="#357"/>')
        parts.append(f'<text x="{x1 + 6:.1f}" y="{y + 4}">{_pct(acc.mean)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_report(
    scores: list[ModelScore], path: Path, *, title: str, simulated: bool = False
) -> Path:
    """Write ``path`` (HTML) and ``path`` with ``.md``; return the HTML path."""
    tables = _tables(scores)
    note = (
        "Simulated models: these accuracies are the simulator's stated, seeded "
        "parameters, not measurements of real models."
        if simulated
        else ""
    )
    body = [f"<h1>{html.escape(title)}</h1>"]
    if note:
        body.append(f'<p class="note">{html.escape(note)}</p>')
    body.append("<h2>Accuracy (95% interval)</h2>" + _svg(scores))
    md = [f"# {title}", ""]
    if note:
        md += [f"**{note}**", ""]
    for name, head, rows in tables:
        body.append(
            f"<h2>{html.escape(name)}</h2><table><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + "</tr>"
        )
        for r in rows:
            body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>")
        body.append("</table>")
        md += [f"## {name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        md += ["| " + " | ".join(r) + " |" for r in rows]
        md.append("")
    body.append(
        "<p>Accuracy counts every item: truncated, unparsed and failed items are not "
        "correct, and are shown apart from wrong answers. Intervals: Wilson, or "
        "clustered standard errors when items carry a group. Differences: paired "
        "standard error on shared items; McNemar's exact test on discordant pairs "
        "(b: only the first model right, c: only the second).</p>"
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    path.with_suffix(".md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return path
