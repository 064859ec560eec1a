"""Data for the console tests, made through the models (no LINE needed).

Two organisations: みどり市社会福祉協議会 (midori) and 北区自治会連合会 (kita), each
with an admin and staff operator.  The personas of the rest of the suite are
residents: 佐藤花子 leads a group, 鈴木一郎 and 田中次郎 are members.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from models import Answer, Group, Member, Operator, Organisation, Person, Round, naive
from services.operators import create_operator

PASSWORD = "correct horse battery staple"
_ids = itertools.count(1)


def org(
    slug: str = "midori", name: str = "みどり市社会福祉協議会", now: datetime | None = None
) -> Organisation:
    return Organisation.create(slug=slug, name=name, kind="council", created_at=naive(now or datetime.now()))


def operator(
    organisation: Organisation, email: str, role: str = "staff", now: datetime | None = None, name: str = ""
) -> Operator:
    created, _ = create_operator(organisation, email, role, now or _now(), name=name, password=PASSWORD)
    return created


def _now() -> datetime:
    from jobs import clock

    return clock.now()


def group(
    organisation: Organisation | None,
    *,
    joined_at: datetime,
    area: str | None = "1421200",
    member_count: int | None = None,
    names_shared: bool = False,
    schedule: str | None = "every 1 2026-01-01 09:00",
    paused: bool = False,
) -> Group:
    return Group.create(
        line_group_id=f"C{next(_ids):032x}",
        organisation=organisation,
        joined_at=naive(joined_at),
        member_count=member_count,
        area_code=area,
        names_shared=names_shared,
        schedule=schedule,
        paused=paused,
    )


def member(
    grp: Group,
    name: str,
    *,
    registered_at: datetime,
    leader: bool = False,
    left_at: datetime | None = None,
    person: Person | None = None,
) -> Member:
    if person is None:
        person = Person.create(
            line_user_id=f"U{next(_ids):032x}", display_name=name, created_at=naive(registered_at)
        )
    return Member.create(
        group=grp,
        person=person,
        is_leader=leader,
        active=left_at is None,
        registered_at=naive(registered_at),
        left_at=naive(left_at) if left_at else None,
    )


def round_(
    grp: Group,
    opened_at: datetime,
    *,
    kind: str = "routine",
    status: str = "closed",
    delay: timedelta = timedelta(hours=23),
) -> Round:
    return Round.create(
        group=grp,
        kind=kind,
        status=status,
        opened_at=naive(opened_at),
        summary_due_at=naive(opened_at + delay),
        closed_at=naive(opened_at + delay) if status == "closed" else None,
    )


def answer(rnd: Round, mem: Member, after: timedelta, kind: str = "ok") -> Answer:
    from models import utc

    return Answer.create(round=rnd, member=mem, kind=kind, answered_at=naive(utc(rnd.opened_at) + after))
