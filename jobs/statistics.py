"""The console's statistics, refreshed once a night ahead of any visit.

The page recomputes a stale month on demand (services/statistics.py), which
for an organisation with thousands of groups is slow; so the sweep claims,
for each organisation, one refresh per night — a conditional UPDATE of
``Organisation.stats_refreshed_at`` from before tonight's REFRESH_AT to now,
so two sweeps (or a sweep and its retry) never both claim it — and enqueues
``refresh_job`` on the background queue.  An organisation never refreshed
(a new one, or right after the deploy that added this) is claimed at the
next sweep, whatever the hour.  If the job is lost (Redis flushed) that
night's refresh is skipped; the page still computes what it needs.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from jobs import runtime
from models import Organisation, connected, naive
from services import clock, statistics

log = logging.getLogger(__name__)

# Local time after which a night's refresh is due (rounds and summaries are
# quiet then; the months that ended are final three days later).
REFRESH_AT = time(3, 0)


def last_boundary(now: datetime, tz: ZoneInfo) -> datetime:
    """The latest REFRESH_AT (local) at or before ``now``, as an aware datetime."""
    local = now.astimezone(tz)
    boundary = datetime.combine(local.date(), REFRESH_AT, tzinfo=tz)
    if boundary > local:
        boundary = datetime.combine(local.date() - timedelta(days=1), REFRESH_AT, tzinfo=tz)
    return boundary


def claim_nightly(now: datetime, tz: ZoneInfo) -> list[int]:
    """The organisations whose refresh this caller won for tonight."""
    since = naive(last_boundary(now, tz))
    stale = Organisation.stats_refreshed_at.is_null() | (Organisation.stats_refreshed_at < since)
    return sorted(
        row_id
        for (row_id,) in Organisation.update(stats_refreshed_at=naive(now))
        .where(stale)
        .returning(Organisation.id)
        .tuples()
        .execute()
    )


def refresh_job(org_id: int) -> int:
    """The RQ job (``Job.REFRESH_STATISTICS``): months computed."""
    runtime.ensure_configured()
    with connected():
        months = statistics.refresh(org_id, clock.now(), runtime.settings().tz)
    log.info("statistics of organisation %s: %s month(s) computed", org_id, months)
    return months
