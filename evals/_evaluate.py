"""An eval from start to end: job files, runs, the judge, scores, summary and report.

`run_eval` turns the eval set into one job file per model (written beside the results,
byte for byte the same on every run, so the runner's resume-by-identity applies: an
interrupted eval resumes with the same call and pays for nothing twice), runs each through
the runner against one state file, has a judge model grade the items scored by ``judge``,
scores the result files, and writes ``summary.json`` and the HTML/Markdown report.

Where requests go is an `Endpoint`: a context manager that yields a base URL and a key. A
real server ignores the `Expectation` records it is handed; a simulator that plays the
models reads from them what a right answer to each prompt is. This module knows nothing of
any simulator: ``fanout`` wires one in.

``samples`` asks every item for N choices (the request's ``n``), ``logprobs`` for token log
probabilities (Together's integer form; an item's own ``params`` win), ``stream`` fetches
answers as streams (the stored results are the same shape). None changes the job files
unless given, so an eval run before they existed resumes as it was.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from runner import (
    Catalog,
    FanoutError,
    RunOptions,
    RunRow,
    StateLock,
    Store,
    UsageError,
    arun_jobs,
    prepare_run,
)

from ._evalset import EvalItem, item_schema, job_body, read_evalset
from ._extract import extract_result
from ._judge import judge_body
from ._load import check_items, check_scorer, check_style
from ._registry import get_scorer
from ._report import write_report
from ._results import ModelScore, compare, score_results
from ._structured import item_pattern

__all__ = [
    "Endpoint",
    "EvalRun",
    "Expectation",
    "run_eval",
]


@dataclass(frozen=True)
class Expectation:
    """What a right answer to one prompt is, for a server that plays the models.

    ``target`` by scorer: for ``tool_call`` the list of expected calls; for ``json`` and
    ``json_schema`` the target object (and ``schema``); for ``regex_match`` the target
    string (and the ``pattern`` the scorer checks); else the target answer.
    """

    prompt: str
    target: Any
    scorer: str
    difficulty: str = "medium"
    choices: tuple[str, ...] | None = None
    schema: dict[str, Any] | None = None
    pattern: str | None = None


class Endpoint(Protocol):
    """Where an eval's requests go: yields ``(base_url, api_key)`` while it serves them."""

    @property
    def simulated(self) -> bool:
        """The models are played, not real: reports say so."""

    def serving(
        self, expectations: Iterable[Expectation]
    ) -> AbstractContextManager[tuple[str, str | None]]: ...


@dataclass
class EvalRun:
    """What `run_eval` did: the scores of each model (in the order given) and where it wrote."""

    scores: list[ModelScore]
    out_dir: Path
    summary_path: Path | None = None
    report_path: Path | None = None
    interrupted: bool = False  # state saved: the same call resumes
    run_ids: dict[str, int] = field(default_factory=dict)  # model -> run in the state file

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` object: each model's scores and each comparison with the first."""
        out: dict[str, Any] = {"models": [s.to_json() for s in self.scores]}
        if len(self.scores) > 1:
            out["comparisons"] = [compare(self.scores[0], s).to_json() for s in self.scores[1:]]
        return out


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def slug(model: str) -> str:
    """A model name as a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds exactly that (keeps its identity)."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def jobs_text(items: Sequence[EvalItem], model: str, params: dict[str, Any]) -> str:
    """The job file of one model: a Batch line per item, sorted keys (a stable identity)."""
    lines = []
    for item in items:
        body = job_body(item, model=model, **params)
        line = {"custom_id": item.id, "url": "/v1/chat/completions", "body": body}
        lines.append(json.dumps(line, sort_keys=True, ensure_ascii=False))
    return "\n".join(lines) + "\n"


async def run_eval(
    evalset: str | Path,
    models: Sequence[str],
    *,
    endpoint: Endpoint,
    target: str,
    db_path: str | Path = "fanout.db",
    out_dir: str | Path | None = None,
    scorer: str | None = None,
    reasoning_style: str | None = None,
    judge_model: str | None = None,
    max_tokens: int = 4096,
    temperature: float = 0.0,
    samples: int | None = None,
    logprobs: int | None = None,
    stream: bool = False,
    tier: str | None = None,
    rpm: float | None = None,
    tpm: float | None = None,
    concurrency: int = 64,
    max_attempts: int = 6,
    timeout: float = 600.0,  # noqa: ASYNC109  (per request, as --timeout; not for the call)
    progress: bool = True,
    new_run: bool = False,
    handle_signals: bool = False,
    catalog: Catalog | None = None,
    notify: Callable[[str], None] = _stderr,
) -> EvalRun:
    """Run ``evalset`` on each model, score the answers, write the summary and the report.

    ``target`` is the run identity's target (``"sim"`` or the base URL, as for `prepare_run`);
    ``endpoint`` serves the requests. Raises `UsageError` (nothing sent) for a bad scorer,
    a repeated model, judge items without ``judge_model`` or an unknown tier;
    `EvalSetInvalid` for a bad eval set. An interrupted eval returns with ``interrupted``
    set and no scores: the same call resumes. ``new_run`` starts each model's run over
    (after the eval set or a request option changed).
    """
    evalset = Path(evalset)
    db_path = Path(db_path)
    check_scorer(scorer)
    check_style(reasoning_style)
    items = read_evalset(evalset)
    check_items(evalset, items, scorer)
    if not models:
        raise UsageError("give at least one model")
    if len(set(models)) != len(models):
        raise UsageError("each model may be given once")
    judged = sum(1 for i in items if (i.scorer or scorer) == "judge")
    if judged and judge_model is None:
        raise UsageError(
            f"{evalset}: {judged} items are scored by 'judge': pass --judge-model MODEL "
            "(the model that grades them by rubric)"
        )
    catalog = catalog or Catalog.load()
    if tier is not None:
        catalog.limits(tier.lower(), "")
    out = Path(out_dir) if out_dir is not None else evalset.with_name(f"{evalset.stem}.eval")
    out.mkdir(parents=True, exist_ok=True)
    params: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
    if samples is not None and samples > 1:
        params["n"] = samples
        if temperature == 0:
            notify(
                f"Note: {samples} samples at temperature 0 give (nearly) the same sample "
                f"{samples} times; set a temperature (0.7, say) for pass@k to mean much."
            )
    if logprobs is not None:
        params["logprobs"] = logprobs
    if stream:
        params["stream"] = True
    plans = []
    for model in models:
        jobs_path = out / f"{slug(model)}.jobs.jsonl"
        write_if_changed(jobs_path, jobs_text(items, model, params))
        opts = RunOptions(
            jobs_path=jobs_path,
            db_path=db_path,
            out_path=out / f"{slug(model)}.results.jsonl",
            target=target,
            tier=tier.lower() if tier else None,
            rpm=rpm,
            tpm=tpm,
            concurrency=concurrency,
            max_attempts=max_attempts,
            timeout=timeout,
            progress=progress,
            new_run=new_run,
        )
        plans.append((model, opts))
    session = _Session(endpoint, catalog, handle_signals, notify, reasoning_style)
    with StateLock(db_path), Store.open(db_path) as store:
        scores = await session.run_all(store, plans, items, scorer, judge_model)
    result = EvalRun(scores or [], out, interrupted=scores is None, run_ids=session.run_ids)
    if scores is None:
        return result
    result.summary_path = out / "summary.json"
    result.summary_path.write_text(json.dumps(result.summary(), indent=2) + "\n")
    result.report_path = write_report(
        scores,
        out / "report.html",
        title=f"fanout eval: {evalset.name}",
        simulated=endpoint.simulated,
    )
    return result


@dataclass
class _Session:
    endpoint: Endpoint
    catalog: Catalog
    handle_signals: bool
    notify: Callable[[str], None]
    reasoning_style: str | None = None  # for every model; None: each its catalog's
    run_ids: dict[str, int] = field(default_factory=dict)

    def style_of(self, model: str) -> str:
        return self.reasoning_style or self.catalog.model(model).reasoning

    async def run_plans(
        self,
        store: Store,
        prepared: list[tuple[str, RunOptions, RunRow, bool]],
        base_url: str,
        api_key: str | None,
    ) -> bool:
        """Run each prepared run in turn; False if interrupted (state saved)."""
        for label, opts, run_row, resumed in prepared:
            assert run_row.id is not None
            before = store.counts(run_row.id)
            if resumed:
                msg = f"run {run_row.id}, {before.succeeded} of {before.total} already done"
            else:
                msg = f"run {run_row.id}, {before.total} requests"
            self.notify(f"{label}: {msg}")
            report = await arun_jobs(
                store,
                run_row,
                opts,
                base_url=base_url,
                api_key=api_key,
                resumed=resumed,
                catalog=self.catalog,
                before=before,
                handle_signals=self.handle_signals,
            )
            if report.stats.aborted is not None:
                raise FanoutError(f"the server refused the run: {report.stats.aborted}")
            if report.interrupted:
                self.notify("Interrupted. State saved; run the same eval again to resume.")
                return False
        return True

    async def run_all(
        self,
        store: Store,
        plans: list[tuple[str, RunOptions]],
        items: list[EvalItem],
        scorer: str | None,
        judge_model: str | None,
    ) -> list[ModelScore] | None:
        by_id = {item.id: item for item in items}
        prepared = [(model, opts, *prepare_run(store, opts)) for model, opts in plans]
        for model, _opts, run_row, _resumed in prepared:
            assert run_row.id is not None
            self.run_ids[model] = run_row.id
        with self.endpoint.serving(expectations(items)) as (url, key):
            if not await self.run_plans(store, prepared, url, key):
                return None
        verdicts: dict[str, dict[str, str | None]] = {}
        judged = [i for i in items if (i.scorer or scorer) == "judge"]
        if judged and judge_model is not None:
            found = await self.judge(store, prepared, judged, judge_model)
            if found is None:
                return None
            verdicts = found
        scores = []
        for model, _opts, run_row, _resumed in prepared:
            assert run_row.id is not None
            score = score_results(
                _results(store, run_row),
                by_id,
                label=model,
                scorer=scorer,
                style=self.style_of(model),
                latencies=store.latencies(run_row.id),
                catalog=self.catalog,
                verdicts=verdicts.get(model, {}),
            )
            score.model = model
            score.simulated = self.endpoint.simulated
            scores.append(score)
        return scores

    async def judge(
        self,
        store: Store,
        prepared: list[tuple[str, RunOptions, RunRow, bool]],
        judged: list[EvalItem],
        judge_model: str,
    ) -> dict[str, dict[str, str | None]] | None:
        """Have ``judge_model`` grade each model's answers to ``judged``; None if interrupted."""
        judge_plans = []
        sim_pairs: list[Expectation] = []
        for model, opts, run_row, _ in prepared:
            style = self.style_of(model)  # or a tagless model's thinking goes to the judge
            answers = {
                line["custom_id"]: extract_result(line, style).answer
                for line in _results(store, run_row)
            }
            lines = []
            for item in judged:
                candidate = answers.get(item.id)
                if candidate is None:
                    continue  # failed or cut off: nothing to judge, reported as such
                body = judge_body(
                    item, candidate, model=judge_model, max_tokens=1024, temperature=0.0
                )
                lines.append(json.dumps({"custom_id": item.id, "body": body}, sort_keys=True))
                if self.endpoint.simulated:
                    sim_pairs.append(_judge_expectation(item, candidate, body))
            jobs_path = opts.jobs_path.with_name(
                opts.jobs_path.name.replace(".jobs.jsonl", ".judge.jobs.jsonl")
            )
            write_if_changed(jobs_path, "\n".join(lines) + "\n" if lines else "")
            if not lines:
                continue
            judge_opts = replace(
                opts,
                jobs_path=jobs_path,
                out_path=jobs_path.with_name(
                    jobs_path.name.replace(".jobs.jsonl", ".results.jsonl")
                ),
            )
            judge_plans.append((model, judge_opts))
        prepared_judge = [(f"judge of {m}", o, *prepare_run(store, o)) for m, o in judge_plans]
        with self.endpoint.serving(sim_pairs) as (url, key):
            if not await self.run_plans(store, prepared_judge, url, key):
                return None
        verdicts: dict[str, dict[str, str | None]] = {}
        judge_style = self.style_of(judge_model)
        for (model, _o), (_l, _opts, run_row, _r) in zip(judge_plans, prepared_judge, strict=True):
            verdicts[model] = {
                line["custom_id"]: extract_result(line, judge_style).answer
                for line in _results(store, run_row)
            }
        return verdicts


def _results(store: Store, run_row: RunRow) -> Iterator[dict[str, Any]]:
    assert run_row.id is not None
    return (json.loads(r.to_json()) for r in store.iter_results(run_row.id))


def _judge_expectation(item: EvalItem, candidate: str, body: dict[str, Any]) -> Expectation:
    """For a played judge: the verdict a careful grader would give (normalized match)."""
    right = get_scorer("normalized")(candidate, item).correct
    verdict = "CORRECT" if right else "INCORRECT"
    return Expectation(body["messages"][-1]["content"], verdict, "judge", "easy")


def expectations(items: Sequence[EvalItem]) -> Iterator[Expectation]:
    """Each item's prompt and what a right answer to it is."""
    for item in items:
        body = job_body(item)
        prompt = body["messages"][-1]["content"]
        if not isinstance(prompt, str):
            continue
        target: Any = item.targets[0] if item.targets else None
        scorer = item.scorer or ("choice" if item.choices else "exact")
        schema = pattern = None
        if scorer == "judge":
            scorer = "normalized"  # the model answers in words; the judge grades them
        elif scorer == "tool_call":
            target = list(item.targets)  # every expected call (parallel calls: several)
        elif scorer in ("json", "json_schema") and isinstance(target, str):
            target = json.loads(target)
        if scorer == "json_schema":
            schema = item_schema(item.params, item.metadata)
        elif scorer == "regex_match":
            pattern = item_pattern(item)
        difficulty = str(item.difficulty or "medium")
        choices = tuple(item.choices) if item.choices else None
        yield Expectation(prompt, target, scorer, difficulty, choices, schema, pattern)
