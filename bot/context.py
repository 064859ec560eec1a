"""What an event handler works with: the event, the clock and the outbox.

A handler runs inside the transaction that marks its webhook event
processed; it changes state through models and queues messages through
``reply``/``push``, so both commit together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from config import Settings
from jobs.outbox import add_push, add_reply
from models import Group, Member, Outbox, Person


@dataclass
class EventContext:
    event: dict
    now: datetime
    received_at: datetime
    settings: Settings
    # Read from LINE before the transaction (network calls never hold locks).
    profile_name: str | None = None
    member_count: int | None = None
    group: Group | None = None
    person: Person | None = None
    member: Member | None = None
    queued: list[Outbox] = field(default_factory=list)

    @property
    def reply_token(self) -> str | None:
        return self.event.get("replyToken")

    @property
    def user_id(self) -> str | None:
        return (self.event.get("source") or {}).get("userId")

    @property
    def is_leader(self) -> bool:
        return bool(self.member and self.member.active and self.member.is_leader)

    def reply(self, messages: list[dict], purpose: str = "reply", fallback_push: bool = False) -> None:
        """Answer by reply (free).  With ``fallback_push`` the message is
        important enough to push if the reply token no longer works."""
        row = add_reply(
            self.reply_token, messages, purpose, self.now, self.received_at, self.group, fallback_push
        )
        if row is None and fallback_push and self.group is not None:
            row = add_push(self.group, messages, purpose, self.now)
        if row is not None:
            self.queued.append(row)

    def push(self, messages: list[dict], purpose: str, round=None) -> None:
        self.queued.append(add_push(self.group, messages, purpose, self.now, round=round))
