"""A clock per simulated group (the simulator, DEMO_CLOCK only).

The bot has one clock (services/clock.py) and the sweep reads it for every
group at once, so moving it forward fires every group's deadlines: one
class's 「23時間進める」 would send another class's summary.  Here a group's
time moves instead of the clock: a step of *s* seconds moves every stored
time of that group (its deadlines and its history) back by *s* and adds *s*
to the group's ``DemoGroup.offset_seconds``, in one transaction.  Then

    the group's time ("virtual now") = real now + its offset
    every stored time of the group   = its virtual time - its offset

holds for every group, so the untouched sweep, reading the real clock, finds
exactly this group's deadlines due, and rules about elapsed time (12 hours
since an emergency, 6 hours between aftershocks) read right too.  Nothing of
another group moves.  A clock is never wound back: 「最初から」 starts the
lesson again in a fresh group (web/lessons.py), with its own clock at zero.

What moves is a table (``SHIFTS``): a feature that adds a deadline to a
group's rows (a follow-up, a 見守り watch) adds one line.  Times the bot
writes into messages (/状況's 次の確認) are formatted from stored times, so
after a step they read as real time, not the group's; docs/architecture.md
says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.schedule import Schedule
from models import Answer, DemoClock, DemoGroup, Group, Member, Outbox, Round, db, naive, utc
from services import clock

MORNING = time(9, 0)


@dataclass(frozen=True)
class Shift:
    """Rows of one model that belong to a group, and their time columns."""

    model: type
    columns: tuple[str, ...]
    rows_of: object  # (Group) -> peewee expression selecting the rows


SHIFTS = (
    Shift(Group, ("joined_at", "left_at", "next_round_at"), lambda g: Group.id == g.id),
    Shift(Member, ("registered_at", "left_at"), lambda g: Member.group == g.id),
    Shift(Round, ("opened_at", "summary_due_at", "closed_at"), lambda g: Round.group == g.id),
    Shift(
        Answer,
        ("answered_at",),
        lambda g: Answer.round.in_(Round.select(Round.id).where(Round.group == g.id)),
    ),
    # sent_at stays: it is when LINE counted the message (the month's usage).
    Shift(Outbox, ("created_at", "not_before", "expires_at"), lambda g: Outbox.group == g.id),
)


def seconds_until_morning(now: datetime, tz: ZoneInfo) -> int:
    """Whole seconds (> 0) from ``now`` until the next 9:00 in ``tz``,
    rounded up so that a round scheduled for 9:00 is due afterwards."""
    local = now.astimezone(tz)
    day = local.date() if local.time() < MORNING else local.date() + timedelta(days=1)
    target = datetime.combine(day, MORNING, tzinfo=tz)
    # In UTC: subtracting two times of the same zone ignores a DST change between them.
    return max(1, math.ceil((target.astimezone(UTC) - now.astimezone(UTC)).total_seconds()))


# The steps the simulator offers: name -> seconds, given the group's time.
STEPS = {
    "3h": lambda now, tz: 3 * 3600,
    "23h": lambda now, tz: 23 * 3600,
    "next-morning": seconds_until_morning,
}


def record(line_group_id: str) -> DemoGroup | None:
    return DemoGroup.get_or_none(DemoGroup.line_group_id == line_group_id)


def ensure(line_group_id: str, **fields) -> DemoGroup:
    """The group's DemoGroup row, created (offset 0) on first use."""
    row = record(line_group_id)
    if row is None:
        row = DemoGroup.create(line_group_id=line_group_id, created_at=naive(clock.real_now()), **fields)
    elif fields:
        DemoGroup.update(**fields).where(DemoGroup.id == row.id).execute()
        row = record(line_group_id)
    return row


def offset(line_group_id: str) -> timedelta:
    row = record(line_group_id)
    return timedelta(seconds=row.offset_seconds if row else 0)


def now(line_group_id: str) -> datetime:
    """The group's time: the bot's clock plus the group's offset."""
    return clock.now() + offset(line_group_id)


def _bot_group(line_group_id: str) -> Group | None:
    return Group.get_or_none(Group.line_group_id == line_group_id)


def shift(line_group_id: str, seconds: int) -> None:
    """Move every stored time of the group back by ``seconds`` and its
    offset forward as much, in one transaction (see the module's note)."""
    if seconds <= 0:
        raise ValueError("a group's clock only moves forward")
    delta = timedelta(seconds=seconds)
    with db.atomic():
        ensure(line_group_id)
        DemoGroup.update(offset_seconds=DemoGroup.offset_seconds + seconds).where(
            DemoGroup.line_group_id == line_group_id
        ).execute()
        group = _bot_group(line_group_id)
        if group is None:
            return  # the bot has not recorded the group yet: nothing stored to move
        for spec in SHIFTS:
            fields = [spec.model.id, *(getattr(spec.model, c) for c in spec.columns)]
            for row in spec.model.select(*fields).where(spec.rows_of(group)).tuples():
                moved = {
                    column: value - delta
                    for column, value in zip(spec.columns, row[1:], strict=True)
                    if value is not None
                }
                if moved:
                    spec.model.update(moved).where(spec.model.id == row[0]).execute()


def align_schedule(line_group_id: str, tz: ZoneInfo) -> bool:
    """Keep the group's next routine check on its schedule in the group's
    own time.  The sweep and /設定 compute it from the real clock; with an
    offset that lands at the wrong hour.  A check already due is left for
    the sweep.  True when it was moved."""
    group = _bot_group(line_group_id)
    if group is None or not group.schedule or group.paused or not group.active:
        return False
    real = clock.now()
    stored = utc(group.next_round_at)
    if stored is not None and stored <= real:
        return False
    ahead = offset(line_group_id)
    expected = Schedule.from_spec(group.schedule).next_after(real + ahead, tz) - ahead
    if stored is not None and abs((stored - expected).total_seconds()) < 1:
        return False
    old = Group.next_round_at.is_null() if stored is None else (Group.next_round_at == naive(stored))
    return bool(Group.update(next_round_at=naive(expected)).where((Group.id == group.id) & old).execute())


def advance(line_group_id: str, step: str, tz: ZoneInfo, sweep) -> int:
    """Move the group's clock by ``step`` (a key of STEPS), then run
    ``sweep()`` once so what fell due in this group is sent now.  Returns
    the seconds moved.  KeyError for an unknown step."""
    seconds = STEPS[step](now(line_group_id), tz)
    align_schedule(line_group_id, tz)
    shift(line_group_id, seconds)
    sweep()
    align_schedule(line_group_id, tz)
    return seconds


def retire_global_offset() -> int:
    """Older simulators moved the bot's one clock forward (DemoClock) and it
    stayed days ahead after a restart.  Hand that offset to each group as
    its own (times moved back to match) and set the bot's clock right.
    Returns the seconds retired.  Demo mode only: the caller checks."""
    row = DemoClock.select().first()
    if row is None or row.offset_seconds <= 0:
        return 0
    seconds = row.offset_seconds
    with db.atomic():
        for (line_group_id,) in Group.select(Group.line_group_id).tuples():
            shift(line_group_id, seconds)
        DemoClock.update(offset_seconds=0).execute()
    return seconds
