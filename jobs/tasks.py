"""RQ jobs.  Each is idempotent: it claims its rows with conditional UPDATEs
and does nothing for a row that is already done or taken, so running a job
twice, or two workers running it at once, changes nothing.

``process_events`` handles a batch of webhook events (the dispatcher never
puts two events of one sender in flight at once, see jobs/dispatch.py):

1. reads from LINE that handlers need (a display name not known within a
   day, a group's member count), concurrently and outside any transaction:
   a network call never holds a lock;
2. marks each event processed (the claim), runs its handler and writes its
   outbox rows, in the order the events came — on PostgreSQL all in one
   transaction (one WAL flush for the batch), on SQLite each event in its
   own (SQLite's one write lock is never held for a whole batch);
3. sends everything the batch queued, concurrently (reply tokens live
   about a minute), and wakes the dispatcher: the senders' next events may
   go now.

A handler that raises fails its own event only (its attempts count; after
MAX_EVENT_ATTEMPTS it is given up), never the batch: a batch transaction
that fails is rolled back whole and its events handled one by one.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from peewee import PostgresqlDatabase

from bot.context import EventContext, chat_of
from bot.events import group_id_of, handle, needs_member_count, needs_profile
from domain.kinds import ChatKind
from jobs import runtime
from jobs.delivery import deliver_many
from models import Person, WebhookEvent, connected, db, naive, utc
from services import clock, wakeup

log = logging.getLogger(__name__)

# An event whose handler keeps failing is given up after this many tries
# rather than retried forever.
MAX_EVENT_ATTEMPTS = 5
# A display name read from LINE is trusted for this long (people rename
# themselves rarely; reading it for every tap costs a LINE call each).
NAME_FRESH_FOR = timedelta(days=1)


def process_events(event_row_ids: list[int]) -> dict:
    """Handle each stored webhook event exactly once, then send what they
    queued.  Returns counts by outcome."""
    runtime.ensure_configured()
    with connected():
        return _process_events(event_row_ids)


def process_event(event_row_id: int) -> str:
    """One event (jobs enqueued before batches existed still run)."""
    counts = process_events([event_row_id])
    return next((k for k, v in counts.items() if v), "skipped")


def _process_events(event_row_ids: list[int]) -> dict:
    counts = {"processed": 0, "skipped": 0, "failed": 0, "given-up": 0}
    now = clock.now()
    rows = list(
        WebhookEvent.select()
        .where(WebhookEvent.id.in_(event_row_ids) & WebhookEvent.processed_at.is_null())
        .order_by(WebhookEvent.id)
    )
    counts["skipped"] = len(event_row_ids) - len(rows)
    live = []
    for row in rows:
        if row.attempts >= MAX_EVENT_ATTEMPTS:
            WebhookEvent.update(processed_at=naive(now), payload="{}", error="gave up").where(
                (WebhookEvent.id == row.id) & WebhookEvent.processed_at.is_null()
            ).execute()
            log.error("webhook event %s given up after %s attempts", row.id, row.attempts)
            counts["given-up"] += 1
        else:
            live.append(row)
    if not live:
        return counts
    WebhookEvent.update(attempts=WebhookEvent.attempts + 1).where(
        WebhookEvent.id.in_([r.id for r in live])
    ).execute()

    settings = runtime.settings()
    contexts = [
        (
            row,
            EventContext(
                event=json.loads(row.payload), now=now, received_at=utc(row.received_at), settings=settings
            ),
        )
        for row in live
    ]
    _read_from_line(contexts, now)

    handled = None
    if _postgres():
        handled = _handle_in_one_transaction(contexts, now)
        if handled is None:  # a handler failed and everything was rolled back
            contexts = [(row, _fresh(ctx)) for row, ctx in contexts]
    if handled is None:
        handled = _handle_one_by_one(contexts, now)
    outcomes, queued = handled
    for outcome, n in outcomes.items():
        counts[outcome] += n
    if counts["processed"]:
        wakeup.notify()  # these senders' next events may go now
    # Send at once: a reply token lives about a minute.  The sweep retries
    # anything that does not go out now.
    if queued:
        deliver_many(queued, runtime.client(), clock.now(), runtime.io_pool(), runtime.rate_limit())
    return counts


def _postgres() -> bool:
    return isinstance(db.obj, PostgresqlDatabase)


def _claim(row_ids: list[int], now: datetime) -> set[int]:
    """Mark the events processed, except those another worker has meanwhile;
    the ids this call claimed."""
    return {
        row_id
        for (row_id,) in WebhookEvent.update(processed_at=naive(now), payload="{}", error=None)
        .where(WebhookEvent.id.in_(row_ids) & WebhookEvent.processed_at.is_null())
        .returning(WebhookEvent.id)
        .tuples()
        .execute()
    }


def _handle(ctx: EventContext) -> None:
    if ctx.event.get("mode", "active") == "active":
        handle(ctx)


def _handle_in_one_transaction(contexts, now: datetime) -> tuple[Counter, list[int]] | None:
    """Every event of the batch in one transaction (PostgreSQL: a commit is a
    WAL flush, and under a storm a commit per event kept the workers waiting
    on the disk).  None if a handler raised: then nothing was written, and
    the events are handled one by one so that only the failing one fails."""
    outcomes: Counter = Counter()
    queued: list[int] = []
    try:
        with db.atomic():
            # One claim for the batch: the events another worker handled meanwhile are left out.
            claimed = _claim([row.id for row, _ in contexts], now)
            for row, ctx in contexts:
                if row.id not in claimed:
                    outcomes["skipped"] += 1
                    continue
                _handle(ctx)
                outcomes["processed"] += 1
                queued += [outbox.id for outbox in ctx.queued]
    except Exception:
        log.warning("a batch of %d events failed; handling them one by one", len(contexts))
        return None
    return outcomes, queued


def _handle_one_by_one(contexts, now: datetime) -> tuple[Counter, list[int]]:
    """Each event in its own transaction (SQLite: its one write lock is held
    for one event at a time, so the webhook's inserts are not kept waiting
    behind a whole batch)."""
    outcomes: Counter = Counter()
    queued: list[int] = []
    for row, ctx in contexts:
        try:
            with db.atomic():
                if not _claim([row.id], now):
                    outcomes["skipped"] += 1  # another worker handled it meanwhile
                    continue
                _handle(ctx)
        except Exception as exc:
            # Rolled back: the event stays unprocessed and is tried again
            # (the dispatcher re-enqueues it once this job is gone).
            log.exception("webhook event %s failed", row.id)
            WebhookEvent.update(error=f"{type(exc).__name__}"[:200]).where(
                WebhookEvent.id == row.id
            ).execute()
            outcomes["failed"] += 1
            continue
        outcomes["processed"] += 1
        queued += [outbox.id for outbox in ctx.queued]
    return outcomes, queued


def _fresh(ctx: EventContext) -> EventContext:
    """The context as it was before its handler ran (what was read from LINE kept)."""
    return replace(ctx, group=None, person=None, member=None, queued=[])


def _read_from_line(contexts: list[tuple[WebhookEvent, EventContext]], now: datetime) -> None:
    """Fill in what handlers want from LINE, concurrently.  A display name
    stored within NAME_FRESH_FOR is used instead of asking again."""
    client = runtime.client()
    wanted_names = [ctx for _, ctx in contexts if needs_profile(ctx.event)]
    known = {}
    if wanted_names:
        fresh_since = naive(now - NAME_FRESH_FOR)
        known = {
            line_user_id: name
            for line_user_id, name in Person.select(Person.line_user_id, Person.display_name)
            .where(
                Person.line_user_id.in_([ctx.user_id for ctx in wanted_names])
                & (Person.name_fetched_at >= fresh_since)
                & (Person.display_name != "")
            )
            .tuples()
        }
    calls = []
    for ctx in wanted_names:
        if ctx.user_id in known:
            ctx.profile_name = known[ctx.user_id]
        else:
            ctx.name_from_line = True
            calls.append((ctx, "profile_name", _name_reader(client, ctx)))
    calls += [
        (ctx, "member_count", _count_reader(client, group_id_of(ctx.event)))
        for _, ctx in contexts
        if needs_member_count(ctx.event)
    ]
    if not calls:
        return
    if len(calls) == 1:
        values = [calls[0][2]()]
    else:
        values = list(runtime.io_pool().map(lambda call: call[2](), calls))
    for (ctx, field, _), value in zip(calls, values, strict=True):
        setattr(ctx, field, value)


def _name_reader(client, ctx: EventContext):
    kind, chat_id = chat_of(ctx.event)
    user_id = ctx.user_id
    if kind is ChatKind.GROUP:
        return lambda: client.group_member_name(chat_id, user_id)
    return lambda: client.user_name(user_id)


def _count_reader(client, group_id: str):
    return lambda: client.group_member_count(group_id)


def deliver_outbox(outbox_ids: list[int] | int) -> dict:
    """Send outbox rows if they are (still) due.  Returns counts by state."""
    runtime.ensure_configured()
    ids = [outbox_ids] if isinstance(outbox_ids, int) else list(outbox_ids)
    with connected():
        states = deliver_many(ids, runtime.client(), clock.now(), runtime.io_pool(), runtime.rate_limit())
    counts: dict[str, int] = {}
    for state in states.values():
        counts[str(state)] = counts.get(str(state), 0) + 1
    return counts


def run_sweep() -> dict:
    from jobs.sweep import sweep

    runtime.ensure_configured()
    with connected():
        return sweep(clock.now())
