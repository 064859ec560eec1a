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


_TIME = re.compile(r"^(\d{1,2})(?::(\d{2})|時(?:(\d{1,2})分?|半)?)$")


def _parse_time(text: str) -> time:
    match = _TIME.match(text)
    if not match:
        raise ScheduleError(f"時刻がわかりません: {text}")
    hour = int(match.group(1))
    minute = int(match.group(2) or match.group(3) or (30 if text.endswith("半") else 0))
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ScheduleError(f"時刻がわかりません: {text}")
    return time(hour, minute)


_EVERY_N = re.compile(r"^(\d{1,2})日(?:ごと|毎|おき)$")


def parse_schedule(text: str, today: date) -> Schedule:
    """Parse a leader's schedule text such as 「毎週月水金 8:30」.

    ``today`` (in the group's time zone) anchors 「N日ごと」: the first round
    is today (if the time has not passed) and then every N days.
    Accepts full-width digits and colons, and English forms
    (``daily 9:00``, ``every 2 days 20:00``, ``weekly mon,wed 7:00``).
    Raises ScheduleError."""
    norm = unicodedata.normalize("NFKC", text).strip().lower()
    norm = re.sub(r"\s+", " ", norm)
    if not norm:
        raise ScheduleError("空です")
    when, _, at_text = norm.rpartition(" ")
    if not when:
        raise ScheduleError("時刻がありません")
    at = _parse_time(at_text.replace(" ", ""))
    when = when.replace(" ", "")

    if when in ("毎日", "daily", "everyday"):
        return Schedule("every", at, 1, today)
    match = _EVERY_N.match(when) or re.match(r"^every(\d{1,2})days?$", when)
    if match:
        days = int(match.group(1))
        if not 1 <= days <= 30:
            raise ScheduleError("1日から30日ごとまでです")
        return Schedule("every", at, days, today)
    if when.startswith("毎週"):
        letters = when[len("毎週") :].replace("曜日", "").replace("曜", "").replace("・", "")
        if letters and all(c in WEEKDAY_KANJI for c in letters):
            return Schedule("weekly", at, weekdays=tuple(sorted({WEEKDAY_KANJI.index(c) for c in letters})))
    if when.startswith("weekly"):
        names = [n for n in re.split(r"[,、]", when[len("weekly") :]) if n]
        if names and all(n[:3] in WEEKDAY_EN for n in names):
            return Schedule("weekly", at, weekdays=tuple(sorted({WEEKDAY_EN.index(n[:3]) for n in names})))
    raise ScheduleError(f"いつ確認するかがわかりません: {when}")
