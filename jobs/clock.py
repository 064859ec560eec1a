"""The bot's clock.

Domain code takes ``now`` as an argument; this is where processes get it.
In demo mode (DEMO_CLOCK=1, the simulator) the clock can be moved forward so
a whole round with its summary can be shown in a minute.  The offset is a
database row, shared by every thread and process and kept across restarts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs import runtime
from models import DemoClock, db


def real_now() -> datetime:
    return datetime.now(UTC)


def offset() -> timedelta:
    if not runtime.settings().demo_clock:
        return timedelta(0)
    row = DemoClock.select().first()
    return timedelta(seconds=row.offset_seconds if row else 0)


def now() -> datetime:
    """Aware UTC now (plus the demo offset in demo mode)."""
    return real_now() + offset()


def advance(seconds: int) -> datetime:
    """Move the demo clock forward.  Refused unless DEMO_CLOCK is on."""
    if not runtime.settings().demo_clock:
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
