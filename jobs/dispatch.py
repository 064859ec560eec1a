"""The dispatcher: hands stored webhook events to the RQ workers.

The webhook only stores events (one INSERT); this loop, in the scheduler
process (a thread beside the sweep), claims events with a conditional UPDATE
and enqueues them in batches, a job per EVENT_BATCH events, in one Redis
pipeline.  It runs when woken (services/wakeup.py: the webhook, or a worker
that finished a batch) and at least every DISPATCH_SECONDS.

Three rules:

- **Order per sender.**  Only the oldest unprocessed event of each
  ``order_key`` (the sender, else the chat) is handed out; the next one
  goes once it is processed.  So a member's 参加する is handled before their
  OK and a leader's /設定 before their /確認, while different members'
  events run side by side in any number of workers.
- **Help first.**  Events the webhook marked urgent (助けが必要) are claimed
  first and go to the ``urgent`` queue, which every worker serves first.
- **Batches grow with the load.**  While the ``events`` queue already holds
  QUEUED_AHEAD jobs, ordinary events are not claimed: they wait (a moment)
  and leave as one bigger batch when a worker frees up, so under a storm the
  per-job overhead is paid per 50 events, not per event, and the queue stays
  short.  Urgent events are claimed every time.
- **A backlog cannot multiply.**  A claim is a lease: an event whose job
  has not run after EVENT_ENQUEUE_LEASE is looked up in Redis by the job id
  stored on it; only if that job is gone (Redis flushed, the job failed) is
  the event enqueued again.  The queue never holds more jobs than there are
  due events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta

from peewee import SQL, fn
from redis.exceptions import RedisError

from jobs.queue import Job, QueueName, enqueue_jobs, get_queue, live_jobs, new_job_id
from models import WebhookEvent, db, naive
from services import wakeup

log = logging.getLogger(__name__)

# The reply token of an event lives about a minute, so a lost job is found
# quickly; a merely slow one keeps its lease while Redis says it is queued.
EVENT_ENQUEUE_LEASE = timedelta(seconds=15)
DISPATCH_SECONDS = 0.25
CLAIM_LIMIT = 1000  # events claimed per pass
EVENT_BATCH = 50  # events per job: enough to overlap LINE's latency, small enough to start at once
QUEUED_AHEAD = 2  # ordinary jobs waiting in the queue before the dispatcher holds back
URGENT = 0  # WebhookEvent.priority of 助けが必要
# Passes at most this often when woken again and again (run_dispatcher): at
# most this much latency added, at most 1/MIN_PASS_GAP passes a second.
MIN_PASS_GAP = 0.02
RELEASE_EVERY = timedelta(seconds=1)


def _claimable(now: datetime):
    """Unprocessed, not handed out, and the oldest unprocessed event of its key."""
    earlier = WebhookEvent.alias("earlier")
    waiting_before = (
        earlier.select(SQL("1"))
        .where(
            (earlier.order_key == WebhookEvent.order_key)
            & (earlier.id < WebhookEvent.id)
            & earlier.processed_at.is_null()
        )
        .limit(1)
    )
    return (
        WebhookEvent.processed_at.is_null() & WebhookEvent.enqueued_at.is_null() & ~fn.EXISTS(waiting_before)
    )


def release_lost(now: datetime, connection) -> int:
    """Events whose lease ran out: keep those whose job Redis still holds
    (extending the lease), free the others to be claimed again.  Returns how
    many were freed."""
    stale = naive(now - EVENT_ENQUEUE_LEASE)
    rows = list(
        WebhookEvent.select(WebhookEvent.id, WebhookEvent.job_id)
        .where(WebhookEvent.processed_at.is_null() & (WebhookEvent.enqueued_at < stale))
        .limit(CLAIM_LIMIT)
        .tuples()
    )
    if not rows:
        return 0
    alive = live_jobs(connection, {job_id for _, job_id in rows if job_id})
    if alive is None:
        return 0  # Redis cannot tell: nothing can be enqueued now anyway
    kept = [row_id for row_id, job_id in rows if job_id in alive]
    lost = [row_id for row_id, job_id in rows if job_id not in alive]
    if kept:
        WebhookEvent.update(enqueued_at=naive(now)).where(
            WebhookEvent.id.in_(kept) & WebhookEvent.processed_at.is_null()
        ).execute()
    if lost:
        WebhookEvent.update(enqueued_at=None, job_id=None).where(
            WebhookEvent.id.in_(lost)
            & WebhookEvent.processed_at.is_null()
            & (WebhookEvent.enqueued_at < stale)
        ).execute()
        log.warning("%d event(s) whose job was lost are enqueued again", len(lost))
    return len(lost)


# When this process last looked for lost leases (release_lost).
_released_at: datetime | None = None


def dispatch_events(now: datetime, connection) -> int:
    """Claim what may go now and enqueue it.  Returns how many events this
    call enqueued (a racing dispatcher claims the others).  Lost leases are
    looked for at most every RELEASE_EVERY: a lease lasts 15 s, and under a
    storm the look cost more than the rest of a pass, up to 50 times a second."""
    global _released_at
    if _released_at is None or not (_released_at <= now < _released_at + RELEASE_EVERY):
        release_lost(now, connection)
        _released_at = now
    claimable = _claimable(now)
    if _queued(connection) >= QUEUED_AHEAD:
        claimable &= WebhookEvent.priority == URGENT  # the rest leave as a bigger batch soon
    candidates = [
        row_id
        for (row_id,) in WebhookEvent.select(WebhookEvent.id)
        .where(claimable)
        .order_by(WebhookEvent.priority, WebhookEvent.id)
        .limit(CLAIM_LIMIT)
        .tuples()
    ]
    if not candidates:
        return 0
    with db.atomic():
        # The condition is repeated so that, on PostgreSQL, a dispatcher that
        # waited on a row lock re-checks it and does not take an event the
        # other one just took.
        claimed = list(
            WebhookEvent.update(enqueued_at=naive(now))
            .where(
                WebhookEvent.id.in_(candidates)
                & WebhookEvent.processed_at.is_null()
                & WebhookEvent.enqueued_at.is_null()
            )
            .returning(WebhookEvent.id, WebhookEvent.priority)
            .tuples()
            .execute()
        )
        batches: dict[QueueName, list[tuple[str, tuple]]] = defaultdict(list)
        for priority, ids in _by_priority(claimed).items():
            queue = QueueName.URGENT if priority == URGENT else QueueName.EVENTS
            for start in range(0, len(ids), EVENT_BATCH):
                chunk = ids[start : start + EVENT_BATCH]
                job_id = new_job_id(Job.PROCESS_EVENTS)
                WebhookEvent.update(job_id=job_id).where(WebhookEvent.id.in_(chunk)).execute()
                batches[queue].append((job_id, (chunk,)))
    # Urgent first, so a worker that is free takes help before anything else.
    enqueued = 0
    for queue in (QueueName.URGENT, QueueName.EVENTS):
        jobs = batches.get(queue, [])
        ids = [row_id for _, (chunk,) in jobs for row_id in chunk]
        if enqueue_jobs(connection, queue, Job.PROCESS_EVENTS, jobs):
            enqueued += len(ids)
        else:  # Redis is down: give the claim back for the next pass
            WebhookEvent.update(enqueued_at=None, job_id=None).where(
                WebhookEvent.id.in_(ids) & WebhookEvent.processed_at.is_null()
            ).execute()
    return enqueued


def _queued(connection) -> int:
    """Ordinary event jobs waiting for a worker (0 if Redis cannot tell)."""
    try:
        return get_queue(connection, QueueName.EVENTS).count
    except RedisError:
        return 0


def _by_priority(claimed: list[tuple[int, int]]) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = defaultdict(list)
    for row_id, priority in sorted(claimed, key=lambda r: (r[1], r[0])):
        grouped[priority].append(row_id)
    return grouped


def run_dispatcher(
    stop: threading.Event, dispatch, interval: float = DISPATCH_SECONDS, min_gap: float = MIN_PASS_GAP
) -> None:
    """Call ``dispatch()`` whenever woken, and every ``interval`` seconds,
    but never sooner than ``min_gap`` after the last pass ended: under a
    storm every webhook wakes the dispatcher, and a pass per webhook (a few
    statements each) cost as much as handling the events; wake-ups within
    the gap leave together in the next pass."""
    last_pass = 0.0
    while not stop.is_set():
        wakeup.wait(interval)
        rest = last_pass + min_gap - time.monotonic()
        if rest > 0:
            stop.wait(rest)
        try:
            while dispatch() and not stop.is_set():
                pass  # a full pass may leave more: go again at once
        except Exception:  # the loop must outlive a bad pass
            log.exception("dispatch failed; trying again")
        last_pass = time.monotonic()
