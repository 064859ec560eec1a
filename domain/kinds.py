"""The names of kinds and states, in one place.

Each is a ``StrEnum``: the database stores the plain string (so existing rows
and SQL read the same), and code compares and builds with the named member
rather than a bare literal that a typo would silently break.
"""

from __future__ import annotations

from enum import StrEnum


class RoundKind(StrEnum):
    ROUTINE = "routine"  # the group's schedule
    MANUAL = "manual"  # a leader's /確認
    EMERGENCY = "emergency"  # started by a JMA telegram
    DRILL = "drill"  # a leader's /訓練

    @property
    def is_emergency_style(self) -> bool:
        """Emergency and drill rounds ask OK or 助けが必要 and summarise sooner."""
        return self in (RoundKind.EMERGENCY, RoundKind.DRILL)


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class AnswerKind(StrEnum):
    OK = "ok"
    HELP = "help"  # 助けが必要


class OutboxKind(StrEnum):
    PUSH = "push"  # costs messages; carries an X-Line-Retry-Key
    REPLY = "reply"  # free; carries a single-use reply token


class OutboxState(StrEnum):
    """pending -> sending -> sent | failed | expired | cancelled"""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


FINAL_OUTBOX_STATES = (OutboxState.SENT, OutboxState.FAILED, OutboxState.EXPIRED, OutboxState.CANCELLED)


class RecipientKind(StrEnum):
    """Whom a push goes to, which decides what it costs (one message per
    member of a group, one for a person)."""

    GROUP = "group"
    USER = "user"


class Purpose(StrEnum):
    """Why a message was sent: for statistics, logs and tests, never shown."""

    GREETING = "greeting"  # the bot joined a group / was added as a friend
    WELCOME = "welcome"  # someone joined a group the bot is in
    REGISTERED = "registered"  # 参加する
    PLEASE_JOIN = "please-join"  # an answer from someone not registered
    PROMPT = "prompt"  # a safety check
    ACK = "ack"  # thanks for an OK
    HELP_ALERT = "help-alert"  # 助けが必要: the alert to the group
    CLOSED = "closed"  # an answer after the round closed
    SUMMARY = "summary"  # who has not answered
    CORRECTION = "correction"  # JMA withdrew a report
    NOTICE = "notice"  # a leader's /お知らせ or an organisation's notice
    USAGE = "usage"  # /ヘルプ
    STATUS = "status"  # /状況
    COMMAND = "command"  # any other command's answer
    REFUSAL = "refusal"  # a leader-only command from a member
    FOLLOW_UP = "follow-up"  # someone claims a follow-up, or records its outcome
    LEADER_SUMMARY = "leader-summary"  # the names of a summary, to a leader one-to-one
    REMINDER = "reminder"  # follow-ups nobody has claimed, raised to the leaders
    ESCALATION = "escalation"  # 連絡がつかない / 助けが必要だった, to the leaders at once
    ONE_TO_ONE = "one-to-one"  # a message in a one-to-one chat


class FollowUpKind(StrEnum):
    """Why someone is followed up after a summary."""

    UNANSWERED = "unanswered"  # a LINE member who did not answer
    HELP = "help"  # asked for help (助けが必要, or typed 「助けて」)
    OFFLINE = "offline"  # on the 名簿 without LINE: confirmed only by a neighbour


class FollowUpState(StrEnum):
    """open -> claimed -> done; claimed -> escalated (連絡がつかない) -> done.

    A follow-up is *live* until it is done.  Anyone may claim an open one;
    the claimer or a leader records the outcome."""

    OPEN = "open"  # nobody has said they will go yet
    CLAIMED = "claimed"  # someone is going (claimed_by)
    ESCALATED = "escalated"  # 連絡がつかない: the leaders were told; still awaits an outcome
    DONE = "done"


LIVE_FOLLOW_UP_STATES = (FollowUpState.OPEN, FollowUpState.CLAIMED, FollowUpState.ESCALATED)


class FollowUpOutcome(StrEnum):
    """How a follow-up ended (or, for UNREACHABLE, where it stands)."""

    SAFE = "safe"  # 無事でした
    UNREACHABLE = "unreachable"  # 連絡がつかない (state escalated)
    NEEDED_HELP = "needed-help"  # 助けが必要だった
    SELF_OK = "self-ok"  # the person answered OK themselves, late
    SUPERSEDED = "superseded"  # a newer summary asks about them again (superseded_by)
    WITHDRAWN = "withdrawn"  # they left the group or the 名簿


# The outcomes a member records with the buttons after claiming.
RECORDED_OUTCOMES = (FollowUpOutcome.SAFE, FollowUpOutcome.UNREACHABLE, FollowUpOutcome.NEEDED_HELP)


class NamesAudience(StrEnum):
    """Who reads the names in a summary (/設定 名前 …)."""

    GROUP = "group"  # みんな: the group (the default)
    LEADERS = "leaders"  # リーダーだけ: each leader one-to-one; the group gets counts


class ChatKind(StrEnum):
    """Where a webhook event happened (LINE's ``source.type``)."""

    GROUP = "group"
    USER = "user"  # a one-to-one chat with the bot
    ROOM = "room"  # a multi-person chat without a group (not supported)
