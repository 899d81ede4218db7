"""``fanout eval``, ``fanout score`` and ``fanout compare``.

``fanout eval`` turns the eval set into one job file per model (written beside the
results, byte for byte the same on every run, so the runner's resume-by-identity applies:
an interrupted eval resumes with the same command and pays for nothing twice), runs each
through the runner against the same state file, scores the result files and prints the
comparison. ``--sim`` plays the models with the bundled simulator, which knows the eval
set's answers and answers at a stated, seeded accuracy: its numbers are simulated.

``--samples N`` asks every item for N choices (the request's ``n``) and ``--logprobs K``
for token log probabilities (Together's integer form; an item's own ``params`` win, so an
OpenAI endpoint's ``"logprobs": true`` goes there); ``--stream`` fetches answers as streams
(the stored results are the same shape). None changes the job files unless given, so an
eval run before they existed resumes as it was.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from runner import Catalog, FanoutError, Store, UsageError
from runner._lock import StateLock
from runner._run import RunOptions, prepare_run, run_jobs
from runner._schema import RunRow

from ._evalset import EvalItem, item_schema, job_body, read_evalset
from ._extract import extract_result
from ._gc import gc_paused
from ._judge import judge_body
from ._parallel import read_evalset_split, score_file
from ._registry import get_scorer, scorer_names
from ._report import write_report
from ._results import ModelScore, compare, score_results
from ._structured import item_pattern
from ._table import format_table

__all__ = ["compare_command", "eval_command", "report_command", "score_command"]

EXIT_INTERRUPTED = 130


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except FanoutError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)


def slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds exactly that (keeps its identity)."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def jobs_text(items: Sequence[EvalItem], model: str, params: dict[str, Any]) -> str:
    lines = []
    for item in items:
        body = job_body(item, model=model, **params)
        line = {"custom_id": item.id, "url": "/v1/chat/completions", "body": body}
        lines.append(json.dumps(line, sort_keys=True, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _check_scorer(scorer: str | None) -> None:
    if scorer is not None and ":" not in scorer and scorer not in scorer_names():
        raise UsageError(f"unknown scorer {scorer!r}; known: {', '.join(scorer_names())}")


@click.command("eval")
@click.argument("evalset", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "models", multiple=True, required=True, help="Model to evaluate.")
@click.option("--scorer", help="Scorer for items that name none (default: by target type).")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="fanout.db",
    show_default=True,
    help="State file (SQLite).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where job, result and report files go (default: <EVALSET stem>.eval/).",
)
@click.option("--base-url", help="OpenAI-compatible base URL (default: Together).")
@click.option("--sim", is_flag=True, help="Play the models with the bundled simulator.")
@click.option("--tier", help="Together build tier to start the limiter from.")
@click.option("--rpm", type=click.FloatRange(min=0, min_open=True), help="Requests/min cap.")
@click.option("--tpm", type=click.FloatRange(min=0, min_open=True), help="Tokens/min cap.")
@click.option("--concurrency", type=click.IntRange(1, 10_000), default=64, show_default=True)
@click.option("--max-attempts", type=click.IntRange(1, 100), default=6, show_default=True)
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=600.0, show_default=True
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Completion budget per item (thinking included).",
)
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.0, show_default=True)
@click.option(
    "--samples",
    type=click.IntRange(1, 128),
    help="Choices per item (the request's n): adds pass@k and the majority vote.",
)
@click.option(
    "--logprobs",
    type=click.IntRange(1, 20),
    help="Ask for token log probabilities (top K): adds calibration (ECE, Brier).",
)
@click.option(
    "--stream",
    is_flag=True,
    help="Stream the answers (long reasoning replies; records time to first token).",
)
@click.option("--judge-model", help="Model that grades items scored by 'judge' (by rubric).")
@click.option("--no-progress", is_flag=True)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def eval_command(
    evalset: Path,
    models: tuple[str, ...],
    scorer: str | None,
    db_path: Path,
    out_dir: Path | None,
    base_url: str | None,
    sim: bool,
    tier: str | None,
    rpm: float | None,
    tpm: float | None,
    concurrency: int,
    max_attempts: int,
    timeout: float,
    max_tokens: int,
    temperature: float,
    samples: int | None,
    logprobs: int | None,
    stream: bool,
    judge_model: str | None,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Run EVALSET on each --model, score the answers and compare the models."""
    from runner.cli import _resolve_target  # the one place that reads the key

    with _errors():
        _check_scorer(scorer)
        items = read_evalset(evalset)
        if len(set(models)) != len(models):
            raise UsageError("each --model may be given once")
        judged = sum(1 for i in items if (i.scorer or scorer) == "judge")
        if judged and judge_model is None:
            raise UsageError(
                f"{evalset}: {judged} items are scored by 'judge': pass --judge-model MODEL "
                "(the model that grades them by rubric)"
            )
        catalog = Catalog.load()
        if tier is not None:
            catalog.limits(tier.lower(), "")
        target, api_key = _resolve_target(sim, base_url)
        out_dir = out_dir or evalset.with_name(f"{evalset.stem}.eval")
        out_dir.mkdir(parents=True, exist_ok=True)
        params: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        if samples is not None and samples > 1:
            params["n"] = samples
            if temperature == 0:
                click.echo(
                    f"Note: --samples {samples} at --temperature 0 gives (nearly) the same "
                    "sample n times; pass --temperature (0.7, say) for pass@k to mean much.",
                    err=True,
                )
        if logprobs is not None:
            params["logprobs"] = logprobs
        if stream:
            params["stream"] = True
        plans = []
        for model in models:
            jobs_path = out_dir / f"{slug(model)}.jobs.jsonl"
            write_if_changed(jobs_path, jobs_text(items, model, params))
            opts = RunOptions(
                jobs_path=jobs_path,
                db_path=db_path,
                out_path=out_dir / f"{slug(model)}.results.jsonl",
                target=target,
                tier=tier.lower() if tier else None,
                rpm=rpm,
                tpm=tpm,
                concurrency=concurrency,
                max_attempts=max_attempts,
                timeout=timeout,
                progress=not no_progress,
            )
            plans.append((model, opts))
        with StateLock(db_path), Store.open(db_path) as store:
            target_ = _Target.for_models(target, api_key, sim, models, catalog)
            scores = _run_all(store, plans, items, catalog, target_, scorer, judge_model)
        if scores is None:
            sys.exit(EXIT_INTERRUPTED)
        summary = _summary_json(scores)
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        html = write_report(
            scores, out_dir / "report.html", title=f"fanout eval: {evalset.name}", simulated=sim
        )
        if as_json:
            click.echo(json.dumps(summary))
        else:
            click.echo(format_table(scores))
            click.echo(
                f"\nReport: {html} (and {html.with_suffix('.md').name}); "
                f"per-item scores in {out_dir / 'summary.json'}"
            )
            if sim:
                click.echo("Simulated models: accuracies are the simulator's stated parameters:")
                for model in models:
                    table = target_.accuracy.get(model)
                    stated = (
                        ", ".join(f"{k} {v:.0%}" for k, v in table.items())
                        if table
                        else "the simulator's default by reasoning"
                    )
                    click.echo(f"  {model}: {stated} (config/models.toml)")


@dataclass
class _Target:
    """Where requests go: a base URL and key, or the simulator with an answer key."""

    base_url: str
    api_key: str | None
    sim: bool
    accuracy: dict[str, dict[str, float]] = field(default_factory=dict)
    styles: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_models(
        cls, base_url: str, api_key: str | None, sim: bool, models: Sequence[str], catalog: Catalog
    ) -> _Target:
        """With ``sim``, each model's stated accuracy and reasoning style from the catalog."""
        accuracy = {m: a for m in models if (a := catalog.sim_accuracy(m)) is not None}
        styles = {
            m: catalog.model(m).reasoning
            for m in models
            if catalog.model(m).reasoning in ("none", "field", "inline", "inline-no-open")
        }
        return cls(base_url, api_key, sim, accuracy, styles)

    @contextmanager
    def serving(self, pairs: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, str | None]]:
        if not self.sim:
            yield self.base_url, self.api_key
            return
        from runner.sim import SimConfig, SimServer
        from runner.sim._answers import AnswerKey

        config = SimConfig(
            latency=(0.05, 0.3),
            rpm=6000,
            tpm=2_000_000,
            answers=AnswerKey.build(pairs),
            token_seconds=0.0005,
            seed=1,
            accuracy=self.accuracy,
            styles=self.styles,
        )
        with SimServer(config).run_in_thread() as url:
            yield url, None


def _run_plans(
    store: Store,
    prepared: list[tuple[str, RunOptions, RunRow, bool]],
    base_url: str,
    api_key: str | None,
    catalog: Catalog,
) -> bool:
    """Run each prepared run in turn; False if interrupted (state saved)."""
    for label, opts, run_row, resumed in prepared:
        assert run_row.id is not None
        before = store.counts(run_row.id)
        if resumed:
            msg = f"run {run_row.id}, {before.succeeded} of {before.total} already done"
        else:
            msg = f"run {run_row.id}, {before.total} requests"
        click.echo(f"{label}: {msg}", err=True)
        report = run_jobs(
            store,
            run_row,
            opts,
            base_url=base_url,
            api_key=api_key,
            resumed=resumed,
            catalog=catalog,
        )
        if report.stats.aborted is not None:
            raise FanoutError(f"the server refused the run: {report.stats.aborted}")
        if report.interrupted:
            click.echo("Interrupted. State saved; rerun the same command to resume.", err=True)
            return False
    return True


def _results(store: Store, run_row: RunRow) -> Iterator[dict[str, Any]]:
    assert run_row.id is not None
    return (json.loads(r.to_json()) for r in store.iter_results(run_row.id))


def _run_all(
    store: Store,
    plans: list[tuple[str, RunOptions]],
    items: list[EvalItem],
    catalog: Catalog,
    target: _Target,
    scorer: str | None,
    judge_model: str | None,
) -> list[ModelScore] | None:
    by_id = {item.id: item for item in items}
    prepared = [(model, opts, *prepare_run(store, opts)) for model, opts in plans]
    with target.serving(_answer_pairs(items)) as (url, key):
        if not _run_plans(store, prepared, url, key, catalog):
            return None
    verdicts: dict[str, dict[str, str | None]] = {}
    judged = [i for i in items if (i.scorer or scorer) == "judge"]
    if judged and judge_model is not None:
        judge_plans = []
        sim_pairs: list[tuple[str, Any]] = []
        for model, opts, run_row, _ in prepared:
            answers = {
                line["custom_id"]: extract_result(line).answer for line in _results(store, run_row)
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
                if target.sim:
                    sim_pairs.append(_judge_pair(item, candidate, body))
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
        with target.serving(sim_pairs) as (url, key):
            if not _run_plans(store, prepared_judge, url, key, catalog):
                return None
        for (model, _o), (_l, _opts, run_row, _r) in zip(judge_plans, prepared_judge, strict=True):
            verdicts[model] = {
                line["custom_id"]: extract_result(line).answer for line in _results(store, run_row)
            }
    scores = []
    for model, _opts, run_row, _resumed in prepared:
        assert run_row.id is not None
        score = score_results(
            _results(store, run_row),
            by_id,
            label=model,
            scorer=scorer,
            latencies=store.latencies(run_row.id),
            catalog=catalog,
            verdicts=verdicts.get(model, {}),
        )
        score.model = model
        scores.append(score)
    return scores


def _judge_pair(item: EvalItem, candidate: str, body: dict[str, Any]) -> tuple[str, Any]:
    """For the simulated judge: the verdict a careful grader would give (normalized match)."""
    from runner.sim._answers import AnswerSpec

    right = get_scorer("normalized")(candidate, item).correct
    verdict = "CORRECT" if right else "INCORRECT"
    return body["messages"][-1]["content"], AnswerSpec(verdict, "judge", "easy")


def _answer_pairs(items: Sequence[EvalItem]) -> Iterator[tuple[str, Any]]:
    """For the simulator: each item's prompt and what a right answer is (its AnswerSpec).

    The contract with ``runner.sim._answers``: for ``tool_call`` the target is the list of
    expected calls; for ``json_schema`` the target object and ``schema=``; for
    ``regex_match`` the target string and ``pattern=`` (the pattern the scorer checks).
    """
    from runner.sim._answers import AnswerSpec

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
        spec = AnswerSpec(target, scorer, difficulty, item.choices, schema=schema, pattern=pattern)
        yield prompt, spec


def _summary_json(scores: list[ModelScore]) -> dict[str, Any]:
    out: dict[str, Any] = {"models": [s.to_json() for s in scores]}
    if len(scores) > 1:
        out["comparisons"] = [compare(scores[0], s).to_json() for s in scores[1:]]
    return out


def _load(
    spec: str, items: dict[str, EvalItem], db_path: Path, scorer: str | None, catalog: Catalog
) -> ModelScore:
    """A run id (in ``db_path``) or a result file, scored."""
    if spec.isdigit():
        if not db_path.exists():
            raise UsageError(f"no state file {db_path} (for run {spec})")
        with Store.open(db_path) as store:
            run = store.get_run(int(spec))
            if run is None:
                raise UsageError(f"{db_path}: no run {spec}")
            lines = [json.loads(r.to_json()) for r in store.iter_results(int(spec))]
            return score_results(
                lines,
                items,
                label=f"run {spec}",
                scorer=scorer,
                latencies=store.latencies(int(spec)),
                catalog=catalog,
            )
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"{spec}: not a run id nor a result file")
    return score_file(path, items, label=path.name, scorer=scorer, catalog=catalog)


@click.command("score")
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--evalset", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--scorer", help="Scorer for items that name none.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def score_command(results: Path, evalset: Path, scorer: str | None, as_json: bool) -> None:
    """Score a result file (Batch output format) against its eval set, offline."""
    with _errors(), gc_paused():  # see _gc; paused around the call, so its data is gone
        _score(results, evalset, scorer, as_json)


def _score(results: Path, evalset: Path, scorer: str | None, as_json: bool) -> None:
    _check_scorer(scorer)
    items = {i.id: i for i in read_evalset_split(evalset)}
    if not results.is_file():
        raise UsageError(f"{results}: no such result file")
    s = _load(str(results), items, Path("-"), scorer, Catalog.load())
    if as_json:
        for piece in s.json_pieces():  # json.dumps(s.to_json()), never held whole
            click.echo(piece, nl=False)
        click.echo()
    else:
        click.echo(format_table([s]))


@click.command("compare")
@click.argument("a")
@click.argument("b")
@click.option("--evalset", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="fanout.db",
    show_default=True,
)
@click.option("--scorer", help="Scorer for items that name none.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def compare_command(
    a: str, b: str, evalset: Path, db_path: Path, scorer: str | None, as_json: bool
) -> None:
    """Paired comparison of A and B (run ids or result files) on the items both have."""
    with _errors(), gc_paused():
        _check_scorer(scorer)
        items = {i.id: i for i in read_evalset_split(evalset)}
        catalog = Catalog.load()
        sa = _load(a, items, db_path, scorer, catalog)
        sb = _load(b, items, db_path, scorer, catalog)
        if as_json:
            click.echo(json.dumps(compare(sa, sb).to_json()))
        else:
            click.echo(format_table([sa, sb]))


@click.command("report")
@click.argument("runs", nargs=-1, required=True)
@click.option("--evalset", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="fanout.db",
    show_default=True,
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="report.html",
    show_default=True,
)
@click.option("--scorer", help="Scorer for items that name none.")
def report_command(
    runs: tuple[str, ...], evalset: Path, db_path: Path, out_path: Path, scorer: str | None
) -> None:
    """A self-contained HTML report (and Markdown) on RUNS: run ids or result files."""
    with _errors(), gc_paused():
        _check_scorer(scorer)
        items = {i.id: i for i in read_evalset_split(evalset)}
        catalog = Catalog.load()
        scores = [_load(r, items, db_path, scorer, catalog) for r in runs]
        path = write_report(scores, out_path, title=f"fanout report: {evalset.name}")
        click.echo(f"Wrote {path} and {path.with_suffix('.md')}")
