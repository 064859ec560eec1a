"""Sending a sweep's many pushes at LINE's rate: 見守り checks at 9:00,
escalations at 21:00.

The sweep writes those pushes already leased (``enqueued_at`` = now, so
``enqueue_outbox`` leaves them alone) and, as each batch commits, hands its
ids to a ``send_paced`` job (``hand_over``), so sending starts while the
sweep is still writing.  A job delivers its rows through
``jobs.delivery.deliver`` (claim, send with the row's retry key, record) from
a few threads, each send waiting for its slot from one pace shared by every
paced job through Redis (``SharedPace``: NOTICE_RATE_LIMIT, LINE's push
limit, however many jobs and workers run at once).  Redis stays disposable:
if the pace's key is flushed the next send simply starts a new pace, and if
Redis is unreachable a job paces itself alone.

If a job is lost (Redis flushed, the worker killed) its rows' lease lapses
after the sweep's ENQUEUE_LEASE, the outbox sweep finds that Redis no longer
has their job and delivers the rest; the claim and the retry keys keep every
push at one.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter

from redis.exceptions import RedisError

from domain.kinds import OutboxState
from jobs import runtime
from jobs.delivery import deliver
from jobs.notice_sender import TokenBucket
from jobs.queue import Job, QueueName, enqueue_jobs, new_job_id
from models import Outbox, connected
from services import clock

log = logging.getLogger(__name__)

WORKERS = 16  # sending threads per job: a send mostly waits on the network
CHUNK = 500  # ids per UPDATE when renewing or releasing the lease
PACE_KEY = "tsunagari:push-pace"
# Slots missed while the senders were held up (a database lock, a slow
# answer) may be caught up, but no more than this much of the rate at once:
# LINE's own bucket refills while we wait, and a 429 would only delay.
CATCH_UP_SECONDS = 0.25

# One slot per call, spaced 1/rate apart on Redis's own clock (so workers on
# several machines agree): returns how many microseconds to wait for it
# (zero or less: send now).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
local earliest = now - tonumber(ARGV[2])
if slot < earliest then slot = earliest end
redis.call('SET', KEYS[1], tostring(slot + tonumber(ARGV[1])), 'PX', 60000)
return slot - now
"""


class SharedPace:
    """At most ``rate`` takes a second across every process using the same
    Redis; falls back to pacing this process alone when Redis fails."""

    def __init__(self, conn, rate: float, sleep=time.sleep):
        self.interval_us = max(1, int(1_000_000 / rate))
        self.catch_up_us = int(CATCH_UP_SECONDS * 1_000_000)
        self._reserve = conn.register_script(_RESERVE) if conn is not None else None
        self._local = TokenBucket(rate, burst=max(1.0, rate * CATCH_UP_SECONDS))
        self._sleep = sleep

    @property
    def shared(self) -> bool:
        """Whether sends are paced with every other job (through Redis)."""
        return self._reserve is not None

    def take(self) -> None:
        if self._reserve is not None:
            try:
                wait_us = int(self._reserve(keys=[PACE_KEY], args=[self.interval_us, self.catch_up_us]))
            except RedisError as exc:
                log.warning("shared pace unavailable (%s): pacing this job alone", type(exc).__name__)
                self._reserve = None
            else:
                if wait_us > 0:
                    self._sleep(wait_us / 1_000_000)
                return
        self._local.take()


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def release(outbox_ids: list[int]) -> None:
    """Hand still-pending rows back to the sweep at its next tick."""
    for chunk in _chunks(outbox_ids):
        Outbox.update(enqueued_at=None, job_id=None).where(
            Outbox.id.in_(chunk) & (Outbox.state == OutboxState.PENDING)
        ).execute()


def hand_over(conn, outbox_ids: list[int]) -> bool:
    """Give committed, leased rows to a paced job, its id recorded on them
    (so the outbox sweep leaves them to it while Redis still has the job:
    jobs/delivery.py's ``_release_lost``); if Redis will not take it, the
    rows go back to the sweep (sent unpaced, never lost)."""
    if not outbox_ids:
        return True
    job_id = new_job_id(Job.SEND_PACED)
    for chunk in _chunks(outbox_ids):
        Outbox.update(job_id=job_id).where(Outbox.id.in_(chunk)).execute()
    if enqueue_jobs(conn, QueueName.DELIVERIES, Job.SEND_PACED, [(job_id, (outbox_ids,))]):
        return True
    release(outbox_ids)
    return False


def send_paced(outbox_ids: list[int], client, pace, workers: int = WORKERS) -> Counter:
    """Deliver these rows, each send waiting for ``pace.take()``, from
    ``workers`` threads.  Returns how many ended in each state
    (``skipped``: someone else had it, or it was not due)."""
    todo: queue.Queue = queue.Queue()
    for row_id in outbox_ids:
        todo.put(row_id)
    states: Counter = Counter()
    lock = threading.Lock()

    def work() -> None:
        with connected():
            while True:
                try:
                    row_id = todo.get_nowait()
                except queue.Empty:
                    return
                pace.take()
                try:
                    state = deliver(row_id, client, clock.now())
                except Exception:
                    log.exception("outbox %s could not be delivered; the sweep will retry it", row_id)
                    state = "error"
                with lock:
                    states[state] += 1

    threads = [
        threading.Thread(target=work, name=f"paced-{i}", daemon=True)
        for i in range(min(workers, len(outbox_ids)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    release(outbox_ids)  # a 429's retry is the sweep's, at its time
    return states


def send_paced_job(outbox_ids: list[int]) -> dict:
    """The RQ job (``Job.SEND_PACED``)."""
    runtime.ensure_configured()
    pace = SharedPace(runtime.connection(), runtime.settings().notice_rate_limit)
    with connected():
        states = send_paced(outbox_ids, runtime.client(), pace)
    return dict(states)
