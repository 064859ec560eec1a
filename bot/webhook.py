"""POST /callback: verify, store, answer 200 — and nothing else.

LINE wants an answer within 2 s and may deliver an event more than once, so
the webhook only checks the signature with linebot.v3's parser, stores each
event keyed by its webhookEventId (a duplicate is dropped by the unique
index), commits, and enqueues a job per new event.  If Redis is down the
events are still stored and the sweep enqueues them.  Bodies, message text
and tokens are never logged.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, abort, current_app, request
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError

from jobs import clock, runtime
from jobs.queue import enqueue
from models import WebhookEvent, db, naive

log = logging.getLogger(__name__)

bp = Blueprint("webhook", __name__)


def init_parser(app, channel_secret: str) -> None:
    app.extensions["tsunagari.parser"] = WebhookParser(channel_secret)


def _events_of(body: str) -> list[dict]:
    """The raw event objects, checked enough to store them: abort(400) if not."""
    try:
        payload = json.loads(body)
    except ValueError:
        abort(400, "malformed body")
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        abort(400, "malformed body")
    for event in events:
        if not (
            isinstance(event, dict)
            and isinstance(event.get("webhookEventId"), str)
            and 0 < len(event["webhookEventId"]) <= 64
            and isinstance(event.get("type"), str)
        ):
            abort(400, "malformed event")
    return events


@bp.post("/callback")
def callback():
    signature = request.headers.get("X-Line-Signature", "")
    body = request.get_data(as_text=True)
    parser: WebhookParser = current_app.extensions["tsunagari.parser"]
    try:
        # Verifies the HMAC over the raw body before anything is parsed into models.
        parser.parse(body, signature)
    except InvalidSignatureError:
        abort(400, "invalid signature")
    except Exception:
        abort(400, "malformed body")
    events = _events_of(body)
    if not events:
        return "OK"  # LINE's "Verify" button sends an empty list

    now = naive(clock.now())
    rows = [
        {
            "webhook_event_id": e["webhookEventId"],
            "event_type": e["type"][:32],
            "payload": json.dumps(e, ensure_ascii=False, separators=(",", ":")),
            "received_at": now,
        }
        for e in events
    ]
    ids = [r["webhook_event_id"] for r in rows]
    with db.atomic():
        WebhookEvent.insert_many(rows).on_conflict_ignore().execute()
        new = list(
            WebhookEvent.select(WebhookEvent.id)
            .where(
                WebhookEvent.webhook_event_id.in_(ids)
                & WebhookEvent.enqueued_at.is_null()
                & WebhookEvent.processed_at.is_null()
            )
            .order_by(WebhookEvent.id)
            .tuples()
        )
    # Stored and committed: from here on the event cannot be lost.
    connection = runtime.connection()
    queued = [event_id for (event_id,) in new if enqueue(connection, "jobs.tasks.process_event", event_id)]
    if queued:
        WebhookEvent.update(enqueued_at=now).where(
            WebhookEvent.id.in_(queued) & WebhookEvent.enqueued_at.is_null()
        ).execute()
    return "OK"
