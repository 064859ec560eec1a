"""The sweep: find work that is due in the database and hand it out.

Run every TICK_SECONDS by exactly one scheduler process (running two is
wasteful, not harmful).  Like healthchecks' sendalerts, every piece of work is
claimed with a conditional UPDATE before anything is done, so concurrent
sweeps, retries and restarts neither lose nor double anything; Redis can be
flushed at any moment because every job is found again here.

1. webhook events stored but not yet enqueued, or whose job was lost
   (the dispatcher usually takes them first: see jobs/dispatch.py),
2. rounds whose summary is due: close them (state + summary, one transaction),
3. routine rounds that are due: open them (state + prompt, one transaction),
4. outbox rows that are due (new, retrying, or abandoned by a dead worker),
5. JMA's earthquake feed, once a minute (jobs/jma_poll.py does the polling).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from peewee import JOIN

from domain.kinds import RoundStatus
from domain.quake import ROUTINE_SKIP_WINDOW, should_skip_routine
from domain.schedule import Schedule
from jobs import runtime
from jobs.delivery import enqueue_outbox
from jobs.dispatch import dispatch_events
from jobs.jma_poll import claim_poll
from jobs.queue import Job, QueueName, enqueue
from models import Group, Round, db, naive
from services.retention import prune
from services.rounds import close_rounds, open_routine_rounds, recent_emergencies

log = logging.getLogger(__name__)

# Rows per transaction in the sweep: big enough to amortise statements, small
# enough that a transaction holds its locks only briefly.
BATCH = 500


def sweep(now: datetime) -> dict:
    """One pass.  Returns counts of what it did (for logs and tests)."""
    settings = runtime.settings()
    conn = runtime.connection()
    counts = {"events": dispatch_events(now, conn)}
    # Summaries first: a round whose summary is due closes before the next
    # one of its group opens at the same tick, instead of making it skip.
    counts["summaries"] = close_due_rounds(now)
    counts["rounds"] = open_due_rounds(now, settings)
    counts["outbox"] = enqueue_outbox(now, conn)
    counts["jma"] = enqueue_jma_poll(now, settings, conn)
    counts["pruned"] = sum(prune(now).values())
    return counts


def enqueue_jma_poll(now: datetime, settings, conn) -> int:
    """Enqueue the feed poll when a minute has passed (claimed in the
    database, so several schedulers still poll JMA once a minute)."""
    if not settings.jma_feed_url or not claim_poll(now, settings.jma_feed_url):
        return 0
    return 1 if enqueue(conn, QueueName.BACKGROUND, Job.POLL_JMA, settings.jma_feed_url) else 0


def _chunks(items: list, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def open_due_rounds(now: datetime, settings) -> int:
    """Open every routine round that is due, a batch of groups per
    transaction: claim the batch with conditional UPDATEs (RETURNING tells
    exactly which groups this sweep won), then insert their rounds and
    prompts in bulk."""
    n = naive(now)
    due = list(
        Group.select(
            Group.id, Group.line_group_id, Group.schedule, Group.next_round_at, Round.id.alias("open_round")
        )
        .join(Round, JOIN.LEFT_OUTER, on=((Round.group == Group.id) & (Round.status == RoundStatus.OPEN)))
        .where(Group.active & ~Group.paused & Group.schedule.is_null(False) & (Group.next_round_at <= n))
        .order_by(Group.next_round_at)
        .objects()
    )
    opened = 0
    for batch in _chunks(due):
        # Groups sharing a schedule and a due time move to the same next time.
        moves: dict[tuple, list[int]] = defaultdict(list)
        for group in batch:
            following = Schedule.from_spec(group.schedule).next_after(now, settings.tz)
            moves[(group.next_round_at, naive(following))].append(group.id)
        with db.atomic():
            won: set[int] = set()
            for (old, new), ids in moves.items():
                won.update(
                    row_id
                    for (row_id,) in Group.update(next_round_at=new)
                    .where(Group.id.in_(ids) & (Group.next_round_at == old))
                    .returning(Group.id)
                    .tuples()
                    .execute()
                )
            recent = recent_emergencies([g.id for g in batch if g.id in won], now - ROUTINE_SKIP_WINDOW)
            # Skipped, not postponed: a group whose leader's /確認 is still
            # open, or that had an emergency round within the last 12 hours,
            # has just been asked; this occurrence is dropped.
            to_open = [
                g
                for g in batch
                if g.id in won and g.open_round is None and not should_skip_routine(recent.get(g.id), now)
            ]
            opened += open_routine_rounds(to_open, now, settings.checkin_summary_delay)
    return opened


def close_due_rounds(now: datetime) -> int:
    """Close every round whose summary is due, a batch per transaction."""
    due = [
        r.id
        for r in Round.select(Round.id)
        .where((Round.status == RoundStatus.OPEN) & (Round.summary_due_at <= naive(now)))
        .order_by(Round.summary_due_at)
    ]
    closed = 0
    for batch in _chunks(due):
        with db.atomic():
            closed += len(close_rounds(batch, now))
    return closed
