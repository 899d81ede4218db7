"""From result files to numbers: score each reply, sum up per model, compare two models.

`score_results` reads a Batch output file (ours, or one downloaded from Together's Batch
API) line by line, joins each line to its eval item on ``custom_id`` = item ``id``, pulls
the answer out (`extract_result`) and scores it (`score_answer`). Every item of the eval set
gets exactly one `ItemResult`; an item with no line in the file is ``missing``, a failed
request ``error``, a reply cut off before it answered ``truncated``, a reply with no
readable answer ``unparsed``: none of these is counted as a wrong answer, and all of them
count in ``n`` as not correct (an honest accuracy has every item in its denominator).

`ModelScore` puts the numbers on one model: accuracy with its 95% interval (Wilson; with
``metadata.cluster`` on the items, clustered once there are 10 clusters: `_stats` says how),
tokens in/out/reasoning (mean, p50, p95), latency when known (from the state file; a result
file does not carry it), cost from ``config/models.toml`` prices and cost per correct
answer; accuracy by difficulty, by ``metadata.group`` and by scorer, each with its size.
Every rate of a model (accuracy, validity, pass@k, majority vote) is clustered the same
way, so one set of items gets one interval wherever it is shown. `compare` pairs two models
on the items both have: the difference, Tango's score interval and McNemar's score test it
inverts (exact p beside it).

In JSON, proportions and prices are rounded to 6 decimals; p-values are written as
computed, and the bounds of a difference to 6 significant digits (a bound just past 0
stays past 0, as the test says).

Figures that only some results have, reported only when present:

- ``validity``: on items scored by ``json_schema``, the rate of answers valid against
  their schema (it is those items' accuracy);
- ``samples``: with several choices per reply (``n`` > 1), every choice is scored;
  pass@k and the majority vote (`_samples`) are reported, while the accuracy stays the
  score of choice 0, the same number a single-sample run gives;
- ``calibration``: with token log probabilities, the confidence of choice 0's answer,
  ECE, Brier and the reliability bins (`_calibration`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _encode_string  # what json.dumps uses
from operator import attrgetter
from pathlib import Path
from typing import Any

from jobs import quick_json
from runner import Catalog

from ._calibration import STRUCTURED, Calibration, answer_confidence, calibration
from ._errors import ResultFileInvalid
from ._evalset import EvalItem
from ._extract import Extraction, extract_result_choices
from ._frozen import builder
from ._gc import gc_paused
from ._registry import Score, Scorer, get_scorer, scorer_reads
from ._samples import k_values, majority_vote, pass_at_k
from ._scorers import outcome, score_answer, scorer_of
from ._stats import (
    Estimate,
    McNemar,
    PairedComparison,
    Summary,
    mcnemar,
    paired_bootstrap,
    paired_comparison,
    pass_rate,
    summarize,
)

__all__ = ["Comparison", "ItemResult", "ModelScore", "Scoring", "compare", "score_results"]


@dataclass(frozen=True, slots=True)
class ItemResult:
    id: str
    outcome: str  # correct, wrong, unparsed, truncated, error, missing
    answer: str | None  # what the scorer read from the reply
    correct: bool
    value: float
    reason: str
    tokens_in: int | None = None
    tokens_out: int | None = None
    reasoning_tokens: int | None = None
    reasoning_estimated: bool = False
    latency_ms: float | None = None
    difficulty: str | None = None
    group: str | None = None  # a breakdown
    cluster: str | None = None  # items not independent of each other (for the intervals)
    scorer: str | None = None
    samples: int = 1  # choices read from the reply (0 for a failed or missing one)
    samples_correct: int = 0  # of those, how many the scorer found correct
    majority: str | None = None  # the majority answer, with samples > 1
    majority_correct: bool | None = None
    confidence: float | None = None  # of choice 0's answer, from its log probabilities
    has_logprobs: bool = False  # choice 0 carried log probabilities


_item_result = builder(ItemResult)  # ItemResult(*every field), built fast (see _frozen)
_fields = attrgetter(*ItemResult.__slots__)  # and back: every field, in order


@dataclass
class ModelScore:
    label: str  # the results file or run it came from
    model: str
    items: list[ItemResult]
    price: tuple[float, float] | None = None  # USD per 1M tokens in, out
    simulated: bool = False  # answers played by the simulator: not measurements
    by_id: dict[str, ItemResult] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {r.id: r for r in self.items}

    @property
    def n(self) -> int:
        return len(self.items)

    @property
    def matched(self) -> int:
        """Items that have a result line (the others are ``missing``)."""
        return self.n - self.count("missing")

    def count(self, what: str) -> int:
        return sum(1 for r in self.items if r.outcome == what)

    @property
    def correct(self) -> int:
        return sum(1 for r in self.items if r.correct)

    def clusters(self, rows: list[ItemResult] | None = None) -> list[str | None] | None:
        """The cluster of each of ``rows`` (all items), or None when none names one."""
        clusters = [r.cluster for r in (self.items if rows is None else rows)]
        return clusters if any(c is not None for c in clusters) else None

    def accuracy(self) -> Estimate:
        return pass_rate([r.value for r in self.items], self.clusters())

    def tokens(self, which: str) -> Summary:
        return summarize(getattr(r, which) for r in self.items)

    def latency(self) -> Summary:
        return summarize(r.latency_ms for r in self.items)

    def cost(self) -> float | None:
        if self.price is None:
            return None
        p_in, p_out = self.price
        total_in = sum(r.tokens_in or 0 for r in self.items)
        total_out = sum(r.tokens_out or 0 for r in self.items)
        return (total_in * p_in + total_out * p_out) / 1e6

    def cost_per_correct(self) -> float | None:
        cost = self.cost()
        if cost is None or self.correct == 0:
            return None
        return cost / self.correct

    def validity(self) -> Estimate | None:
        """The rate of schema-valid answers on the items scored by ``json_schema``."""
        rows = [r for r in self.items if r.scorer == "json_schema"]
        return pass_rate([r.value for r in rows], self.clusters(rows)) if rows else None

    @property
    def max_samples(self) -> int:
        return max((r.samples for r in self.items), default=0)

    def pass_at(self) -> dict[int, Estimate]:
        """pass@k for k = 1, 2, 4, ... and the most samples any item has; {} with one sample.

        For each k, over the items with at least k samples, and the items whose request
        failed (0 samples, counted 0 as in the accuracy); judged items have one sample.
        """
        if self.max_samples < 2:
            return {}
        out = {}
        for k in k_values(self.max_samples):
            rows = [r for r in self.items if r.samples >= k or r.samples == 0]
            values = [
                pass_at_k(r.samples, r.samples_correct, k) if r.samples else 0.0 for r in rows
            ]
            out[k] = pass_rate(values, self.clusters(rows))
        return out

    def majority(self) -> Estimate | None:
        """Accuracy of the majority vote over each item's samples; None with one sample."""
        if self.max_samples < 2:
            return None
        values = [1.0 if r.majority_correct else 0.0 for r in self.items]
        return pass_rate(values, self.clusters())

    def calibration(self) -> Calibration | None:
        """ECE and Brier of choice 0's confidence on the answered items whose answer can be a
        token (not calls nor JSON); None when no such reply carried logprobs."""
        if not any(r.has_logprobs for r in self.items):
            return None
        answered = [
            r
            for r in self.items
            if r.outcome in ("correct", "wrong", "unparsed") and r.scorer not in STRUCTURED
        ]
        return calibration([r.confidence for r in answered], [r.correct for r in answered])

    def by(self, key: str) -> dict[str, Estimate]:
        """Accuracy per ``difficulty``, ``group`` or ``scorer`` (Wilson, with each size)."""
        buckets: dict[str, list[float]] = {}
        for r in self.items:
            buckets.setdefault(str(getattr(r, key) or "-"), []).append(r.value)
        return {k: pass_rate(v) for k, v in sorted(buckets.items())}

    def to_json(self, *, items: bool = True) -> dict[str, Any]:
        acc = self.accuracy()
        out: dict[str, Any] = {
            "label": self.label,
            "model": self.model,
            "n": self.n,
            "correct": self.correct,
            "accuracy": _num(acc.mean),
            "ci_low": _num(acc.ci_low),
            "ci_high": _num(acc.ci_high),
            "ci_method": acc.method,
            **_clustering(acc),
            "wrong": self.count("wrong"),
            "unparsed": self.count("unparsed"),
            "truncated": self.count("truncated"),
            "errors": self.count("error"),
            "missing": self.count("missing"),
            "simulated": self.simulated,
            "tokens": {
                "input": _summary(self.tokens("tokens_in")),
                "output": _summary(self.tokens("tokens_out")),
                "reasoning": _summary(self.tokens("reasoning_tokens")),
                "reasoning_estimated": any(r.reasoning_estimated for r in self.items),
            },
            "latency": _summary(self.latency()),
            "cost": _num(self.cost()),
            "cost_per_correct": _num(self.cost_per_correct()),
            "by_difficulty": {k: _est(v) for k, v in self.by("difficulty").items()},
            "by_group": {k: _est(v) for k, v in self.by("group").items()},
            "by_scorer": {k: _est(v) for k, v in self.by("scorer").items()},
        }
        out.update(self.extra_json())
        if items:
            out["items"] = [_item_json(r) for r in self.items]
        return out

    def json_pieces(self, chunk: int = 2000) -> Iterator[str]:
        """``json.dumps(self.to_json())`` in pieces, the items ``chunk`` at a time: what is
        printed for 100k items is never held whole, nor are 100k dicts built for it."""
        head = json.dumps(self.to_json(items=False))
        yield head[:-1] + ', "items": ['  # "items" is to_json's last key
        for start in range(0, len(self.items), chunk):
            text = ", ".join(_item_text(r) for r in self.items[start : start + chunk])
            yield text if start == 0 else ", " + text
        yield "]}"

    def extra_json(self) -> dict[str, Any]:
        """``validity``, ``samples`` and ``calibration``, each only when the results have it."""
        out: dict[str, Any] = {}
        validity = self.validity()
        if validity is not None:
            out["validity"] = {
                "scorer": "json_schema",
                "n": validity.n,
                "valid": round(validity.mean * validity.n),
                "rate": _num(validity.mean),
                "ci_low": _num(validity.ci_low),
                "ci_high": _num(validity.ci_high),
                "ci_method": validity.method,
            }
        passes = self.pass_at()
        if passes:
            majority = self.majority()
            assert majority is not None
            out["samples"] = {
                "max_n": self.max_samples,
                "accuracy_is": "choice 0 (the first sample), as with one sample",
                "pass_at_k": {str(k): _est(e) | {"method": e.method} for k, e in passes.items()},
                "majority": _est(majority),
            }
        cal = self.calibration()
        if cal is not None:
            out["calibration"] = {
                "n": cal.n,
                "without_confidence": cal.without,
                "ece": _num(cal.ece),
                "brier": _num(cal.brier),
                "mean_confidence": _num(cal.mean_confidence),
                "accuracy": _num(cal.accuracy),
                "confidence_is": "probability of the answer's token(s) in choice 0",
                "bins": [
                    {
                        "low": b.low,
                        "high": b.high,
                        "n": b.n,
                        "confidence": _num(b.confidence),
                        "accuracy": _num(b.accuracy),
                    }
                    for b in cal.bins
                ],
            }
        return out


def _item_json(r: ItemResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "answer": r.answer,
        "correct": r.correct,
        "outcome": r.outcome,
        "reason": r.reason,
    }
    if r.samples > 1:
        out.update(
            samples=r.samples,
            samples_correct=r.samples_correct,
            majority=r.majority,
            majority_correct=r.majority_correct,
        )
    if r.confidence is not None:
        out["confidence"] = _num(r.confidence)
    return out


def _item_text(r: ItemResult) -> str:
    """``json.dumps(_item_json(r))``, written out directly (it is most of the output).

    0.40 µs an item against 1.86 µs for ``json.dumps``. orjson (issue 11) would take 0.30 µs
    but writes other bytes (no spaces, UTF-8 instead of ``\\u`` escapes), and gains nothing
    measurable: ``fanout score --json`` on 100k items spent 4.02-4.29 s of CPU with it,
    4.09-4.22 s with this (five runs each, bench/RESULTS.md).
    """
    text = (
        f'{{"id": {_text(r.id)}, "answer": {_text(r.answer)}, "correct": {_text(r.correct)}, '
        f'"outcome": {_text(r.outcome)}, "reason": {_text(r.reason)}'
    )
    if r.samples > 1:
        text += (
            f', "samples": {_text(r.samples)}, "samples_correct": {_text(r.samples_correct)}, '
            f'"majority": {_text(r.majority)}, "majority_correct": {_text(r.majority_correct)}'
        )
    if r.confidence is not None:
        text += f', "confidence": {_text(_num(r.confidence))}'
    return text + "}"


def _text(value: object) -> str:
    """``json.dumps(value)``, with its common cases first (the C string encoder it uses)."""
    if type(value) is str:
        return _encode_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return json.dumps(value)


def _num(x: float | None) -> float | None:
    """A proportion, mean or price for JSON: 6 decimals (never a p-value: see `_p`)."""
    return None if x is None or math.isnan(x) else round(x, 6)


def _p(x: float | None) -> float | None:
    """A p-value for JSON, as computed: 6.2e-11 stays 6.2e-11 (6 decimals made it 0.0)."""
    return None if x is None or math.isnan(x) else x


def _sig(x: float | None) -> float | None:
    """A bound of a difference for JSON: 6 significant digits, so that a bound just past 0
    (the test rejecting) is not rounded onto 0."""
    return None if x is None or math.isnan(x) else float(f"{x:.6g}")


def _clustering(e: Estimate | PairedComparison) -> dict[str, Any]:
    """``clusters`` and ``design_effect`` when the items named clusters; else nothing."""
    if e.clusters is None:
        return {}
    return {"clusters": e.clusters, "design_effect": _num(e.design_effect)}


def _summary(s: Summary) -> dict[str, Any]:
    return {"n": s.n, "mean": _num(s.mean), "p50": _num(s.p50), "p95": _num(s.p95)}


def _est(e: Estimate) -> dict[str, Any]:
    return {
        "n": e.n,
        "accuracy": _num(e.mean),
        "ci_low": _num(e.ci_low),
        "ci_high": _num(e.ci_high),
    }


def score_results(
    lines: Iterable[Mapping[str, Any]],
    items: Mapping[str, EvalItem],
    *,
    label: str,
    scorer: str | None = None,
    style: str = "auto",
    latencies: Mapping[str, float] | None = None,
    catalog: Catalog | None = None,
    verdicts: Mapping[str, str | None] | None = None,
) -> ModelScore:
    """Score parsed Batch output ``lines`` against ``items`` (by id); see the module docstring."""
    scoring = Scoring(items, scorer, style, latencies, verdicts)
    with gc_paused():
        for line in lines:
            scoring.add(line)
        return scoring.score(label, catalog)


class Scoring:
    """One pass of `score_results`: `add` each result line in file order, then `score`.

    Holds the result of each item answered so far, by id in line order (the first line for
    an id counts; a later one, or one whose id is not in the eval set, is ignored), and the
    model each counted line names. A worker process that scored the second half of a file
    hands over its `rows`; `merge` takes them after this pass's own (first) half, as if
    its lines had been added here (see `_parallel`).
    """

    def __init__(
        self,
        items: Mapping[str, EvalItem],
        scorer: str | None = None,
        style: str = "auto",
        latencies: Mapping[str, float] | None = None,
        verdicts: Mapping[str, str | None] | None = None,
    ) -> None:
        self.items = items
        self.scorer = scorer  # for items that name none
        self.style = style
        self.latencies = latencies
        self.verdicts = verdicts or {}
        self.found: dict[str, ItemResult] = {}  # id -> result, in line order
        self.model_of: dict[str, str | None] = {}  # id -> the model its line names
        self.scorers = _Scorers()

    def add(self, line: Mapping[str, Any]) -> None:
        cid = str(line.get("custom_id"))
        item = self.items.get(cid)
        if item is None or cid in self.found:
            return  # not in this eval set (or a duplicate line): ignored
        choices = extract_result_choices(line, self.style)
        body = (line.get("response") or {}).get("body")
        model = body.get("model") if isinstance(body, dict) else None
        self.model_of[cid] = model if isinstance(model, str) else None
        name = scorer_of(item, self.scorer)
        verdict = self.verdicts.get(cid) if name == "judge" else None
        self.found[cid] = _score_item(item, choices, name, verdict, self.latencies, self.scorers)

    def rows(self) -> list[tuple[str, str | None, tuple[Any, ...]]]:
        """(id, model, the result's fields) per counted line: plain values, cheap to send."""
        return [(cid, self.model_of[cid], _fields(r)) for cid, r in self.found.items()]

    def merge(self, rows: Iterable[tuple[str, str | None, tuple[Any, ...]]]) -> None:
        """Take a later part of the file's `rows` (ids counted here already win)."""
        for cid, model, values in rows:
            if cid not in self.found:
                self.found[cid] = _item_result(*values)
                self.model_of[cid] = model

    def score(self, label: str, catalog: Catalog | None = None) -> ModelScore:
        """Every item's result (``missing`` without a line) and the model most lines name."""
        found, scorer = self.found, self.scorer
        results = [
            found.get(i) or _missing(it, scorer_of(it, scorer)) for i, it in self.items.items()
        ]
        models: dict[str, int] = {}  # in the order lines first name them: ties go to the first
        for model in self.model_of.values():
            if model is not None:
                models[model] = models.get(model, 0) + 1
        model = max(models, key=lambda m: models[m]) if models else "?"
        return ModelScore(label, model, results, _price(catalog, model))


def _missing(item: EvalItem, scorer: str) -> ItemResult:
    """The result of an item with no result line."""
    return _item_result(
        item.id,
        "missing",
        None,
        False,
        0.0,
        "no result line",
        None,
        None,
        None,
        False,
        None,
        _str(item.difficulty),
        item.group,
        item.cluster,
        scorer,
        0,
        0,
        None,
        None,
        None,
        False,
    )


def _price(catalog: Catalog | None, model: str) -> tuple[float, float] | None:
    """USD per 1M tokens in and out for ``model``, when the catalog knows both."""
    if catalog is None:
        return None
    info = catalog.model(model)
    if info.price_input is not None and info.price_output is not None:
        return (info.price_input, info.price_output)
    return None


class _Scorers:
    """Each scorer name resolved once per scoring (`score_extraction` looks it up per answer):
    name -> (the scorer, whether it reads the tool calls). Resolved at first use, so that an
    unknown name fails where it did, on the first answer it has to score."""

    __slots__ = ("resolved",)

    def __init__(self) -> None:
        self.resolved: dict[str, tuple[Scorer, bool]] = {}

    def score(self, ex: Extraction, item: EvalItem, name: str) -> Score:
        """`score_extraction` (``name`` is the item's own scorer, as `scorer_of` gives it)."""
        fn_reads = self.resolved.get(name)
        if fn_reads is None:
            reads_calls = scorer_reads(name) == "tool_calls"
            fn_reads = self.resolved[name] = (get_scorer(name), reads_calls)
        fn, reads_calls = fn_reads
        return fn(ex.calls_answer() if reads_calls else ex.answer, item)


def _score_item(
    item: EvalItem,
    choices: list[Extraction],
    scorer: str,
    verdict: str | None,
    latencies: Mapping[str, float] | None,
    scorers: _Scorers,
) -> ItemResult:
    """One item's result from its reply's choices (choice 0 decides the accuracy)."""
    ex = choices[0]
    scores: list[Score | None] = []  # per choice; None: cut off or failed
    if ex.error is not None:
        choices = []  # a failed request has no samples
    for choice in choices:
        if choice.error is not None or choice.truncated:
            scores.append(None)
        elif scorer == "judge":  # the judge's reply decides, for choice 0 only
            scores.append(score_answer(verdict, item, scorer))
            break
        else:
            scores.append(scorers.score(choice, item, scorer))
    first = scores[0] if scores else None
    if first is None:
        answer, correct, value = None, False, 0.0
        reason = ex.error or "cut off while thinking"
        what = "error" if ex.error is not None else "truncated"
    else:
        what = outcome(ex, first)
        answer = ex.answer if scorer == "judge" else first.extracted  # the model's own words
        correct, value, reason = first.correct, first.value, first.reason
    majority = majority_correct = None
    if len(scores) == 1:  # one sample is its own majority (as `majority_vote` finds)
        if first is not None and first.extracted is not None:
            majority, majority_correct = first.extracted, first.correct
        else:
            majority_correct = False
    elif scores:
        extracted = [sc.extracted if sc is not None else None for sc in scores]
        pick = majority_vote(extracted)
        if pick is not None:
            chosen = scores[pick]
            assert chosen is not None
            majority, majority_correct = extracted[pick], chosen.correct
        else:
            majority_correct = False
    applies = scorer not in STRUCTURED  # a call or a JSON value is no answer token
    confidence = None
    if first is not None and applies and ex.logprobs is not None:
        confidence = answer_confidence(ex.logprobs, first.extracted)
    return _item_result(
        item.id,
        what,
        answer,
        correct,
        value,
        reason,
        ex.tokens_in,
        ex.tokens_out,
        ex.reasoning_tokens,
        ex.reasoning_tokens_estimated,
        latencies.get(item.id) if latencies else None,
        _str(item.difficulty),
        item.group,
        item.cluster,
        scorer,
        len(scores),  # samples
        sum(1 for sc in scores if sc is not None and sc.correct),  # samples_correct
        majority,
        majority_correct,
        confidence,
        applies and ex.logprobs is not None,  # has_logprobs
    )


def _str(x: object) -> str | None:
    return None if x is None else str(x)


def read_result_lines(
    path: Path, start: int = 0, end: int | None = None, lines_before: int = 0
) -> Iterator[dict[str, Any]]:
    """The parsed lines of a Batch output file, blank lines skipped (CRLF is fine).

    Raises `ResultFileInvalid` naming the line that is not UTF-8, not JSON or not an object.
    ``start`` and ``end`` read the lines in that byte range only (just after a newline, or
    the file's ends), the first numbered ``lines_before + 1`` (see `_parallel`).
    """
    at = start
    with path.open("rb") as f:
        if start:
            f.seek(start)
        for no, raw in enumerate(f, lines_before + 1):
            if end is not None and at >= end:
                return
            at += len(raw)
            if raw.isspace():
                continue
            yield parse_result_line(str(path), no, raw)


def parse_result_line(path: str, no: int, raw: bytes | str) -> dict[str, Any]:
    """Line ``no`` of a result file, parsed; `ResultFileInvalid` if it is no JSON object.

    Decoded by orjson where it surely gives what ``json.loads`` gives (`jobs.quick_json`:
    2.1 times as fast on the lines of bench/scoring.py), else by ``json.loads``, whose
    values and messages these are.
    """
    quick = quick_json(raw) if type(raw) is bytes else None
    if quick is not None and type(quick[0]) is dict:
        return quick[0]
    try:
        value = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ResultFileInvalid(path, no, f"not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ResultFileInvalid(path, no, f"not a JSON result line: {exc.msg}") from None
    except RecursionError:
        raise ResultFileInvalid(path, no, "not a JSON result line: nested too deep") from None
    if not isinstance(value, dict):
        kind = "an array" if isinstance(value, list) else type(value).__name__
        raise ResultFileInvalid(path, no, f"a result line must be a JSON object, got {kind}")
    return value


@dataclass(frozen=True)
class Comparison:
    """B against A on their shared items. ``paired`` is B minus A: the difference, its
    interval and ``p_value``, the test that interval inverts; ``test`` is McNemar's on
    right/wrong, b: only A right, c: only B right (with 0/1 scores its ``p_value`` is
    ``paired.p_value``, the same test)."""

    a: ModelScore
    b: ModelScore
    ids: list[str]  # the shared items
    paired: PairedComparison  # b minus a
    test: McNemar  # b: only A right; c: only B right

    def to_json(self) -> dict[str, Any]:
        def side(m: ModelScore) -> dict[str, Any]:
            sub = ModelScore(m.label, m.model, [m.by_id[i] for i in self.ids], m.price)
            j = sub.to_json(items=False)
            return (
                {
                    k: j[k]
                    for k in (
                        "label",
                        "model",
                        "n",
                        "correct",
                        "accuracy",
                        "ci_low",
                        "ci_high",
                        "ci_method",
                        "truncated",
                        "unparsed",
                        "tokens",
                        "latency",
                        "cost",
                        "cost_per_correct",
                    )
                }
                | {k: j[k] for k in ("clusters", "design_effect") if k in j}
                | sub.extra_json()
            )

        return {
            "n": len(self.ids),
            "a": side(self.a),
            "b": side(self.b),
            "diff": _num(self.paired.diff),
            "diff_se": _num(self.paired.se),
            "diff_ci_low": _sig(self.paired.ci_low),
            "diff_ci_high": _sig(self.paired.ci_high),
            "diff_method": self.paired.method,
            "diff_p": _p(self.paired.p_value),
            "clustered": self.paired.clustered,
            **_clustering(self.paired),
            "mcnemar": {
                "b": self.test.b,
                "c": self.test.c,
                "p": _p(self.test.p_value),
                "p_exact": _p(self.test.p_exact),
                "test": self.test.method,
            },
            "bootstrap": self.bootstrap(),
            "overthinking": self.overthinking(),
        }

    def bootstrap(self) -> dict[str, Any]:
        """A paired bootstrap interval for the difference (2,000 resamples, seed 0)."""
        va = [self.a.by_id[i].value for i in self.ids]
        vb = [self.b.by_id[i].value for i in self.ids]
        clusters = [self.a.by_id[i].cluster for i in self.ids] if self.paired.clustered else None
        low, high = paired_bootstrap(vb, va, clusters=clusters)
        return {
            "ci_low": _sig(low),
            "ci_high": _sig(high),
            "resamples": 2000,
            "seed": 0,
            "clustered": clusters is not None,
        }

    def overthinking(self) -> dict[str, Any]:
        """Output tokens on the items both got right: what each spent where both succeed."""
        both = [i for i in self.ids if self.a.by_id[i].correct and self.b.by_id[i].correct]
        a = summarize(self.a.by_id[i].tokens_out for i in both)
        b = summarize(self.b.by_id[i].tokens_out for i in both)
        return {"items": len(both), "a_output_tokens": _summary(a), "b_output_tokens": _summary(b)}


def compare(a: ModelScore, b: ModelScore) -> Comparison:
    ids = [
        i
        for i in a.by_id
        if i in b.by_id and a.by_id[i].outcome != "missing" and b.by_id[i].outcome != "missing"
    ]
    va = [a.by_id[i].value for i in ids]
    vb = [b.by_id[i].value for i in ids]
    clusters = a.clusters([a.by_id[i] for i in ids])
    paired = paired_comparison(vb, va, clusters)
    if paired.mcnemar is not None:  # 0/1 scores: the very test the interval inverts
        t = paired.mcnemar  # counted B against A: swap to A against B (p is symmetric)
        test = McNemar(t.c, t.b, t.p_value, t.p_exact, t.method)
    else:  # fractional scores: the interval goes with the paired t-test (diff_p)
        a_right = [a.by_id[i].correct for i in ids]
        test = mcnemar(a_right, [b.by_id[i].correct for i in ids], clusters)
    return Comparison(a, b, ids, paired, test)
