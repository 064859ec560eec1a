"""Monthly statistics by SQL aggregates, against numbers counted by hand, on
SQLite and PostgreSQL.  Times are Japan time: a round at 00:30 on 1 March
is a March round even though it is still February in UTC."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models import Outbox, QueueItem, StatMonth, naive
from services import statistics
from tests.console import seed

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=JST)
MIN = timedelta(minutes=1)


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=JST)


def build():
    """The hand-counted organisation (see each comment for what it adds)."""
    midori = seed.org(now=jst(2026, 1, 1))
    kita = seed.org("kita", "北区自治会連合会", now=jst(2026, 1, 1))
    a = seed.group(midori, joined_at=jst(2026, 1, 5))
    b = seed.group(midori, joined_at=jst(2026, 2, 1))
    b.active, b.left_at = False, naive(jst(2026, 3, 10))  # the bot left B on 10 March
    b.save()
    hanako = seed.member(a, "佐藤花子", registered_at=jst(2026, 1, 5), leader=True)
    ichiro = seed.member(a, "鈴木一郎", registered_at=jst(2026, 1, 5))
    jiro = seed.member(a, "田中次郎", registered_at=jst(2026, 2, 10), left_at=jst(2026, 3, 1, 10))
    hanako_b = seed.member(b, "佐藤花子", registered_at=jst(2026, 2, 1), person=hanako.person)
    saburo = seed.member(b, "山本三郎", registered_at=jst(2026, 2, 1))

    r1 = seed.round_(a, jst(2026, 1, 20, 9))  # expects 花子 一郎
    seed.answer(r1, hanako, 10 * MIN)
    r2 = seed.round_(a, jst(2026, 2, 15, 9))  # expects 花子 一郎 次郎
    seed.answer(r2, hanako, 4 * MIN)
    seed.answer(r2, ichiro, 30 * MIN, "help")
    seed.answer(r2, jiro, 60 * MIN)
    r3 = seed.round_(a, jst(2026, 3, 1, 0, 30), kind="emergency", delay=timedelta(hours=3))  # 花子 一郎 次郎
    seed.answer(r3, hanako, 2 * MIN)
    seed.answer(r3, jiro, 20 * MIN, "help")
    r4 = seed.round_(a, jst(2026, 3, 15, 9), status="open")  # expects 花子 一郎 (次郎 left)
    seed.answer(r4, ichiro, 6 * MIN)
    shiro = seed.member(a, "高橋四郎", registered_at=jst(2026, 3, 15, 10))  # joined after r4 opened
    seed.answer(r4, shiro, 90 * MIN, "help")
    r5 = seed.round_(b, jst(2026, 2, 20, 9))  # expects 花子 三郎
    seed.answer(r5, saburo, 8 * MIN)
    del hanako_b

    # Another organisation's data never counts.
    k = seed.group(kita, joined_at=jst(2026, 1, 5))
    k_member = seed.member(k, "北の人", registered_at=jst(2026, 1, 5))
    rk = seed.round_(k, jst(2026, 2, 15, 9))
    seed.answer(rk, k_member, 3 * MIN, "help")

    # Queue outcomes (by the month they were recorded).
    def item(org, group, done_at, outcome, state="done"):
        QueueItem.create(
            organisation=org,
            group=group,
            source_kind="help",
            source_id=QueueItem.select().count() + 1000,
            raised_at=naive(done_at - timedelta(hours=1)),
            state=state,
            outcome=outcome if state == "done" else None,
            done_at=naive(done_at) if state == "done" else None,
            created_at=naive(done_at - timedelta(hours=1)),
        )

    item(midori, a, jst(2026, 2, 15, 11), "reached")
    item(midori, a, jst(2026, 3, 1, 2), "unreached")
    item(midori, a, jst(2026, 3, 2), None, state="claimed")
    item(kita, k, jst(2026, 2, 15, 11), "visited")

    # Messages sent (cost), by the month they were sent.
    def sent(group, at, cost, state="sent"):
        Outbox.create(
            kind="push",
            purpose="prompt",
            group=group,
            to=group.line_group_id,
            messages="[]",
            state=state,
            created_at=naive(at),
            not_before=naive(at),
            expires_at=naive(at + timedelta(hours=23)),
            sent_at=naive(at) if state == "sent" else None,
            cost=cost,
        )

    sent(a, jst(2026, 2, 15, 9), 5)
    sent(b, jst(2026, 3, 1, 0, 10), 3)
    sent(a, jst(2026, 3, 2), 4, state="failed")
    sent(k, jst(2026, 2, 15, 9), 7)
    return midori


def by_month(table, key: str) -> dict[str, float | None]:
    values = statistics.series(table, key)
    return {m: v for m, v in zip(table.months, values, strict=True) if m >= "2026-01"}


def test_it_counts_every_metric_by_hand(database_url):
    midori = build()
    table = statistics.monthly(midori.id, NOW.astimezone(), JST)
    assert table.months[0] == "2025-04" and table.months[-1] == "2026-03"
    expected = {
        "members": {"2026-01": 2, "2026-02": 4, "2026-03": 3},
        "groups": {"2026-01": 1, "2026-02": 2, "2026-03": 1},
        "rounds": {"2026-01": 1, "2026-02": 2, "2026-03": 2},
        "emergency_rounds": {"2026-01": 0, "2026-02": 0, "2026-03": 1},
        "expected": {"2026-01": 2, "2026-02": 5, "2026-03": 5},
        "answered": {"2026-01": 1, "2026-02": 4, "2026-03": 3},
        "answer_rate": {"2026-01": 50.0, "2026-02": 80.0, "2026-03": 60.0},
        "unanswered_after_summary": {"2026-01": 1, "2026-02": 1, "2026-03": 1},
        "help_requests": {"2026-01": 0, "2026-02": 1, "2026-03": 2},
        "median_answer_minutes": {"2026-01": 10.0, "2026-02": 19.0, "2026-03": 13.0},
        "queue_reached": {"2026-01": 0, "2026-02": 1, "2026-03": 0},
        "queue_unreached": {"2026-01": 0, "2026-02": 0, "2026-03": 1},
        "queue_visited": {"2026-01": 0, "2026-02": 0, "2026-03": 0},
        "messages_used": {"2026-01": 0, "2026-02": 5, "2026-03": 3},
    }
    for key, months in expected.items():
        assert by_month(table, key) == months, key
    # Before the first group there is nothing: zero, and no rate or median.
    assert statistics.series(table, "members")[0] == 0
    assert statistics.series(table, "answer_rate")[0] is None
    assert statistics.series(table, "median_answer_minutes")[0] is None
    # Sources that do not exist yet are not made up.
    for key in ("watches", "followups_claimed", "followup_safe", "escalations"):
        assert statistics.METRIC_BY_KEY[key].source == ""
        assert statistics.series(table, key) == [None] * 12


def test_it_keeps_finished_months_and_recomputes_the_current_one(database_url):
    midori = build()
    statistics.monthly(midori.id, NOW, JST)
    assert StatMonth.select().where(StatMonth.final).count() > 0
    a = midori.groups.order_by(seed.Group.id).first()
    late = seed.round_(a, jst(2026, 1, 25, 9))  # a January round recorded late: January is final
    del late
    seed.round_(a, jst(2026, 3, 14, 9))  # one more March round
    soon = statistics.monthly(midori.id, NOW + timedelta(minutes=1), JST)
    assert by_month(soon, "rounds") == {"2026-01": 1, "2026-02": 2, "2026-03": 2}  # fresh enough: kept
    later = statistics.monthly(midori.id, NOW + statistics.FRESH + timedelta(minutes=1), JST)
    assert by_month(later, "rounds") == {"2026-01": 1, "2026-02": 2, "2026-03": 3}


def test_it_writes_csv_that_excel_opens():
    data = statistics.csv_bytes(["項目", "2026-03"], [["回答率", 60.0], ["見守り", None]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == "項目,2026-03\r\n回答率,60.0\r\n見守り,\r\n"
