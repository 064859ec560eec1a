"""The console's statistics page for a big organisation.

Target (the console issue): the statistics page renders in <= 300 ms for an
organisation with 5,000 groups and a year of rounds.  Seeded through the
models: GROUPS groups with MEMBERS registered members each, one routine
round a day for DAYS days (most members answer, about 1 in 100 asks for
help), a few earthquake rounds, one prompt push per round (the month's
message use), and a queue of handled help requests.

Printed, from one run on one database:
- baseline: a console page that reads almost nothing (the 見守り page) through
  the same app, session and template layer, so the ratio is not the machine;
- cold: the first statistics render, which computes all 12 months with the
  SQL aggregates and keeps them (StatMonth);
- warm: the page as every later visit renders it (median of RUNS);
- current month stale: a render after FRESH has passed, which recomputes the
  current month only.

Run:  .venv/bin/python bench/console_stats.py [GROUPS] [DAYS]
      BENCH_DATABASE_URL=postgresql://... for PostgreSQL.
"""

from __future__ import annotations

import os
import random
import statistics as stats
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import Settings
from models import (
    ALL_MODELS,
    Answer,
    Group,
    Member,
    Organisation,
    Outbox,
    Person,
    QueueItem,
    Round,
    create_schema,
    db,
    naive,
)

MEMBERS = 3
RUNS = 15
CHUNK = 5000


def insert(model, fields, rows) -> None:
    for start in range(0, len(rows), CHUNK):
        model.insert_many(rows[start : start + CHUNK], fields=fields).execute()


def populate(groups: int, days: int, now: datetime) -> Organisation:
    rng = random.Random(11)
    start = now - timedelta(days=days)
    with db.atomic():
        org = Organisation.create(
            slug="big", name="大きな市社会福祉協議会", kind="council", created_at=naive(start)
        )
        other = Organisation.create(slug="other", name="隣の町", kind="council", created_at=naive(start))
        insert(
            Group,
            [Group.line_group_id, Group.organisation, Group.joined_at, Group.member_count, Group.area_code],
            [
                (f"C{i:032x}", org.id if i < groups else other.id, naive(start), MEMBERS + 1, "1421200")
                for i in range(groups + 10)
            ],
        )
        group_ids = [
            g for (g,) in Group.select(Group.id).where(Group.organisation == org).order_by(Group.id).tuples()
        ]
        insert(
            Person,
            [Person.line_user_id, Person.display_name, Person.created_at],
            [(f"U{i:032x}", f"住民{i}", naive(start)) for i in range(groups * MEMBERS)],
        )
        people = [p for (p,) in Person.select(Person.id).order_by(Person.id).tuples()]
        insert(
            Member,
            [Member.group, Member.person, Member.registered_at],
            [
                (g, people[i * MEMBERS + k], naive(start))
                for i, g in enumerate(group_ids)
                for k in range(MEMBERS)
            ],
        )
    members = {}
    for member_id, group_id in Member.select(Member.id, Member.group).tuples():
        members.setdefault(group_id, []).append(member_id)
    for day in range(days):
        opened = start + timedelta(days=day, hours=rng.random())
        closed = day < days - 1
        with db.atomic():
            rows = [
                (
                    g,
                    "emergency" if day % 90 == 45 else "routine",
                    "closed" if closed else "open",
                    naive(opened),
                    naive(opened + timedelta(hours=23)),
                    naive(opened + timedelta(hours=23)) if closed else None,
                )
                for g in group_ids
            ]
            fields = [
                Round.group,
                Round.kind,
                Round.status,
                Round.opened_at,
                Round.summary_due_at,
                Round.closed_at,
            ]
            rounds = []
            for at in range(0, len(rows), CHUNK):
                rounds += list(
                    Round.insert_many(rows[at : at + CHUNK], fields=fields)
                    .returning(Round.id, Round.group)
                    .tuples()
                    .execute()
                )
            answers, pushes = [], []
            for round_id, group_id in rounds:
                for member_id in members[group_id]:
                    if rng.random() < 0.85:
                        kind = "help" if rng.random() < 0.01 else "ok"
                        answers.append(
                            (
                                round_id,
                                member_id,
                                kind,
                                naive(opened + timedelta(minutes=rng.expovariate(1 / 40))),
                            )
                        )
                pushes.append(
                    (
                        "push",
                        "prompt",
                        group_id,
                        round_id,
                        "[]",
                        "sent",
                        naive(opened),
                        naive(opened),
                        naive(opened + timedelta(hours=23)),
                        naive(opened),
                        MEMBERS + 1,
                    )
                )
            insert(Answer, [Answer.round, Answer.member, Answer.kind, Answer.answered_at], answers)
            insert(
                Outbox,
                [
                    Outbox.kind,
                    Outbox.purpose,
                    Outbox.group,
                    Outbox.round,
                    Outbox.messages,
                    Outbox.state,
                    Outbox.created_at,
                    Outbox.not_before,
                    Outbox.expires_at,
                    Outbox.sent_at,
                    Outbox.cost,
                ],
                pushes,
            )
    with db.atomic():
        helps = list(
            Answer.select(Answer.id, Answer.answered_at, Round.group, Member.person)
            .join(Round)
            .switch(Answer)
            .join(Member)
            .where(Answer.kind == "help")
            .tuples()
        )
        outcomes = ("reached", "visited", "emergency", "unreached")
        insert(
            QueueItem,
            [
                QueueItem.organisation,
                QueueItem.group,
                QueueItem.person,
                QueueItem.source_kind,
                QueueItem.source_id,
                QueueItem.raised_at,
                QueueItem.state,
                QueueItem.outcome,
                QueueItem.done_at,
                QueueItem.created_at,
            ],
            [
                (org.id, g, p, "help", a, at, "done", outcomes[a % 4], at + timedelta(hours=1), at)
                for a, at, g, p in helps
            ],
        )
    return org


def main() -> None:
    groups = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 365
    from app import create_app
    from services import clock, statistics
    from tests.console import seed

    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        settings = Settings(database_url=url, demo_clock=True)
        app = create_app(settings)
        if url.startswith("postgresql"):
            with db.connection_context():
                db.drop_tables(ALL_MODELS, safe=True, cascade=True)
                db.execute_sql('DROP TABLE IF EXISTS "schema_migration"')
        create_schema()
        now = clock.now()
        began = time.perf_counter()
        with db.connection_context():
            org = populate(groups, days, now)
            operator = seed.operator(org, "bench@big.example.jp", "admin")
            counts = {
                m.__name__: m.select().count() for m in (Group, Member, Round, Answer, Outbox, QueueItem)
            }
        seeded = time.perf_counter() - began
        print(
            f"database: {url.split(':', 1)[0]}; seeded in {seeded:.0f} s: "
            + ", ".join(f"{n:,} {k}" for k, n in counts.items())
        )

        web = app.test_client()
        token = web.get("/console/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        response = web.post(
            "/console/login", data={"email": operator.email, "password": seed.PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, response.status_code

        def timed(path: str) -> float:
            t = time.perf_counter()
            page = web.get(path)
            elapsed = time.perf_counter() - t
            assert page.status_code == 200, (path, page.status_code)
            return elapsed

        cold = timed("/console/statistics")
        warm, baseline = [], []
        for _ in range(RUNS):  # alternate, so both see the same machine
            baseline.append(timed("/console/watches"))
            warm.append(timed("/console/statistics"))
        clock.advance(int(statistics.FRESH.total_seconds()) + 1)
        stale = timed("/console/statistics")
        base, page = stats.median(baseline), stats.median(warm)
        print(f"baseline (見守り page): median {base * 1000:.1f} ms")
        print(f"statistics, cold (12 months computed): {cold * 1000:.0f} ms")
        print(
            f"statistics, warm: median {page * 1000:.1f} ms, worst {max(warm) * 1000:.1f} ms "
            f"({page / base:.1f}x the baseline) -> target <= 300 ms: {'met' if page <= 0.3 else 'NOT met'}"
        )
        print(f"statistics, current month stale (recomputed): {stale * 1000:.0f} ms")


if __name__ == "__main__":
    main()
