"""Round state: who has answered, who has not.  Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MemberView:
    member_id: int
    name: str
    registered_at: datetime


@dataclass(frozen=True)
class Tally:
    answered: list[MemberView]
    unanswered: list[MemberView]
    need_help: list[MemberView]

    @property
    def everyone_answered(self) -> bool:
        return not self.unanswered


def tally(members: list[MemberView], answers: dict[int, str]) -> Tally:
    """Split the registered ``members`` by their answer (member_id -> kind).

    Members are listed in registration order so the summary reads the same
    every time.  "help" answers count as answered (the person is reachable)
    and are also listed in ``need_help``."""
    ordered = sorted(members, key=lambda m: (m.registered_at, m.member_id))
    answered = [m for m in ordered if m.member_id in answers]
    unanswered = [m for m in ordered if m.member_id not in answers]
    need_help = [m for m in ordered if answers.get(m.member_id) == "help"]
    return Tally(answered, unanswered, need_help)


def month_start(now_local: datetime) -> datetime:
    """Start of ``now_local``'s calendar month, same tzinfo."""
    return now_local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
