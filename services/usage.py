"""The month's LINE message usage, derived from the outbox (no counter to
drift): the sum of the recorded cost of every push sent this month; and the
month's limit, from LINE or the configured budget."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from peewee import fn

from domain.kinds import OutboxState
from domain.rounds import month_start
from models import Outbox, naive


def month_usage(now: datetime, tz: ZoneInfo) -> int:
    start = month_start(now.astimezone(tz))
    return int(
        Outbox.select(fn.COALESCE(fn.SUM(Outbox.cost), 0))
        .where((Outbox.state == OutboxState.SENT) & (Outbox.sent_at >= naive(start)))
        .scalar()
        or 0
    )


def group_month_usage(group, now: datetime, tz: ZoneInfo) -> int:
    """What the pushes to ``group`` cost this month (replies are free)."""
    start = month_start(now.astimezone(tz))
    return int(
        Outbox.select(fn.COALESCE(fn.SUM(Outbox.cost), 0))
        .where(
            (Outbox.group == group) & (Outbox.state == OutboxState.SENT) & (Outbox.sent_at >= naive(start))
        )
        .scalar()
        or 0
    )


def monthly_limit(client, settings) -> tuple[int, str]:
    """The month's message limit and where it came from: LINE's quota when
    LINE sets one (``client.message_quota()``), else NOTICE_MONTHLY_BUDGET."""
    quota = client.message_quota()
    if quota is not None and quota[0] == "limited" and quota[1] is not None:
        return int(quota[1]), "LINE's monthly limit"
    return settings.notice_monthly_budget, "NOTICE_MONTHLY_BUDGET"


def remaining_quota(client, settings, now: datetime) -> tuple[int, int, int, str]:
    """(limit, used this month, remaining, source of the limit)."""
    limit, source = monthly_limit(client, settings)
    used = month_usage(now, settings.tz)
    return limit, used, max(limit - used, 0), source
