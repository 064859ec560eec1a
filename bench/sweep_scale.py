"""Sweep at scale: open every due round, then compute every summary.

Target: 10,000 groups with 10 registered members each, opening
every due round and computing every summary in <= 10 s on SQLite, with a
constant number of queries per group (no N+1).

The baseline is the same sweep over 1,000 groups in the same run: the
queries per group must be equal, and time should grow about linearly.
Run:  .venv/bin/python bench/sweep_scale.py [GROUPS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import Settings
from jobs import runtime
from jobs.sweep import close_due_rounds, open_due_rounds
from models import Answer, Group, Member, Person, Round, create_schema, db, naive

MEMBERS = 10


class QueryCounter:
    """Counts every SQL statement peewee sends."""

    def __init__(self, database):
        self.count = 0
        self._execute = database.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            self.count += 1
            return self._execute(sql, params, *args, **kwargs)

        database.execute_sql = counting


def insert_chunked(model, rows: list[dict], size: int = 2000) -> None:
    # SQLite caps the number of bound variables per statement.
    for start in range(0, len(rows), size):
        model.insert_many(rows[start : start + size]).execute()


def populate(groups: int, now: datetime) -> None:
    due = naive(now - timedelta(minutes=1))
    with db.atomic():
        insert_chunked(
            Group,
            [
                {
                    "line_group_id": f"C{i:032x}",
                    "joined_at": due,
                    "member_count": MEMBERS,
                    "schedule": "every 1 2026-11-01 09:00",
                    "next_round_at": due,
                }
                for i in range(groups)
            ],
        )
        insert_chunked(
            Person,
            [
                {"line_user_id": f"U{i:032x}", "display_name": f"会員{i}", "created_at": due}
                for i in range(groups * MEMBERS)
            ],
        )
        group_ids = [g.id for g in Group.select(Group.id).order_by(Group.id)]
        person_ids = [p.id for p in Person.select(Person.id).order_by(Person.id)]
        rows = [
            {
                "group": group_ids[i // MEMBERS],
                "person": pid,
                "registered_at": due,
                "is_leader": i % MEMBERS == 0,
            }
            for i, pid in enumerate(person_ids)
        ]
        insert_chunked(Member, rows)


def answer_most(now: datetime) -> None:
    """Seven of ten members answer, so every summary names three people."""
    with db.atomic():
        members = Member.select(Member.id, Member.group).order_by(Member.id).tuples()
        rounds = dict(Round.select(Round.group, Round.id).tuples())
        rows = [
            {"round": rounds[group_id], "member": member_id, "kind": "ok", "answered_at": naive(now)}
            for n, (member_id, group_id) in enumerate(members)
            if n % MEMBERS < 7
        ]
        insert_chunked(Answer, rows)


def run(groups: int, workdir: str) -> dict:
    url = f"sqlite:///{workdir}/sweep-{groups}.sqlite3"
    settings = Settings(database_url=url, redis_url=None)
    runtime.configure(settings)
    create_schema()
    now = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    with db.connection_context():
        populate(groups, now)
        counter = QueryCounter(db.obj)
        t0 = time.perf_counter()
        opened = open_due_rounds(now, settings)
        t_open = time.perf_counter() - t0
        q_open = counter.count
        answer_most(now)
        later = now + timedelta(seconds=settings.checkin_summary_delay)
        counter.count = 0
        t0 = time.perf_counter()
        closed = close_due_rounds(later, settings)
        t_close = time.perf_counter() - t0
        q_close = counter.count
    assert opened == groups and closed == groups, (opened, closed)
    db.close()
    return {
        "groups": groups,
        "open_s": t_open,
        "close_s": t_close,
        "total_s": t_open + t_close,
        "queries_per_group_open": q_open / groups,
        "queries_per_group_close": q_close / groups,
    }


def main() -> None:
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as workdir:
        base = run(target // 10, workdir)
        full = run(target, workdir)
    for r in (base, full):
        print(
            f"{r['groups']:>6} groups x {MEMBERS} members: open {r['open_s']:.2f} s, summaries {r['close_s']:.2f} s, "
            f"total {r['total_s']:.2f} s; queries/group: open {r['queries_per_group_open']:.2f}, "
            f"summary {r['queries_per_group_close']:.2f}"
        )
    print(
        f"scaling: {full['groups'] // base['groups']}x the groups took {full['total_s'] / base['total_s']:.1f}x the time; "
        f"target total <= 10 s: {'met' if full['total_s'] <= 10 else 'NOT met'} ({full['total_s']:.2f} s); "
        f"queries per group constant: {'yes' if abs(full['queries_per_group_close'] - base['queries_per_group_close']) < 0.01 and abs(full['queries_per_group_open'] - base['queries_per_group_open']) < 0.01 else 'NO'}"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
