"""Schedule arithmetic: parsing leaders' text and the next round time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from domain.schedule import Schedule, ScheduleError, parse_schedule

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
TODAY = date(2026, 11, 28)  # a Saturday


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


@pytest.mark.parametrize(
    "text, kind, at, interval, weekdays",
    [
        ("毎日 9:00", "every", time(9, 0), 1, ()),
        ("2日ごと 20:00", "every", time(20, 0), 2, ()),
        ("3日ごと 7:00", "every", time(7, 0), 3, ()),
        ("毎週月 7:00", "weekly", time(7, 0), 1, (0,)),
        ("毎週月水金 8:30", "weekly", time(8, 30), 1, (0, 2, 4)),
        ("毎週金水月 8:30", "weekly", time(8, 30), 1, (0, 2, 4)),
        ("毎日　９：００", "every", time(9, 0), 1, ()),  # full-width, as phones type it
        ("毎日 9時", "every", time(9, 0), 1, ()),
        ("毎日 7時半", "every", time(7, 30), 1, ()),
        ("毎週 月・木 18:05", "weekly", time(18, 5), 1, (0, 3)),
        ("daily 9:00", "every", time(9, 0), 1, ()),
        ("every 2 days 20:00", "every", time(20, 0), 2, ()),
        ("weekly mon,wed,fri 8:30", "weekly", time(8, 30), 1, (0, 2, 4)),
        # as leaders actually write them
        ("毎朝9時", "every", time(9, 0), 1, ()),
        ("毎朝 7時半", "every", time(7, 30), 1, ()),
        ("毎日 午前9時", "every", time(9, 0), 1, ()),
        ("毎日 午後3時", "every", time(15, 0), 1, ()),
        ("毎日午後3時半", "every", time(15, 30), 1, ()),
        ("毎日 9時15分", "every", time(9, 15), 1, ()),
        ("毎日9時に", "every", time(9, 0), 1, ()),
        ("毎晩8時", "every", time(20, 0), 1, ()),
        ("毎晩 20時", "every", time(20, 0), 1, ()),
        ("夜8時", "every", time(20, 0), 1, ()),
        ("9時半", "every", time(9, 30), 1, ()),  # a time alone: every day
        ("9:00", "every", time(9, 0), 1, ()),
        ("午後12時", "every", time(12, 0), 1, ()),
        ("午前0時", "every", time(0, 0), 1, ()),
        ("平日 8:00", "weekly", time(8, 0), 1, (0, 1, 2, 3, 4)),
        ("平日の朝8時", "weekly", time(8, 0), 1, (0, 1, 2, 3, 4)),
        ("毎週平日 8時", "weekly", time(8, 0), 1, (0, 1, 2, 3, 4)),
        ("土日 10時", "weekly", time(10, 0), 1, (5, 6)),
        ("毎週土日 午前10時", "weekly", time(10, 0), 1, (5, 6)),
        ("月水金 8:30", "weekly", time(8, 30), 1, (0, 2, 4)),
        ("毎週月曜と水曜 9:00", "weekly", time(9, 0), 1, (0, 2)),
        ("毎週火曜日 朝7時", "weekly", time(7, 0), 1, (1,)),
        ("ｗｅｅｋｄａｙｓ ８ａｍ", "weekly", time(8, 0), 1, (0, 1, 2, 3, 4)),
        ("every day 9pm", "every", time(21, 0), 1, ()),
    ],
)
def test_it_parses_leader_schedules(text, kind, at, interval, weekdays):
    parsed = parse_schedule(text, TODAY)
    assert (parsed.kind, parsed.at, parsed.interval_days, parsed.weekdays) == (kind, at, interval, weekdays)
    assert Schedule.from_spec(parsed.to_spec()) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "毎日",
        "毎朝",
        "毎日 9",  # a number alone is not a time
        "毎日 25:00",
        "毎日 9:75",
        "午後13時",
        "毎週 9:00",
        "毎月1日 9:00",
        "0日ごと 9:00",
        "31日ごと 9:00",
        "ときどき 9:00",
        "毎週xyz 9:00",
    ],
)
def test_it_refuses_what_it_cannot_read(text):
    with pytest.raises(ScheduleError):
        parse_schedule(text, TODAY)


def test_it_describes_schedules_as_leaders_write_them():
    assert parse_schedule("毎週月水金 8:30", TODAY).describe() == "毎週月水金 8:30"
    assert parse_schedule("2日ごと 20:00", TODAY).describe() == "2日ごと 20:00"
    assert parse_schedule("毎日 9:00", TODAY).describe() == "毎日 9:00"
    assert parse_schedule("毎朝9時半", TODAY).describe() == "毎日 9:30"
    assert parse_schedule("平日 8:00", TODAY).describe() == "平日 8:00"
    assert parse_schedule("毎週土日 10時", TODAY).describe() == "土日 10:00"


@pytest.mark.parametrize(
    "text, after, expected",
    [
        # daily: later today, or tomorrow once the time has passed
        ("毎日 9:00", jst(2026, 11, 28, 8, 59), jst(2026, 11, 28, 9, 0)),
        ("毎日 9:00", jst(2026, 11, 28, 9, 0), jst(2026, 11, 29, 9, 0)),  # strictly after
        ("毎日 9:00", jst(2026, 12, 31, 10, 0), jst(2027, 1, 1, 9, 0)),  # year end
        ("毎日 0:00", jst(2026, 11, 30, 23, 59), jst(2026, 12, 1, 0, 0)),  # month end
        # every N days from the day it was set (2026-11-28)
        ("2日ごと 20:00", jst(2026, 11, 28, 19, 0), jst(2026, 11, 28, 20, 0)),
        ("2日ごと 20:00", jst(2026, 11, 28, 21, 0), jst(2026, 11, 30, 20, 0)),
        ("2日ごと 20:00", jst(2026, 11, 29, 21, 0), jst(2026, 11, 30, 20, 0)),
        ("3日ごと 7:00", jst(2026, 11, 28, 8, 0), jst(2026, 12, 1, 7, 0)),  # across a month end
        ("3日ごと 7:00", jst(2026, 12, 31, 8, 0), jst(2027, 1, 3, 7, 0)),  # across a year end
        ("3日ごと 7:00", jst(2027, 2, 27, 8, 0), jst(2027, 3, 1, 7, 0)),  # February
        ("2日ごと 7:00", jst(2028, 2, 28, 8, 0), jst(2028, 2, 29, 7, 0)),  # leap day (458 days after)
        # weekly
        ("毎週月 7:00", jst(2026, 11, 28, 12, 0), jst(2026, 11, 30, 7, 0)),
        ("毎週月 7:00", jst(2026, 11, 30, 7, 0), jst(2026, 12, 7, 7, 0)),
        ("毎週月水金 8:30", jst(2026, 12, 2, 8, 29), jst(2026, 12, 2, 8, 30)),
        ("毎週月水金 8:30", jst(2026, 12, 4, 9, 0), jst(2026, 12, 7, 8, 30)),
        ("毎週日 23:30", jst(2026, 12, 31, 0, 0), jst(2027, 1, 3, 23, 30)),
    ],
)
def test_it_computes_the_next_round(text, after, expected):
    schedule = parse_schedule(text, TODAY)
    result = schedule.next_after(after, TOKYO)
    assert result == expected
    assert result.tzinfo is not None and result.utcoffset().total_seconds() == 0


def test_it_interprets_the_time_in_the_bot_time_zone():
    # 9:00 in Tokyo is 00:00 UTC.
    result = parse_schedule("毎日 9:00", TODAY).next_after(datetime(2026, 11, 27, 23, 0, tzinfo=UTC), TOKYO)
    assert result == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


def test_it_accepts_an_after_in_any_zone():
    after = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
    assert parse_schedule("毎日 9:00", TODAY).next_after(after, TOKYO) == jst(2026, 11, 29, 9, 0)


@pytest.mark.parametrize(
    "text, after, expected_local",
    [
        # Spring forward: 02:30 does not exist on 2027-03-14; it becomes 03:30 EDT.
        ("毎日 2:30", datetime(2027, 3, 13, 12, 0, tzinfo=NEW_YORK), datetime(2027, 3, 14, 3, 30)),
        # Fall back: 01:30 happens twice on 2026-11-01; the first one counts.
        ("毎日 1:30", datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), datetime(2026, 11, 1, 1, 30)),
        # A wall-clock 9:00 stays 9:00 across the change.
        ("毎日 9:00", datetime(2027, 3, 13, 10, 0, tzinfo=NEW_YORK), datetime(2027, 3, 14, 9, 0)),
    ],
)
def test_it_keeps_wall_clock_time_across_dst(text, after, expected_local):
    result = parse_schedule(text, date(2026, 10, 1)).next_after(after, NEW_YORK).astimezone(NEW_YORK)
    assert result.replace(tzinfo=None) == expected_local


def test_it_takes_the_first_of_a_repeated_hour():
    result = parse_schedule("毎日 1:30", date(2026, 10, 1)).next_after(
        datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), NEW_YORK
    )
    assert result == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, not EST


def test_it_does_not_catch_up_missed_rounds():
    schedule = parse_schedule("毎日 9:00", TODAY)
    # Down for three days: the next round is the next one, not three old ones.
    assert schedule.next_after(jst(2026, 12, 2, 12, 0), TOKYO) == jst(2026, 12, 3, 9, 0)
