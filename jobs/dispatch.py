"""The dispatcher: hands stored webhook events to the RQ workers.

The webhook only stores events (one INSERT); this loop, in the scheduler
process (a thread beside the sweep), claims new events a few times a second
with one conditional UPDATE ... RETURNING and enqueues them in one Redis
pipeline.  Claims carry a lease: an event whose job vanished (Redis flushed
or restarted) is claimed and enqueued again once the lease runs out, and
``process_event`` is idempotent, so a slow job enqueued twice is a no-op.

In a single process (``make run``, tests) the webhook wakes the dispatcher
at once; across processes it polls every DISPATCH_SECONDS.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from jobs.queue import Job, enqueue_many
from models import WebhookEvent, db, naive
from services import wakeup

log = logging.getLogger(__name__)

# The reply token of an event lives about a minute, so a lost job is
# re-enqueued quickly; a merely slow one then runs as a no-op.
EVENT_ENQUEUE_LEASE = timedelta(seconds=15)
DISPATCH_SECONDS = 0.25
BATCH = 500


def _due(now: datetime):
    stale = naive(now - EVENT_ENQUEUE_LEASE)
    return WebhookEvent.processed_at.is_null() & (
        WebhookEvent.enqueued_at.is_null() | (WebhookEvent.enqueued_at < stale)
    )


def dispatch_events(now: datetime, connection) -> int:
    """Claim up to BATCH due events and enqueue a job for each.  Returns how
    many this call claimed (a racing dispatcher claims the others)."""
    oldest_first = (
        WebhookEvent.select(WebhookEvent.id).where(_due(now)).order_by(WebhookEvent.id).limit(BATCH)
    )
    with db.atomic():
        # The condition is repeated outside the subquery so that, on
        # PostgreSQL, a dispatcher that waited on a row lock re-checks it
        # and does not claim an event the other one just took.
        claimed = [
            row_id
            for (row_id,) in WebhookEvent.update(enqueued_at=naive(now))
            .where(WebhookEvent.id.in_(oldest_first) & _due(now))
            .returning(WebhookEvent.id)
            .tuples()
            .execute()
        ]
    if claimed and not enqueue_many(connection, Job.PROCESS_EVENT, [(i,) for i in sorted(claimed)]):
        WebhookEvent.update(enqueued_at=None).where(WebhookEvent.id.in_(claimed)).execute()
        return 0
    return len(claimed)


def run_dispatcher(stop: threading.Event, dispatch, interval: float = DISPATCH_SECONDS) -> None:
    """Call ``dispatch()`` whenever woken, and every ``interval`` seconds."""
    while not stop.is_set():
        wakeup.wait(interval)
        try:
            dispatch()
        except Exception:  # the loop must outlive a bad pass
            log.exception("dispatch failed; trying again")
