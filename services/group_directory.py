"""The organisation's groups: the list with search and filters, and one
group's page.  Every query is scoped to the organisation; a group of another
one is simply not found (the page answers 404).

Names appear only where the group's leader agreed (``Group.names_shared``);
elsewhere members are counts.  見守り are listed only when the person linked
their own 見守り to the organisation (/団体 CODE), so their names show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import JOIN, Case, fn

from domain.areas import area_by_code
from domain.kinds import UNRESOLVED_ESCALATION_STATES
from domain.names import clean_name
from domain.schedule import Schedule, ScheduleError
from models import (
    Answer,
    Contact,
    Escalation,
    Group,
    Member,
    Person,
    QueueItem,
    Round,
    Watch,
    naive,
    utc,
)

PAGE = 50
LAST_ANSWER = {"7": "7日以上回答なし", "30": "30日以上回答なし"}
RECENT_ROUNDS = 30


def area_name(code: str | None) -> str:
    if not code:
        return "未設定"
    area = area_by_code(code)
    return area.label if area else code


def schedule_text(spec: str | None) -> str:
    if not spec:
        return "未設定"
    try:
        return Schedule.from_spec(spec).describe()
    except (ScheduleError, ValueError, IndexError):
        return spec


def org_areas(org_id: int) -> list[tuple[str, str]]:
    """(code, name) of the areas the organisation's groups are in."""
    codes = (
        Group.select(Group.area_code)
        .where((Group.organisation == org_id) & Group.area_code.is_null(False))
        .distinct()
        .tuples()
    )
    return sorted(((code, area_name(code)) for (code,) in codes), key=lambda pair: pair[1])


@dataclass
class Filters:
    q: str = ""
    area: str = ""
    last_answer: str = ""  # "" | "7" | "30"
    paused: str = ""  # "" | "yes" | "no"
    page: int = 1


@dataclass(frozen=True)
class GroupRow:
    id: int
    area_code: str | None
    area: str
    schedule: str
    paused: bool
    member_count: int | None
    registered: int
    last_answer_at: datetime | None
    names_shared: bool


def _answered_since(cutoff: datetime):
    """Groups with an answer since ``cutoff`` (a subquery of group ids)."""
    return (
        Round.select(Round.group)
        .join(Answer)
        .where((Round.opened_at >= cutoff) & (Answer.answered_at >= cutoff))
        .distinct()
    )


def list_groups(org_id: int, filters: Filters, now: datetime) -> tuple[list[GroupRow], int]:
    """One page of the organisation's active groups and the number matching."""
    where = (Group.organisation == org_id) & Group.active
    if filters.area:
        where &= Group.area_code == filters.area
    if filters.paused in ("yes", "no"):
        where &= Group.paused == (filters.paused == "yes")
    if filters.last_answer in LAST_ANSWER:
        cutoff = naive(now - timedelta(days=int(filters.last_answer)))
        where &= Group.id.not_in(_answered_since(cutoff))
    q = filters.q.strip()
    if q:
        # A group number, or part of an area's name.
        codes = [code for code, name in org_areas(org_id) if q in name]
        match = Group.area_code.in_(codes) if codes else None
        if q.isdigit():
            match = (Group.id == int(q)) | match if match is not None else Group.id == int(q)
        if match is None:
            return [], 0
        where &= match
    total = Group.select().where(where).count()
    page = max(filters.page, 1)
    groups = list(Group.select().where(where).order_by(Group.id).paginate(page, PAGE))
    ids = [g.id for g in groups]
    registered = dict(
        Member.select(Member.group, fn.COUNT(Member.id))
        .where(Member.group.in_(ids) & Member.active)
        .group_by(Member.group)
        .tuples()
    )
    last = dict(
        Round.select(Round.group, fn.MAX(Answer.answered_at))
        .join(Answer)
        .where(Round.group.in_(ids))
        .group_by(Round.group)
        .tuples()
    )
    rows = [
        GroupRow(
            id=g.id,
            area_code=g.area_code,
            area=area_name(g.area_code),
            schedule=schedule_text(g.schedule),
            paused=g.paused,
            member_count=g.member_count,
            registered=registered.get(g.id, 0),
            last_answer_at=utc(last.get(g.id)),
            names_shared=g.names_shared,
        )
        for g in groups
    ]
    return rows, total


def group_of(org_id: int, group_id: int) -> Group | None:
    return Group.get_or_none((Group.id == group_id) & (Group.organisation == org_id))


@dataclass(frozen=True)
class RoundRow:
    id: int
    kind: str
    status: str
    opened_at: datetime
    expected: int
    answered: int
    help: int

    @property
    def rate(self) -> float | None:
        return min(self.answered / self.expected, 1.0) if self.expected else None


@dataclass(frozen=True)
class MemberRow:
    name: str | None  # None unless the group shares names
    is_leader: bool
    registered_at: datetime


def recent_rounds(group: Group, limit: int = RECENT_ROUNDS) -> list[RoundRow]:
    """The last ``limit`` rounds, newest first, with the members registered
    when each opened and how many of them answered."""
    rounds = list(
        Round.select(Round.id, Round.kind, Round.status, Round.opened_at)
        .where(Round.group == group.id)
        .order_by(Round.opened_at.desc())
        .limit(limit)
    )
    if not rounds:
        return []
    tallies = {
        round_id: (int(n), int(h or 0))
        for round_id, n, h in Answer.select(
            Answer.round,
            fn.COUNT(Answer.id),
            fn.SUM(Case(None, [(Answer.kind == "help", 1)], 0)),
        )
        .where(Answer.round.in_([r.id for r in rounds]))
        .group_by(Answer.round)
        .tuples()
    }
    spans = list(Member.select(Member.registered_at, Member.left_at).where(Member.group == group.id).tuples())
    found = []
    for r in rounds:
        expected = sum(
            1 for joined, left in spans if joined <= r.opened_at and (left is None or left > r.opened_at)
        )
        answered, helped = tallies.get(r.id, (0, 0))
        found.append(RoundRow(r.id, r.kind, r.status, utc(r.opened_at), expected, answered, helped))
    return found


def members(group: Group) -> list[MemberRow]:
    rows = (
        Member.select(Member, Person)
        .join(Person, JOIN.INNER)
        .where((Member.group == group.id) & Member.active)
        .order_by(Member.registered_at, Member.id)
    )
    return [
        MemberRow(m.name if group.names_shared else None, m.is_leader, utc(m.registered_at)) for m in rows
    ]


def queue_items_of(group: Group, limit: int = 20) -> list[QueueItem]:
    return list(
        QueueItem.select()
        .where(QueueItem.group == group.id)
        .order_by(QueueItem.raised_at.desc())
        .limit(limit)
    )


# -- 見守り (one-to-one) linked to the organisation ---------------------------------------
WATCH_STATES = {"active": "動作中", "paused": "停止中", "stopped": "ブロックにより停止"}
WATCH_LIMIT = 500


@dataclass(frozen=True)
class WatchRow:
    id: int
    name: str  # shown: the person linked their 見守り to this organisation themselves
    schedule: str
    state: str
    last_ok_at: datetime | None
    contacts: int
    open_escalation: bool


def list_watches(org_id: int, q: str = "", limit: int = WATCH_LIMIT) -> tuple[list[WatchRow], int]:
    """The organisation's 見守り (linked by the person's /団体 CODE), with
    their contacts counted and whether an escalation is unresolved; three
    queries whatever the number.  Returns (rows, total)."""
    query = (
        Watch.select(Watch, Person)
        .join(Person, on=(Watch.person == Person.id))
        .where(Watch.organisation == org_id)
        .order_by(Watch.id)
    )
    needle = q.strip()
    rows = [w for w in query if not needle or needle in (w.name or w.person.display_name or "")]
    total = len(rows)
    rows = rows[:limit]
    ids = [w.id for w in rows] or [0]
    contacts = dict(
        Contact.select(Contact.watch, fn.COUNT(Contact.id))
        .where(Contact.watch.in_(ids))
        .group_by(Contact.watch)
        .tuples()
    )
    escalated = {
        watch_id
        for (watch_id,) in Escalation.select(Escalation.watch)
        .where(Escalation.watch.in_(ids) & Escalation.state.in_(UNRESOLVED_ESCALATION_STATES))
        .tuples()
    }
    return [
        WatchRow(
            id=w.id,
            name=clean_name(w.name or w.person.display_name) or "（お名前なし）",
            schedule=schedule_text(w.schedule),
            state=WATCH_STATES.get(w.state, w.state),
            last_ok_at=utc(w.last_ok_at),
            contacts=int(contacts.get(w.id, 0)),
            open_escalation=w.id in escalated,
        )
        for w in rows
    ], total
