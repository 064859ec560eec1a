"""Sending a notice to many groups at LINE's rate (``flask notice send``).

``send_notice`` delivers a notice's due rows (written by
services/notices.py) through ``jobs.delivery.deliver`` (claim, send with the
row's retry key, record) from a few threads, paced by one token bucket,
retrying a 429 after its backoff while that is short.

The rows are the truth, so the sender can stop at any moment: while it runs
it holds them with a lease (``enqueued_at``, renewed every LEASE_RENEW) so
the sweep does not send them beside it, faster than the rate; when it stops
(done, Ctrl-C) it releases what is left, and if it dies the lease lapses
after the sweep's ENQUEUE_LEASE.  Either way the sweep delivers the rest,
and retry keys and the claim keep every group at one push.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.line_client import LineClient
from domain.kinds import FINAL_OUTBOX_STATES, OutboxState
from jobs.delivery import deliver
from models import Outbox, connected, naive, utc
from services import clock
from services.notices import FAILED, notice_prefix, rows_of, states_of

log = logging.getLogger(__name__)

BATCH = 1000
# A 429 retried sooner than this is waited for; a later one (LINE's monthly
# limit backs off an hour) is left to the sweep.
RETRY_HORIZON = timedelta(seconds=60)
LEASE_RENEW = 15.0  # seconds; well inside the sweep's 60 s ENQUEUE_LEASE
FINAL = FINAL_OUTBOX_STATES


class TokenBucket:
    """At most ``rate`` takes a second, at most ``burst`` at once (1: evenly
    spaced, so a server counting with its own bucket never sees a burst).
    Thread-safe; ``take`` blocks until the caller's turn.  A taker that has
    to wait reserves its token first (the count goes below zero), so
    concurrent takers queue up instead of all waking at once."""

    def __init__(self, rate: float, burst: float = 1.0, monotonic=time.monotonic, sleep=time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)


@dataclass
class SendReport:
    states: Counter  # final count of this notice's rows by state
    interrupted: bool = False
    elapsed: float = 0.0

    @property
    def failed(self) -> int:
        return sum(self.states[s] for s in FAILED)

    @property
    def left(self) -> int:
        return self.states["pending"] + self.states["sending"]


def sender_client(settings, workers: int):
    """A LINE client for a sender with ``workers`` threads (one kept-alive
    connection each)."""
    return LineClient(settings.access_token, settings.line_api_base_url, settings.line_timeout, workers)


def send_notice(
    digest: str,
    client,
    *,
    rate: float,
    workers: int = 8,
    on_final: Callable[[str], None] | None = None,
) -> SendReport:
    """Send this notice's due rows at ``rate`` requests a second from
    ``workers`` threads; ``on_final(state)`` is called (in the calling
    thread) once per row that reached a final state.  Ctrl-C stops it
    cleanly: in-flight sends finish, the rest is released to the sweep."""
    prefix = notice_prefix(digest)
    bucket = TokenBucket(rate)
    todo: queue.Queue = queue.Queue(maxsize=workers * 4)
    done: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        with connected():
            while (row_id := todo.get()) is not None:
                if stop.is_set():
                    done.put("stopped")
                    continue
                bucket.take()
                try:
                    done.put(deliver(row_id, client, clock.now()))
                except Exception:
                    log.exception("notice row %s could not be delivered; the sweep will retry it", row_id)
                    done.put("error")

    threads = [threading.Thread(target=work, name=f"notice-{i}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    lease = _Lease(prefix)
    lease.renew(force=True)  # rows left by an interrupted run are ours again
    in_flight = 0
    interrupted = False

    def collect(block: bool) -> None:
        nonlocal in_flight
        while in_flight:
            try:
                state = done.get(timeout=0.1) if block else done.get_nowait()
            except queue.Empty:
                if block:
                    lease.renew()
                    continue
                return
            in_flight -= 1
            if on_final and state in FINAL:
                on_final(state)

    try:
        while True:
            after = 0
            while batch := _due_ids(prefix, clock.now(), after):
                for row_id in batch:
                    todo.put(row_id)
                    in_flight += 1
                    collect(block=False)
                    lease.renew()
                after = batch[-1]
            collect(block=True)
            retry_at = _next_retry(prefix, clock.now())
            if retry_at is None:
                break
            # 429s wait for their backoff here, at the same rate afterwards.
            while clock.now() < retry_at:
                lease.renew()
                time.sleep(min(0.2, max(0.0, (retry_at - clock.now()).total_seconds())))
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        # Drop what was queued but not taken; in-flight sends finish.
        while True:
            try:
                todo.get_nowait()
                in_flight -= 1
            except queue.Empty:
                break
    finally:
        for _ in threads:
            todo.put(None)
        for thread in threads:
            thread.join()
        lease.release()
    states = states_of(prefix)
    return SendReport(states, interrupted, time.monotonic() - started)


def _due_ids(prefix: str, now: datetime, after: int) -> list[int]:
    return [
        row_id
        for (row_id,) in Outbox.select(Outbox.id)
        .where(
            rows_of(prefix)
            & (Outbox.state == OutboxState.PENDING)
            & (Outbox.not_before <= naive(now))
            & (Outbox.id > after)
        )
        .order_by(Outbox.id)
        .limit(BATCH)
        .tuples()
    ]


def _next_retry(prefix: str, now: datetime) -> datetime | None:
    """When the earliest retry within RETRY_HORIZON is due, or None."""
    soonest = (
        Outbox.select(Outbox.not_before)
        .where(
            rows_of(prefix)
            & (Outbox.state == OutboxState.PENDING)
            & (Outbox.not_before <= naive(now + RETRY_HORIZON))
        )
        .order_by(Outbox.not_before)
        .first()
    )
    return utc(soonest.not_before) if soonest else None


class _Lease:
    """Keeps this notice's pending rows away from the sweep while we send."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.renewed = time.monotonic()

    def renew(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.renewed < LEASE_RENEW:
            return
        self.renewed = time.monotonic()
        Outbox.update(enqueued_at=naive(clock.now())).where(
            rows_of(self.prefix) & (Outbox.state == OutboxState.PENDING)
        ).execute()

    def release(self) -> None:
        """Hand what is left to the sweep at its next tick."""
        Outbox.update(enqueued_at=None).where(
            rows_of(self.prefix) & (Outbox.state == OutboxState.PENDING)
        ).execute()
