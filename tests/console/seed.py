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
    from services import clock

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


def two_organisations(now: datetime) -> dict:
    """みどり (midori) and 北区 (kita), each with operators, groups, an open
    round with a 助けが必要 already in the queue, and a notice.  Returns the
    ids and the words that belong to each, for tenancy checks."""
    from models import NoticeRecord
    from services import console_queue

    found: dict = {}
    for slug, name, area, people, notice in (
        (
            "midori",
            "みどり市社会福祉協議会",
            "1421200",
            ("佐藤花子", "鈴木一郎", "田中次郎"),
            "みどりの防災訓練のお知らせ",
        ),
        ("kita", "北区自治会連合会", "1410900", ("北川春子", "北山夏男"), "北区の避難所のお知らせ"),
    ):
        organisation = org(slug, name, now=now)
        admin = operator(organisation, f"admin@{slug}.example.jp", "admin", now, name=f"{slug}管理者")
        staff = operator(organisation, f"staff@{slug}.example.jp", "staff", now, name=f"{slug}職員")
        shared = group(
            organisation,
            joined_at=now - timedelta(days=60),
            area=area,
            member_count=len(people) + 1,
            names_shared=True,
        )
        private = group(organisation, joined_at=now - timedelta(days=60), area=area, member_count=3)
        members = [
            member(shared, person, registered_at=now - timedelta(days=50), leader=(i == 0))
            for i, person in enumerate(people)
        ]
        seed_private = member(private, f"{slug}の非公開の方", registered_at=now - timedelta(days=50))
        open_round = round_(shared, now - timedelta(hours=3), status="open")
        answer(open_round, members[0], timedelta(minutes=3))
        answer(open_round, members[1], timedelta(minutes=5), "help")
        private_round = round_(private, now - timedelta(hours=2), kind="emergency", status="open")
        answer(private_round, seed_private, timedelta(minutes=4), "help")
        console_queue.collect(organisation.id, now)
        items = [i.id for i in organisation.queue_items.order_by(console_queue.QueueItem.id)]
        record = NoticeRecord.create(
            organisation=organisation,
            digest=f"{slug:0<64}"[:64],
            text=notice,
            areas=area,
            groups=2,
            cost=5,
            operator=admin,
            created_at=naive(now - timedelta(days=1)),
        )
        found[slug] = {
            "org": organisation.id,
            "admin": admin.id,
            "staff": staff.id,
            "groups": [shared.id, private.id],
            "items": items,
            "notice": record.id,
            "words": [*people, f"{slug}の非公開の方", notice, admin.email, staff.email],
        }
    return found
