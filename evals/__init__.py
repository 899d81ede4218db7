"""The eval stage: eval sets, answer extraction, scorers and the statistics.

Read an eval set, turn each item into a chat job, pull the answer out of each reply
(thinking removed, truncation spotted), score it, and put an interval on the result::

    from evals import extract_result, pass_rate, read_evalset, score_answer

    items = {item.id: item for item in read_evalset("set.jsonl")}
    for line in results:                       # Batch output lines, parsed
        ex = extract_result(line)
        score = score_answer(ex.answer, items[line["custom_id"]])

A reply to a request with ``n`` > 1 has several choices: `extract_result_choices` reads
each; `pass_at_k` and `majority_vote` sum up the samples, and `calibration` (ECE, Brier)
weighs the confidence read from token log probabilities (`answer_confidence`).

`score_results` / `score_file` turn result lines into a `ModelScore`, `compare` pairs two,
`write_report` writes the HTML and Markdown report, and `run_eval` runs a whole eval (job
files, runs through the runner, the judge, scores, report) against an `Endpoint`. The
``fanout`` package builds its API and commands on these names; this package has no CLI and
knows nothing of the simulator.
"""

from ._calibration import Calibration, answer_confidence, calibration
from ._errors import EvalSetInvalid, ResultFileInvalid, ScorerError
from ._evalset import EvalItem, iter_evalset, job_body, read_evalset
from ._evaluate import Endpoint, EvalRun, Expectation, run_eval
from ._extract import (
    REASONING_STYLES,
    Extraction,
    ToolCall,
    extract,
    extract_choices,
    extract_result,
    extract_result_choices,
)
from ._gc import gc_paused
from ._judge import JUDGE_SYSTEM, judge_body, parse_grade
from ._load import check_scorer, load_scores, missing_note
from ._parallel import read_evalset_split, score_file
from ._registry import Score, Scorer, get_scorer, register_scorer, scorer_names, scorer_reads
from ._report import write_report
from ._results import Comparison, ModelScore, compare, score_results
from ._samples import majority_vote, pass_at_k
from ._scorers import (
    DEFAULT_TOLERANCE,
    Outcome,
    infer_scorer,
    normalize,
    outcome,
    score_answer,
    score_extraction,
)
from ._stats import (
    Estimate,
    McNemar,
    PairedComparison,
    Summary,
    clustered_se,
    mcnemar,
    mcnemar_p,
    paired_bootstrap,
    paired_comparison,
    pass_rate,
    percentile,
    summarize,
    wilson_interval,
)
from ._structured import tool_call as _tool_call  # noqa: F401  (registers its scorers)
from ._table import format_table

__all__ = [
    "DEFAULT_TOLERANCE",
    "JUDGE_SYSTEM",
    "REASONING_STYLES",
    "Calibration",
    "Comparison",
    "Endpoint",
    "Estimate",
    "EvalItem",
    "EvalRun",
    "EvalSetInvalid",
    "Expectation",
    "Extraction",
    "McNemar",
    "ModelScore",
    "Outcome",
    "PairedComparison",
    "ResultFileInvalid",
    "Score",
    "Scorer",
    "ScorerError",
    "Summary",
    "ToolCall",
    "answer_confidence",
    "calibration",
    "check_scorer",
    "clustered_se",
    "compare",
    "extract",
    "extract_choices",
    "extract_result",
    "extract_result_choices",
    "format_table",
    "gc_paused",
    "get_scorer",
    "infer_scorer",
    "iter_evalset",
    "job_body",
    "judge_body",
    "load_scores",
    "majority_vote",
    "mcnemar",
    "mcnemar_p",
    "missing_note",
    "normalize",
    "outcome",
    "paired_bootstrap",
    "paired_comparison",
    "parse_grade",
    "pass_at_k",
    "pass_rate",
    "percentile",
    "read_evalset",
    "read_evalset_split",
    "register_scorer",
    "run_eval",
    "score_answer",
    "score_extraction",
    "score_file",
    "score_results",
    "scorer_names",
    "scorer_reads",
    "summarize",
    "wilson_interval",
    "write_report",
]
