"""RQ jobs.  Each is idempotent: it claims its row with a conditional
UPDATE and does nothing when the row is already done or taken, so running a
job twice, or two workers running it at once, changes nothing."""

from __future__ import annotations

import json
import logging

from bot.context import EventContext
from bot.events import group_id_of, handle, needs_member_count, needs_profile
from jobs import runtime
from jobs.delivery import deliver
from models import WebhookEvent, connected, db, naive, utc
from services import clock

log = logging.getLogger(__name__)

# An event whose handler keeps failing is given up after this many tries
# rather than retried forever by the sweep.
MAX_EVENT_ATTEMPTS = 5


def process_event(event_row_id: int) -> str:
    """Handle one stored webhook event exactly once, then send what it queued."""
    runtime.ensure_configured()
    with connected():
        return _process_event(event_row_id)


def _process_event(event_row_id: int) -> str:
    row = WebhookEvent.get_or_none(WebhookEvent.id == event_row_id)
    if row is None or row.processed_at is not None:
        return "skipped"
    now = clock.now()
    if row.attempts >= MAX_EVENT_ATTEMPTS:
        WebhookEvent.update(processed_at=naive(now), payload="{}", error="gave up").where(
            (WebhookEvent.id == row.id) & WebhookEvent.processed_at.is_null()
        ).execute()
        log.error("webhook event %s given up after %s attempts", row.id, row.attempts)
        return "given-up"
    WebhookEvent.update(attempts=WebhookEvent.attempts + 1).where(WebhookEvent.id == row.id).execute()

    event = json.loads(row.payload)
    client = runtime.client()
    settings = runtime.settings()
    ctx = EventContext(event=event, now=now, received_at=utc(row.received_at), settings=settings)
    # LINE reads happen before the transaction: no network call holds a lock.
    group_id = group_id_of(event)
    if needs_profile(event):
        user_id = event["source"]["userId"]
        ctx.profile_name = (
            client.group_member_name(group_id, user_id) if group_id else client.user_name(user_id)
        )
    if needs_member_count(event):
        ctx.member_count = client.group_member_count(group_id)

    with db.atomic():
        claimed = (
            WebhookEvent.update(processed_at=naive(now), payload="{}", error=None)
            .where((WebhookEvent.id == row.id) & WebhookEvent.processed_at.is_null())
            .execute()
        )
        if claimed != 1:
            return "skipped"  # another worker handled it meanwhile
        if event.get("mode", "active") == "active":
            handle(ctx)
    # Send at once: a reply token lives about a minute.  The sweep retries
    # anything that does not go out now.
    for outbox in ctx.queued:
        deliver(outbox.id, client, clock.now())
    return "processed"


def deliver_outbox(outbox_id: int) -> str:
    """Send one outbox row if it is (still) due."""
    runtime.ensure_configured()
    with connected():
        return deliver(outbox_id, runtime.client(), clock.now())


def run_sweep() -> dict:
    from jobs.sweep import sweep

    runtime.ensure_configured()
    with connected():
        return sweep(clock.now())
