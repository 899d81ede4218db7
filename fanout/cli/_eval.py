"""``fanout eval``, ``score``, ``compare`` and ``report``: click over `fanout.evaluate`.

``fanout eval`` runs the eval set on each model (job files beside the results, resumable
with the same command), scores the answers and prints the comparison; ``--sim`` plays the
models with the bundled simulator at stated, seeded accuracies (its numbers are simulated).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import fanout
from evals import (
    ModelScore,
    check_scorer,
    format_table,
    gc_paused,
    load_scores,
    missing_note,
    read_evalset_split,
)
from runner import REASONING_STYLES, Catalog, UsageError

from .._evaluate import evalset_path
from ._common import EXIT_INTERRUPTED, db_option, fanout_errors

__all__ = ["compare_command", "eval_command", "report_command", "score_command"]

# --reasoning-style, the same on every command that reads answers
_style_option = click.option(
    "--reasoning-style",
    type=click.Choice(REASONING_STYLES),
    help="How every model's replies carry their thinking (default: each model's in "
    "config/models.toml).",
)


@click.command("eval")
@click.argument("evalset", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "models", multiple=True, required=True, help="Model to evaluate.")
@click.option("--scorer", help="Scorer for items that name none (default: by target type).")
@_style_option
@db_option()
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
@click.option(
    "--new-run",
    is_flag=True,
    help="Start each model's run over, e.g. after the eval set or an option changed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def eval_command(
    evalset: Path,
    models: tuple[str, ...],
    scorer: str | None,
    reasoning_style: str | None,
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
    new_run: bool,
    as_json: bool,
) -> None:
    """Run EVALSET on each --model, score the answers and compare the models.

    EVALSET is a file, or the name of a bundled set: arithmetic, dates, decimals,
    function_calling, json, letters, logic, mixed, structured_output.
    """
    with fanout_errors():
        result = fanout.evaluate(
            evalset,
            models,
            sim=sim,
            base_url=base_url,
            db=db_path,
            out_dir=out_dir,
            scorer=scorer,
            reasoning_style=reasoning_style,
            judge_model=judge_model,
            max_tokens=max_tokens,
            temperature=temperature,
            samples=samples,
            logprobs=logprobs,
            stream=stream,
            tier=tier,
            rpm=rpm,
            tpm=tpm,
            concurrency=concurrency,
            max_attempts=max_attempts,
            timeout=timeout,
            progress=not no_progress,
            new_run=new_run,
            notify=lambda message: click.echo(message, err=True),
        )
    if result.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if as_json:
        click.echo(json.dumps(result.summary()))
        return
    click.echo(format_table(result.scores))
    html = result.report_path
    assert html is not None
    click.echo(
        f"\nReport: {html} (and {html.with_suffix('.md').name}); "
        f"per-item scores in {result.summary_path}"
    )
    if sim:
        catalog = Catalog.load()
        click.echo("Simulated models: accuracies are the simulator's stated parameters:")
        for model in models:
            table = catalog.sim_accuracy(model)
            stated = (
                ", ".join(f"{k} {v:.0%}" for k, v in table.items())
                if table
                else "the simulator's default by reasoning"
            )
            click.echo(f"  {model}: {stated} (config/models.toml)")


@click.command("score")
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--evalset", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--scorer", help="Scorer for items that name none.")
@_style_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def score_command(
    results: Path, evalset: Path, scorer: str | None, reasoning_style: str | None, as_json: bool
) -> None:
    """Score a result file (Batch output format) against its eval set, offline."""
    with fanout_errors(), gc_paused():  # paused around the call, so its data is gone
        _score(results, evalset, scorer, reasoning_style, as_json)


def _score(
    results: Path, evalset: Path, scorer: str | None, style: str | None, as_json: bool
) -> None:
    if not results.is_file():
        raise UsageError(f"{results}: no such result file")
    s = fanout.score(results, evalset, scorer=scorer, reasoning_style=style)
    _notes([s])
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
@db_option()
@click.option("--scorer", help="Scorer for items that name none.")
@_style_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def compare_command(
    a: str,
    b: str,
    evalset: Path,
    db_path: Path,
    scorer: str | None,
    reasoning_style: str | None,
    as_json: bool,
) -> None:
    """Paired comparison of A and B (run ids or result files) on the items both have."""
    with fanout_errors(), gc_paused():
        check_scorer(scorer)
        items = {i.id: i for i in read_evalset_split(evalset_path(evalset))}
        catalog = Catalog.load()
        sa, sb = (
            load_scores(
                x,
                items,
                db_path=db_path,
                scorer=scorer,
                reasoning_style=reasoning_style,
                catalog=catalog,
            )
            for x in (a, b)
        )
        _notes([sa, sb])
        if as_json:
            click.echo(json.dumps(fanout.compare(sa, sb).to_json()))
        else:
            click.echo(format_table([sa, sb]))


@click.command("report")
@click.argument("runs", nargs=-1, required=True)
@click.option("--evalset", type=click.Path(dir_okay=False, path_type=Path), required=True)
@db_option()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="report.html",
    show_default=True,
)
@click.option("--scorer", help="Scorer for items that name none.")
@_style_option
def report_command(
    runs: tuple[str, ...],
    evalset: Path,
    db_path: Path,
    out_path: Path,
    scorer: str | None,
    reasoning_style: str | None,
) -> None:
    """A self-contained HTML report (and Markdown) on RUNS: run ids or result files."""
    with fanout_errors(), gc_paused():
        check_scorer(scorer)
        items = {i.id: i for i in read_evalset_split(evalset_path(evalset))}
        catalog = Catalog.load()
        scores = [
            load_scores(
                r,
                items,
                db_path=db_path,
                scorer=scorer,
                reasoning_style=reasoning_style,
                catalog=catalog,
            )
            for r in runs
        ]
        _notes(scores)
        path = fanout.report(scores, out_path, title=f"fanout report: {evalset.name}")
        click.echo(f"Wrote {path} and {path.with_suffix('.md')}")


def _notes(scores: list[ModelScore]) -> None:
    """On stderr: items without a result line, and a warning for simulated answers."""
    for s in scores:
        note = missing_note(s)
        if note:
            click.echo(note, err=True)
    if any(s.simulated for s in scores):
        click.echo(
            "Note: simulated answers (the simulator's stated accuracies), not measurements.",
            err=True,
        )
