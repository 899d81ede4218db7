"""A self-contained report: one HTML file (inline CSS and SVG, no script, no CDN) and the
same tables in Markdown beside it.

Contents: per model accuracy with its 95% interval and the interval's method (a
dot-and-whisker plot and a table; the same interval as the text table and
``summary.json``), truncated / unparsed / errors, tokens (output and reasoning, mean and
p95), latency, cost and cost per correct answer; accuracy by difficulty and by group, each
with its size; the paired comparison of every model against the first (difference, its
interval and the test that interval inverts, so they never disagree; McNemar b, c, exact p;
overthinking). When the results have them: the JSON Schema validity rate, pass@k and the
majority vote (with ``n`` > 1; the accuracy stays sample 0's), and calibration from log
probabilities (ECE, Brier, the reliability bins and a reliability diagram).
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from ._results import ModelScore, compare
from ._stats import MIN_CLUSTERS, Estimate, describe
from ._table import points

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


def _interval(e: Estimate) -> str:
    return f"{_pct(e.mean)} ({_pct(e.ci_low)} to {_pct(e.ci_high)})"


def _dec(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.3f}"


Table = tuple[str, list[str], list[list[str]]]


def _extra_tables(scores: list[ModelScore]) -> list[Table]:
    """Validity, samples and calibration: each table only when some model has the figure."""
    tables: list[Table] = []
    valid = [(s, v) for s in scores if (v := s.validity()) is not None]
    if valid:
        tables.append(
            (
                "Structured output: JSON Schema validity",
                ["model", "items (json_schema)", "valid", "validity rate (95% interval)"],
                [[s.model, str(v.n), str(round(v.mean * v.n)), _interval(v)] for s, v in valid],
            )
        )
    sampled = [s for s in scores if s.pass_at()]
    if sampled:
        ks = sorted({k for s in sampled for k in s.pass_at()})
        rows = []
        for s in sampled:
            passes, majority = s.pass_at(), s.majority()
            rows.append(
                [
                    s.model,
                    str(s.max_samples),
                    _interval(s.accuracy()),
                    *(_interval(passes[k]) if k in passes else "-" for k in ks),
                    _interval(majority) if majority is not None else "-",
                ]
            )
        tables.append(
            (
                "Samples (n > 1): pass@k and majority vote",
                [
                    "model",
                    "samples",
                    "accuracy (sample 0)",
                    *(f"pass@{k}" for k in ks),
                    "majority vote",
                ],
                rows,
            )
        )
    calibrated = [(s, c) for s in scores if (c := s.calibration()) is not None]
    if calibrated:
        tables.append(
            (
                "Calibration (confidence from log probabilities)",
                ["model", "answers", "without a confidence", "ECE", "Brier", "mean confidence"],
                [
                    [s.model, str(c.n), str(c.without), _dec(c.ece), _dec(c.brier)]
                    + [_pct(c.mean_confidence)]
                    for s, c in calibrated
                ],
            )
        )
        for s, c in calibrated:
            tables.append(
                (
                    f"Reliability bins: {s.model}",
                    ["confidence", "answers", "mean confidence", "accuracy"],
                    [
                        [
                            f"{b.low:.1f}-{b.high:.1f}",
                            str(b.n),
                            _pct(b.confidence),
                            _pct(b.accuracy),
                        ]
                        for b in c.bins
                        if b.n
                    ],
                )
            )
    return tables


def _reliability_svg(scores: list[ModelScore]) -> str:
    """Accuracy against confidence per bin, one colour per model; the diagonal is perfect."""
    calibrated = [(s, c) for s in scores if (c := s.calibration()) is not None and c.n]
    if not calibrated:
        return ""
    size, left, top = 300, 50, 20
    colours = ["#357", "#c63", "#393", "#939", "#996", "#369"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + size + 280}" '
        f'height="{top + size + 45}" role="img" aria-label="reliability diagram">'
    ]

    def x(v: float) -> float:
        return left + size * v

    def y(v: float) -> float:
        return top + size * (1 - v)

    for tick in range(0, 11, 2):
        v = tick / 10
        parts.append(
            f'<line x1="{x(v):.0f}" y1="{y(0):.0f}" x2="{x(v):.0f}" y2="{y(1):.0f}" stroke="#eee"/>'
            f'<line x1="{x(0):.0f}" y1="{y(v):.0f}" x2="{x(1):.0f}" y2="{y(v):.0f}" stroke="#eee"/>'
            f'<text x="{x(v):.0f}" y="{y(0) + 16:.0f}" text-anchor="middle">{v:.1f}</text>'
            f'<text x="{x(0) - 6:.0f}" y="{y(v) + 4:.0f}" text-anchor="end">{v:.1f}</text>'
        )
    parts.append(
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#999" '
        'stroke-dasharray="4 3"/>'
    )
    parts.append(
        f'<text x="{x(0.5)}" y="{y(0) + 34}" text-anchor="middle">confidence</text>'
        f'<text x="12" y="{y(0.5)}" transform="rotate(-90 12 {y(0.5)})" '
        'text-anchor="middle">accuracy</text>'
    )
    for i, (s, c) in enumerate(calibrated):
        colour = colours[i % len(colours)]
        points = [(b.confidence, b.accuracy, b.n) for b in c.bins if b.n]
        path = " ".join(f"{x(cf):.1f},{y(acc):.1f}" for cf, acc, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for cf, acc, n in points:
            r = 3 + min(5.0, math.sqrt(n))
            parts.append(
                f'<circle cx="{x(cf):.1f}" cy="{y(acc):.1f}" r="{r:.1f}" fill="{colour}" '
                f'fill-opacity="0.6"><title>{n} answers</title></circle>'
            )
        ly = top + 10 + 18 * i
        parts.append(f'<rect x="{x(1) + 16}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(
            f'<text x="{x(1) + 32}" y="{ly}">{html.escape(s.model[-30:])} '
            f"(ECE {_dec(c.ece)})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


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
                f"{_pct(acc.ci_low)} to {_pct(acc.ci_high)} ({describe(acc)})",
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
    by_group = [s.by("group") for s in scores]
    groups = sorted({k for b in by_group for k in b})
    if groups != ["-"]:
        tables.append(
            (
                "Accuracy by group (Wilson intervals)",
                ["group", "items", *(s.model for s in scores)],
                [
                    [
                        g,
                        str(next(b[g].n for b in by_group if g in b)),
                        *(_interval(b[g]) if g in b else "-" for b in by_group),
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
            rows.append(
                [
                    f"{other.model} - {scores[0].model}",
                    str(len(c.ids)),
                    points(p.diff),
                    f"{points(p.ci_low)} to {points(p.ci_high)} ({describe(p)})",
                    f"{p.p_value:.3g}"
                    + (f" ({t.method})" if p.mcnemar is not None else " (paired t)"),
                    str(t.b),
                    str(t.c),
                    f"{t.p_exact:.3g}" + (" (unclustered)" if p.clusters else ""),
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
                    "95% interval",
                    "p (the test the interval inverts)",
                    "McNemar b",
                    "McNemar c",
                    "McNemar exact p",
                    "both right",
                    "output tokens where both right (A / B)",
                ],
                rows,
            )
        )
    return tables + _extra_tables(scores)


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


def _extra_notes(scores: list[ModelScore]) -> str:
    notes = []
    if any(s.validity() is not None for s in scores):
        notes.append(
            "Validity: items scored by json_schema are correct when the answer is JSON valid "
            "against the item's schema, so their accuracy is the validity rate."
        )
    if any(s.pass_at() for s in scores):
        notes.append(
            "Samples: the accuracy is sample 0's score, the number a one-sample run gives; "
            "pass@k is the unbiased estimator 1 - C(n-c, k)/C(n, k) (Chen et al. 2021) "
            "averaged over items, and the majority vote scores each item's most common answer."
        )
    if any(s.calibration() is not None for s in scores):
        notes.append(
            "Calibration: confidence is the probability of the answer's token(s) in sample 0; "
            "ECE over 10 equal-width bins, and the Brier score; answers whose tokens were not "
            "found are counted apart and left out."
        )
    return " ".join(notes)


_METHODS = (
    "Accuracy counts every item: truncated, unparsed and failed items are not correct, "
    "and are shown apart from wrong answers. Intervals (95%): Wilson's score interval; "
    "when items name a metadata.cluster (items that share a passage or a source), the "
    "cluster-robust variance (CR1) with a t quantile on clusters - 1 degrees of freedom, "
    "as a Wilson interval on the effective sample size, never narrower than the plain one; "
    f"with fewer than {MIN_CLUSTERS} clusters the plain interval, and its method says so. "
    "Groups are a breakdown only. Differences: on the shared items, Tango's score "
    "interval and McNemar's score test (b: only the first model right, c: only the "
    "second), the test that interval inverts, so the interval excludes 0 exactly when "
    "p < 0.05; McNemar's exact p is shown beside it (it is more conservative and can "
    "differ near 0.05). Fractional scores: the paired t interval and t-test."
)


def write_report(
    scores: list[ModelScore], path: Path, *, title: str, simulated: bool | None = None
) -> Path:
    """Write ``path`` (HTML) and ``path`` with ``.md``; return the HTML path.

    ``simulated`` None: the report carries the simulator's warning if any score is
    simulated (a report rebuilt from ``--sim`` runs keeps it).
    """
    if simulated is None:
        simulated = any(s.simulated for s in scores)
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
    reliability = _reliability_svg(scores)
    if reliability:
        body.append("<h2>Reliability diagram</h2>" + reliability)
    body.append(f"<p>{html.escape(_METHODS)}</p>")
    md += [_METHODS, ""]
    notes = _extra_notes(scores)
    if notes:
        body.append(f"<p>{html.escape(notes)}</p>")
        md += [notes, ""]
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    path.with_suffix(".md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return path
