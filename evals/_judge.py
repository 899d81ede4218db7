"""The ``judge`` scorer: another model grades the answer against a rubric.

A judged item is scored in two steps, both through the runner (same limiter, state file
and resume as every other request):

1. the evaluated model answers the item (the normal eval run);
2. `judge_body` builds one request per answer for the judge model: the question, the
   reference answer (the item's targets), the item's rubric (``metadata.rubric``, or a
   default) and the candidate's answer (thinking removed), asking for a final line
   ``GRADE: CORRECT`` or ``GRADE: INCORRECT``.

The registered scorer then reads the *judge's* reply: the last ``GRADE:`` (or ``Answer:``)
verdict decides; a reply without one is ``unparsed`` (the judge failed, not the model).
Offline (``fanout score``), judged items have no verdict and are reported unparsed.
"""

from __future__ import annotations

import re
from typing import Any

from ._evalset import EvalItem, job_body
from ._registry import Score, register_scorer

__all__ = ["DEFAULT_RUBRIC", "JUDGE_SYSTEM", "judge_body", "parse_grade"]

JUDGE_SYSTEM = (
    "You grade answers to questions. Compare the candidate's answer with the reference "
    "answer, following the rubric. Think briefly, then end with exactly one line: "
    "'GRADE: CORRECT' or 'GRADE: INCORRECT'."
)
DEFAULT_RUBRIC = "The answer is correct if it means the same as the reference answer."
_GRADE = re.compile(r"\b(?:GRADE|ANSWER)\s*:\s*\**\s*(CORRECT|INCORRECT)\b", re.IGNORECASE)


def parse_grade(text: str) -> bool | None:
    """The last verdict in ``text``: True for CORRECT, False for INCORRECT, None if none."""
    found = _GRADE.findall(text)
    return None if not found else found[-1].upper() == "CORRECT"


def judge_prompt(item: EvalItem, candidate: str) -> str:
    question = job_body(item)["messages"][-1]["content"]
    if not isinstance(question, str):
        question = str(question)
    reference = " | ".join(str(t) for t in item.targets)
    rubric = str(item.metadata.get("rubric") or DEFAULT_RUBRIC)
    return (
        f"Question:\n{question}\n\nReference answer:\n{reference}\n\nRubric:\n{rubric}\n\n"
        f"Candidate's answer:\n{candidate}\n\nGrade the candidate's answer."
    )


def judge_body(item: EvalItem, candidate: str, **params: Any) -> dict[str, Any]:
    """The chat request that asks the judge about ``candidate`` (params: model, ...)."""
    return {
        "messages": [
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": judge_prompt(item, candidate)},
        ],
        **params,
    }


@register_scorer("judge")
def judge(verdict: str | None, item: EvalItem) -> Score:
    """Score from the judge's reply (``verdict``), not from the evaluated model's."""
    if verdict is None:
        return Score.no_answer("no verdict: judged items need fanout eval --judge-model")
    grade = parse_grade(verdict)
    if grade is None:
        return Score.no_answer("the judge gave no GRADE line")
    return Score.of(grade, "CORRECT" if grade else "INCORRECT", "judged by rubric")
