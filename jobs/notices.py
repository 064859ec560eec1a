"""Notices to many groups: plan, write once, send at LINE's rate.

``flask notice send`` (cli.py) runs these in order:

- ``plan_notice``: the organisation's active groups (in the given areas),
  what the send costs (LINE counts one message per member), and which groups
  already have this notice.  A notice is identified by organisation, areas,
  text and month: ``notice_digest``.
- ``write_notice``: one outbox row per group in one transaction, with
  ``dedup_key = notice:{digest}:{group id}`` (unique), so running the same
  send again writes nothing new.
- ``send_notice``: deliver this notice's due rows through
  ``jobs.outbox.deliver`` (claim, send with the row's retry key, record) from
  a few threads, paced by one token bucket, retrying a 429 after its backoff
  while that is short.

The rows are the truth, so the sender can stop at any moment: while it runs
it holds them with a lease (``enqueued_at``, renewed every LEASE_RENEW) so
the sweep does not send them beside it, faster than the rate; when it stops
(done, Ctrl-C) it releases what is left, and if it dies the lease lapses
after the sweep's ENQUEUE_LEASE.  Either way the sweep delivers the rest,
and retry keys and the claim keep every group at one push.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from peewee import fn

from bot import messages
from jobs import clock
from jobs.outbox import deliver, push_row
from jobs.usage import month_usage
from models import Group, Organisation, Outbox, connected, db, naive, utc

log = logging.getLogger(__name__)

BATCH = 1000
# A 429 retried sooner than this is waited for; a later one (LINE's monthly
# limit backs off an hour) is left to the sweep.
RETRY_HORIZON = timedelta(seconds=60)
LEASE_RENEW = 15.0  # seconds; well inside the sweep's 60 s ENQUEUE_LEASE
FINAL = ("sent", "failed", "expired", "cancelled")
FAILED = ("failed", "expired")


class NoticeError(ValueError):
    """The notice cannot be planned (unknown organisation, text too long)."""


def notice_digest(org_slug: str, areas: tuple[str, ...], text: str, month: str) -> str:
    """sha256 of what makes two sends the same notice."""
    key = json.dumps([org_slug, sorted(areas), text, month], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NoticePlan:
    org_id: int
    org_name: str
    areas: tuple[str, ...]
    text: str
    digest: str
    groups: int  # active groups the notice is for
    to_write: int  # of those, groups without a row for this notice yet
    cost: int  # LINE messages the new rows will cost (sum of member_count)
    unknown_cost: int  # new rows whose group's member count is unknown
    already_sent: int  # rows of this notice already sent
    unfinished: int  # rows of this notice written but not sent yet (pending)
    unfinished_cost: int = 0  # what those will cost: not in this month's usage yet

    @property
    def total_cost(self) -> int:
        return self.cost + self.unfinished_cost

    @property
    def prefix(self) -> str:
        return notice_prefix(self.digest)

    def messages(self) -> list[dict]:
        return messages.org_notice(self.org_name, self.text)


def notice_prefix(digest: str) -> str:
    return f"notice:{digest}:"


def _states_of(prefix: str) -> Counter:
    """How many of a notice's outbox rows are in each state."""
    return Counter(
        dict(
            Outbox.select(Outbox.state, fn.COUNT(Outbox.id))
            .where(_rows_of(prefix))
            .group_by(Outbox.state)
            .tuples()
        )
    )


def _rows_of(prefix: str):
    # The prefix is hex digits and colons: no LIKE wildcard inside it, and
    # nothing that case folding (ILIKE on PostgreSQL) could confuse.
    return (Outbox.purpose == "notice") & Outbox.dedup_key.startswith(prefix)


def _target_groups(org_id: int, areas: tuple[str, ...]) -> Iterator[list[tuple[int, str, int | None]]]:
    """(id, line group id, member count) of the target groups, in batches
    by id (keyset), so memory does not grow with the number of groups."""
    where = (Group.organisation == org_id) & Group.active
    if areas:
        where &= Group.area_code.in_(list(areas))
    after = 0
    while True:
        batch = list(
            Group.select(Group.id, Group.line_group_id, Group.member_count)
            .where(where & (Group.id > after))
            .order_by(Group.id)
            .limit(BATCH)
            .tuples()
        )
        if not batch:
            return
        yield batch
        after = batch[-1][0]


def plan_notice(org_slug: str, areas: tuple[str, ...], text: str, now: datetime, tz: ZoneInfo) -> NoticePlan:
    org = Organisation.get_or_none(Organisation.slug == org_slug)
    if org is None:
        raise NoticeError(f"no organisation with slug {org_slug!r} (see: flask --app app org list)")
    body = messages.org_notice(org.name, text)[0]["text"]
    if not text.strip():
        raise NoticeError("the notice text is empty")
    if messages.utf16_len(body) > messages.TEXT_LIMIT:
        raise NoticeError(f"the notice is too long for one LINE message ({messages.TEXT_LIMIT} characters)")
    areas = tuple(sorted(set(areas)))
    digest = notice_digest(org.slug, areas, text, now.astimezone(tz).strftime("%Y-%m"))
    prefix = notice_prefix(digest)
    groups = to_write = cost = unknown = 0
    for batch in _target_groups(org.id, areas):
        keys = [f"{prefix}{group_id}" for group_id, _, _ in batch]
        written = {k for (k,) in Outbox.select(Outbox.dedup_key).where(Outbox.dedup_key.in_(keys)).tuples()}
        for group_id, _, members in batch:
            groups += 1
            if f"{prefix}{group_id}" in written:
                continue
            to_write += 1
            if members is None:
                unknown += 1
            else:
                cost += members
    states = _states_of(prefix)
    unfinished_cost = (
        Outbox.select(fn.COALESCE(fn.SUM(Group.member_count), 0))
        .join(Group)
        .where(_rows_of(prefix) & Outbox.state.in_(("pending", "sending")))
        .scalar()
    )
    return NoticePlan(
        org_id=org.id,
        org_name=org.name,
        areas=areas,
        text=text,
        digest=digest,
        groups=groups,
        to_write=to_write,
        cost=cost,
        unknown_cost=unknown,
        already_sent=states["sent"],
        unfinished=states["pending"] + states["sending"],
        unfinished_cost=int(unfinished_cost or 0),
    )


def write_notice(plan: NoticePlan, now: datetime) -> int:
    """One outbox row per target group not written yet, all in one
    transaction; returns how many were written.  The rows start leased to
    the caller (enqueued_at=now): the sender is about to send them."""
    body = plan.messages()
    n = naive(now)
    before = Outbox.select().where(_rows_of(plan.prefix)).count()
    with db.atomic():
        for batch in _target_groups(plan.org_id, plan.areas):
            rows = [
                push_row(
                    group_id,
                    line_group_id,
                    body,
                    "notice",
                    now,
                    enqueued_at=n,
                    dedup_key=f"{plan.prefix}{group_id}",
                )
                for group_id, line_group_id, _ in batch
            ]
            Outbox.insert_many(rows).on_conflict_ignore().execute()
    return Outbox.select().where(_rows_of(plan.prefix)).count() - before


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
    states = _states_of(prefix)
    return SendReport(states, interrupted, time.monotonic() - started)


def _due_ids(prefix: str, now: datetime, after: int) -> list[int]:
    return [
        row_id
        for (row_id,) in Outbox.select(Outbox.id)
        .where(
            _rows_of(prefix)
            & (Outbox.state == "pending")
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
            _rows_of(prefix) & (Outbox.state == "pending") & (Outbox.not_before <= naive(now + RETRY_HORIZON))
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
            _rows_of(self.prefix) & (Outbox.state == "pending")
        ).execute()

    def release(self) -> None:
        """Hand what is left to the sweep at its next tick."""
        Outbox.update(enqueued_at=None).where(_rows_of(self.prefix) & (Outbox.state == "pending")).execute()


def monthly_limit(client, settings) -> tuple[int, str]:
    """The month's message limit and where it came from: LINE's quota when
    LINE sets one, else NOTICE_MONTHLY_BUDGET."""
    quota = client.message_quota()
    if quota is not None and quota[0] == "limited" and quota[1] is not None:
        return int(quota[1]), "LINE's monthly limit"
    return settings.notice_monthly_budget, "NOTICE_MONTHLY_BUDGET"


def remaining_quota(client, settings, now: datetime) -> tuple[int, int, int, str]:
    """(limit, used this month, remaining, source of the limit)."""
    limit, source = monthly_limit(client, settings)
    used = month_usage(now, settings.tz)
    return limit, used, max(limit - used, 0), source
