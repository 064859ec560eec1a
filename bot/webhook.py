"""POST /callback: verify, store, answer 200 — and nothing else.

LINE wants an answer within 2 s and may deliver an event more than once, so
the webhook only checks the signature with linebot.v3's parser, stores each
event keyed by its webhookEventId (a duplicate is dropped by the unique
index) and commits.  It does not touch Redis: the scheduler's dispatcher
(jobs/dispatch.py) claims new events from the database a few times a second
and enqueues them in batches, so ingesting a webhook costs one INSERT and a
Redis outage cannot lose or refuse an event.  Bodies, message text and
tokens are never logged.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache

from flask import Blueprint, abort, current_app, request
from linebot.v3 import WebhookParser

from domain.event_order import is_urgent, order_key
from models import WebhookEvent, db, naive
from services import clock, wakeup

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


_COLUMNS = (
    "webhook_event_id",
    "event_type",
    "payload",
    "received_at",
    "order_key",
    "priority",
    "enqueued_at",
    "processed_at",
    "attempts",
)


@lru_cache(maxsize=32)
def _insert_sql(count: int, param: str) -> str:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, for ``count`` rows.

    Written once per batch size rather than built by the query builder on
    every request: this is the webhook's hot path."""
    values = ", ".join(["(" + ", ".join([param] * len(_COLUMNS)) + ")"] * count)
    table = WebhookEvent._meta.table_name
    return (
        f'INSERT INTO "{table}" ({", ".join(_COLUMNS)}) VALUES {values} '
        "ON CONFLICT (webhook_event_id) DO NOTHING RETURNING id"
    )


def _params(rows: list[dict]) -> list:
    return [
        value
        for row in rows
        for value in (
            row["webhook_event_id"],
            row["event_type"],
            row["payload"],
            row["received_at"],
            row["order_key"],
            row["priority"],
            None,
            None,
            0,
        )
    ]


@bp.post("/callback")
def callback():
    signature = request.headers.get("X-Line-Signature", "")
    body = request.get_data(as_text=True)
    parser: WebhookParser = current_app.extensions["tsunagari.parser"]
    # The parser's own validator: HMAC-SHA256 over the raw body, compared in
    # constant time.  Building the SDK's event models is left out of the hot
    # path: the worker reads the stored JSON, and _events_of checks the shape.
    if not parser.signature_validator.validate(body, signature):
        abort(400, "invalid signature")
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
            "order_key": order_key(e),
            "priority": 0 if is_urgent(e) else 1,
        }
        for e in events
    ]
    # One statement, so atomic on its own and committed by itself (no
    # BEGIN/COMMIT round trips).  A duplicate webhookEventId (a redelivery)
    # is dropped by the unique index; RETURNING says how many were new.
    new = list(db.execute_sql(_insert_sql(len(rows), db.param), _params(rows)))
    # Stored and committed: from here on the event cannot be lost.
    if new:
        wakeup.notify()
    return "OK"
