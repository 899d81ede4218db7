"""The eval stage: eval sets, answer extraction, scorers and the statistics (see issue 4).

Read an eval set, turn each item into a chat job, pull the answer out of each reply
(thinking removed, truncation spotted), score it, and put an interval on the result::

    from evals import extract_result, pass_rate, read_evalset, score_answer

    items = {item.id: item for item in read_evalset("set.jsonl")}
    for line in results:                       # Batch output lines, parsed
        ex = extract_result(line)
        score = score_answer(ex.answer, items[line["custom_id"]])

The commands (``fanout eval``, ``score``, ``compare``, ``report``) are built on these names;
the ``judge`` scorer, which grades through the runner, is not among them.
"""

from ._errors import EvalSetInvalid, ScorerError
from ._evalset import EvalItem, iter_evalset, job_body, read_evalset
from ._extract import REASONING_STYLES, Extraction, extract, extract_result
from ._judge import JUDGE_SYSTEM, judge_body, parse_grade
from ._registry import Score, Scorer, get_scorer, register_scorer, scorer_names
from ._scorers import DEFAULT_TOLERANCE, Outcome, infer_scorer, normalize, outcome, score_answer
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

__all__ = [
    "DEFAULT_TOLERANCE",
    "JUDGE_SYSTEM",
    "REASONING_STYLES",
    "Estimate",
    "EvalItem",
    "EvalSetInvalid",
    "Extraction",
    "McNemar",
    "Outcome",
    "PairedComparison",
    "Score",
    "Scorer",
    "ScorerError",
    "Summary",
    "clustered_se",
    "extract",
    "extract_result",
    "get_scorer",
    "infer_scorer",
    "iter_evalset",
    "job_body",
    "judge_body",
    "mcnemar",
    "mcnemar_p",
    "normalize",
    "outcome",
    "paired_bootstrap",
    "paired_comparison",
    "parse_grade",
    "pass_rate",
    "percentile",
    "read_evalset",
    "register_scorer",
    "score_answer",
    "scorer_names",
    "summarize",
    "wilson_interval",
]
