"""POST /callback: verify, check, store, answer 200 — and nothing else.

LINE wants an answer within 2 s and may deliver an event more than once, so
the webhook only checks the signature with linebot.v3's validator, checks
each event (domain/webhook_events.py), stores it keyed by its
webhookEventId (a duplicate is dropped by the unique index) and commits.
With each event it stores whose events must stay in order (the sender)
and whether it is urgent (助けが必要): domain/event_order.py.  It does not
wait on Redis: the scheduler's dispatcher (jobs/dispatch.py) claims new
events from the database and enqueues them in batches, woken at once
(services/wakeup.py, best effort), so ingesting a webhook costs one INSERT
and a Redis outage cannot lose or refuse an event.

A signed body is never answered 5xx: LINE would redeliver it again and
again and the good events in it would wait behind the bad one.  What can
be kept is kept, event by event:

- a forged or missing signature: 400, nothing stored;
- a body that is not UTF-8 JSON with an ``events`` list: 400, nothing stored;
- an event the bot handles and that is well formed: stored for a worker;
- an event of a type the bot does not handle, or for the standby channel:
  answered 200 and stored as already done, without its JSON;
- a malformed event (wrong shape or type, unstorable text, nesting, numbers;
  a timestamp too old, e.g. a replay after its dedupe row was pruned, or in
  the future): stored as already done (``processed_at`` set), without its
  JSON, with ``error`` = "rejected: <reason>", so it is never processed, its
  redeliveries are dropped like any duplicate, and it is pruned with the
  processed events;
- an element that is not an object or has no usable webhookEventId: nothing
  to key it by, so it is only counted in the log.

Bodies, message text and tokens are never logged: only counts and the fixed
reasons of domain/webhook_events.py.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from functools import lru_cache

from flask import Blueprint, abort, current_app, request
from linebot.v3 import WebhookParser

from domain.event_order import is_urgent, order_key
from domain.webhook_events import DROP, IGNORE, PROCESS, REJECT, MalformedBody, check_event, parse_body
from models import WebhookEvent, db, naive, write_first
from services import clock, wakeup

log = logging.getLogger(__name__)

bp = Blueprint("webhook", __name__)

# Rows per INSERT: well inside SQLite's 32,766 and PostgreSQL's 65,535 bound
# parameters.  LINE sends a handful of events per body, so a body is one
# statement; a body of thousands is several, in one transaction.
CHUNK = 500


def init_parser(app, channel_secret: str) -> None:
    app.extensions["tsunagari.parser"] = WebhookParser(channel_secret)


_COLUMNS = (
    "webhook_event_id",
    "event_type",
    "payload",
    "received_at",
    "processed_at",
    "error",
    "order_key",
    "priority",
)


@lru_cache(maxsize=32)
def _insert_sql(count: int, param: str) -> str:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING processed_at, for
    ``count`` rows (enqueued_at NULL, attempts 0).

    Written once per batch size rather than built by the query builder on
    every request: this is the webhook's hot path."""
    row = "(" + ", ".join([param] * len(_COLUMNS)) + ", NULL, 0)"
    table = WebhookEvent._meta.table_name
    return (
        f'INSERT INTO "{table}" ({", ".join(_COLUMNS)}, enqueued_at, attempts) '
        f"VALUES {', '.join([row] * count)} "
        "ON CONFLICT (webhook_event_id) DO NOTHING RETURNING processed_at"
    )


def _rows(events: list, now, now_ms: int, outcomes: Counter, reasons: Counter) -> list:
    """The INSERT's parameters, row after row, for the events worth a row:
    the first of each webhookEventId in the body (the unique index would
    drop the others anyway).  Counts outcomes, and the reasons of rejected
    and dropped events, for the log."""
    params: list = []
    seen: set[str] = set()
    for event in events:
        checked = check_event(event, now_ms)
        outcomes[checked.outcome] += 1
        if checked.outcome in (REJECT, DROP):
            reasons[checked.reason] += 1
        if checked.event_id is None or checked.event_id in seen:
            continue
        seen.add(checked.event_id)
        if checked.outcome == PROCESS:
            payload = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
            urgency = 0 if is_urgent(event) else 1
            params += (
                checked.event_id,
                checked.event_type,
                payload,
                now,
                None,
                None,
                order_key(event),
                urgency,
            )
        else:
            error = f"rejected: {checked.reason}" if checked.outcome == REJECT else None
            params += (checked.event_id, checked.event_type, "{}", now, now, error, None, 1)
    return params


def _store(params: list) -> bool:
    """Insert the rows; whether any new one waits for a worker.  On SQLite
    the webhook goes first for the write lock (models.write_first)."""
    return write_first(lambda: _insert(params))


def _insert(params: list) -> bool:
    width = len(_COLUMNS)
    count = len(params) // width
    if count <= CHUNK:
        # One statement, so atomic on its own and committed by itself (no
        # BEGIN/COMMIT round trips).
        return any(p is None for (p,) in db.execute_sql(_insert_sql(count, db.param), params))
    new = False
    with db.atomic():
        for start in range(0, count, CHUNK):
            chunk = params[start * width : (start + CHUNK) * width]
            sql = _insert_sql(len(chunk) // width, db.param)
            new |= any(p is None for (p,) in db.execute_sql(sql, chunk))
    return new


@bp.post("/callback")
def callback():
    signature = request.headers.get("X-Line-Signature", "")
    try:
        body = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        abort(400, "malformed body")
    parser: WebhookParser = current_app.extensions["tsunagari.parser"]
    # The SDK's own validator: HMAC-SHA256 over the raw body, compared in
    # constant time.  Building the SDK's event models is left out of the hot
    # path: the worker reads the stored JSON, which check_event vouches for.
    if not parser.signature_validator.validate(body, signature):
        abort(400, "invalid signature")
    try:
        events = parse_body(body)
    except MalformedBody:
        abort(400, "malformed body")
    if not events:
        return "OK"  # LINE's "Verify" button sends an empty list

    # Rows are stamped with the bot's clock; event timestamps are LINE's,
    # which the demo clock does not move.
    now = naive(clock.now())
    now_ms = int(clock.real_now().timestamp() * 1000)
    outcomes: Counter = Counter()
    reasons: Counter = Counter()
    params = _rows(events, now, now_ms, outcomes, reasons)
    # A duplicate webhookEventId (a redelivery) is dropped by the unique
    # index; RETURNING tells whether anything new waits for a worker.
    if params and _store(params):
        wakeup.notify()
    # Stored and committed: from here on no event can be lost.
    if reasons:
        log.warning(
            "webhook body of %d events: %d to process, %d ignored, %d rejected, %d dropped (%s)",
            len(events),
            outcomes[PROCESS],
            outcomes[IGNORE],
            outcomes[REJECT],
            outcomes[DROP],
            "; ".join(f"{reason} x{n}" for reason, n in sorted(reasons.items())),
        )
    return "OK"
