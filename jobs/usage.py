"""The month's LINE message usage, derived from the outbox (no counter to
drift): the sum of the recorded cost of every push sent this month."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from peewee import fn

from domain.rounds import month_start
from models import Outbox, naive


def month_usage(now: datetime, tz: ZoneInfo) -> int:
    start = month_start(now.astimezone(tz))
    return int(
        Outbox.select(fn.COALESCE(fn.SUM(Outbox.cost), 0))
        .where((Outbox.state == "sent") & (Outbox.sent_at >= naive(start)))
        .scalar()
        or 0
    )
