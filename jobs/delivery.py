"""Delivering the outbox: claim a row, send it to LINE, record the outcome.

``deliver`` claims one row with a conditional UPDATE, sends it, and records
the outcome only if it still holds the row; it is safe to call any number of
times, from any number of processes, for the same row.  Rows are written by
services/outbox.py in the transaction that causes them.

Outcomes follow healthchecks' transports: 5xx, timeouts and 429 are retried
with exponential backoff and jitter (429 "monthly limit" waits an hour);
other 4xx, and bodies the SDK refuses, fail for good and are recorded.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta

from domain.kinds import OutboxKind, OutboxState, RecipientKind
from jobs.queue import Job, enqueue_many
from models import Group, Outbox, db, naive, utc
from services.outbox import add_push, recipient_of

log = logging.getLogger(__name__)

# A claimed row whose worker died is taken again after this long; it must
# exceed a LINE call's timeout so two live workers never hold one row.
CLAIM_LEASE = timedelta(seconds=120)
MAX_BACKOFF = timedelta(minutes=10)
QUOTA_BACKOFF = timedelta(hours=1)
# A queued delivery that has not run after this long is presumed lost (Redis
# flushed or restarted) and is enqueued again; deliveries are idempotent, so
# one that was merely slow costs a no-op.
ENQUEUE_LEASE = timedelta(seconds=60)
BATCH = 500


def backoff(attempts: int, status: int | None) -> timedelta:
    """Exponential backoff with jitter; rate-limit 429s start smaller."""
    base = 1.0 if status == 429 else 5.0
    seconds = min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def due(now: datetime):
    """Rows that may be sent now: pending and due, or held by a worker that
    died (its claim is older than CLAIM_LEASE)."""
    return ((Outbox.state == OutboxState.PENDING) & (Outbox.not_before <= naive(now))) | (
        (Outbox.state == OutboxState.SENDING) & (Outbox.claimed_at < naive(now - CLAIM_LEASE))
    )


def claim(outbox_id: int, now: datetime) -> bool:
    """Compare-and-set: take the row if it is due and nobody holds it."""
    n = naive(now)
    return (
        Outbox.update(state=OutboxState.SENDING, claimed_at=n, attempts=Outbox.attempts + 1)
        .where((Outbox.id == outbox_id) & due(now))
        .execute()
        == 1
    )


def _finish(row: Outbox, **fields) -> bool:
    """Record the outcome, unless another worker has taken the row since."""
    return (
        Outbox.update(**fields)
        .where(
            (Outbox.id == row.id) & (Outbox.state == OutboxState.SENDING) & (Outbox.attempts == row.attempts)
        )
        .execute()
        == 1
    )


def push_cost(row: Outbox, client) -> int:
    """What LINE counts for this push: one per group member (bot excluded),
    one for a person."""
    if row.recipient == RecipientKind.USER or row.group_id is None:
        return 1
    group = Group.get_by_id(row.group_id)
    if group.member_count is None:
        count = client.group_member_count(group.line_group_id)
        if count is not None:
            Group.update(member_count=count).where(Group.id == group.id).execute()
            return count
        return 0
    return group.member_count


def deliver(outbox_id: int, client, now: datetime) -> str:
    """Send one outbox row if it is due.  Returns the row's resulting state
    (or "skipped" when it was not ours to send)."""
    if not claim(outbox_id, now):
        return "skipped"
    row = Outbox.get_by_id(outbox_id)
    n = naive(now)
    if now >= utc(row.expires_at):
        _give_up(row, now, client, state=OutboxState.EXPIRED, last_error="expired before it could be sent")
        log.warning("outbox %s (%s) expired unsent", row.id, row.purpose)
        return OutboxState.EXPIRED
    group_gone = (
        row.kind == OutboxKind.PUSH
        and row.recipient == RecipientKind.GROUP
        and row.group_id is not None
        and not Group.select(Group.active).where(Group.id == row.group_id).scalar()
    )
    if group_gone:
        _finish(row, state=OutboxState.CANCELLED, last_error="the bot is no longer in the group")
        return OutboxState.CANCELLED

    messages = json.loads(row.messages)
    if row.kind == OutboxKind.PUSH:
        result = client.push(row.to, messages, row.retry_key)
    else:
        result = client.reply(row.reply_token, messages)

    if result.sent:
        cost = push_cost(row, client) if row.kind == OutboxKind.PUSH else 0
        _finish(row, state=OutboxState.SENT, sent_at=n, cost=cost, last_status=result.status, last_error=None)
        return OutboxState.SENT
    if result.retry:
        wait = QUOTA_BACKOFF if result.quota_exhausted else backoff(row.attempts, result.status)
        _finish(
            row,
            state=OutboxState.PENDING,
            not_before=naive(now + wait),
            enqueued_at=None,
            last_status=result.status,
            last_error=result.error,
        )
        log.info("outbox %s will be retried (%s)", row.id, result.status or result.error)
        return OutboxState.PENDING
    _give_up(row, now, client, state=OutboxState.FAILED, last_status=result.status, last_error=result.error)
    log.warning("outbox %s failed permanently: %s %s", row.id, result.status, result.error)
    return OutboxState.FAILED


def _give_up(row: Outbox, now: datetime, client, **fields) -> None:
    """Mark the row failed or expired; a reply with ``fallback_push`` becomes
    a push (in the same transaction, so exactly one push is queued)."""
    if not (row.kind == OutboxKind.REPLY and row.fallback_push):
        _finish(row, **fields)
        return
    with db.atomic():
        if not _finish(row, **fields):
            return
        if (
            row.recipient == RecipientKind.GROUP
            and not Group.select(Group.active).where(Group.id == row.group_id).scalar()
        ):
            return
        push = add_push(recipient_of(row), json.loads(row.messages), row.purpose, now, round=row.round_id)
    deliver(push.id, client, now)


def enqueue_outbox(now: datetime, conn) -> int:
    """Claim due outbox rows (new, retrying, or abandoned by a dead worker)
    and enqueue a delivery job for each, in one pipeline per batch."""
    n = naive(now)
    stale = naive(now - ENQUEUE_LEASE)
    waiting = due(now) & (Outbox.enqueued_at.is_null() | (Outbox.enqueued_at < stale))
    total = 0
    while True:
        batch = Outbox.select(Outbox.id).where(waiting).order_by(Outbox.id).limit(BATCH)
        with db.atomic():
            claimed = sorted(
                row_id
                for (row_id,) in Outbox.update(enqueued_at=n)
                .where(Outbox.id.in_(batch) & waiting)
                .returning(Outbox.id)
                .tuples()
                .execute()
            )
        if not claimed:
            return total
        if not enqueue_many(conn, Job.DELIVER_OUTBOX, [(i,) for i in claimed]):
            Outbox.update(enqueued_at=None).where(Outbox.id.in_(claimed)).execute()
            return total
        total += len(claimed)
