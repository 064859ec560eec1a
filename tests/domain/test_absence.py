"""/お休み: how long someone is away, read from what they typed."""

from __future__ import annotations

from datetime import date

import pytest

from domain.absence import MAX_DAYS, Absence, AbsenceError, is_away, parse_absence

MONDAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    "text, until",
    [
        ("12月5日まで", date(2026, 12, 5)),
        ("１２月５日まで", date(2026, 12, 5)),
        ("12/5", date(2026, 12, 5)),
        ("12月5日", date(2026, 12, 5)),
        ("11月30日まで", MONDAY),  # today only
        ("1月10日まで", date(2027, 1, 10)),  # next January
        ("2027年2月1日まで", date(2027, 2, 1)),
        ("3日", date(2026, 12, 2)),  # Monday, Tuesday, Wednesday
        ("3日間", date(2026, 12, 2)),
        ("1日", MONDAY),
        ("1週間", date(2026, 12, 6)),
        ("2週間", date(2026, 12, 13)),
    ],
)
def test_it_reads_until_when(text, until):
    assert parse_absence(text, MONDAY) == Absence(until=until)


@pytest.mark.parametrize("text", ["おわり", "終わり", "解除", "おしまい", "ＯＦＦ"])
def test_it_reads_the_end_of_an_absence(text):
    assert parse_absence(text, MONDAY) == Absence(end=True)


@pytest.mark.parametrize(
    "text", ["", "ずっと", "0日", "2月30日まで", "2026年11月1日まで", f"{MAX_DAYS + 1}日", "13月1日", "来週"]
)
def test_it_refuses_what_it_cannot_read(text):
    with pytest.raises(AbsenceError):
        parse_absence(text, MONDAY)


def test_it_is_away_through_the_last_day_and_not_after():
    until = date(2026, 12, 5)
    assert is_away(until, MONDAY) and is_away(until, until)
    assert not is_away(until, date(2026, 12, 6)) and not is_away(None, MONDAY)
