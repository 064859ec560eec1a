"""Absence (/お休み): reading how long someone will be away, and whether
they are away on a given day.  Pure.

An absence is stored as its last day, inclusive, in the bot's time zone:
「/お休み 12月5日まで」 is away through 5 December; 「/お休み 3日」 sent on a
Monday is away Monday, Tuesday and Wednesday.  It ends by itself after that
day, or at once with 「/お休み おわり」.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

MAX_DAYS = 180  # a long hospital stay; longer is not an absence but a pause

_END_WORDS = frozenset({"おわり", "終わり", "終り", "おしまい", "解除", "終了", "end", "off"})
_DAYS = re.compile(r"^(\d{1,3})(?:日|日間|days?|d)$")
_WEEKS = re.compile(r"^(\d{1,2})(?:週|週間|weeks?|w)$")
_DATE = re.compile(r"^(?:(\d{4})[年/\-])?(\d{1,2})(?:月|/|-)(\d{1,2})日?(?:まで)?$")


class AbsenceError(ValueError):
    """Not an absence we understand (the message says which part)."""


@dataclass(frozen=True)
class Absence:
    """What an /お休み text asked for: away through ``until``, or ``end``."""

    until: date | None = None
    end: bool = False


def parse_absence(text: str, today: date) -> Absence:
    """Read 「12月5日まで」, 「12/5」, 「3日」, 「1週間」 or 「おわり」.

    A date without a year is the next such date from ``today`` (so in
    December, 「1月10日」 is next January).  Raises AbsenceError for anything
    else, for a day in the past, and beyond MAX_DAYS."""
    norm = unicodedata.normalize("NFKC", text or "").strip().lower().replace(" ", "")
    if not norm:
        raise AbsenceError("いつまでかがありません")
    if norm in _END_WORDS:
        return Absence(end=True)
    if match := _DAYS.match(norm):
        days = int(match.group(1))
        return Absence(until=_within(today, today + timedelta(days=days - 1), days >= 1))
    if match := _WEEKS.match(norm):
        weeks = int(match.group(1))
        return Absence(until=_within(today, today + timedelta(days=7 * weeks - 1), weeks >= 1))
    if match := _DATE.match(norm.removesuffix("まで")):
        year, month, day = match.groups()
        try:
            until = date(int(year) if year else today.year, int(month), int(day))
            if not year and until < today:
                until = until.replace(year=today.year + 1)
        except ValueError:
            raise AbsenceError("その日付はありません") from None
        return Absence(until=_within(today, until, until >= today))
    raise AbsenceError("いつまでかがわかりません")


def _within(today: date, until: date, valid: bool) -> date:
    if not valid:
        raise AbsenceError("過ぎた日は選べません")
    if (until - today).days >= MAX_DAYS:
        raise AbsenceError(f"{MAX_DAYS}日までです")
    return until


def is_away(away_until: date | None, day: date) -> bool:
    """Whether someone whose absence runs through ``away_until`` is away on ``day``."""
    return away_until is not None and day <= away_until
