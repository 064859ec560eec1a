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
    # 見守り (one-to-one): what the watched person and their contacts read.
    WATCH_CHECK = "watch-check"  # the check at the person's time
    WATCH_RESEND = "watch-resend"  # the same check, sent once more
    WATCH_ESCALATION = "watch-escalation"  # contacts told: no answer
    WATCH_REMINDER = "watch-reminder"  # contacts told again: nobody said they would check
    WATCH_CLAIMED = "watch-claimed"  # the other contacts told who is checking
    WATCH_OUTCOME = "watch-outcome"  # the other contacts told what was found
    WATCH_ALL_CLEAR = "watch-all-clear"  # a late OK: contacts told the person answered
    WATCH_ENDED = "watch-ended"  # the watch stopped or was deleted: contacts told
    WATCH_ABSENCE = "watch-absence"  # /お休み shared with the contacts by the person's choice
    CONTACT = "contact"  # a contact link made or ended: the other side told


class WatchState(StrEnum):
    """A person's 見守り (one-to-one daily check)."""

    ACTIVE = "active"  # checks at the chosen time (none until a time is chosen)
    PAUSED = "paused"  # /見守り 停止
    STOPPED = "stopped"  # the person blocked the bot (unfollow); /見守り 再開 starts it again


class CheckKind(StrEnum):
    ROUTINE = "routine"  # at the person's time; resent, then escalated
    TRIAL = "trial"  # /確認, to try it: never resent nor escalated


class CheckState(StrEnum):
    """open -> answered | escalated | missed | excused | ended; escalated ->
    answered (a late OK) | resolved (a contact reported safe or emergency)
    | missed | ended."""

    OPEN = "open"  # sent, waiting for OK
    ESCALATED = "escalated"  # no OK in time: the contacts were told; still waiting
    ANSWERED = "answered"  # the person said OK (in time or late)
    RESOLVED = "resolved"  # a contact found them safe, or called for help
    MISSED = "missed"  # the next check came without an answer to this one
    EXCUSED = "excused"  # the person was away (/お休み) when it would have escalated
    ENDED = "ended"  # the watch was paused, stopped or deleted


OPEN_CHECK_STATES = (CheckState.OPEN, CheckState.ESCALATED)


class EscalationState(StrEnum):
    """open -> claimed -> resolved; open | claimed -> answered (the person's
    own late OK) | superseded (a newer escalation of the same watch) |
    ended (the watch stopped or was deleted)."""

    OPEN = "open"  # contacts told; nobody has said 「わたしが確認します」 yet
    CLAIMED = "claimed"  # a contact is checking (their outcome may be 連絡がつかない so far)
    RESOLVED = "resolved"  # the contact found them safe, or called 119 / the police
    ANSWERED = "answered"  # the person answered OK after all
    SUPERSEDED = "superseded"  # the next missed check escalated again: that one stands
    ENDED = "ended"  # the watch stopped (unfollow) or was deleted (/退会)


UNRESOLVED_ESCALATION_STATES = (EscalationState.OPEN, EscalationState.CLAIMED)


class EscalationOutcome(StrEnum):
    """What the contact who checked reports."""

    SAFE = "safe"  # 無事でした
    UNREACHABLE = "unreachable"  # 連絡がつかない (not final: they keep trying)
    EMERGENCY = "emergency"  # 救急・警察に連絡した

    @property
    def is_final(self) -> bool:
        return self is not EscalationOutcome.UNREACHABLE


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
