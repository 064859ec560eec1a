"""The sweep: find work that is due in the database and hand it out.

Run every TICK_SECONDS by exactly one scheduler process (running two is
wasteful, not harmful).  Like healthchecks' sendalerts, every piece of work is
claimed with a conditional UPDATE before anything is done, so concurrent
sweeps, retries and restarts neither lose nor double anything; Redis can be
flushed at any moment because every job is found again here.

1. webhook events stored but not processed (their job was lost),
2. routine rounds that are due: open them (state + prompt, one transaction),
3. rounds whose summary is due: close them (state + summary, one transaction),
4. outbox rows that are due (new, retrying, or abandoned by a dead worker).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from peewee import JOIN

from domain.schedule import Schedule
from jobs import runtime
from jobs.outbox import CLAIM_LEASE
from jobs.queue import enqueue
from jobs.rounds import close_round, open_round_now
from models import Group, Outbox, Round, WebhookEvent, db, naive

log = logging.getLogger(__name__)

# A queued job that has not run after this long is presumed lost (Redis
# flushed or restarted) and is enqueued again; jobs are idempotent, so a
# job that was merely slow costs a no-op.  Events get a short lease because
# their reply token lives only about a minute.
ENQUEUE_LEASE = timedelta(seconds=60)
EVENT_ENQUEUE_LEASE = timedelta(seconds=15)
BATCH = 500


def sweep(now: datetime) -> dict:
    """One pass.  Returns counts of what it did (for logs and tests)."""
    settings = runtime.settings()
    conn = runtime.connection()
    counts = {
        "events": enqueue_events(now, conn),
        "rounds": open_due_rounds(now, settings),
        "summaries": close_due_rounds(now),
    }
    counts["outbox"] = enqueue_outbox(now, conn)
    return counts


def _claim_enqueue(model, ids: list[int], now: datetime, lease: timedelta) -> list[int]:
    """Mark rows as enqueued now, one conditional UPDATE each; returns the
    ids this sweep won (another sweep may be racing us)."""
    stale = naive(now - lease)
    won = []
    for row_id in ids:
        updated = (
            model.update(enqueued_at=naive(now))
            .where((model.id == row_id) & (model.enqueued_at.is_null() | (model.enqueued_at < stale)))
            .execute()
        )
        if updated == 1:
            won.append(row_id)
    return won


def enqueue_events(now: datetime, conn) -> int:
    stale = naive(now - EVENT_ENQUEUE_LEASE)
    ids = [
        e.id
        for e in WebhookEvent.select(WebhookEvent.id)
        .where(
            WebhookEvent.processed_at.is_null()
            & (WebhookEvent.enqueued_at.is_null() | (WebhookEvent.enqueued_at < stale))
        )
        .order_by(WebhookEvent.id)
        .limit(BATCH)
    ]
    won = _claim_enqueue(WebhookEvent, ids, now, EVENT_ENQUEUE_LEASE)
    for event_id in won:
        enqueue(conn, "jobs.tasks.process_event", event_id)
    return len(won)


def open_due_rounds(now: datetime, settings) -> int:
    """Open every routine round that is due.  Per group: one conditional
    UPDATE (claim), one query for an open round, two inserts."""
    n = naive(now)
    due = (
        Group.select(
            Group.id,
            Group.line_group_id,
            Group.active,
            Group.schedule,
            Group.next_round_at,
            Round.id.alias("open_round"),
        )
        .join(Round, JOIN.LEFT_OUTER, on=((Round.group == Group.id) & (Round.status == "open")))
        .where(Group.active & ~Group.paused & Group.schedule.is_null(False) & (Group.next_round_at <= n))
        .order_by(Group.next_round_at)
        .objects()
    )
    opened = 0
    for group in list(due):
        following = Schedule.from_spec(group.schedule).next_after(now, settings.tz)
        with db.atomic():
            claimed = (
                Group.update(next_round_at=naive(following))
                .where((Group.id == group.id) & (Group.next_round_at == group.next_round_at))
                .execute()
            )
            if claimed != 1:
                continue
            if group.open_round is not None:
                # A round (e.g. a leader's /確認) is still open: its members
                # are being asked already, so this occurrence is skipped.
                continue
            open_round_now(group, "routine", now, settings.checkin_summary_delay)
            opened += 1
    return opened


def close_due_rounds(now: datetime) -> int:
    due = [
        r.id
        for r in Round.select(Round.id)
        .where((Round.status == "open") & (Round.summary_due_at <= naive(now)))
        .order_by(Round.summary_due_at)
    ]
    closed = 0
    for round_id in due:
        with db.atomic():
            if close_round(round_id, now) is not None:
                closed += 1
    return closed


def enqueue_outbox(now: datetime, conn) -> int:
    n = naive(now)
    stale = naive(now - ENQUEUE_LEASE)
    ids = [
        o.id
        for o in Outbox.select(Outbox.id)
        .where(
            (
                ((Outbox.state == "pending") & (Outbox.not_before <= n))
                | ((Outbox.state == "sending") & (Outbox.claimed_at < naive(now - CLAIM_LEASE)))
            )
            & (Outbox.enqueued_at.is_null() | (Outbox.enqueued_at < stale))
        )
        .order_by(Outbox.id)
        .limit(BATCH * 4)
    ]
    won = _claim_enqueue(Outbox, ids, now, ENQUEUE_LEASE)
    for outbox_id in won:
        enqueue(conn, "jobs.tasks.deliver_outbox", outbox_id)
    return len(won)
