"""Scores from what is on disk, and the checks made before anything is scored or sent.

`load_scores` scores a run in a state file or a result file against an eval set, in the
reasoning style of the model the results name, and stops when no result line matches an
item (the wrong eval set). `check_items` resolves every scorer an eval set needs before a
request is sent: found afterwards, an unknown scorer makes a paid run unscoreable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner import REASONING_STYLES, Catalog, Store, UsageError

from ._errors import ScorerError
from ._evalset import EvalItem, item_schema
from ._jsonschema import schema_errors
from ._parallel import score_file
from ._registry import get_scorer, scorer_names
from ._results import ModelScore, score_results
from ._scorers import scorer_of

__all__ = ["check_items", "check_scorer", "check_style", "load_scores", "missing_note"]


def check_scorer(scorer: str | None) -> None:
    """A scorer name must be registered (or be ``name:arg``); `UsageError` names the known."""
    if scorer is not None and ":" not in scorer and scorer not in scorer_names():
        raise UsageError(f"unknown scorer {scorer!r}; known: {', '.join(scorer_names())}")


def check_items(evalset: Path, items: Sequence[EvalItem], scorer: str | None) -> None:
    """Every scorer the items name or get resolves (a user's own imports), and every JSON
    Schema they are checked against is valid, before any request.

    Found after the requests, either makes a paid run unscoreable. Raises `ScorerError`
    naming the eval set, the first item concerned, and why. (Targets are checked when the
    eval set is read: an item without one is refused there.)
    """
    first: dict[str, EvalItem] = {}
    for item in items:
        name = scorer_of(item, scorer)
        first.setdefault(name, item)
        schema = None
        if name == "json_schema":
            schema = item_schema(item.params, item.metadata)
        elif name == "json":
            schema = item.metadata.get("schema")
        if schema is not None:
            try:
                schema_errors(None, schema)  # builds (and caches) its validator
            except ScorerError as exc:
                raise ScorerError(f"{evalset}: item {item.id!r}: {exc}; nothing was sent") from None
    for name, item in first.items():
        try:
            get_scorer(name)
        except ScorerError as exc:
            raise ScorerError(f"{evalset}: item {item.id!r}: {exc}; nothing was sent") from None


def check_style(style: str | None) -> None:
    """A reasoning style override must be one of `runner.REASONING_STYLES`."""
    if style is not None and style not in REASONING_STYLES:
        raise UsageError(f"unknown reasoning style {style!r}; known: {', '.join(REASONING_STYLES)}")


def load_scores(
    spec: str | Path,
    items: dict[str, EvalItem],
    *,
    db_path: str | Path | None = None,
    scorer: str | None = None,
    reasoning_style: str | None = None,
    catalog: Catalog | None = None,
) -> ModelScore:
    """Score a run (its id in ``db_path``) or a result file against ``items``.

    Answers are read in the reasoning style of the model the results name (its
    ``reasoning`` in ``config/models.toml``; ``auto`` for a model it does not list), or in
    ``reasoning_style`` for every model. The score is marked ``simulated`` when the run
    targeted the simulator or the file's answers come from it. When no result line matches
    an item it stops: the wrong eval set, or the wrong file (`UsageError`, exit 2).
    """
    catalog = catalog or Catalog.load()
    check_style(reasoning_style)
    text = str(spec)
    if text.isdigit() and db_path is not None:
        db = Path(db_path)
        if not db.exists():
            raise UsageError(f"no state file {db} (for run {text})")
        with Store.open(db) as store:
            run = store.get_run(int(text))
            if run is None:
                raise UsageError(f"{db}: no run {text}")
            lines = [json.loads(r.to_json()) for r in store.iter_results(int(text))]
            model = next((m for m in map(_model_of, lines) if m is not None), None)
            score = score_results(
                lines,
                items,
                label=f"run {text}",
                scorer=scorer,
                style=reasoning_style or catalog.model(model or "").reasoning,
                latencies=store.latencies(int(text)),
                catalog=catalog,
            )
            score.simulated = json.loads(run.options_json).get("target") == "sim"
            where = f"run {text} in {db} ({len(lines)} result lines)"
    else:
        path = Path(spec)
        if not path.is_file():
            what = "not a run id nor a result file" if db_path else "no such result file"
            raise UsageError(f"{spec}: {what}")
        first = _first_line(path)
        model = _model_of(first) if first is not None else None
        score = score_file(
            path,
            items,
            label=path.name,
            scorer=scorer,
            style=reasoning_style or catalog.model(model or "").reasoning,
            catalog=catalog,
        )
        score.simulated = first is not None and _simulated(first)
        where = str(path)
    if score.matched == 0 and items:
        raise UsageError(
            f"{where}: no result line matches an item of the eval set (its {len(items)} "
            f"ids start {', '.join(repr(i) for i in list(items)[:3])}): is it the right eval "
            "set for these results?"
        )
    return score


def missing_note(score: ModelScore) -> str | None:
    """A line saying how many items had no result line (counted as missing), if any."""
    missing = score.n - score.matched
    if not missing:
        return None
    return (
        f"Note: {score.label}: {score.matched} of {score.n} items have a result line; the other "
        f"{missing} count as missing (not correct)."
    )


def _first_line(path: Path) -> dict[str, Any] | None:
    """The first result line of a file with a response body, parsed (None: none readable)."""
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                line: Any = json.loads(raw)
            except (ValueError, RecursionError):
                return None
            response = line.get("response") if isinstance(line, dict) else None
            if isinstance(response, dict) and isinstance(response.get("body"), dict):
                return dict(line)
    return None


def _model_of(line: dict[str, Any]) -> str | None:
    """The model a result line's response names."""
    response = line.get("response")
    body = response.get("body") if isinstance(response, dict) else None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def _simulated(line: dict[str, Any]) -> bool:
    """Whether a result line's answer comes from the simulator (its reply ids start sim-)."""
    return str(line["response"]["body"].get("id", "")).startswith("sim-")
