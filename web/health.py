"""GET /healthz: can the service do its work, and is it keeping up?

- the database and Redis answer;
- the queues drain: the oldest webhook event not yet processed, and the
  oldest outbox row that is due but not sent, are younger than
  HEALTH_MAX_EVENT_AGE / HEALTH_MAX_OUTBOX_AGE.  Past either, 503, so a
  platform's health check restarts (or a person looks at) what is stuck —
  a process can be up while nothing moves.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from peewee import fn
from redis.exceptions import RedisError

from domain.kinds import OutboxState
from models import Outbox, WebhookEvent, db, naive, utc
from services import clock

bp = Blueprint("health", __name__)


def _age(oldest, now) -> float:
    return round((now - utc(oldest)).total_seconds(), 1) if oldest else 0.0


@bp.get("/healthz")
def healthz():
    settings = current_app.extensions["tsunagari.settings"]
    checks: dict = {}
    try:
        db.execute_sql("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        current_app.extensions["tsunagari.redis"]().ping()
        checks["redis"] = "ok"
    except (RedisError, OSError) as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    if checks["database"] == "ok":
        now = clock.now()
        oldest_event = (
            WebhookEvent.select(fn.MIN(WebhookEvent.received_at))
            .where(WebhookEvent.processed_at.is_null())
            .scalar()
        )
        oldest_due = (
            Outbox.select(fn.MIN(Outbox.not_before))
            .where((Outbox.state == OutboxState.PENDING) & (Outbox.not_before <= naive(now)))
            .scalar()
        )
        event_age, outbox_age = _age(oldest_event, now), _age(oldest_due, now)
        checks["events"] = "ok" if event_age <= settings.health_max_event_age else "error: not draining"
        checks["outbox"] = "ok" if outbox_age <= settings.health_max_outbox_age else "error: not draining"
        checks["oldest_event_seconds"] = event_age
        checks["oldest_due_outbox_seconds"] = outbox_age
    healthy = all(v == "ok" for k, v in checks.items() if isinstance(v, str))
    return jsonify(status="ok" if healthy else "error", **checks), (200 if healthy else 503)
