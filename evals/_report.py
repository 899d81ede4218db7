"""A self-contained report: one HTML file (inline CSS and SVG, no script, no CDN) and the
same tables in Markdown beside it.

Contents: a figure with, per model, the accuracy and its 95% interval (a dot and a
whisker), the mean output tokens (the reasoning part shaded) and the cost of 1,000 correct
answers; then the tables: accuracy with its interval and the interval's method (the same
interval as the text table and ``summary.json``), wrong / truncated / unparsed / errors;
tokens (output and reasoning, mean and p95), latency, cost and cost per 1,000 correct
answers; accuracy by difficulty and by group, each with its size; the paired comparison of
every model against the first (difference, its interval and the test that interval
inverts, so they never disagree; McNemar b, c, exact p; overthinking). When the results
have them: the JSON Schema validity rate, pass@k and the majority vote (with ``n`` > 1; the
accuracy stays sample 0's), and calibration from log probabilities (ECE, Brier, a
reliability diagram and its bins).

Read by a person: money is written as `money` says (no exponents), a figure's method sits
under it in small type, a model or group name breaks only after a ``/``, wide tables
scroll inside their own box, and the figures scale down with the page (their text is kept
inside the drawing: widths come from a conservative estimate, `text_width`).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ._results import ModelScore, compare
from ._stats import MIN_CLUSTERS, Estimate, describe
from ._table import money, per_1k_correct, points

__all__ = ["write_report"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;
color:#222}
h3{font-size:1.05em;margin:1.2em 0 .2em}
.wide{overflow-x:auto;max-width:100%;background:
linear-gradient(to right,#fff 30%,#fff0),linear-gradient(to left,#fff 30%,#fff0) 100% 0,
radial-gradient(farthest-side at 0 50%,#0003,#0000),
radial-gradient(farthest-side at 100% 50%,#0003,#0000) 100% 0;background-repeat:no-repeat;
background-size:40px 100%,40px 100%,12px 100%,12px 100%;
background-attachment:local,local,scroll,scroll}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.95em;
font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;vertical-align:top}
th{background:#f3f3f3;vertical-align:bottom;font-weight:600}
th .how{font-weight:400}
td{white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal}
.nw{white-space:nowrap}
.how{display:block;white-space:normal;font-size:.85em;color:#666}
.how.nw{white-space:nowrap}
.note{color:#a40;font-weight:600}
.caption{color:#555;font-size:.9em;margin:.2em 0 1em}
svg{max-width:100%;height:auto;display:block}
"""

_FONT = 13  # px, the figures' text
_COLOURS = ["#357", "#c63", "#393", "#939", "#996", "#369"]
_NAME_CHARS = 48  # a longer name is cut in the middle in a figure (whole in its tooltip)


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:,.0f}"


def _range(e: Estimate) -> str:
    return f"{_pct(e.ci_low)} to {_pct(e.ci_high)}"


def _dec(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.3f}"


# A cell: a figure, or a figure and how it was made ("61.0% to 82.9%", "wilson"). HTML
# shows the second part under the first in small type, Markdown in parentheses after it.
Cell = str | tuple[str, str]


def _est(e: Estimate) -> Cell:
    """A rate and its interval: ``73.3%`` over ``61.0% to 82.9%``."""
    return (_pct(e.mean), _range(e))


@dataclass(frozen=True)
class _Table:
    title: str
    head: list[Cell]
    rows: list[list[Cell]]
    level: int = 2  # its heading: h2, or h3 under the one before


@dataclass(frozen=True)
class _Figure:
    title: str
    svg: str
    caption: str = ""


Section = _Table | _Figure


def _extra_sections(scores: list[ModelScore]) -> list[Section]:
    """Validity, samples and calibration: each only when some model has the figure."""
    out: list[Section] = []
    valid = [(s, v) for s in scores if (v := s.validity()) is not None]
    if valid:
        out.append(
            _Table(
                "Structured output: JSON Schema validity",
                ["model", "items (json_schema)", "valid", "validity rate (95% interval)"],
                [[s.model, str(v.n), str(round(v.mean * v.n)), _est(v)] for s, v in valid],
            )
        )
    sampled = [s for s in scores if s.pass_at()]
    if sampled:
        ks = sorted({k for s in sampled for k in s.pass_at()})
        rows: list[list[Cell]] = []
        for s in sampled:
            passes, majority = s.pass_at(), s.majority()
            rows.append(
                [
                    s.model,
                    str(s.max_samples),
                    _est(s.accuracy()),
                    *(_est(passes[k]) if k in passes else "-" for k in ks),
                    _est(majority) if majority is not None else "-",
                ]
            )
        out.append(
            _Table(
                "Samples (n > 1): pass@k and majority vote (95% intervals)",
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
        figures: list[list[Cell]] = [
            [s.model, str(c.n), str(c.without), _dec(c.ece), _dec(c.brier), _pct(c.mean_confidence)]
            for s, c in calibrated
        ]
        out.append(
            _Table(
                "Calibration (confidence from log probabilities)",
                ["model", "answers", "without a confidence", "ECE", "Brier", "mean confidence"],
                figures,
            )
        )
        diagram = _reliability_svg(scores)
        if diagram:
            out.append(
                _Figure(
                    "Reliability diagram",
                    diagram,
                    "Accuracy against confidence in each bin of confidence, one colour per "
                    "model; a dot's size grows with the answers in its bin (hover for the "
                    "count); on the dashed diagonal a model is exactly as right as it is sure.",
                )
            )
        for s, c in calibrated:
            out.append(
                _Table(
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
                    level=3,
                )
            )
    return out


def _sections(scores: list[ModelScore]) -> list[Section]:
    out: list[Section] = [
        _Figure(
            "Accuracy, tokens and cost",
            _overview_svg(scores),
            "Accuracy: the dot, and its 95% interval as the line (the method is in the "
            "table below)."
            + (
                " Output tokens: the mean per item, its reasoning part shaded."
                if _has_tokens(scores)
                else ""
            )
            + (
                " Cost: what 1,000 correct answers cost at the listed prices."
                if _has_prices(scores)
                else " No model has a price in config/models.toml: no cost."
            ),
        )
    ]
    rows: list[list[Cell]] = []
    for s in scores:
        acc = s.accuracy()
        rows.append(
            [
                s.model,
                str(s.n),
                str(s.correct),
                _pct(acc.mean),
                (_range(acc), describe(acc)),
                str(s.count("wrong")),
                str(s.count("truncated")),
                str(s.count("unparsed")),
                str(s.count("error") + s.count("missing")),
            ]
        )
    out.append(
        _Table(
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
            ],
            rows,
        )
    )
    rows = []
    for s in scores:
        out_t, rea, lat = s.tokens("tokens_out"), s.tokens("reasoning_tokens"), s.latency()
        reasoning: Cell = f"{_num(rea.mean)} / {_num(rea.p95)}" if rea.n else "-"
        if rea.n and any(r.reasoning_estimated for r in s.items):
            reasoning = (f"{_num(rea.mean)} / {_num(rea.p95)}", "estimated")
        rows.append(
            [
                s.model,
                f"{_num(out_t.mean)} / {_num(out_t.p95)}",
                reasoning,
                f"{_num(lat.p50)} / {_num(lat.p95)}" if lat.n else "-",
                money(s.cost()),
                per_1k_correct(s),
            ]
        )
    out.append(
        _Table(
            "Tokens, latency and cost",
            [
                "model",
                ("output tokens", "mean / p95"),
                ("reasoning tokens", "mean / p95"),
                ("latency, ms", "p50 / p95"),
                "cost",
                "cost per 1k correct",
            ],
            rows,
        )
    )
    order = {"easy": 0, "medium": 1, "hard": 2}
    by_level = [s.by("difficulty") for s in scores]
    levels = sorted({k for b in by_level for k in b}, key=lambda k: (order.get(k, 3), k))
    out.append(
        _Table(
            "Accuracy by difficulty (Wilson intervals)",
            ["model", *((k, f"{next(b[k].n for b in by_level if k in b)} items") for k in levels)],
            [
                [s.model, *(_est(b[k]) if k in b else "-" for k in levels)]
                for s, b in zip(scores, by_level, strict=True)
            ],
        )
    )
    by_group = [s.by("group") for s in scores]
    groups = sorted({k for b in by_group for k in b})
    if groups != ["-"]:
        out.append(
            _Table(
                "Accuracy by group (Wilson intervals)",
                ["group", "items", *(s.model for s in scores)],
                [
                    [
                        g,
                        str(next(b[g].n for b in by_group if g in b)),
                        *(_est(b[g]) if g in b else "-" for b in by_group),
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
            exact = f"exact p {t.p_exact:.3g}" + (", unclustered" if p.clusters else "")
            rows.append(
                [
                    other.model,
                    str(len(c.ids)),
                    points(p.diff),
                    (f"{points(p.ci_low)} to {points(p.ci_high)}", describe(p)),
                    (f"{p.p_value:.3g}", t.method if p.mcnemar is not None else "paired t"),
                    (f"{t.b} / {t.c}", exact),
                    (
                        f"{_num(ot['a_output_tokens']['mean'] or math.nan)} / "
                        f"{_num(ot['b_output_tokens']['mean'] or math.nan)}",
                        f"{ot['items']} items",
                    ),
                ]
            )
        out.append(
            _Table(
                f"Paired comparison: each model (B) against the first (A: {scores[0].model})",
                [
                    "model (B)",
                    "shared items",
                    ("B - A", "points"),
                    "95% interval",
                    ("p", "the test the interval inverts"),
                    ("McNemar", "b / c, exact p"),
                    ("output tokens", "A / B, where both are right"),
                ],
                rows,
            )
        )
    return out + _extra_sections(scores)


# Figures ----------------------------------------------------------------------------------


def text_width(text: str, size: float = _FONT) -> float:
    """How wide ``text`` may be drawn at ``size`` px, erring wide: DejaVu Sans (the widest
    usual system-ui fallback) stays under these em widths, and any glyph not named here
    (symbols, non-ASCII) is counted a full em."""
    em = 0.0
    for ch in text:
        if ch in _NARROW:
            em += 0.45
        elif ch in "MW" or not ch.isascii():
            em += 1.0
        elif ch.isupper():
            em += 0.8
        elif ch.isdigit() or (ch.islower() and ch not in "mw"):
            em += 0.66
        else:
            em += 1.0
    return em * size


_NARROW = frozenset("iljtfr.,:;'|!()[] -/")


def _labels(models: list[str]) -> list[str]:
    """The models' names in a figure: without the ``org/`` when the rest tells them apart
    (the tables and the tooltips have them whole), cut in the middle when long."""
    bare = [m.rsplit("/", 1)[-1] for m in models]
    return [_short(m) for m in (bare if len(set(bare)) == len(set(models)) else models)]


def _short(name: str) -> str:
    """A name for a figure: cut in the middle past `_NAME_CHARS` (the tables have it whole)."""
    if len(name) <= _NAME_CHARS:
        return name
    half = (_NAME_CHARS - 1) // 2
    return f"{name[:half]}…{name[-half:]}"


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    shown = "" if anchor == "start" else f' text-anchor="{anchor}"'
    return f'<text x="{x:.1f}" y="{y:.1f}"{shown}{extra}>{html.escape(text)}</text>'


def _bar(length: float) -> float:
    """A bar's length, at least 1.5 px when its figure is not 0 (a cheap model stays seen)."""
    return max(length, 1.5) if length > 0 else 0.0


def _svg_open(width: float, height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="system-ui,sans-serif" '
        f'font-size="{_FONT}" role="img" aria-label="{html.escape(label)}">'
    )


def _has_tokens(scores: list[ModelScore]) -> bool:
    return any(not math.isnan(s.tokens("tokens_out").mean) for s in scores)


def _has_prices(scores: list[ModelScore]) -> bool:
    return any(s.price is not None for s in scores)


def _overview_svg(scores: list[ModelScore]) -> str:
    """Per model, one row across three panels: accuracy with its interval on a 0-100%
    axis; mean output tokens as a bar, its reasoning part shaded; cost per 1,000 correct
    answers as a bar. A panel with no figure for any model is left out."""
    pad, row, top = 6, 28, 32
    names = _labels([s.model for s in scores])
    label_w = max((text_width(n) for n in names), default=0)
    tokens = [(s.tokens("tokens_out"), s.tokens("reasoning_tokens")) for s in scores]
    costs = [s.cost_per_correct() for s in scores]
    show_tokens, show_cost = _has_tokens(scores), _has_prices(scores)
    acc_x = pad + label_w + 14
    acc_w = 240
    value_room = text_width("100.0%") + 8  # the accuracy printed past the whisker
    x = acc_x + acc_w + value_room + 20
    tok_x, bar_w = x, 120
    tok_title, cost_title = "output tokens, mean", "cost per 1k correct"
    if show_tokens:
        room = max(text_width(_num(o.mean)) for o, _ in tokens) + 6
        x += max(bar_w + room, text_width(tok_title, _FONT - 1), 150) + 20
    cost_x = x
    if show_cost:
        room = max(text_width(per_1k_correct(s)) for s in scores) + 6
        x += max(bar_w + room, text_width(cost_title, _FONT - 1), text_width("none correct"))
    width = x + pad
    legend = show_tokens and any(r.n and r.mean > 0 for _, r in tokens)
    bottom = top + row * len(scores)
    height = bottom + 24 + (18 if legend else 0)
    parts = [_svg_open(width, height, "accuracy, output tokens and cost per model")]
    for i in range(len(scores)):
        if i % 2:
            parts.append(
                f'<rect x="0" y="{top + i * row}" width="{width:.0f}" height="{row}" '
                'fill="#f6f6f6"/>'
            )
    bold = f' font-weight="600" font-size="{_FONT - 1}"'
    parts.append(_text(acc_x, 16, "accuracy, 95% interval", extra=bold))
    for tick in range(0, 101, 20):
        tx = acc_x + acc_w * tick / 100
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{bottom}" stroke="#ddd"/>'
        )
        parts.append(_text(tx, bottom + 15, f"{tick}%", "middle"))
    if show_tokens:
        parts.append(_text(tok_x, 16, tok_title, extra=bold))
    if show_cost:
        parts.append(_text(cost_x, 16, cost_title, extra=bold))
    most_tokens = max((o.mean for o, _ in tokens if o.n and not math.isnan(o.mean)), default=0)
    most_cost = max((c for c in costs if c is not None), default=0)
    for i, s in enumerate(scores):
        y = top + i * row + row / 2
        acc = s.accuracy()
        parts.append(
            f"<g><title>{html.escape(s.model)}: accuracy {_pct(acc.mean)} "
            f"({_range(acc)}, {html.escape(describe(acc))})</title>"
            + _text(pad + label_w, y + 4, names[i], "end")
            + "</g>"
        )
        if not math.isnan(acc.mean):
            x0, x1 = acc_x + acc_w * acc.ci_low, acc_x + acc_w * acc.ci_high
            parts.append(
                f'<line x1="{x0:.1f}" y1="{y}" x2="{x1:.1f}" y2="{y}" stroke="#357" '
                'stroke-width="2"/>'
                f'<circle cx="{acc_x + acc_w * acc.mean:.1f}" cy="{y}" r="5" fill="#357"/>'
                + _text(x1 + 6, y + 4, _pct(acc.mean))
            )
        out_t, rea = tokens[i]
        if show_tokens:
            if out_t.n and not math.isnan(out_t.mean) and most_tokens > 0:
                full = _bar(bar_w * out_t.mean / most_tokens)
                thought = bar_w * min(rea.mean, out_t.mean) / most_tokens if rea.n else 0
                parts.append(
                    f"<g><title>output tokens: mean {_num(out_t.mean)}"
                    + (f", of which reasoning {_num(rea.mean)}" if rea.n else "")
                    + "</title>"
                    f'<rect x="{tok_x}" y="{y - 7}" width="{full:.1f}" height="14" '
                    'fill="#9bc"/>'
                    f'<rect x="{tok_x}" y="{y - 7}" width="{thought:.1f}" height="14" '
                    'fill="#357"/></g>' + _text(tok_x + full + 4, y + 4, _num(out_t.mean))
                )
            else:
                parts.append(_text(tok_x, y + 4, "-"))
        if show_cost:
            cost = costs[i]
            if cost is not None and most_cost > 0:
                length = _bar(bar_w * cost / most_cost)
                parts.append(
                    f"<g><title>{money(s.cost())} for {s.correct} correct answers</title>"
                    f'<rect x="{cost_x}" y="{y - 7}" width="{length:.1f}" height="14" '
                    'fill="#c63"/></g>' + _text(cost_x + length + 4, y + 4, per_1k_correct(s))
                )
            else:
                why = "no price" if s.price is None else "none correct"
                parts.append(_text(cost_x, y + 4, why, extra=' fill="#666"'))
    if legend:
        ly = bottom + 32
        parts.append(
            f'<rect x="{tok_x}" y="{ly - 9}" width="10" height="10" fill="#357"/>'
            + _text(tok_x + 14, ly, "reasoning")
            + f'<rect x="{tok_x + 84}" y="{ly - 9}" width="10" height="10" fill="#9bc"/>'
            + _text(tok_x + 98, ly, "reply")
        )
    parts.append("</svg>")
    return "".join(parts)


def _reliability_svg(scores: list[ModelScore]) -> str:
    """Accuracy against confidence per bin, one colour per model; the diagonal is perfect.
    The legend goes under the plot, one model a line, its name whole (or cut in the middle
    past `_NAME_CHARS`)."""
    calibrated = [(s, c) for s in scores if (c := s.calibration()) is not None and c.n]
    if not calibrated:
        return ""
    size, left, top = 300, 50, 12
    legend = [f"{_short(s.model)} (ECE {_dec(c.ece)})" for s, c in calibrated]
    legend_top = top + size + 58
    width = max(left + size + 20, 20 + max(text_width(t) for t in legend) + 10)
    height = legend_top + 18 * len(legend)
    parts = [_svg_open(width, height, "reliability diagram")]

    def x(v: float) -> float:
        return left + size * v

    def y(v: float) -> float:
        return top + size * (1 - v)

    for tick in range(0, 11, 2):
        v = tick / 10
        parts.append(
            f'<line x1="{x(v):.0f}" y1="{y(0):.0f}" x2="{x(v):.0f}" y2="{y(1):.0f}" stroke="#eee"/>'
            f'<line x1="{x(0):.0f}" y1="{y(v):.0f}" x2="{x(1):.0f}" y2="{y(v):.0f}" stroke="#eee"/>'
            + _text(x(v), y(0) + 16, f"{v:.1f}", "middle")
            + _text(x(0) - 6, y(v) + 4, f"{v:.1f}", "end")
        )
    parts.append(
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#999" '
        'stroke-dasharray="4 3"/>'
    )
    parts.append(
        _text(x(0.5), y(0) + 34, "confidence", "middle")
        + _text(14, y(0.5), "accuracy", "middle", f' transform="rotate(-90 14 {y(0.5)})"')
    )
    for i, (_s, c) in enumerate(calibrated):
        colour = _COLOURS[i % len(_COLOURS)]
        points_ = [(b.confidence, b.accuracy, b.n) for b in c.bins if b.n]
        path = " ".join(f"{x(cf):.1f},{y(acc):.1f}" for cf, acc, _ in points_)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for cf, acc, n in points_:
            r = 3 + min(5.0, math.sqrt(n))
            parts.append(
                f'<circle cx="{x(cf):.1f}" cy="{y(acc):.1f}" r="{r:.1f}" fill="{colour}" '
                f'fill-opacity="0.6"><title>{n} answers: confidence {_pct(cf)}, '
                f"accuracy {_pct(acc)}</title></circle>"
            )
    for i, text in enumerate(legend):
        ly = legend_top + 18 * i
        colour = _COLOURS[i % len(_COLOURS)]
        parts.append(
            f'<rect x="20" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            + _text(36, ly, text)
        )
    parts.append("</svg>")
    return "".join(parts)


# Writing ----------------------------------------------------------------------------------


def _name_html(text: str, *, loose: bool = False) -> str:
    """A model or group name (a word with a ``/``) may break only after a ``/`` (and,
    ``loose``, after a ``-``: a name heading a narrow column); other text as is."""
    if not text or " " in text or "/" not in text:
        return html.escape(text)
    cut = re.split(r"(?<=/)" + ("|(?<=-)" if loose else ""), text)
    return "<wbr>".join(f'<span class="nw">{html.escape(p)}</span>' for p in cut if p)


def _words_html(text: str) -> str:
    """A heading: its names (``org/model``) break only after their ``/``."""
    return " ".join(_name_html(w) for w in text.split(" "))


# Headings of narrow columns that may break, hyphenated, when the page is narrow.
_SOFT = {
    "correct": "cor&shy;rect",
    "accuracy": "accu&shy;racy",
    "truncated": "trun&shy;cated",
    "unparsed": "un&shy;parsed",
}
_RANGE = re.compile(r"[-+]?[\d.]+%? to [-+]?[\d.]+%?")


def _cell_html(cell: Cell, *, first: bool = False, head: bool = False) -> str:
    if isinstance(cell, tuple):
        figure, how = cell
        cls = "how nw" if len(how) <= 16 or _RANGE.fullmatch(how) else "how"  # short: one line
        return f'{html.escape(figure)}<span class="{cls}">{html.escape(how)}</span>'
    if head:
        return _SOFT.get(cell) or _name_html(cell, loose=True)
    return _name_html(cell) if first else html.escape(cell)


def _cell_md(cell: Cell) -> str:
    return f"{cell[0]} ({cell[1]})" if isinstance(cell, tuple) else cell


def _table_html(t: _Table) -> str:
    head = "".join(f"<th>{_cell_html(h, head=True)}</th>" for h in t.head)
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{_cell_html(c, first=j == 0)}</td>" for j, c in enumerate(r))
        + "</tr>"
        for r in t.rows
    )
    tag = f"h{t.level}"
    return (
        f"<{tag}>{_words_html(t.title)}</{tag}>"
        f'<div class="wide"><table><tr>{head}</tr>{rows}</table></div>'
    )


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
    "differ near 0.05). Fractional scores: the paired t interval and t-test. "
    "Cost: from the prices per million tokens in config/models.toml; per 1k correct is "
    "the total cost over the correct answers, times 1,000 (summary.json gives it per "
    "correct answer)."
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
    note = (
        "Simulated models: these accuracies are the simulator's stated, seeded "
        "parameters, not measurements of real models."
        if simulated
        else ""
    )
    body = [f"<h1>{html.escape(title)}</h1>"]
    md = [f"# {title}", ""]
    if note:
        body.append(f'<p class="note">{html.escape(note)}</p>')
        md += [f"**{note}**", ""]
    for section in _sections(scores):
        if isinstance(section, _Figure):
            body.append(f"<h2>{_words_html(section.title)}</h2>{section.svg}")
            if section.caption:
                body.append(f'<p class="caption">{html.escape(section.caption)}</p>')
            continue
        body.append(_table_html(section))
        md += [
            f"{'#' * section.level} {section.title}",
            "",
            "| " + " | ".join(_cell_md(h) for h in section.head) + " |",
            "|" + "---|" * len(section.head),
        ]
        md += ["| " + " | ".join(_cell_md(c) for c in r) + " |" for r in section.rows]
        md.append("")
    body.append(f"<p>{html.escape(_METHODS)}</p>")
    md += [_METHODS, ""]
    notes = _extra_notes(scores)
    if notes:
        body.append(f"<p>{html.escape(notes)}</p>")
        md += [notes, ""]
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'><title>"
        f"{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    path.with_suffix(".md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return path
