"""`evaluate` / `aevaluate`, `score`, `compare` and `report`: the eval stage from Python.

`aevaluate` runs an eval set on several models (`evals.run_eval`) against Together, another
server, or the simulator playing the models; `score` scores one result file (or run)
offline; `compare` pairs two scores; `report` writes the HTML and Markdown report.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import jobs
from evals import (
    Comparison,
    EvalItem,
    EvalRun,
    ModelScore,
    check_scorer,
    gc_paused,
    load_scores,
    read_evalset_split,
    run_eval,
    write_report,
)
from evals import compare as _compare
from runner import Catalog, UsageError

from ._batch import Run
from ._sync import blocking
from ._target import EvalEndpoint, resolve_target

__all__ = [
    "aevaluate",
    "bundled_evalsets",
    "compare",
    "evalset_path",
    "evaluate",
    "report",
    "score",
]

PathLike = str | os.PathLike[str]
_BUNDLED = Path(jobs.__file__).resolve().parent / "evals"  # shipped in the wheel as jobs/evals


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def aevaluate(
    evalset: PathLike,
    models: Sequence[str],
    *,
    sim: bool = False,
    base_url: str | None = None,
    api_key: str | None = None,
    db: PathLike = "fanout.db",
    out_dir: PathLike | None = None,
    scorer: str | None = None,
    reasoning_style: str | None = None,
    judge_model: str | None = None,
    max_tokens: int = 4096,
    temperature: float = 0.0,
    samples: int | None = None,
    logprobs: int | None = None,
    stream: bool = False,
    tier: str | int | None = None,
    rpm: float | None = None,
    tpm: float | None = None,
    concurrency: int = 64,
    max_attempts: int = 6,
    timeout: float = 600.0,  # noqa: ASYNC109  (per request, as --timeout; not for the call)
    progress: bool = True,
    new_run: bool = False,
    notify: Callable[[str], None] = _stderr,
    loop: str | None = None,
    _handle_signals: bool = False,
) -> EvalRun:
    """Run ``evalset`` on each of ``models``, score the answers and compare the models.

    The target is chosen as in `arun_batch`; with ``sim=True`` the simulator plays the
    models at the accuracies ``config/models.toml`` states (the numbers are simulated, and
    the report says so). Job, result and report files go to ``out_dir`` (default
    ``<evalset stem>.eval/`` beside it); runs go to the state file ``db``, so the same call
    resumes an interrupted eval without paying twice. Answers are read in each model's
    reasoning style from ``config/models.toml`` (a reply cut off inside its thinking is
    truncated, never right), or in ``reasoning_style`` for all. Returns an `evals.EvalRun`:
    ``scores`` (one `ModelScore` per model), ``summary()``, ``report_path``.
    """
    target = resolve_target(sim, base_url, api_key)
    catalog = Catalog.load()
    if target.together:
        refuse_dedicated(models, catalog)
    path = evalset_path(evalset)
    if out_dir is None and path != Path(evalset):  # a bundled set: its files go here
        out_dir = Path(f"{path.stem}.eval")
    return await run_eval(
        path,
        models,
        endpoint=EvalEndpoint.for_models(target, models, catalog),
        target=target.identity,
        db_path=Path(db),
        out_dir=None if out_dir is None else Path(out_dir),
        scorer=scorer,
        reasoning_style=reasoning_style,
        judge_model=judge_model,
        max_tokens=max_tokens,
        temperature=temperature,
        samples=samples,
        logprobs=logprobs,
        stream=stream,
        tier=str(tier) if tier is not None else None,
        rpm=rpm,
        tpm=tpm,
        concurrency=concurrency,
        max_attempts=max_attempts,
        timeout=timeout,
        progress=progress,
        new_run=new_run,
        handle_signals=_handle_signals,
        catalog=catalog,
        notify=notify,
    )


evaluate = blocking(
    aevaluate,
    "evaluate",
    """Run an eval set on several models, score and compare them; blocks until done.

    `aevaluate` (see it for every option) on a new event loop, with Ctrl-C turned into a
    graceful stop. Inside a running event loop (Jupyter, an async app) it raises
    `UsageError`: ``await fanout.aevaluate(...)`` there.
    """,
)


def refuse_dedicated(models: Sequence[str], catalog: Catalog) -> None:
    """`UsageError` for a model Together serves only on a dedicated endpoint (every request
    would fail with ``model_not_available``), naming serverless ones of the same kind."""
    for model in models:
        info = catalog.model(model)
        if not info.serverless:
            reasoning = info.reasoning not in ("none", "auto")
            alternatives = ", ".join(catalog.serverless_alternatives(reasoning))
            kind = "reasoning models" if reasoning else "models"
            raise UsageError(
                f"{model} is served by Together only on a dedicated endpoint "
                f"(config/models.toml: serverless = false), so every request would fail. "
                f"Serverless {kind}: {alternatives}. Nothing was sent."
            )


def score(
    results: PathLike | Run | int,
    evalset: PathLike | Iterable[EvalItem],
    *,
    scorer: str | None = None,
    reasoning_style: str | None = None,
    db: PathLike | None = None,
) -> ModelScore:
    """Score a result file, a `Run`, or a run id in ``db`` against ``evalset``, offline.

    The `ModelScore` has ``accuracy()`` (with its interval), ``n``, ``correct``, per-item
    ``items``, tokens, latency and cost; ``to_json()`` is ``fanout score --json``. Answers
    are read in the reasoning style of the model the results name (``config/models.toml``),
    or in ``reasoning_style``.
    """
    check_scorer(scorer)
    items = _items(evalset)
    with gc_paused():
        return _load(results, items, scorer, reasoning_style, db, Catalog.load())


def compare(a: ModelScore, b: ModelScore) -> Comparison:
    """Paired comparison of ``a`` and ``b`` on the items both answered (b minus a).

    ``to_json()`` is ``fanout compare --json``: the accuracy difference with Tango's score
    interval and McNemar's score test, which that interval inverts (the exact p beside it).
    """
    return _compare(a, b)


def report(
    scores: Sequence[ModelScore],
    path: PathLike = "report.html",
    *,
    title: str = "fanout report",
    simulated: bool | None = None,
) -> Path:
    """Write a self-contained HTML report at ``path`` (and Markdown beside it); its path.

    It warns that the numbers are simulated when ``simulated``, or (None) when any score is.
    """
    return write_report(list(scores), Path(path), title=title, simulated=simulated)


def bundled_evalsets() -> list[str]:
    """The names of the eval sets shipped with fanout (``mixed``, ``arithmetic``, ...)."""
    return sorted(p.stem for p in _BUNDLED.glob("*.jsonl"))


def evalset_path(evalset: PathLike) -> Path:
    """``evalset`` as given if it exists, else the bundled set of that name if there is one."""
    path = Path(evalset)
    if path.exists() or path.suffix or len(path.parts) > 1:
        return path
    bundled = _BUNDLED / f"{path.name}.jsonl"
    if not bundled.is_file():
        raise UsageError(
            f"{evalset}: no such eval set file, nor a bundled set "
            f"(bundled: {', '.join(bundled_evalsets())})"
        )
    return bundled


def _items(evalset: PathLike | Iterable[EvalItem]) -> dict[str, EvalItem]:
    if isinstance(evalset, str | os.PathLike):
        return {i.id: i for i in read_evalset_split(evalset_path(evalset))}
    return {i.id: i for i in evalset}


def _load(
    results: PathLike | Run | int,
    items: dict[str, EvalItem],
    scorer: str | None,
    style: str | None,
    db: PathLike | None,
    catalog: Catalog,
) -> ModelScore:
    if isinstance(results, Run):
        spec, db_path = str(results.id), Path(results.db_path)
    elif isinstance(results, int):
        spec, db_path = str(results), Path(db or "fanout.db")
    else:
        return load_scores(
            Path(results), items, scorer=scorer, reasoning_style=style, catalog=catalog
        )
    return load_scores(
        spec, items, db_path=db_path, scorer=scorer, reasoning_style=style, catalog=catalog
    )
