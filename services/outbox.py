"""Writing the outbox: messages queued in the transaction that causes them.

``add_push``/``add_reply`` must be called inside the transaction that makes
the state change, so the change and its messages commit together or not at
all.  Sending is jobs/delivery.py's work.

Every push has a ``Recipient``: a group (it costs one message per member) or
one person in their one-to-one chat (it costs one).  A push carries its own
X-Line-Retry-Key from the moment it is written, so every attempt reuses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.kinds import OutboxKind, Purpose, RecipientKind
from models import Group, Outbox, Person, naive, new_retry_key

# LINE keeps a retry key for 24 h; after that a retry could send twice, so a
# push that has not gone out by then is given up (with a margin).
PUSH_LIFETIME = timedelta(hours=23)
# A reply token must be used within about a minute of the webhook.
REPLY_LIFETIME = timedelta(seconds=60)


@dataclass(frozen=True)
class Recipient:
    """Whom a push goes to."""

    kind: RecipientKind
    line_id: str
    group_id: int | None = None
    person_id: int | None = None

    @classmethod
    def of_group(cls, group: Group) -> Recipient:
        return cls(RecipientKind.GROUP, group.line_group_id, group_id=group.id)

    @classmethod
    def of_person(cls, person: Person) -> Recipient:
        return cls(RecipientKind.USER, person.line_user_id, person_id=person.id)


def push_row(
    recipient: Recipient,
    messages: list[dict] | str,
    purpose: Purpose,
    now: datetime,
    round_id: int | None = None,
    **extra,
) -> dict:
    """The fields of one push with a fresh retry key, for ``Outbox.create``
    or a bulk insert (the sweep, notices, quakes).  ``messages`` may be
    their JSON already (messages.group.prompt_json).  ``extra`` sets other
    columns (``dedup_key``, ``enqueued_at``)."""
    return {
        "kind": OutboxKind.PUSH,
        "purpose": purpose,
        "recipient": recipient.kind,
        "group": recipient.group_id,
        "person": recipient.person_id,
        "round": round_id,
        "to": recipient.line_id,
        "messages": messages if isinstance(messages, str) else json.dumps(messages, ensure_ascii=False),
        "retry_key": new_retry_key(),
        "created_at": naive(now),
        "not_before": naive(now),
        "expires_at": naive(now + PUSH_LIFETIME),
        **extra,
    }


def add_push(
    recipient: Recipient | Group,
    messages: list[dict],
    purpose: Purpose,
    now: datetime,
    round=None,
    dedup_key: str | None = None,
) -> Outbox:
    """Queue a push (to a Recipient, or a Group) with a fresh retry key."""
    if isinstance(recipient, Group):
        recipient = Recipient.of_group(recipient)
    round_id = getattr(round, "id", round)  # a Round, its id, or None
    return Outbox.create(**push_row(recipient, messages, purpose, now, round_id, dedup_key=dedup_key))


def add_reply(
    reply_token: str | None,
    messages: list[dict],
    purpose: Purpose,
    now: datetime,
    received_at: datetime,
    recipient: Recipient | None = None,
    fallback_push: bool = False,
) -> Outbox | None:
    """Queue a reply; None when the event carried no reply token.

    ``recipient`` is the chat the reply lands in.  With ``fallback_push``
    the message is pushed there instead if the reply cannot be delivered."""
    if not reply_token:
        return None
    return Outbox.create(
        kind=OutboxKind.REPLY,
        purpose=purpose,
        recipient=recipient.kind if recipient else RecipientKind.GROUP,
        group=recipient.group_id if recipient else None,
        person=recipient.person_id if recipient else None,
        to=recipient.line_id if recipient else None,
        reply_token=reply_token,
        messages=json.dumps(messages, ensure_ascii=False),
        created_at=naive(now),
        not_before=naive(now),
        expires_at=naive(received_at + REPLY_LIFETIME),
        fallback_push=fallback_push and recipient is not None,
    )


def recipient_of(row: Outbox) -> Recipient:
    """The Recipient an outbox row was written for."""
    return Recipient(RecipientKind(row.recipient), row.to, group_id=row.group_id, person_id=row.person_id)
