"""A group's own settings and life: the bot joining and leaving, the
schedule, pausing, where it is for earthquakes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.areas import Area, area_by_code
from domain.jma import Intensity
from domain.kinds import NamesAudience, OutboxState
from domain.quake import DEFAULT_THRESHOLD
from domain.schedule import Schedule
from models import Group, Outbox, naive
from services.rounds import close_rounds, open_round_ids


def find_group(line_group_id: str) -> Group | None:
    return Group.get_or_none(Group.line_group_id == line_group_id)


def ensure_group(line_group_id: str, now: datetime) -> Group:
    """The Group for a LINE group id.  An event from a group we never saw
    join (the bot was added before this deployment) starts tracking it."""
    group = find_group(line_group_id)
    if group is None:
        group = Group.create(line_group_id=line_group_id, joined_at=naive(now))
    return group


def bot_joined(group: Group, member_count: int | None, now: datetime, tz: ZoneInfo) -> None:
    """The bot was invited (perhaps back).  The next round is the next one
    from now, not an immediate catch-up of the time it was away."""
    group.active = True
    group.left_at = None
    if member_count is not None:
        group.member_count = member_count
    if group.schedule and not group.paused:
        group.next_round_at = naive(Schedule.from_spec(group.schedule).next_after(now, tz))
    group.save()


def bot_left(group: Group, now: datetime) -> None:
    """The bot was removed: nothing more may reach the group; open rounds
    close without a summary."""
    Group.update(active=False, left_at=naive(now)).where(Group.id == group.id).execute()
    Outbox.update(
        state=OutboxState.CANCELLED,
        last_error="the bot was removed from the group",
        messages="[]",
        reply_token=None,
    ).where((Outbox.group == group) & (Outbox.state == OutboxState.PENDING)).execute()
    close_rounds(open_round_ids(group), now, send_summary=False)


def set_member_count(group: Group, count: int | None) -> None:
    if count is not None:
        Group.update(member_count=count).where(Group.id == group.id).execute()
        group.member_count = count


def set_schedule(
    group: Group, schedule: Schedule, now: datetime, tz: ZoneInfo, ahead: timedelta = timedelta(0)
) -> datetime:
    """Set the routine schedule (and un-pause); returns the next round's time.
    ``ahead``: how far the chat's own clock is ahead (a simulated chat,
    services/clock.chat_offset): the time is on the schedule in its clock."""
    next_at = schedule.next_after(now + ahead, tz) - ahead
    Group.update(schedule=schedule.to_spec(), paused=False, next_round_at=naive(next_at)).where(
        Group.id == group.id
    ).execute()
    return next_at


def pause(group: Group) -> None:
    Group.update(paused=True).where(Group.id == group.id).execute()


def resume(group: Group, now: datetime, tz: ZoneInfo, ahead: timedelta = timedelta(0)) -> datetime:
    """Resume the routine rounds; returns the next round's time.
    ``ahead``: how far the chat's own clock is ahead (a simulated chat,
    services/clock.chat_offset): the time is on the schedule in its clock."""
    next_at = Schedule.from_spec(group.schedule).next_after(now + ahead, tz) - ahead
    Group.update(paused=False, next_round_at=naive(next_at)).where(Group.id == group.id).execute()
    return next_at


def set_names_to(group: Group, audience: NamesAudience) -> None:
    """Who reads the names in a summary: the group, or the leaders only."""
    Group.update(names_to=audience).where(Group.id == group.id).execute()
    group.names_to = audience


def threshold(group: Group) -> Intensity:
    """The group's stored quake threshold, or the default if it is unreadable."""
    try:
        return Intensity(group.quake_threshold or DEFAULT_THRESHOLD.value)
    except ValueError:
        return DEFAULT_THRESHOLD


def area(group: Group) -> Area | None:
    return area_by_code(group.area_code) if group.area_code else None


def set_area(group: Group, new_area: Area | None, new_threshold: Intensity | None) -> None:
    fields = {}
    if new_area is not None:
        fields["area_code"] = new_area.code
        group.area_code = new_area.code
    if new_threshold is not None:
        fields["quake_threshold"] = new_threshold.value
        group.quake_threshold = new_threshold.value
    if fields:
        Group.update(**fields).where(Group.id == group.id).execute()


def set_language(group: Group, language: str | None) -> None:
    """What the group reads (messages.i18n): NULL is 日本語."""
    group.language = language
    group.save(only=[Group.language])
