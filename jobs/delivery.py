"""Delivering the outbox: claim rows, send them to LINE, record the outcome.

``deliver_many`` claims the due rows among those it is given with one
conditional UPDATE, sends them concurrently (LINE's latency overlaps; only
the network calls run in the pool's threads), and records each outcome in one
transaction, only where it still holds the row.  It is safe to call any
number of times, from any number of processes, for the same rows.  Rows are
written by services/outbox.py in the transaction that causes them.

Outcomes follow healthchecks' transports: 5xx, timeouts and 429 are retried
with exponential backoff and jitter (429 "monthly limit" waits an hour);
other 4xx, and bodies the SDK refuses, fail for good and are recorded.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from concurrent.futures import Executor
from datetime import datetime, timedelta

from peewee import Case

from domain.kinds import FINAL_OUTBOX_STATES, OutboxKind, OutboxState, Purpose, RecipientKind
from jobs.queue import Job, QueueName, enqueue_jobs, live_jobs, new_job_id
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
BATCH = 500  # rows claimed per statement by the sweep
DELIVERY_BATCH = 400  # rows per delivery job: a few rounds of LINE_CONCURRENCY sends
# Sent before anything else (the urgent queue): someone asked for help.
URGENT_PURPOSES = frozenset({Purpose.HELP_ALERT})


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


def claim(outbox_ids: list[int], now: datetime) -> list[Outbox]:
    """Compare-and-set: take the rows that are due and held by nobody.
    Returns the rows taken (with their new ``attempts``)."""
    if not outbox_ids:
        return []
    taken = [
        row_id
        for (row_id,) in Outbox.update(
            state=OutboxState.SENDING, claimed_at=naive(now), attempts=Outbox.attempts + 1
        )
        .where(Outbox.id.in_(outbox_ids) & due(now))
        .returning(Outbox.id)
        .tuples()
        .execute()
    ]
    return list(Outbox.select().where(Outbox.id.in_(taken)).order_by(Outbox.id)) if taken else []


# What a sent (or abandoned) message keeps: its purpose, cost and times for
# the statistics — not its text (names of the unanswered, help alerts) or
# its reply token.
FORGET_BODY = {"messages": "[]", "reply_token": None}


def _finish(row: Outbox, **fields) -> bool:
    """Record the outcome, unless another worker has taken the row since.
    A final outcome forgets the message body and reply token."""
    if fields.get("state") in FINAL_OUTBOX_STATES:
        fields = {**FORGET_BODY, **fields}
    return (
        Outbox.update(**fields)
        .where(
            (Outbox.id == row.id) & (Outbox.state == OutboxState.SENDING) & (Outbox.attempts == row.attempts)
        )
        .execute()
        == 1
    )


def _costs(rows: list[Outbox], client) -> dict[int, int]:
    """What LINE counts for each push: one per group member (bot excluded),
    one for a person.  A group whose member count is unknown is asked."""
    group_ids = {r.group_id for r in rows if r.recipient == RecipientKind.GROUP and r.group_id is not None}
    groups = (
        {
            g.id: g
            for g in Group.select(Group.id, Group.line_group_id, Group.member_count).where(
                Group.id.in_(group_ids)
            )
        }
        if group_ids
        else {}
    )
    for group in groups.values():
        if group.member_count is None:
            count = client.group_member_count(group.line_group_id)
            if count is not None:
                Group.update(member_count=count).where(Group.id == group.id).execute()
            group.member_count = count or 0
    return {
        r.id: (
            groups[r.group_id].member_count
            if r.recipient == RecipientKind.GROUP and r.group_id in groups
            else 1
        )
        for r in rows
    }


def _send(row: Outbox, client, limiter):
    """The network call alone (no database): safe in a pool thread."""
    messages = json.loads(row.messages)
    if limiter is not None:
        limiter.take(row.kind)  # LINE counts push and reply separately
    if row.kind == OutboxKind.PUSH:
        return client.push(row.to, messages, row.retry_key)
    return client.reply(row.reply_token, messages)


def _send_all(rows: list[Outbox], client, pool: Executor | None, limiter=None) -> list:
    """Send ``rows`` at once, except that pushes to one chat go one after
    another, in the order they were written (a round's summary before the
    next round's prompt).  Replies answer separate events — never two of one
    sender in a batch (jobs/dispatch.py) — so they need no order among
    themselves.  Returns the results in the order of ``rows``."""
    by_chat: dict[object, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_chat[row.to if row.kind == OutboxKind.PUSH else ("reply", row.id)].append(index)
    results: list = [None] * len(rows)

    def send_in_order(indexes: list[int]) -> None:
        for index in indexes:
            results[index] = _send(rows[index], client, limiter)

    if pool is None or len(by_chat) <= 1:
        for indexes in by_chat.values():
            send_in_order(indexes)
    else:
        list(pool.map(send_in_order, by_chat.values()))
    return results


def deliver_many(
    outbox_ids: list[int], client, now: datetime, pool: Executor | None = None, limiter=None
) -> dict[int, str]:
    """Send the due rows among ``outbox_ids``.  Returns each row's resulting
    state ("skipped" when it was not ours to send).  ``pool`` runs the sends
    concurrently; without one they run one after another.  ``limiter``
    (jobs/ratelimit.py) keeps every worker together under LINE's rate."""
    states = dict.fromkeys(outbox_ids, "skipped")
    rows = claim(outbox_ids, now)
    fallbacks: list[int] = []
    inactive = _inactive_groups(rows)
    to_send = []
    for row in rows:
        if now >= utc(row.expires_at):
            fallbacks += _give_up(
                row, now, state=OutboxState.EXPIRED, last_error="expired before it could be sent"
            )
            log.warning("outbox %s (%s) expired unsent", row.id, row.purpose)
            states[row.id] = OutboxState.EXPIRED
        elif (
            row.kind == OutboxKind.PUSH and row.recipient == RecipientKind.GROUP and row.group_id in inactive
        ):
            _finish(row, state=OutboxState.CANCELLED, last_error="the bot is no longer in the group")
            states[row.id] = OutboxState.CANCELLED
        else:
            to_send.append(row)
    results = _send_all(to_send, client, pool, limiter)
    costs = _costs(
        [r for r, res in zip(to_send, results, strict=True) if res.sent and r.kind == OutboxKind.PUSH], client
    )
    n = naive(now)
    with db.atomic():
        _record_sent(
            [(row, result) for row, result in zip(to_send, results, strict=True) if result.sent], costs, n
        )
        for row, result in zip(to_send, results, strict=True):
            if result.sent:
                states[row.id] = OutboxState.SENT
            elif result.retry:
                wait = QUOTA_BACKOFF if result.quota_exhausted else backoff(row.attempts, result.status)
                _finish(
                    row,
                    state=OutboxState.PENDING,
                    not_before=naive(now + wait),
                    enqueued_at=None,
                    job_id=None,
                    last_status=result.status,
                    last_error=result.error,
                )
                log.info("outbox %s will be retried (%s)", row.id, result.status or result.error)
                states[row.id] = OutboxState.PENDING
            else:
                fallbacks += _give_up(
                    row, now, state=OutboxState.FAILED, last_status=result.status, last_error=result.error
                )
                log.warning("outbox %s failed permanently: %s %s", row.id, result.status, result.error)
                states[row.id] = OutboxState.FAILED
    if fallbacks:
        deliver_many(fallbacks, client, now, pool)
    return states


def _record_sent(sent: list, costs: dict[int, int], n) -> None:
    """Record the rows LINE accepted, a few statements for the whole batch
    (rows grouped by status and attempt; each row's cost by a CASE): a
    quake's thousands of prompts must not cost a statement each.  Only rows
    this worker still holds are written (state and attempts unchanged)."""
    groups: dict[tuple, list[Outbox]] = defaultdict(list)
    for row, result in sent:
        groups[(result.status, row.attempts)].append(row)
    for (status, attempts), rows in groups.items():
        priced = [(r.id, costs.get(r.id, 0) if r.kind == OutboxKind.PUSH else 0) for r in rows]
        Outbox.update(
            **FORGET_BODY,
            state=OutboxState.SENT,
            sent_at=n,
            cost=Case(Outbox.id, priced, 0),
            last_status=status,
            last_error=None,
        ).where(
            Outbox.id.in_([r.id for r in rows])
            & (Outbox.state == OutboxState.SENDING)
            & (Outbox.attempts == attempts)
        ).execute()


def deliver(outbox_id: int, client, now: datetime) -> str:
    """Send one outbox row if it is due (see deliver_many)."""
    return deliver_many([outbox_id], client, now)[outbox_id]


def _inactive_groups(rows: list[Outbox]) -> set[int]:
    group_ids = {r.group_id for r in rows if r.recipient == RecipientKind.GROUP and r.group_id is not None}
    if not group_ids:
        return set()
    return {g.id for g in Group.select(Group.id).where(Group.id.in_(group_ids) & ~Group.active)}


def _give_up(row: Outbox, now: datetime, **fields) -> list[int]:
    """Mark the row failed or expired; a reply with ``fallback_push`` becomes
    a push (in the same transaction, so exactly one push is queued).
    Returns the id of that push, to send now."""
    if not (row.kind == OutboxKind.REPLY and row.fallback_push):
        _finish(row, **fields)
        return []
    with db.atomic():
        if not _finish(row, **fields):
            return []
        if (
            row.recipient == RecipientKind.GROUP
            and not Group.select(Group.active).where(Group.id == row.group_id).scalar()
        ):
            return []
        push = add_push(recipient_of(row), json.loads(row.messages), row.purpose, now, round=row.round_id)
    return [push.id]


def enqueue_outbox(now: datetime, conn) -> int:
    """Hand due outbox rows (new, retrying, or abandoned by a dead worker) to
    the workers: a delivery job per DELIVERY_BATCH rows, help alerts on the
    urgent queue.  A row already handed out is handed out again only if
    Redis no longer has its job (see jobs/dispatch.py: a backlog cannot
    multiply).  Returns how many rows were enqueued."""
    n = naive(now)
    stale = naive(now - ENQUEUE_LEASE)
    _release_lost(now, conn, stale)
    waiting = due(now) & Outbox.enqueued_at.is_null()
    total = 0
    while True:
        batch = Outbox.select(Outbox.id).where(waiting).order_by(Outbox.id).limit(BATCH)
        with db.atomic():
            claimed = list(
                Outbox.update(enqueued_at=n)
                .where(Outbox.id.in_(batch) & waiting)
                .returning(Outbox.id, Outbox.purpose)
                .tuples()
                .execute()
            )
            jobs: dict[QueueName, list[tuple[str, tuple]]] = defaultdict(list)
            for queue, ids in _by_queue(claimed).items():
                for start in range(0, len(ids), DELIVERY_BATCH):
                    chunk = ids[start : start + DELIVERY_BATCH]
                    job_id = new_job_id(Job.DELIVER_OUTBOX)
                    Outbox.update(job_id=job_id).where(Outbox.id.in_(chunk)).execute()
                    jobs[queue].append((job_id, (chunk,)))
        if not claimed:
            return total
        for queue in (QueueName.URGENT, QueueName.DELIVERIES):
            chunk_ids = [i for _, (chunk,) in jobs.get(queue, []) for i in chunk]
            if enqueue_jobs(conn, queue, Job.DELIVER_OUTBOX, jobs.get(queue, [])):
                total += len(chunk_ids)
            else:  # Redis is down: the rows stay due for the next pass
                Outbox.update(enqueued_at=None, job_id=None).where(Outbox.id.in_(chunk_ids)).execute()
                return total


def _by_queue(claimed: list[tuple[int, str]]) -> dict[QueueName, list[int]]:
    grouped: dict[QueueName, list[int]] = defaultdict(list)
    for row_id, purpose in sorted(claimed):
        grouped[QueueName.URGENT if purpose in URGENT_PURPOSES else QueueName.DELIVERIES].append(row_id)
    return grouped


def _release_lost(now: datetime, conn, stale) -> None:
    """Due rows handed out longer ago than ENQUEUE_LEASE: keep those whose
    job Redis still holds, free the others."""
    rows = list(
        Outbox.select(Outbox.id, Outbox.job_id)
        .where(due(now) & (Outbox.enqueued_at < stale))
        .limit(BATCH)
        .tuples()
    )
    if not rows:
        return
    alive = live_jobs(conn, {job_id for _, job_id in rows if job_id})
    if alive is None:
        return
    kept = [row_id for row_id, job_id in rows if job_id in alive]
    lost = [row_id for row_id, job_id in rows if job_id not in alive]
    if kept:
        Outbox.update(enqueued_at=naive(now)).where(Outbox.id.in_(kept)).execute()
    if lost:
        Outbox.update(enqueued_at=None, job_id=None).where(
            Outbox.id.in_(lost) & (Outbox.enqueued_at < stale)
        ).execute()
