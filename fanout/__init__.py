"""fanout: large LLM batches at the rate limit, resumably, and evals you can trust.

From Python, sync or async (inside Jupyter or any running event loop, await the ``a`` forms)::

    import fanout

    run = fanout.run_batch("jobs.jsonl", model="meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo")
    run.counts, run.cost, run.out_path        # what happened, what it cost, where it went
    for line in run.results(): ...           # Batch output lines, in input order
    fanout.open_run("fanout.db")               # the latest run in a state file, as it stands

    ev = fanout.evaluate("set.jsonl", ["model-a", "model-b"], sim=True)
    ev.scores[0].accuracy()                    # with its interval
    fanout.compare(*ev.scores).to_json()       # paired difference, McNemar
    fanout.report(ev.scores, "report.html")

    fanout.estimate("jobs.jsonl", tier=2).cost    # --dry-run: validate, price, time; send nothing

Without a key, pass ``sim=True`` (the bundled Together simulator) or ``base_url=`` (any
OpenAI-compatible server). Calling again with the same jobs and options resumes: what
succeeded is never sent twice. Every error is a `FanoutError`; its ``exit_code`` is what
the ``fanout`` command exits with.
"""

from evals import Comparison, EvalRun, ModelScore
from runner import (
    ConfigError,
    FanoutError,
    JobFileInvalid,
    RunAborted,
    RunMismatch,
    StateError,
    UsageError,
)

from ._batch import Run, arun_batch, list_runs, open_run, run_batch
from ._estimate import Estimate, EstimateRow, ModelTime, estimate
from ._evaluate import aevaluate, compare, evaluate, report, score

__all__ = [
    "Comparison",
    "ConfigError",
    "Estimate",
    "EstimateRow",
    "EvalRun",
    "FanoutError",
    "JobFileInvalid",
    "ModelScore",
    "ModelTime",
    "Run",
    "RunAborted",
    "RunMismatch",
    "StateError",
    "UsageError",
    "aevaluate",
    "arun_batch",
    "compare",
    "estimate",
    "evaluate",
    "list_runs",
    "open_run",
    "report",
    "run_batch",
    "score",
]
