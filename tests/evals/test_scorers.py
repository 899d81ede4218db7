"""Every scorer, right and wrong; the registry; user scorers as module:function."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals import (
    EvalItem,
    Extraction,
    Score,
    ScorerError,
    get_scorer,
    infer_scorer,
    normalize,
    outcome,
    register_scorer,
    score_answer,
    scorer_names,
)


def item(target: Any, **kw: Any) -> EvalItem:
    if isinstance(target, list):
        target = tuple(target)
    return EvalItem(id=kw.pop("id", "q1"), target=target, input="?", **kw)


def run(name: str, answer: str | None, it: EvalItem) -> Score:
    return get_scorer(name)(answer, it)


def test_builtin_names() -> None:
    assert scorer_names() == [
        "choice",
        "exact",
        "includes",
        "json",
        "json_schema",
        "judge",
        "normalized",
        "numeric",
        "regex",
        "regex_match",
        "tool_call",
    ]


# exact -----------------------------------------------------------------------------------


def test_exact() -> None:
    assert run("exact", " Paris\n", item("Paris")).correct
    assert not run("exact", "paris", item("Paris")).correct
    assert run("exact", "42", item(42)).correct
    assert run("exact", "Lyon", item(["Paris", "Lyon"])).correct


def test_no_answer_is_unparsed_for_every_scorer() -> None:
    for name in scorer_names():
        score = run(name, None, item("A", choices=("x", "y")))
        assert score.unparsed and not score.correct and score.value == 0.0, name


# normalized --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "target"),
    [
        ("the Eiffel  Tower!", "Eiffel tower"),
        ("An apple.", "apple"),
        ("Answer: New-York", "new york"),
        ("Let me think. Paris is big.\n**Answer:** Paris", "paris"),
        ("so \\boxed{Mount Everest}", "mount everest"),
        ("1,000 Meters", "1000 meters"),
    ],
)
def test_normalized_matches(answer: str, target: str) -> None:
    score = run("normalized", answer, item(target))
    assert score.correct, score.reason


def test_normalized_keeps_decimal_points() -> None:
    assert normalize("9.11") != normalize("911")
    assert not run("normalized", "Answer: 9.11", item("9.9")).correct
    assert not run("normalized", "London", item("Paris")).correct


def test_normalized_takes_text_after_the_last_marker() -> None:
    score = run("normalized", "Answer: Rome? No.\nFinal answer: Paris", item("Paris"))
    assert score.correct
    assert score.extracted == "Paris"


# includes ----------------------------------------------------------------------------------


def test_includes() -> None:
    assert run("includes", "I believe it is  PARIS, France.", item("Paris")).correct
    assert run("includes", "It is Lyon.", item(["Paris", "Lyon"])).correct
    assert not run("includes", "It is Rome.", item("Paris")).correct


# regex -------------------------------------------------------------------------------------


def test_regex_with_capture_group_from_metadata() -> None:
    it = item("3", metadata={"pattern": r"count:\s*(\d+)"})
    score = run("regex", "count: 2 ... no wait, count: 3", it)
    assert score.correct and score.extracted == "3"
    wrong = run("regex", "count: 4", it)
    assert not wrong.correct and wrong.extracted == "4" and not wrong.unparsed
    missing = run("regex", "three", it)
    assert missing.unparsed


def test_regex_target_is_the_pattern() -> None:
    it = item(r"\b(?:four|4)\b")
    assert run("regex", "there are 4 of them", it).correct
    assert not run("regex", "there are 14 of them", it).correct


def test_regex_bad_pattern_is_a_scorer_error() -> None:
    with pytest.raises(ScorerError, match="bad regex"):
        run("regex", "x", item("x", metadata={"pattern": "(unclosed"}))


# numeric -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "target"),
    [
        ("So the total is \\boxed{42}.", 42),
        ("It costs $12.50 in all.", 12.5),
        ("She ate 3/4 of the pie.", 0.75),
        ("About 1,000 people came.", 1000),
        ("The slope is -0.5", -0.5),
        ("Roughly 1e3 grams", 1000),
        ("The rate is 25%", 0.25),
        ("The rate is 25%", 25),
        ("Answer: 12 apples, so 12", 12),
        ("3 + 4 = 7, then 7 * 2 = 14.\nAnswer: 14", 14),
        ("Answer: 3 + 4 = 7", 7),
        ("Answer: 7 (that is 3 + 4)", 7),
        ("The answer is 18. (I double-checked the 2 steps.)", 18),
        ("Answer: \\boxed{\\frac{3}{4}}", "3/4"),
        ("It's 1000.", "1,000"),
        ("$12.5", "$12.50"),
        ("x = 0.3333333", 0.3333333),
        ("It drops to −3 degrees", -3),
        ("The price is \\$12.50", 12.5),
        ("Answer: 1,234.5", 1234.5),
    ],
)
def test_numeric_right(answer: str, target: Any) -> None:
    score = run("numeric", answer, item(target))
    assert score.correct, score.reason


@pytest.mark.parametrize(
    ("answer", "target"),
    [
        ("\\boxed{41}", 42),
        ("It costs $12.51", 12.5),
        ("Answer: 9.11", 9.9),
        ("First 42, then corrected: 43", 42),
        ("Answer: -5", 5),
    ],
)
def test_numeric_wrong(answer: str, target: Any) -> None:
    score = run("numeric", answer, item(target))
    assert not score.correct and not score.unparsed


def test_numeric_tolerance_from_metadata() -> None:
    assert not run("numeric", "3.14", item(3.14159)).correct
    assert run("numeric", "3.14", item(3.14159, metadata={"tolerance": 1e-3})).correct


def test_numeric_no_number_is_unparsed() -> None:
    score = run("numeric", "I cannot tell.", item(3))
    assert score.unparsed and score.extracted is None


def test_numeric_bad_target_is_a_scorer_error() -> None:
    with pytest.raises(ScorerError, match="not one number"):
        run("numeric", "3", item("three"))


# choice ------------------------------------------------------------------------------------

ABCD = ("red", "green", "blue", "yellow")


@pytest.mark.parametrize(
    "answer",
    [
        "ANSWER: $B$",
        "Answer: B",
        "(B)",
        "$B$",
        "**B**",
        "B) green",
        "B. green",
        "the answer is B",
        "The correct option is B.",
        "\\boxed{B}",
        "B",
        "Not (A), not (C): so (B)",
        "Answer: B. (C) is wrong because it is blue.",
        "Answer: A\nWait, on reflection... Answer: B",
        "green",
    ],
)
def test_choice_right(answer: str) -> None:
    score = run("choice", answer, item("B", choices=ABCD))
    assert score.correct, score.reason
    assert score.extracted == "B"


def test_choice_wrong_and_unparsed() -> None:
    it = item("B", choices=ABCD)
    wrong = run("choice", "ANSWER: $C$", it)
    assert not wrong.correct and wrong.extracted == "C" and not wrong.unparsed
    assert run("choice", "I am not sure.", it).unparsed
    assert run("choice", "Answer: E", it).unparsed  # E is not a choice here


def test_choice_target_as_choice_text() -> None:
    assert run("choice", "Answer: C", item("blue", choices=ABCD)).correct


# json --------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "role": {"enum": ["admin", "user"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def test_json_equal_to_target_in_fence() -> None:
    it = item('{"name": "Ann", "age": 31}', metadata={"schema": SCHEMA})
    reply = 'Here it is:\n```json\n{"age": 31, "name": "Ann"}\n```'
    score = run("json", reply, it)
    assert score.correct, score.reason
    assert score.extracted == '{"age": 31, "name": "Ann"}'


def test_json_bare_and_embedded() -> None:
    it = item('{"a": [1, 2.0]}')
    assert run("json", '{"a": [1, 2]}', it).correct
    assert run("json", 'Sure! {"a": [1, 2]} Hope that helps.', it).correct
    assert not run("json", '{"a": [1, 3]}', it).correct
    assert not run("json", '{"a": [true, 2]}', item('{"a": [1, 2]}')).correct


@pytest.mark.parametrize(
    ("obj", "why"),
    [
        ('{"name": "Ann"}', "missing required property 'age'"),
        ('{"name": "Ann", "age": "31"}', "$.age: expected integer, got string"),
        ('{"name": "Ann", "age": -1}', "below the minimum"),
        ('{"name": "Ann", "age": 31, "x": 1}', "unexpected property 'x'"),
        ('{"name": "Ann", "age": 31, "role": "root"}', "is not one of"),
        ('{"name": "Ann", "age": 31, "tags": ["a", 2]}', "$.tags[1]: expected string"),
        ('{"name": "Ann", "age": 31.5}', "expected integer"),
    ],
)
def test_json_schema_violations(obj: str, why: str) -> None:
    it = item("{}", metadata={"schema": SCHEMA, "json_match": "valid"})
    score = run("json", obj, it)
    assert not score.correct and not score.unparsed
    assert why in score.reason


def test_json_valid_only() -> None:
    it = item("any", metadata={"schema": SCHEMA, "json_match": "valid"})
    assert run("json", '```\n{"name": "Bo", "age": 7.0}\n```', it).correct


def test_json_not_found_is_unparsed() -> None:
    assert run("json", "name: Ann, age: 31", item("{}")).unparsed


def test_json_schema_keywords_beyond_the_old_subset_are_checked() -> None:
    schema = {"patternProperties": {"^x": {"type": "string"}}}
    it = item("{}", metadata={"schema": schema, "json_match": "valid"})
    assert run("json", '{"xa": "s", "b": 1}', it).correct
    score = run("json", '{"xa": 1}', it)
    assert not score.correct and score.reason == "schema: $.xa: expected string, got integer"


def test_json_target_that_is_not_json_says_what_to_do() -> None:
    with pytest.raises(ScorerError, match="json_match"):
        run("json", "{}", item("valid"))


# choosing a scorer, outcome ----------------------------------------------------------------


def test_infer_scorer() -> None:
    assert infer_scorer(item("B", choices=ABCD)) == "choice"
    assert infer_scorer(item(42)) == "numeric"
    assert infer_scorer(item([1, 2.5])) == "numeric"
    assert infer_scorer(item("42")) == "normalized"


def test_item_scorer_overrides_the_set_scorer() -> None:
    it = item("Paris", scorer="includes")
    assert score_answer("It is Paris.", it, scorer="exact").correct
    assert not score_answer("It is Paris.", item("Paris"), scorer="exact").correct
    assert score_answer("The answer is 12.", item(12)).correct


def test_outcome_counts_truncated_and_unparsed_apart() -> None:
    right, miss = Score.of(True, "B", ""), Score.no_answer()
    assert outcome(Extraction(answer="B"), right) == "correct"
    assert outcome(Extraction(answer="B"), Score.of(False, "C", "")) == "wrong"
    assert outcome(Extraction(answer="?"), miss) == "unparsed"
    assert outcome(Extraction(truncated=True), miss) == "truncated"
    assert outcome(Extraction(error="HTTP 500"), miss) == "error"


def test_unknown_scorer_lists_the_known() -> None:
    with pytest.raises(ScorerError, match="unknown scorer 'fuzzy'.*choice, exact"):
        get_scorer("fuzzy")


def test_register_scorer() -> None:
    @register_scorer("test-always")
    def always(answer: str | None, it: EvalItem) -> Score:
        return Score.of(True, answer, "always")

    try:
        assert score_answer("x", item("y"), scorer="test-always").correct
        with pytest.raises(ValueError, match="already registered"):
            register_scorer("test-always")(lambda a, i: Score.no_answer())
        with pytest.raises(ValueError, match="lower case"):
            register_scorer("Bad:Name")
    finally:
        from evals import _registry

        del _registry._REGISTRY["test-always"]


def test_score_value_must_be_in_range() -> None:
    with pytest.raises(ValueError):
        Score(1.5, True, None, "")


# user scorers ------------------------------------------------------------------------------

USER_MODULE = """
from evals import Score

def ends_with(answer, item):
    return answer is not None and answer.rstrip(". ").endswith(str(item.target))

def graded(answer, item):
    return Score(0.5, False, answer, "half")

def broken(answer, item):
    raise KeyError("boom")

def confused(answer, item):
    return 0.7

NOT_A_FUNCTION = 3
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"user_scorers_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_user_scorer_by_module(user_module: str) -> None:
    score = score_answer("It is 12.", item(12), scorer=f"{user_module}:ends_with")
    assert score.correct and score.value == 1.0
    assert score_answer(None, item(12), scorer=f"{user_module}:ends_with").unparsed
    assert score_answer("x", item(12), scorer=f"{user_module}:graded").value == 0.5


def test_user_scorer_by_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(USER_MODULE)
    assert score_answer("ok 3", item(3), scorer=f"{path}:ends_with").correct


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        ("missing", "has no 'missing'"),
        ("NOT_A_FUNCTION", "not a function"),
        ("broken", "failed on item 'q1': KeyError"),
        ("confused", "returned float on item 'q1'; return a Score or a bool"),
    ],
)
def test_user_scorer_errors_are_named(user_module: str, attr: str, message: str) -> None:
    with pytest.raises(ScorerError, match=message):
        score_answer("x", item(1), scorer=f"{user_module}:{attr}")


def test_user_scorer_that_does_not_import() -> None:
    with pytest.raises(ScorerError, match="cannot import 'no_such_module_xyz'"):
        get_scorer("no_such_module_xyz:f")
    with pytest.raises(ScorerError, match="does not exist"):
        get_scorer("/no/such/file.py:f")
    with pytest.raises(ScorerError, match="module:function"):
        get_scorer("module:")


def test_judge_reads_the_last_grade_of_the_judges_reply() -> None:
    from evals import EvalItem, parse_grade, score_answer

    item = EvalItem(id="q", target="Paris", input="Capital of France?", scorer="judge")
    assert parse_grade("GRADE: INCORRECT ... on reflection GRADE: CORRECT") is True
    assert parse_grade("grade: **incorrect**") is False
    assert parse_grade("I think it is right") is None
    assert score_answer("Looks right.\nGRADE: CORRECT", item).correct
    assert not score_answer("GRADE: INCORRECT", item).correct
    assert score_answer("no verdict here", item).unparsed
    assert score_answer(None, item).unparsed


def test_json_target_may_be_an_object() -> None:
    it = item({"a": [1, 2]})
    assert run("json", '{"a": [1, 2.0]}', it).correct
    assert not run("json", '{"a": [2, 1]}', it).correct


def test_numeric_with_an_object_target_is_a_scorer_error() -> None:
    with pytest.raises(ScorerError, match="not an object"):
        run("numeric", "42", item({"a": 1}))
