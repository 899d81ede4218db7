"""The answer readers of issue 16 item 2, one rule a case: the answer a reply commits to.

(`test_graded_replies` measures them against a human grader on whole replies; these pin
each rule, so a change that breaks one names it.)
"""

from __future__ import annotations

from typing import Any

import pytest

from evals import EvalItem, get_scorer, normalize
from evals._dates import as_date, find_dates
from evals._letters import HEDGE, find_letter
from evals._numbers import find_number, parse_numbers
from evals._parse import committed, marked


def item(target: Any, **kw: Any) -> EvalItem:
    if isinstance(target, list):
        target = tuple(target)
    return EvalItem(id="q", target=target, input=kw.pop("input", "?"), **kw)


def outcome(scorer: str, answer: str, it: EvalItem) -> str:
    score = get_scorer(scorer)(answer, it)
    return "unparsed" if score.unparsed else "correct" if score.correct else "wrong"


# markers --------------------------------------------------------------------------------


def test_a_label_outranks_a_later_note_about_the_answer() -> None:
    text = "Answer: 72\n\nNote: the answer counts both months; May alone would be 24."
    assert next(marked(text)) == "72"
    text = "She sold 72.\n#### 72\n\nIf she had sold only in May, the answer would be 24."
    assert next(marked(text)) == "72"


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("work\n#### 72", "72"),
        ("**Final Answer**\n\\boxed{0.625}", "0.625"),
        ("Answer: 41\nWait.\nFinal answer: 42", "42"),
        ("so \\boxed{41} ... Answer: 42", "42"),
        ("The correct choice: C", "C"),
        ("The answer is not 12. The answer is 14.", "14"),
    ],
)
def test_marked_gives_the_answer_to_believe_first(text: str, first: str) -> None:
    assert next(marked(text)).strip(" .") == first


# numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("forty-two", 42),
        ("one hundred and five", 105),
        ("negative one", -1),
        ("4 1/2 cups", 4.5),
        ("4½", 4.5),
        ("2\\frac{1}{4}", 2.25),
        ("3.00 × 10^8 m/s", 3e8),
        ("6.02 × 10²³ mol⁻¹", 6.02e23),
        ("\\(6.02 \\times 10^{23}\\)", 6.02e23),
        ("1 in 6", 1 / 6),
        ("one out of six", None),  # "out of" is read for digits only
        ("1 out of 6", 1 / 6),
        ("2.5 million", 2.5e6),
        ("86 400 s", 86400),
        ("$34.00", 34),
        ("13cm", 13),
    ],
)
def test_number_forms(text: str, value: float | None) -> None:
    found = parse_numbers(text, words=True)
    if value is None:
        assert all(n.value != pytest.approx(1 / 6) for n in found)
    else:
        assert found and found[0].value == pytest.approx(value)


def test_a_date_is_not_a_fraction() -> None:
    assert [n.value for n in parse_numbers("12/25/2024")] == [12]


@pytest.mark.parametrize(
    ("reply", "question", "value"),
    [
        ("There are 43 books left after selling 101.", "8 crates of 18; sells 101", 43),
        ("15% of $40 is $6, so the sale price is $34.", "$40, 15% off", 34),
        ("So you'd pay $34 for the shirt, saving $6!", "$40, 15% off", 34),
        ("45 / 250 = 0.18, so 45 is 18% of 250.", "What percentage of 250 is 45?", 18),
        ("It is exactly 299,792,458 m/s, which is about 300,000 km/s!", "?", 299792458),
        ("Then divide by 2: x = 7. You can check: 2(7) + 6 = 20. ✓", "2x + 6 = 20", 7),
        ("**Step 1:** 48 / 2 = 24\n\n**Natalia sold 72 clips altogether.**", "48", 72),
        ("So the train's average speed is sixty kilometres per hour!", "150 km, 2.5 h", 60),
        ("So the chance is 1 out of 6, or about 16.67%. Good luck!", "rolling a 6", 1 / 6),
    ],
)
def test_the_committed_number_not_the_last(reply: str, question: str, value: float) -> None:
    found = find_number(reply, question)
    assert not isinstance(found, str) and found is not None
    assert found.value == pytest.approx(value)


@pytest.mark.parametrize(
    "reply",
    [
        "So it's either 18 or 26.",
        "Answer: 12 or 13",
        "The answer is either 18 or 26, depending on the muffins.",
    ],
)
def test_a_hedge_between_numbers_is_no_answer(reply: str) -> None:
    assert find_number(reply) == "?"
    assert outcome("numeric", reply, item(18)) == "unparsed"


def test_a_number_restated_is_no_hedge() -> None:
    found = find_number("The chance is 1 in 6, or about 16.7%.")
    assert not isinstance(found, str) and found is not None
    assert found.value == pytest.approx(1 / 6)


@pytest.mark.parametrize(
    ("reply", "target", "want"),
    [
        ("Answer: 4 1/2 cups", 4.5, "correct"),
        ("There are two r's in strawberry.", 3, "wrong"),
        ("The letter 'r' appears three times.", 3, "correct"),
        ("40% of 2.5 million is 1 million residents.", 1000000, "correct"),
        ("The probability is 1 in 6.", "1/6", "correct"),
        ("I'm not sure about this one.", 72, "unparsed"),
        ("Answer: 43 (not 44, as I first thought)", 43, "correct"),
    ],
)
def test_numeric_scorer(reply: str, target: Any, want: str) -> None:
    assert outcome("numeric", reply, item(target)) == want


# choice letters ---------------------------------------------------------------------------

ABCD = ("Venus", "Mars", "Jupiter", "Saturn")
TEN = ("Volt", "Ampere", "Watt", "Joule", "Coulomb", "Farad", "Henry", "Tesla", "Ohm", "Siemens")


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("b", "B"),
        ("Answer: c", "C"),
        ("The correct option is d.", "D"),
        ("I'd pick C.", "C"),
        ("I would go with option a.", "A"),
        ("B is correct.", "B"),
        ("Option B is correct.", "B"),
        ("That's option D!", "D"),
        ("The answer is b) Mars", "B"),
        ("ATP synthase sits in the inner membrane, so D.", "D"),
        ("Mars is known as the Red Planet.", "B"),
        ("The answer is (B). (C) is tempting but wrong.", "B"),
        ("It is in the mitochondrion (option B). The chloroplast (C) does that instead.", "B"),
        ("The best match is Mars. Venus (A) is actually the opposite!", "B"),
        ("**B – Mars**", "B"),
    ],
)
def test_choice_letters_and_phrasings(reply: str, letter: str) -> None:
    assert find_letter(reply, "ABCD", ABCD) == letter


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("Answer: I believe it is E.", "E"),
        ("Answer: I think the answer is H (Tesla).", "H"),
        ("Answer: I", "I"),
        ("Answer: (I) Ohm", "I"),
        ("Answer: A 12 is the value", "A"),
        ("Answer: A good choice is C", "C"),
    ],
)
def test_pronoun_i_and_article_a_with_ten_options(reply: str, letter: str) -> None:
    assert find_letter(reply, "ABCDEFGHIJ", TEN) == letter


@pytest.mark.parametrize(
    "reply",
    [
        "I'd say it's either B or C.",
        "**Answer: B or D**",
        "I'm torn between B and C.",
        "It might be either Mars or Venus.",
    ],
)
def test_a_hedge_between_options_is_no_answer(reply: str) -> None:
    assert find_letter(reply, "ABCD", ABCD) == HEDGE
    assert outcome("choice", reply, item("B", choices=ABCD)) == "unparsed"


# free text, dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("U.S.A.", "USA"),
        ("The U.K.", "uk"),
        ("Zürich", "zurich"),
        ("Brasília", "Brasilia"),
        ("Gabriel García Márquez", "gabriel garcia marquez"),
        ("Øresund", "oresund"),
    ],
)
def test_normalize_folds_abbreviations_and_accents(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_normalize_keeps_what_changes_an_answer() -> None:
    assert normalize("9.11") != normalize("911")
    assert normalize("U.S.A.") != normalize("U.S.")
    assert normalize("-5") != normalize("5") and normalize("x-5") == normalize("x 5")


@pytest.mark.parametrize(
    ("reply", "target", "want"),
    [
        ("The capital of Australia is Canberra.", "Canberra", "correct"),
        ("Canberra (since 1913)", "Canberra", "correct"),
        ("The capital of Australia is Sydney, not Canberra.", "Canberra", "wrong"),
        (
            "Many think it's Sydney, but it is Canberra! It was built as a compromise.",
            "Canberra",
            "correct",
        ),
        ("It could be either Zurich or Geneva.", "Zürich", "unparsed"),
        ("I don't have enough information to answer that.", "diamond", "unparsed"),
        ("The United Kingdom", "U.K.", "correct"),
        ("Fleming", "Alexander Fleming", "correct"),
        ("Korea", "North Korea", "wrong"),
        ("The Pacific.", "Pacific Ocean", "correct"),
        ("DNA stands for ribonucleic acid.", "deoxyribonucleic acid", "wrong"),
        ("two", "2", "correct"),
        ("Answer: Rome? No.\nFinal answer: Paris", "Paris", "correct"),
    ],
)
def test_free_text(reply: str, target: str, want: str) -> None:
    question = "Which ocean lies between Asia and the Americas?" if "Ocean" in target else "?"
    assert outcome("normalized", reply, item(target, input=question)) == want


@pytest.mark.parametrize(
    "reply",
    [
        "March 5, 2024",
        "Answer: 2024-03-05",
        "5 March 2024",
        "the 5th of March, 2024",
        "Tuesday, March 5th, 2024",
        "03/05/2024",
        "2024‑03‑05",
        "It falls on March 5, 2024.",
        "Counting from March 1, 2024: 4 days later is March 5, 2024.",
    ],
)
def test_dates_compare_as_dates(reply: str) -> None:
    it = item("2024-03-05", input="What date is 4 days after March 1, 2024?")
    assert outcome("normalized", reply, it) == "correct"
    assert outcome("normalized", reply.replace("5", "6"), it) == "wrong"


def test_date_readers() -> None:
    assert as_date("2024-03-05") == (2024, 3, 5)
    assert as_date("Paris") is None and as_date("2") is None
    assert find_dates("25/12/2024") == [(2024, 12, 25)]  # a first number over 12 is the day
    assert find_dates("I think 3 may be right") == []  # "may" is a word


# a reply cut off ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answered"),
    [
        ("Step 1: 8 × 18 = 144 books. Step 2: 144 − 101 = 4", False),
        ("Answer: 60 km/h\n\nExplanation: we divide 150 by", True),
        ("I'd go with B. The others fail because", True),
        ('{"name": "Ann", "age": 31}', True),
        ('{"name": "Ann", "ag', False),
        ("The answer matches the reference.\nGRADE: CORRECT\n\nReasoning: the candidate", True),
    ],
)
def test_committed(text: str, answered: bool) -> None:
    assert committed(text) is answered
