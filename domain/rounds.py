"""Round state: the roll call of a check — who is fine, who asked for help,
who is away, who has not answered, and who is on the 名簿 without LINE.  Pure.

Counts always add up:

    registered = ok + need_help + away + unanswered      (LINE members who joined)
    roll call  = registered + offline                      (+ the 名簿 without LINE)
    LINE group = registered + not_joined                   (when LINE told us its size)

Someone who asked for help is never counted as confirmed; someone away
(/お休み) is never counted as unanswered; someone on the 名簿 is confirmed only
through the follow-up loop, so a summary always lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from domain.absence import is_away
from domain.kinds import AnswerKind


@dataclass(frozen=True)
class MemberView:
    member_id: int
    name: str
    registered_at: datetime
    # The last day of their absence (/お休み), if they set one.
    away_until: date | None = None


@dataclass(frozen=True)
class OfflineView:
    """Someone on the 名簿 who is not on LINE (/名簿 追加)."""

    offline_id: int
    name: str
    added_at: datetime


@dataclass(frozen=True)
class Tally:
    ok: list[MemberView]
    need_help: list[MemberView]
    away: list[MemberView]
    unanswered: list[MemberView]
    offline: list[OfflineView] = field(default_factory=list)
    # Members of the LINE group who have not tapped 参加する (None: unknown).
    not_joined: int | None = None

    @property
    def registered(self) -> int:
        return len(self.ok) + len(self.need_help) + len(self.away) + len(self.unanswered)

    @property
    def roll(self) -> int:
        """Everyone the check is about: registered members and the 名簿."""
        return self.registered + len(self.offline)

    @property
    def answered(self) -> list[MemberView]:
        """Everyone who answered, OK or help."""
        return self.ok + self.need_help

    @property
    def unconfirmed(self) -> int:
        """How many the summary asks neighbours to check on."""
        return len(self.need_help) + len(self.unanswered) + len(self.offline)

    @property
    def everyone_confirmed(self) -> bool:
        return self.unconfirmed == 0

    @property
    def everyone_answered(self) -> bool:
        return not self.unanswered


def tally(
    members: list[MemberView],
    answers: dict[int, str],
    offline: list[OfflineView] | None = None,
    member_count: int | None = None,
    day: date | None = None,
) -> Tally:
    """Split the registered ``members`` by their answer (member_id -> kind).

    Members are listed in registration order so the summary reads the same
    every time.  An answer counts whatever the absence (someone away who
    says OK is fine); only those who did not answer are away (their absence
    covers ``day``, the day they were asked, in the bot's time zone) or
    unanswered.  ``member_count`` is LINE's count of the group (bot
    excluded): those beyond the registered have not joined."""
    ordered = sorted(members, key=lambda m: (m.registered_at, m.member_id))
    ok = [m for m in ordered if answers.get(m.member_id) == AnswerKind.OK]
    need_help = [m for m in ordered if answers.get(m.member_id) == AnswerKind.HELP]
    silent = [m for m in ordered if m.member_id not in answers]
    away = [m for m in silent if day is not None and is_away(m.away_until, day)]
    away_ids = {m.member_id for m in away}
    unanswered = [m for m in silent if m.member_id not in away_ids]
    listed = sorted(offline or [], key=lambda o: (o.added_at, o.offline_id))
    not_joined = None if member_count is None else max(0, member_count - len(ordered))
    return Tally(ok, need_help, away, unanswered, listed, not_joined)


def mostly_unregistered(registered: int, member_count: int | None) -> bool:
    """Fewer than half of the LINE group have joined: a check would miss most."""
    return member_count is not None and member_count > 0 and registered * 2 < member_count


def month_start(now_local: datetime) -> datetime:
    """Start of ``now_local``'s calendar month, same tzinfo."""
    return now_local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
