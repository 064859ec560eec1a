"""Round schedules: parsing the leader's text and computing the next round.

Pure: no Flask, no LINE, no database.  Times are aware datetimes; the
schedule is interpreted in the group's time zone (BOT_TIMEZONE), so 9:00 means
9:00 on the wall clock there, across DST changes where a zone has them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAY_KANJI = "月火水木金土日"  # Monday first, like date.weekday()
WEEKDAY_EN = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

EXAMPLES = (
    "/設定 毎日 9:00",
    "/設定 2日ごと 20:00",
    "/設定 3日ごと 7:00",
    "/設定 毎週月 7:00",
    "/設定 毎週月水金 8:30",
    "/設定 平日 8:00",
    "/設定 毎朝9時",
)


class ScheduleError(ValueError):
    """The text is not a schedule we understand."""


@dataclass(frozen=True)
class Schedule:
    """When a group's routine rounds happen.

    kind "every": every ``interval_days`` days counted from ``anchor``
    (interval 1 is 毎日).  kind "weekly": on ``weekdays`` (0 = Monday)."""

    kind: str
    at: time
    interval_days: int = 1
    anchor: date | None = None
    weekdays: tuple[int, ...] = ()

    def to_spec(self) -> str:
        """A compact, stable text form for the database."""
        hhmm = self.at.strftime("%H:%M")
        if self.kind == "every":
            return f"every {self.interval_days} {self.anchor.isoformat()} {hhmm}"
        return f"weekly {''.join(str(d) for d in self.weekdays)} {hhmm}"

    @classmethod
    def from_spec(cls, spec: str) -> Schedule:
        parts = spec.split()
        at = time.fromisoformat(parts[-1])
        if parts[0] == "every":
            return cls("every", at, int(parts[1]), date.fromisoformat(parts[2]))
        if parts[0] == "weekly":
            return cls("weekly", at, weekdays=tuple(int(c) for c in parts[1]))
        raise ScheduleError(spec)

    def describe(self) -> str:
        """Japanese, as a leader would write it: 「毎週月水金 8:30」."""
        hhmm = f"{self.at.hour}:{self.at.minute:02d}"
        if self.kind == "every":
            return f"毎日 {hhmm}" if self.interval_days == 1 else f"{self.interval_days}日ごと {hhmm}"
        if self.weekdays == (0, 1, 2, 3, 4):
            return f"平日 {hhmm}"
        if self.weekdays == (5, 6):
            return f"土日 {hhmm}"
        return f"毎週{''.join(WEEKDAY_KANJI[d] for d in self.weekdays)} {hhmm}"

    def occurs_on(self, day: date) -> bool:
        if self.kind == "every":
            return (day - self.anchor).days % self.interval_days == 0
        return day.weekday() in self.weekdays

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime:
        """The first round strictly after ``after`` (aware), as aware UTC.

        Missed occurrences are not caught up: after downtime the group gets
        the next one, not a burst of old ones."""
        local = after.astimezone(tz)
        day = local.date()
        # At most one interval or one week ahead; 400 bounds any schedule.
        for _ in range(400):
            if self.occurs_on(day):
                candidate = _wall_clock(day, self.at, tz)
                if candidate > after:
                    return candidate.astimezone(ZoneInfo("UTC"))
            day += timedelta(days=1)
        raise AssertionError("schedule has no occurrence")  # unreachable for valid schedules


def _wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``day`` at ``at`` in ``tz``.  A time skipped by a DST jump moves to
    the same wall time after the jump (02:30 -> 03:30); a repeated time takes
    its first occurrence."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz, fold=0)
    roundtrip = aware.astimezone(ZoneInfo("UTC")).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != naive:
        # Nonexistent local time: take the UTC instant of fold=0 which lands
        # after the gap.
        return roundtrip
    return aware


# The time at the end of a schedule: 9:00, 9時, 9時半, 9時15分, 午前9時,
# 午後3時, 朝9時, 夜8時, 8pm (after NFKC and lowercasing).
_TIME = re.compile(
    r"(?P<part>午前|午後|朝|夜|夕方|夕|晩|am|pm)?"
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2})|時(?:(?P<minutes>\d{1,2})分?|(?P<half>半))?|(?=am|pm))"
    r"(?P<suffix>am|pm)?$"
)
_AFTERNOON = frozenset({"午後", "夜", "夕方", "夕", "晩", "pm"})
_MORNING = frozenset({"午前", "朝", "am"})

# Words for "every day", with the part of the day some of them imply.
_DAILY = {
    "": None,
    "毎日": None,
    "まいにち": None,
    "毎朝": "朝",
    "まいあさ": "朝",
    "毎晩": "晩",
    "毎夜": "夜",
    "毎夕": "夕",
    "daily": None,
    "everyday": None,
}
_WEEKDAYS = (0, 1, 2, 3, 4)
_WEEKEND = (5, 6)
_NAMED_DAYS = {
    "平日": _WEEKDAYS,
    "へいじつ": _WEEKDAYS,
    "weekdays": _WEEKDAYS,
    "土日": _WEEKEND,
    "週末": _WEEKEND,
    "weekends": _WEEKEND,
}


def _parse_time(match: re.Match, implied_part: str | None, own_part: bool = True) -> time:
    """The time in ``match``; ``implied_part`` is the part of the day the
    words before it imply (毎朝, 毎晩), used for hours before 12."""
    hour = int(match.group("hour"))
    minute = int(match.group("minute") or match.group("minutes") or (30 if match.group("half") else 0))
    explicit = (match.group("part") if own_part else None) or match.group("suffix")
    if explicit is not None and not 0 <= hour <= 12:
        raise ScheduleError("午前・午後のときは12時までです")
    part = explicit or (implied_part if hour < 12 else None)
    if part in _AFTERNOON and hour < 12:
        hour += 12
    elif part in _MORNING and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ScheduleError("時刻がわかりません")
    return time(hour, minute)


_EVERY_N = re.compile(r"^(\d{1,2})日(?:ごと|毎|おき)$")
_DAY_SEPARATORS = re.compile(r"曜日|曜|と|・|、|,|及び|および")


def _weekday_letters(text: str) -> tuple[int, ...] | None:
    letters = _DAY_SEPARATORS.sub("", text)
    if letters and all(c in WEEKDAY_KANJI for c in letters):
        return tuple(sorted({WEEKDAY_KANJI.index(c) for c in letters}))
    return None


def parse_schedule(text: str, today: date) -> Schedule:
    """Parse a leader's schedule text such as 「毎週月水金 8:30」.

    Understands 毎日 / 毎朝 / 毎晩, N日ごと, 毎週 and weekday letters
    (「月水金」「月曜と木曜」), 平日 and 土日, and a time written 9:00, 9時,
    9時半, 午前9時, 午後3時 or 朝9時 — with or without a space before it
    (「毎朝9時」).  A time alone means every day.  ``today`` (in the group's
    time zone) anchors 「N日ごと」: the first round is today (if the time has
    not passed) and then every N days.  Accepts full-width digits and
    colons, and English forms (``daily 9:00``, ``every 2 days 20:00``,
    ``weekly mon,wed 7:00``, ``weekdays 8am``).  Raises ScheduleError."""
    norm = unicodedata.normalize("NFKC", text).strip().lower()
    norm = re.sub(r"\s+", "", norm)
    norm = re.sub(r"(?:に|ごろ|頃|から)+$", "", norm)
    if not norm:
        raise ScheduleError("空です")
    match = _TIME.search(norm)
    if match is None or not re.search(r"\d", norm):
        raise ScheduleError("時刻がありません")
    when = norm[: match.start()].removesuffix("の")
    own_part = True
    if when == "毎" and match.group("part"):
        when += match.group("part")  # 「毎朝9時」: the search took 朝 as the time's own
        own_part = False
    if when in _DAILY:
        return Schedule("every", _parse_time(match, _DAILY[when], own_part), 1, today)
    match_every = _EVERY_N.match(when) or re.match(r"^every(\d{1,2})days?$", when)
    if match_every:
        days = int(match_every.group(1))
        if not 1 <= days <= 30:
            raise ScheduleError("1日から30日ごとまでです")
        return Schedule("every", _parse_time(match, None), days, today)
    days_text = when.removeprefix("毎週").removeprefix("毎")
    if days_text in _NAMED_DAYS:
        return Schedule("weekly", _parse_time(match, None), weekdays=_NAMED_DAYS[days_text])
    if days_text:
        weekdays = _weekday_letters(days_text)
        if weekdays:
            return Schedule("weekly", _parse_time(match, None), weekdays=weekdays)
    if when.startswith("weekly"):
        names = [n for n in re.split(r"[,、]", when[len("weekly") :]) if n]
        if names and all(n[:3] in WEEKDAY_EN for n in names):
            weekdays = tuple(sorted({WEEKDAY_EN.index(n[:3]) for n in names}))
            return Schedule("weekly", _parse_time(match, None), weekdays=weekdays)
    raise ScheduleError(f"いつ確認するかがわかりません: {when}")
