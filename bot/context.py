"""What an event handler works with: the event, the clock and the outbox.

A handler runs inside the transaction that marks its webhook event
processed; it changes state through services and queues messages through
``reply``/``push``, so both commit together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from config import Settings
from domain.kinds import ChatKind, Purpose
from models import Group, Member, Outbox, Person
from services.outbox import Recipient, add_push, add_reply


def chat_of(event: dict) -> tuple[ChatKind | None, str | None]:
    """(kind, LINE id) of the chat an event happened in: a group, a user's
    one-to-one chat, or a room; (None, None) when LINE did not say."""
    source = event.get("source")
    if not isinstance(source, dict):
        return None, None
    kind = source.get("type")
    key = {"group": "groupId", "user": "userId", "room": "roomId"}.get(kind)
    chat_id = source.get(key) if key else None
    if not isinstance(chat_id, str) or not chat_id:
        return None, None
    return ChatKind(kind), chat_id


@dataclass
class EventContext:
    event: dict
    now: datetime
    received_at: datetime
    settings: Settings
    # Read from LINE before the transaction (network calls never hold locks).
    profile_name: str | None = None
    name_from_line: bool = False  # profile_name was read from LINE just now (not the stored one)
    member_count: int | None = None
    group: Group | None = None
    person: Person | None = None
    member: Member | None = None
    queued: list[Outbox] = field(default_factory=list)

    @property
    def chat_kind(self) -> ChatKind | None:
        return chat_of(self.event)[0]

    @property
    def reply_token(self) -> str | None:
        token = self.event.get("replyToken")
        return token if isinstance(token, str) else None

    @property
    def user_id(self) -> str | None:
        source = self.event.get("source")
        user_id = source.get("userId") if isinstance(source, dict) else None
        return user_id if isinstance(user_id, str) and user_id else None

    @property
    def is_leader(self) -> bool:
        return bool(self.member and self.member.active and self.member.is_leader)

    @property
    def recipient(self) -> Recipient | None:
        """The chat this event came from, as a push recipient."""
        if self.group is not None:
            return Recipient.of_group(self.group)
        if self.person is not None and self.chat_kind is ChatKind.USER:
            return Recipient.of_person(self.person)
        return None

    def reply(
        self, messages: list[dict], purpose: Purpose = Purpose.COMMAND, fallback_push: bool = False
    ) -> None:
        """Answer by reply (free).  With ``fallback_push`` the message is
        important enough to push if the reply token no longer works."""
        recipient = self.recipient
        row = add_reply(
            self.reply_token, messages, purpose, self.now, self.received_at, recipient, fallback_push
        )
        if row is None and fallback_push and recipient is not None:
            row = add_push(recipient, messages, purpose, self.now)
        if row is not None:
            self.queued.append(row)

    def push(self, messages: list[dict], purpose: Purpose, round=None) -> None:
        self.queued.append(add_push(self.recipient, messages, purpose, self.now, round=round))
