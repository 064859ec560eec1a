"""The Today page: the organisation's open checks and earthquake rounds with
live counts.  Three grouped queries whatever the number of rounds.

For each open round: answered (OK or 助けが必要), help, not yet (registered
members who have not answered) and not joined (people in the LINE group who
never tapped 参加する: LINE's member count less the registered members).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import JOIN, SQL, Case, fn

from models import Answer, Group, Member, Round, utc

KINDS = {"emergency": "地震", "drill": "訓練", "manual": "臨時の確認", "routine": "定時の確認"}
# Help first, then earthquakes, then the rounds with the fewest answers.
_KIND_ORDER = {"emergency": 0, "drill": 1, "manual": 2, "routine": 3}
SHOWN = 100


@dataclass(frozen=True)
class OpenRound:
    round_id: int
    group_id: int
    kind: str
    title: str | None
    area_code: str | None
    opened_at: datetime
    summary_due_at: datetime
    answered: int
    help: int
    not_yet: int
    not_joined: int

    @property
    def registered(self) -> int:
        return self.answered + self.not_yet

    @property
    def rate(self) -> float | None:
        return self.answered / self.registered if self.registered else None


@dataclass(frozen=True)
class Today:
    rounds: list[OpenRound]  # the SHOWN most urgent
    total_rounds: int
    answered: int
    help: int
    not_yet: int
    not_joined: int
    by_kind: dict[str, int]


def open_rounds(org_id: int) -> list[OpenRound]:
    registered = (
        Member.select(Member.group, fn.COUNT(Member.id).alias("n"))
        .join(Group)
        .where(Member.active & (Group.organisation == org_id))
        .group_by(Member.group)
    )
    counts = {group_id: n for group_id, n in registered.tuples()}
    answers = (
        Answer.select(
            Answer.round,
            fn.COUNT(Answer.id),
            fn.SUM(Case(None, [(Answer.kind == "help", 1)], 0)),
        )
        .join(Round)
        .join(Group)
        .where((Round.status == "open") & (Group.organisation == org_id))
        .group_by(Answer.round)
        .tuples()
    )
    answered = {round_id: (int(n), int(h or 0)) for round_id, n, h in answers}
    rows = (
        Round.select(
            Round.id,
            Round.group,
            Round.kind,
            Round.title,
            Group.area_code,
            Round.opened_at,
            Round.summary_due_at,
            Group.member_count,
        )
        .join(Group, JOIN.INNER)
        .where((Round.status == "open") & (Group.organisation == org_id))
        .order_by(SQL("1"))
        .tuples()
    )
    found = []
    for round_id, group_id, kind, title, area, opened, due, member_count in rows:
        n_answered, n_help = answered.get(round_id, (0, 0))
        registered_now = counts.get(group_id, 0)
        found.append(
            OpenRound(
                round_id=round_id,
                group_id=group_id,
                kind=kind,
                title=title,
                area_code=area,
                opened_at=utc(opened),
                summary_due_at=utc(due),
                answered=n_answered,
                help=n_help,
                # Someone who answered and then left still counts as answered.
                not_yet=max(registered_now - n_answered, 0),
                not_joined=max((member_count or 0) - registered_now, 0),
            )
        )
    return found


def today(org_id: int) -> Today:
    rounds = open_rounds(org_id)
    rounds.sort(
        key=lambda r: (
            -r.help,
            _KIND_ORDER.get(r.kind, 9),
            r.rate if r.rate is not None else 2.0,
            r.opened_at,
        )
    )
    by_kind: dict[str, int] = {}
    for r in rounds:
        by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
    return Today(
        rounds=rounds[:SHOWN],
        total_rounds=len(rounds),
        answered=sum(r.answered for r in rounds),
        help=sum(r.help for r in rounds),
        not_yet=sum(r.not_yet for r in rounds),
        not_joined=sum(r.not_joined for r in rounds),
        by_kind=by_kind,
    )
