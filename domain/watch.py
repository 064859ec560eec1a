"""見守り rules: one person's own daily check, their contacts and the codes
that link them.  Pure: no Flask, no LINE, no database; ``now`` and ``today``
are arguments.

The timeline of one check (durations from config: WATCH_RESEND_AFTER,
WATCH_ESCALATE_AFTER, WATCH_FOLLOWUP_AFTER)::

    opened ──resend_after──▶ sent once more ──(escalate_after from opening)──▶
    contacts told ──followup_after, nobody said 「わたしが確認します」──▶ told again

An OK at any point, however late, closes the check and whatever it started.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.schedule import Schedule, parse_schedule

MAX_CONTACTS = 3
CODE_DIGITS = 6
INVITATION_LIFETIME = timedelta(hours=72)
# A 6-digit code is one in a million: five wrong tries a day per sender
# make guessing a live one hopeless (and each try is a row we can see).
WRONG_CODE_LIMIT = 5
WRONG_CODE_WINDOW = timedelta(hours=24)
# The times the greeting offers as buttons (every day at ...).
PRESET_TIMES = ((7, 0), (9, 0), (12, 0), (19, 0))
# When money is short, what one check that may still escalate must keep in
# hand per contact: the escalation itself and one reminder.
ESCALATION_RESERVE_PER_CONTACT = 2

EXAMPLES = (
    "/見守り 毎日 9:00",
    "/見守り 2日ごと 10:00",
    "/見守り 3日ごと 8:00",
    "/見守り 毎週月水金 9:00",
)

_PAUSE_WORDS = frozenset({"停止", "止める", "とめる", "休止", "pause", "stop"})
_RESUME_WORDS = frozenset({"再開", "さいかい", "resume", "start"})
_END_WORDS = frozenset({"解除", "やめる", "終了", "おわり", "end", "remove"})
# /お休み 3日 連絡先にも知らせる: the person chooses to tell their contacts.
_SHARE_SUFFIXES = (
    "連絡先にも知らせる",
    "連絡先に知らせる",
    "連絡先にも伝える",
    "連絡先に伝える",
    "知らせる",
    "伝える",
)


class WatchCommand(StrEnum):
    SHOW = "show"
    PAUSE = "pause"
    RESUME = "resume"
    SCHEDULE = "schedule"


@dataclass(frozen=True)
class WatchRequest:
    """What /見守り asked for; ``schedule`` for SCHEDULE."""

    command: WatchCommand
    schedule: Schedule | None = None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip().lower()


def parse_watch_argument(arg: str, today: date) -> WatchRequest:
    """/見守り's argument: nothing (show), 停止, 再開, or a schedule in the
    words groups use (「毎日 9:00」, 「2日ごと 20:00」, 「毎週月水金 8:30」).
    Raises ScheduleError for anything else."""
    folded = _fold(arg)
    if not folded:
        return WatchRequest(WatchCommand.SHOW)
    if folded in _PAUSE_WORDS:
        return WatchRequest(WatchCommand.PAUSE)
    if folded in _RESUME_WORDS:
        return WatchRequest(WatchCommand.RESUME)
    return WatchRequest(WatchCommand.SCHEDULE, parse_schedule(arg, today))


def every_day_at(hour: int, minute: int, today: date) -> Schedule:
    """The schedule a time button means."""
    return parse_schedule(f"毎日 {hour}:{minute:02d}", today)


def is_end_word(arg: str) -> bool:
    """/連絡先 解除 (or やめる, 終了 ...)."""
    return _fold(arg) in _END_WORDS


def split_share(arg: str) -> tuple[str, bool]:
    """/お休み's argument without a trailing 「連絡先にも知らせる」, and whether
    it was there: contacts hear of an absence only when the person says so."""
    text = unicodedata.normalize("NFKC", arg or "").strip()
    for suffix in _SHARE_SUFFIXES:
        if text.endswith(suffix):
            return text[: -len(suffix)].strip(), True
    return text, False


# -- checks ------------------------------------------------------------------
@dataclass(frozen=True)
class Deadlines:
    resend_at: datetime
    escalate_at: datetime


def check_deadlines(opened_at: datetime, resend_after: float, escalate_after: float) -> Deadlines:
    """When a check is sent again and when the contacts are told, both
    counted from the first sending."""
    if escalate_after <= resend_after:
        raise ValueError("the escalation must come after the resend")
    return Deadlines(
        opened_at + timedelta(seconds=resend_after), opened_at + timedelta(seconds=escalate_after)
    )


# -- invitation codes ----------------------------------------------------------
_SEPARATORS = re.compile(r"[\s\-ー－‐・.]")


def read_code(text: str) -> str | None:
    """A 6-digit code as a contact may send it (「１２３ ４５６」, 「123-456」),
    or None when the text is not one."""
    folded = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    return folded if len(folded) == CODE_DIGITS and folded.isascii() and folded.isdigit() else None


def new_code() -> str:
    """A fresh code from the operating system's randomness."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_locked(wrong_attempts: int) -> bool:
    """Whether a sender who got ``wrong_attempts`` codes wrong within
    WRONG_CODE_WINDOW must wait before trying again."""
    return wrong_attempts >= WRONG_CODE_LIMIT


def invitation_expiry(created_at: datetime) -> datetime:
    return created_at + INVITATION_LIFETIME


# -- money ---------------------------------------------------------------------
def affordable(remaining: int, wanted: int, reserve: int) -> int:
    """How many of ``wanted`` one-message pushes may be sent while keeping
    ``reserve`` messages for escalations: escalations go first."""
    return max(0, min(wanted, remaining - reserve))


def escalation_reserve(contacts: int) -> int:
    return contacts * ESCALATION_RESERVE_PER_CONTACT
