"""Reading the bot's own LINE account about once an hour: its basic ID (the
friend link in 見守り invitations, from ``GET /v2/bot/info``) and the month's
message limit (``GET /v2/bot/message/quota``), kept in ``LineAccount`` so that
handlers never call LINE inside a transaction.  Then the next day's 見守り is
projected against what the month has left, and the operator warned when it
may not be paid for (services/watch_budget.py).

The sweep claims "once an hour" with a compare-and-set on
``LineAccount.refreshed_at`` (several schedulers still read once) and
enqueues ``refresh_job``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from jobs import runtime
from models import LineAccount, connected, naive
from services import clock
from services.watch_budget import check_projection, line_account

log = logging.getLogger(__name__)

REFRESH_EVERY = timedelta(hours=1)


def claim_refresh(now: datetime) -> bool:
    """True for the one caller that may read the account now."""
    row = line_account()
    return (
        LineAccount.update(refreshed_at=naive(now))
        .where(
            (LineAccount.id == row.id)
            & (LineAccount.refreshed_at.is_null() | (LineAccount.refreshed_at <= naive(now - REFRESH_EVERY)))
        )
        .execute()
        == 1
    )


def refresh(client, settings, now: datetime) -> LineAccount:
    """Read LINE (best effort: what LINE will not tell us is kept as it was)."""
    fields = {}
    basic_id = client.bot_basic_id()
    if basic_id:
        fields["basic_id"] = basic_id
    quota = client.message_quota()
    if quota is not None:
        kind, value = quota
        fields["quota_limit"] = int(value) if kind == "limited" and value is not None else None
    row = line_account()
    if fields:
        LineAccount.update(**fields).where(LineAccount.id == row.id).execute()
    check_projection(now, settings)
    return LineAccount.get_by_id(row.id)


def refresh_job() -> str:
    """The RQ job (``Job.REFRESH_LINE_ACCOUNT``)."""
    runtime.ensure_configured()
    with connected():
        row = refresh(runtime.client(), runtime.settings(), clock.now())
    return "basic id known" if row.basic_id else "basic id unknown"
