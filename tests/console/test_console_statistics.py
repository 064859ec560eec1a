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
    # Every metric has its source now.
    assert all(metric.source for metric in statistics.METRICS)


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


# -- follow-ups, 見守り, escalations, 年代 and 性別 ------------------------------------------
def follow_up(rnd, mem, kind="unanswered", claimed=None, outcome=None, outcome_at=None, unreachable=None):
    from models import FollowUp

    return FollowUp.create(
        round=rnd,
        group=rnd.group,
        member=mem,
        name=mem.person.display_name,
        kind=kind,
        state="done" if outcome and outcome != "unreachable" else ("claimed" if claimed else "open"),
        created_at=rnd.summary_due_at,
        claimed_at=naive(claimed) if claimed else None,
        outcome=outcome,
        outcome_at=naive(outcome_at) if outcome_at else None,
        unreachable_at=naive(unreachable) if unreachable else None,
    )


def watch(person, org, created, schedule="every 1 2026-01-01 09:00", stopped=None):
    from models import Watch

    return Watch.create(
        person=person,
        organisation=org,
        schedule=schedule,
        state="stopped" if stopped else "active",
        created_at=naive(created),
        stopped_at=naive(stopped) if stopped else None,
    )


def escalation(w, opened):
    from models import Escalation, WatchCheck

    check = WatchCheck.create(watch=w, opened_at=naive(opened - timedelta(hours=12)), state="escalated")
    return Escalation.create(check=check, watch=w, opened_at=naive(opened), contacts_told=1)


def build_more(midori):
    """On top of build(): follow-ups, watches, escalations, declared 年代/性別."""
    from models import Member, Organisation, Person, Round

    kita = Organisation.get(Organisation.slug == "kita")
    a, b = list(midori.groups.order_by(seed.Group.id))
    people = {m.person.display_name: m for m in Member.select().where(Member.group == a)}
    hanako, ichiro, jiro, shiro = (people[n] for n in ("佐藤花子", "鈴木一郎", "田中次郎", "高橋四郎"))
    saburo = Member.select().join(Person).where(Person.display_name == "山本三郎").get()
    r2, r3, r4 = Round.select().where(Round.group == a).order_by(Round.opened_at)[1:4]
    k = kita.groups.get()
    k_member = Member.get(Member.group == k)

    # 次郎 (r2): claimed and safe on 16 Feb -> Feb claimed 1, safe 1.
    follow_up(r2, jiro, claimed=jst(2026, 2, 16, 10), outcome="safe", outcome_at=jst(2026, 2, 16, 11))
    # 花子 (r2, help): claimed 28 Feb 23:30 JST, 助けが必要だった 1 Mar 00:10 JST (still Feb in UTC)
    # -> Feb claimed 1, Mar needed-help 1.
    follow_up(
        r2,
        hanako,
        "help",
        claimed=jst(2026, 2, 28, 23, 30),
        outcome="needed-help",
        outcome_at=jst(2026, 3, 1, 0, 10),
    )
    # 一郎 (r3): claimed 1 Mar 4:00, 連絡がつかない 5:00, found safe 2 Mar
    # -> Mar claimed 1, unreached 1, safe 1.
    follow_up(
        r3,
        ichiro,
        claimed=jst(2026, 3, 1, 4),
        unreachable=jst(2026, 3, 1, 5),
        outcome="safe",
        outcome_at=jst(2026, 3, 2, 9),
    )
    follow_up(r4, hanako)  # open, unclaimed: counts nowhere
    rk = Round.get(Round.group == k)
    follow_up(rk, k_member, claimed=jst(2026, 2, 16), outcome="safe", outcome_at=jst(2026, 2, 16))  # kita's

    # 見守り linked to midori: 花子 since 10 Jan; 三郎 5 Feb, stopped 3 Mar -> Jan 1, Feb 2, Mar 1.
    w_hanako = watch(hanako.person, midori, jst(2026, 1, 10))
    w_saburo = watch(saburo.person, midori, jst(2026, 2, 5), stopped=jst(2026, 3, 3))
    w_ichiro = watch(ichiro.person, None, jst(2026, 1, 10))  # not linked: never counted
    watch(jiro.person, midori, jst(2026, 1, 10), schedule=None)  # no time chosen: not registered
    watch(k_member.person, kita, jst(2026, 1, 10))  # another organisation's
    ume = Person.create(
        line_user_id="U" + "e" * 32, display_name="高橋ウメ", created_at=naive(jst(2026, 1, 1))
    )
    watch(ume, midori, jst(2026, 3, 10))  # watched only, in no group

    # Escalations: Feb 1 (花子), Mar 1 (三郎, 1 Mar 00:30 JST = 28 Feb UTC); 一郎's is not linked.
    escalation(w_hanako, jst(2026, 2, 20, 21))
    escalation(w_saburo, jst(2026, 3, 1, 0, 30))
    escalation(w_ichiro, jst(2026, 2, 20, 21))

    # Declared 年代 / 性別 (people outside the organisation's registrants declare too).
    for person, age, sex in (
        (hanako.person, "70", "female"),
        (ichiro.person, "80", "undisclosed"),
        (saburo.person, "70", "male"),  # group B is gone and his watch stopped: not a registrant
        (k_member.person, "70", "male"),  # kita's
        (ume, "90", "female"),
    ):
        Person.update(age_band=age, sex=sex).where(Person.id == person.id).execute()
    del shiro


def test_it_counts_follow_ups_watches_and_escalations_by_hand(database_url):
    midori = build()
    build_more(midori)
    table = statistics.monthly(midori.id, NOW.astimezone(), JST)
    expected = {
        "followups_claimed": {"2026-01": 0, "2026-02": 2, "2026-03": 1},
        "followup_safe": {"2026-01": 0, "2026-02": 1, "2026-03": 1},
        "followup_unreached": {"2026-01": 0, "2026-02": 0, "2026-03": 1},
        "followup_needed_help": {"2026-01": 0, "2026-02": 0, "2026-03": 1},
        # 花子 from Jan; 三郎 Feb until 3 Mar; ウメ from 10 Mar.
        "watches": {"2026-01": 1, "2026-02": 2, "2026-03": 2},
        "escalations": {"2026-01": 0, "2026-02": 1, "2026-03": 1},
    }
    for key, months in expected.items():
        assert by_month(table, key) == months, key


def test_it_counts_the_declared_age_bands_and_sexes_of_the_registrants_by_hand(database_url):
    midori = build()
    build_more(midori)
    # Registrants now: group A's 花子, 一郎, 四郎 (次郎 left; the bot left group B), and ウメ
    # (watched only); 花子 once although also watched.
    ages = dict(statistics.distribution(midori.id, "age_band"))
    assert ages == {
        "10代": 0,
        "20代": 0,
        "30代": 0,
        "40代": 0,
        "50代": 0,
        "60代": 0,
        "70代": 1,
        "80代": 1,
        "90代以上": 1,
        "申告なし": 1,
    }
    assert statistics.distribution(midori.id, "sex") == [
        ("女性", 2),
        ("男性", 0),
        ("その他", 0),
        ("答えない", 1),
        ("申告なし", 1),
    ]
