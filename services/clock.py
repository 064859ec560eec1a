"""The service's clock.

Domain code takes ``now`` as an argument; this is where processes get it.
In demo mode (DEMO_CLOCK=1, the simulator) the clock can be moved forward so
a whole round with its summary can be shown in a minute.  The offset is a
database row, shared by every thread and process and kept across restarts.
Whether this process is in demo mode is set once, by ``configure``, when the
process starts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import DemoClock, DemoGroup, db

_demo = False


def configure(demo_clock: bool) -> None:
    global _demo
    _demo = demo_clock


def real_now() -> datetime:
    return datetime.now(UTC)


def offset() -> timedelta:
    if not _demo:
        return timedelta(0)
    row = DemoClock.select().first()
    return timedelta(seconds=row.offset_seconds if row else 0)


def chat_offset(chat_id: str | None) -> timedelta:
    """How far one simulated chat's own clock is ahead (web/group_clock.py):
    its stored times sit that far behind its time, so a time the bot tells
    in that chat adds it.  Zero outside demo mode and for a chat without one."""
    if not _demo or not chat_id:
        return timedelta(0)
    row = DemoGroup.select(DemoGroup.offset_seconds).where(DemoGroup.line_group_id == chat_id).first()
    return timedelta(seconds=row.offset_seconds if row else 0)


def now() -> datetime:
    """Aware UTC now (plus the demo offset in demo mode)."""
    return real_now() + offset()


def advance(seconds: int) -> datetime:
    """Move the demo clock forward.  Refused unless DEMO_CLOCK is on."""
    if not _demo:
        raise PermissionError("the clock can only be moved in demo mode (DEMO_CLOCK=1)")
    if seconds <= 0:
        raise ValueError("the clock only moves forward")
    with db.atomic():
        row = DemoClock.select().first()
        if row is None:
            DemoClock.create(offset_seconds=seconds)
        else:
            DemoClock.update(offset_seconds=DemoClock.offset_seconds + seconds).execute()
    return now()
