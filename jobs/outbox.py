"""The outbox: writing messages with their state change, and delivering them.

``add_push``/``add_reply`` must be called inside the transaction that makes
the state change, so the change and its messages commit together or not at
all.  ``deliver`` claims one row with a conditional UPDATE, sends it, and
records the outcome; it is safe to call any number of times, from any number
of processes, for the same row.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta

from models import Group, Outbox, db, naive, new_retry_key, utc

log = logging.getLogger(__name__)

# A claimed row whose worker died is taken again after this long; it must
# exceed a LINE call's timeout so two live workers never hold one row.
CLAIM_LEASE = timedelta(seconds=120)
# LINE keeps a retry key for 24 h; after that a retry could send twice, so a
# push that has not gone out by then is given up (with a margin).
PUSH_LIFETIME = timedelta(hours=23)
# A reply token must be used within about a minute of the webhook.
REPLY_LIFETIME = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=10)
QUOTA_BACKOFF = timedelta(hours=1)


def push_row(
    group_id: int,
    line_group_id: str,
    messages: list[dict],
    purpose: str,
    now: datetime,
    round_id: int | None = None,
    **extra,
) -> dict:
    """The fields of one push with a fresh retry key, for ``Outbox.create``
    or a bulk ``Outbox.insert_many`` (the sweep, notices).  ``extra`` sets
    other columns (``dedup_key``, ``enqueued_at``)."""
    return {
        "kind": "push",
        "purpose": purpose,
        "group": group_id,
        "round": round_id,
        "to": line_group_id,
        "messages": json.dumps(messages, ensure_ascii=False),
        "retry_key": new_retry_key(),
        "created_at": naive(now),
        "not_before": naive(now),
        "expires_at": naive(now + PUSH_LIFETIME),
        **extra,
    }


def add_push(
    group: Group,
    messages: list[dict],
    purpose: str,
    now: datetime,
    round=None,
    dedup_key: str | None = None,
) -> Outbox:
    """Queue a push to ``group`` with a fresh retry key."""
    round_id = getattr(round, "id", round)  # a Round, its id, or None
    return Outbox.create(
        **push_row(group.id, group.line_group_id, messages, purpose, now, round_id, dedup_key=dedup_key)
    )


def add_reply(
    reply_token: str | None,
    messages: list[dict],
    purpose: str,
    now: datetime,
    received_at: datetime,
    group: Group | None = None,
    fallback_push: bool = False,
) -> Outbox | None:
    """Queue a reply; None when the event carried no reply token.

    With ``fallback_push`` (and a group) the message is pushed instead if
    the reply cannot be delivered."""
    if not reply_token:
        return None
    return Outbox.create(
        kind="reply",
        purpose=purpose,
        group=group,
        reply_token=reply_token,
        messages=json.dumps(messages, ensure_ascii=False),
        created_at=naive(now),
        not_before=naive(now),
        expires_at=naive(received_at + REPLY_LIFETIME),
        fallback_push=fallback_push and group is not None,
    )


def backoff(attempts: int, status: int | None) -> timedelta:
    """Exponential backoff with jitter; rate-limit 429s start smaller."""
    base = 1.0 if status == 429 else 5.0
    seconds = min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def claim(outbox_id: int, now: datetime) -> bool:
    """Compare-and-set: take the row if it is due and nobody holds it."""
    n = naive(now)
    return (
        Outbox.update(state="sending", claimed_at=n, attempts=Outbox.attempts + 1)
        .where(
            (Outbox.id == outbox_id)
            & (
                ((Outbox.state == "pending") & (Outbox.not_before <= n))
                | ((Outbox.state == "sending") & (Outbox.claimed_at < naive(now - CLAIM_LEASE)))
            )
        )
        .execute()
        == 1
    )


def _finish(row: Outbox, **fields) -> bool:
    """Record the outcome, unless another worker has taken the row since."""
    return (
        Outbox.update(**fields)
        .where((Outbox.id == row.id) & (Outbox.state == "sending") & (Outbox.attempts == row.attempts))
        .execute()
        == 1
    )


def push_cost(row: Outbox, client) -> int:
    """What LINE counts for this push: one per group member, bot excluded."""
    if row.group_id is None:
        return 1
    group = Group.get_by_id(row.group_id)
    if group.member_count is None:
        count = client.group_member_count(group.line_group_id)
        if count is not None:
            Group.update(member_count=count).where(Group.id == group.id).execute()
            return count
        return 0
    return group.member_count


def deliver(outbox_id: int, client, now: datetime) -> str:
    """Send one outbox row if it is due.  Returns the row's resulting state
    (or "skipped" when it was not ours to send)."""
    if not claim(outbox_id, now):
        return "skipped"
    row = Outbox.get_by_id(outbox_id)
    n = naive(now)
    if now >= utc(row.expires_at):
        _give_up(row, now, client, state="expired", last_error="expired before it could be sent")
        log.warning("outbox %s (%s) expired unsent", row.id, row.purpose)
        return "expired"
    group_gone = (
        row.kind == "push"
        and row.group_id is not None
        and not Group.select(Group.active).where(Group.id == row.group_id).scalar()
    )
    if group_gone:
        _finish(row, state="cancelled", last_error="the bot is no longer in the group")
        return "cancelled"

    messages = json.loads(row.messages)
    if row.kind == "push":
        result = client.push(row.to, messages, row.retry_key)
    else:
        result = client.reply(row.reply_token, messages)

    if result.sent:
        cost = push_cost(row, client) if row.kind == "push" else 0
        _finish(row, state="sent", sent_at=n, cost=cost, last_status=result.status, last_error=None)
        return "sent"
    if result.retry:
        wait = QUOTA_BACKOFF if result.quota_exhausted else backoff(row.attempts, result.status)
        _finish(
            row,
            state="pending",
            not_before=naive(now + wait),
            enqueued_at=None,
            last_status=result.status,
            last_error=result.error,
        )
        log.info("outbox %s will be retried (%s)", row.id, result.status or result.error)
        return "pending"
    _give_up(row, now, client, state="failed", last_status=result.status, last_error=result.error)
    log.warning("outbox %s failed permanently: %s %s", row.id, result.status, result.error)
    return "failed"


def _give_up(row: Outbox, now: datetime, client, **fields) -> None:
    """Mark the row failed or expired; a reply with ``fallback_push`` becomes
    a push (in the same transaction, so exactly one push is queued)."""
    if not (row.kind == "reply" and row.fallback_push):
        _finish(row, **fields)
        return
    with db.atomic():
        if not _finish(row, **fields):
            return
        group = Group.get_by_id(row.group_id)
        if not group.active:
            return
        push = add_push(group, json.loads(row.messages), row.purpose, now, round=row.round_id)
    deliver(push.id, client, now)
