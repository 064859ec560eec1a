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
group's rows (a follow-up) adds one line.

A one-to-one chat has a clock too: the chat of a watched person (見守り),
keyed by their LINE user id as the emulator keys the chat.  Its step moves
the person's watch, its checks, escalations, invitations and every message
about it (``WATCH_SHIFTS``), so a lesson shows the resend and the contacts
being told without waiting, and nobody else's watch moves.

Times the bot writes into its answers (/状況's 次の確認, 見守り's 次の確認)
add the chat's offset (services/clock.chat_offset), so they read in the
chat's own time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.schedule import Schedule
from models import (
    Answer,
    Contact,
    DemoClock,
    DemoGroup,
    Escalation,
    FollowUp,
    Group,
    Invitation,
    Member,
    OfflineMember,
    Outbox,
    Person,
    Round,
    Watch,
    WatchCheck,
    db,
    naive,
    utc,
)
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
    Shift(OfflineMember, ("added_at", "removed_at"), lambda g: OfflineMember.group == g.id),
    Shift(
        FollowUp,
        ("created_at", "remind_at", "reminded_at", "claimed_at", "outcome_at", "unreachable_at"),
        lambda g: FollowUp.group == g.id,
    ),
    # sent_at stays: it is when LINE counted the message (the month's usage).
    Shift(Outbox, ("created_at", "not_before", "expires_at"), lambda g: Outbox.group == g.id),
)

# A watched person's rows (their one-to-one chat's clock): the same, for a Watch.
WATCH_SHIFTS = (
    Shift(Watch, ("next_check_at", "last_ok_at", "created_at", "stopped_at"), lambda w: Watch.id == w.id),
    Shift(
        WatchCheck,
        ("opened_at", "resend_due_at", "escalate_due_at", "resent_at", "answered_at", "closed_at"),
        lambda w: WatchCheck.watch == w.id,
    ),
    Shift(
        Escalation,
        ("opened_at", "followup_due_at", "reminded_at", "claimed_at", "outcome_at", "closed_at"),
        lambda w: Escalation.watch == w.id,
    ),
    Shift(Contact, ("consented_at",), lambda w: Contact.watch == w.id),
    Shift(Invitation, ("created_at", "expires_at", "used_at"), lambda w: Invitation.watch == w.id),
    # To the person and to their contacts about them.
    Shift(Outbox, ("created_at", "not_before", "expires_at"), lambda w: Outbox.watch == w.id),
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

# A watched person's chat: the resend comes 3 hours after the check, the
# contacts are told 12 hours after it (config's defaults), the check at 9:00.
WATCH_STEPS = {
    "3h": lambda now, tz: 3 * 3600,
    "12h": lambda now, tz: 12 * 3600,
    "next-morning": seconds_until_morning,
}


def steps_for(chat_id: str) -> dict:
    """The steps a chat's clock offers: a group's, or a one-to-one chat's."""
    return STEPS if is_group(chat_id) else WATCH_STEPS


def is_group(chat_id: str) -> bool:
    """LINE's ids say what they are: C… a group, U… a user (their chat)."""
    return not chat_id.startswith("U")


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


def watch_of(line_user_id: str) -> Watch | None:
    """The 見守り of the person whose one-to-one chat this is, if any."""
    return Watch.select().join(Person).where(Person.line_user_id == line_user_id).first()


def _owner(chat_id: str):
    """(rows to move, the table saying which): a group's or a watch's."""
    if is_group(chat_id):
        return _bot_group(chat_id), SHIFTS
    return watch_of(chat_id), WATCH_SHIFTS


def shift(line_group_id: str, seconds: int) -> None:
    """Move every stored time of the chat (a group, or a watched person's
    one-to-one chat) back by ``seconds`` and its offset forward as much, in
    one transaction (see the module's note)."""
    if seconds <= 0:
        raise ValueError("a group's clock only moves forward")
    delta = timedelta(seconds=seconds)
    with db.atomic():
        ensure(line_group_id)
        DemoGroup.update(offset_seconds=DemoGroup.offset_seconds + seconds).where(
            DemoGroup.line_group_id == line_group_id
        ).execute()
        owner, shifts = _owner(line_group_id)
        if owner is None:
            return  # the bot has not recorded the chat yet: nothing stored to move
        for spec in shifts:
            fields = [spec.model.id, *(getattr(spec.model, c) for c in spec.columns)]
            for row in spec.model.select(*fields).where(spec.rows_of(owner)).tuples():
                moved = {
                    column: value - delta
                    for column, value in zip(spec.columns, row[1:], strict=True)
                    if value is not None
                }
                if moved:
                    spec.model.update(moved).where(spec.model.id == row[0]).execute()


def align_schedule(line_group_id: str, tz: ZoneInfo) -> bool:
    """Keep the chat's next routine check on its schedule in the chat's
    own time.  The sweep and /設定 compute it from the real clock; with an
    offset that lands at the wrong hour.  A check already due is left for
    the sweep.  True when it was moved."""
    if not is_group(line_group_id):
        return _align_watch(line_group_id, tz)
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


def _align_watch(line_user_id: str, tz: ZoneInfo) -> bool:
    """``align_schedule`` for a watched person's next check."""
    watch = watch_of(line_user_id)
    if watch is None or not watch.schedule or watch.next_check_at is None:
        return False
    real = clock.now()
    stored = utc(watch.next_check_at)
    if stored <= real:
        return False
    ahead = offset(line_user_id)
    expected = Schedule.from_spec(watch.schedule).next_after(real + ahead, tz) - ahead
    if abs((stored - expected).total_seconds()) < 1:
        return False
    return bool(
        Watch.update(next_check_at=naive(expected))
        .where((Watch.id == watch.id) & (Watch.next_check_at == naive(stored)))
        .execute()
    )


def advance(line_group_id: str, step: str, tz: ZoneInfo, sweep) -> int:
    """Move the chat's clock by ``step`` (a key of ``steps_for(chat)``),
    then run ``sweep()`` once so what fell due in this chat is sent now.
    Returns the seconds moved.  KeyError for an unknown step."""
    seconds = steps_for(line_group_id)[step](now(line_group_id), tz)
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
