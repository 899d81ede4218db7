"""The one normalization of free-text answers and targets, as a grader compares them.

`normalize` folds what does not change an answer: case, accents (``Zürich`` is
``Zurich``, ``Brasília`` is ``Brasilia``), the dots of an abbreviation (``U.S.A.`` is
``USA``), thousands commas, punctuation, the articles a/an/the and runs of whitespace. A
decimal point between digits stays (9.11 is not 911), and so does a minus sign before a
number (-5 is not 5).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["normalize", "normalized"]

_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# keeps a decimal point (9.11 is not 911) and a minus sign before a number (-5 is not 5)
_PUNCT = re.compile(r"(?!(?<=\d)\.(?=\d)|(?<![\w.])[-−](?=\.?\d))[^\w\s]|_")
_ABBREVIATION = re.compile(r"(?<![\w.])((?:[^\W\d_]\.)+[^\W\d_])\.?(?!\w)")
_LETTERS = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                          "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "þ": "th",
                          "ı": "i", "−": "-"})  # fmt: skip


def normalize(text: str) -> str:
    """Case, accents, abbreviation dots, thousands commas, punctuation and the articles
    a/an/the removed, whitespace collapsed (see the module docstring)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_LETTERS)
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    text = text.casefold()
    if "." in text:
        text = _ABBREVIATION.sub(lambda m: m.group(1).replace(".", ""), text)
    text = _PUNCT.sub(" ", _THOUSANDS.sub("", text))
    return " ".join(_ARTICLES.sub(" ", text).split())


normalized = lru_cache(maxsize=4096)(normalize)  # for targets and choices, often shared
