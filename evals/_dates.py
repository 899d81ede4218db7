"""Dates as replies write them, read as (year, month, day) so that they compare as dates.

`find_dates` reads every date in a text, in order: ISO ``2024-03-05`` (any dash, or
``2024/03/05``), US numeric ``03/05/2024`` (month first, the way models write it; a first
number over 12 is the day: ``25/12/2024``), and written ones with or without a weekday,
an ordinal or a comma: ``March 5, 2024``, ``Mar. 5th 2024``, ``5 March 2024``, ``the 5th
of March, 2024``, ``Tuesday, March 5, 2024``. Month names are read capitalized, as dates
write them ("may" and "march" are words too). A written date without a year (``March 5``)
has year None. `as_date` reads a target that is one date and nothing else.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

__all__ = ["Date", "as_date", "find_dates", "same_date"]

Date = tuple[int | None, int, int]  # (year or None, month, day)

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?P<{}>" + "|".join(sorted((m.title() for m in _MONTHS), key=len, reverse=True)) + r")\.?"
)
_DAY = r"(?P<{}>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<{}>\d{{4}})"
_DASH = "-‐‑‒–—"  # hyphen and the dashes that stand in for it
_DATE = re.compile(
    "|".join(
        [
            rf"(?<![\d.])(?P<iy>\d{{4}})[{_DASH}/](?P<im>[01]?\d)[{_DASH}/](?P<id>[0-3]?\d)(?!\d)",
            r"(?<![\d.])(?P<na>[01]?\d|[0-3]\d)/(?P<nb>[0-3]?\d)/(?P<ny>\d{4})(?!\d)",
            _MONTH.format("m1")
            + r"\s+"
            + _DAY.format("d1")
            + r"(?:(?:,\s*|\s+)"
            + _YEAR.format("y1")
            + r")?(?![\d:])",
            r"(?:the\s+)?"
            + _DAY.format("d2")
            + r"(?:\s+of)?\s+"
            + _MONTH.format("m2")
            + r"(?:,?\s+"
            + _YEAR.format("y2")
            + r")?(?!\d)",
        ]
    ),
)  # fmt: skip  (month names capitalized: "may" and "march" are words too)


def find_dates(text: str) -> list[Date]:
    """Every valid date in ``text``, in order (see the module docstring)."""
    if not any(c.isdigit() for c in text):
        return []
    out = []
    for m in _DATE.finditer(text):
        date = _read(m)
        if date is not None:
            out.append(date)
    return out


def _read(m: re.Match[str]) -> Date | None:
    if m["iy"]:
        return _valid(int(m["iy"]), int(m["im"]), int(m["id"]))
    if m["ny"]:
        a, b, year = int(m["na"]), int(m["nb"]), int(m["ny"])
        return _valid(year, a, b) if a <= 12 else _valid(year, b, a)
    month, day, written = m.group("m1", "d1", "y1") if m["m1"] else m.group("m2", "d2", "y2")
    return _valid(int(written) if written else None, _MONTHS[month.lower()], int(day))


def _valid(year: int | None, month: int, day: int) -> Date | None:
    try:
        dt.date(year if year is not None else 2000, month, day)  # 2000: a leap year
    except ValueError:
        return None
    return (year, month, day)


@lru_cache(maxsize=4096)
def as_date(target: str) -> Date | None:
    """The date a target states, when it is one full date and nothing else; else None."""
    text = target.strip().rstrip(".")
    if len(text) > 40 or not any(c.isdigit() for c in text):
        return None
    m = _DATE.fullmatch(text) or _DATE.fullmatch(re.sub(r"^[A-Za-z]+day,?\s+", "", text))
    if m is None:
        return None
    date = _read(m)
    return date if date is not None and date[0] is not None else None


def same_date(got: Date, want: Date) -> bool:
    """Whether ``got`` is ``want``; a date written without its year matches on month and day."""
    return got[1:] == want[1:] and (got[0] is None or got[0] == want[0])
