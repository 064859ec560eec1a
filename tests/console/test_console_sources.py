"""Where the queue's needs come from: each inserted by the bot or the sweep
in the transaction that causes it, once, and only for groups and 見守り
linked to the organisation; names on the console only where they agreed.
The bot's handlers (tests/support.py's Bot) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from domain import postback as codec
from domain.kinds import AnswerKind, EscalationOutcome, FollowUpOutcome
from models import Escalation, FollowUp, Member, Organisation, Outbox, Person, QueueItem, Round, db, naive
from services import clock, console_queue, rounds
from tests.console import seed
from tests.support import HANAKO, ICHIRO, JIRO, Bot

CODE = "ABCD2345"
OTHER_GROUP = "C" + "0" * 31 + "2"
YAMADA = "山田太郎"
HOUR = 3600
DAY = 24 * HOUR


@pytest.fixture
def linked(settings):
    """The bot at 9:00 JST on a Monday, and みどり市社会福祉協議会 with its code."""
    clock.configure(settings.demo_clock)
    bot = Bot(settings, datetime(2026, 11, 30, 0, 0, tzinfo=UTC))
    org = Organisation.create(
        name="みどり市社会福祉協議会",
        slug="midori",
        kind="council",
        created_at=naive(bot.now),
        link_code=CODE,
    )
    return bot, org


def items(kind: str | None = None) -> list[QueueItem]:
    query = QueueItem.select().order_by(QueueItem.id)
    return list(query.where(QueueItem.source_kind == kind) if kind else query)


def person_id(name: str) -> int:
    return Person.get(Person.display_name == name).id


def linked_group(bot) -> str:
    group = bot.setup()
    bot.say(group, HANAKO, f"/団体 {CODE}")
    return group


# -- 助けが必要 --------------------------------------------------------------------------
def test_it_queues_a_help_answer_once_and_only_for_a_linked_group(linked):
    bot, org = linked
    group = linked_group(bot)
    bot.say(group, HANAKO, "/確認")
    round_id = Round.get().id
    bot.tap(group, ICHIRO, codec.Answer(AnswerKind.HELP, round_id))
    [item] = items("help")
    assert (item.organisation_id, item.person_id, item.state) == (org.id, person_id(ICHIRO), "open")
    bot.tap(group, ICHIRO, codec.Answer(AnswerKind.HELP, round_id))  # asked twice: queued once
    bot.tap(group, JIRO, codec.Answer(AnswerKind.OK, round_id))
    bot.tap(group, JIRO, codec.Answer(AnswerKind.HELP, round_id))  # an OK turned into help
    assert [i.person_id for i in items("help")] == [person_id(ICHIRO), person_id(JIRO)]

    other = bot.group(HANAKO, ICHIRO, group=OTHER_GROUP)  # in no organisation
    bot.join(other, HANAKO, ICHIRO)
    bot.say(other, HANAKO, "/リーダー")
    bot.say(other, HANAKO, "/確認")
    other_round = Round.select().order_by(Round.id.desc()).get()
    bot.tap(other, ICHIRO, codec.Answer(AnswerKind.HELP, other_round.id))
    assert len(items()) == 2


def test_the_help_and_its_queue_item_commit_or_roll_back_together(linked):
    bot, org = linked
    group = linked_group(bot)
    bot.say(group, HANAKO, "/確認")
    ichiro = Member.get(Member.person == person_id(ICHIRO))
    with db.atomic() as transaction:
        rounds.record_answer(Round.get(), ichiro, AnswerKind.HELP, bot.now)
        assert len(items("help")) == 1
        transaction.rollback()
    assert items() == [] and Round.get().answers.count() == 0


# -- follow-ups ----------------------------------------------------------------------
def summary_with_jiro_silent(bot, group: str) -> FollowUp:
    bot.say(group, HANAKO, "/確認")
    round_id = Round.get().id
    bot.tap(group, HANAKO, codec.Answer(AnswerKind.OK, round_id))
    bot.tap(group, ICHIRO, codec.Answer(AnswerKind.OK, round_id))
    bot.advance(23 * HOUR)
    bot.sweep()
    return FollowUp.get()


def test_it_queues_a_follow_up_unclaimed_past_its_reminder_and_one_marked_unreached(linked):
    bot, org = linked
    group = linked_group(bot)
    follow_up = summary_with_jiro_silent(bot, group)
    assert items() == []  # the neighbours have their time first
    bot.advance(3 * HOUR)
    bot.sweep()  # the reminder to the leaders, and the queue, in one transaction
    [overdue] = items("followup_overdue")
    assert (overdue.source_id, overdue.person_id, overdue.group.line_group_id) == (
        follow_up.id,
        person_id(JIRO),
        group,
    )
    bot.advance(HOUR)
    bot.sweep()
    assert len(items()) == 1  # raised once

    bot.tap(group, ICHIRO, codec.Claim(follow_up.id))
    bot.tap(group, ICHIRO, codec.RecordOutcome(follow_up.id, FollowUpOutcome.UNREACHABLE))
    [unreached] = items("followup_unreached")
    assert (unreached.source_id, unreached.organisation_id) == (follow_up.id, org.id)
    bot.tap(group, ICHIRO, codec.RecordOutcome(follow_up.id, FollowUpOutcome.UNREACHABLE))
    assert len(items()) == 2


def test_nothing_is_queued_for_a_group_linked_to_no_organisation(linked):
    bot, _ = linked
    group = bot.setup()
    follow_up = summary_with_jiro_silent(bot, group)
    bot.advance(3 * HOUR)
    bot.sweep()
    bot.tap(group, ICHIRO, codec.Claim(follow_up.id))
    bot.tap(group, ICHIRO, codec.RecordOutcome(follow_up.id, FollowUpOutcome.UNREACHABLE))
    assert FollowUp.get().reminded_at is not None and FollowUp.get().unreachable_at is not None
    assert items() == []


# -- 見守り ------------------------------------------------------------------------------
def watched(bot, name: str = YAMADA, contacts=(ICHIRO,), code: str | None = CODE) -> None:
    bot.follow(name)
    for contact in contacts:
        bot.link_contact(name, contact)
    bot.say_one_to_one(name, "/見守り 毎日 9:00")
    if code:
        bot.say_one_to_one(name, f"/団体 {code}")


def escalated(bot) -> None:
    """The next check goes out, and twelve hours later the contacts are told."""
    bot.advance(DAY)
    bot.sweep()
    bot.advance(12 * HOUR)
    bot.sweep()


def test_it_queues_an_escalated_watch_when_no_contact_takes_it(linked):
    bot, org = linked
    watched(bot)
    escalated(bot)
    assert Escalation.get().contacts_told == 1 and items() == []  # the contacts' turn first
    bot.advance(3 * HOUR)
    bot.sweep()  # nobody said 「わたしが確認します」: the reminder, and the queue
    [item] = items("watch_escalation")
    assert (item.organisation_id, item.person_id, item.group_id, item.source_id) == (
        org.id,
        person_id(YAMADA),
        None,
        Escalation.get().id,
    )


def test_it_queues_at_once_a_watch_with_nobody_to_tell_and_never_an_unlinked_one(linked):
    bot, _ = linked
    watched(bot, contacts=())
    watched(bot, JIRO, contacts=(), code=None)  # not linked to any organisation
    escalated(bot)
    assert Escalation.select().count() == 2
    [item] = items("watch_escalation")
    assert item.person_id == person_id(YAMADA)


def test_it_queues_an_escalation_a_contact_could_not_reach_either(linked):
    bot, _ = linked
    watched(bot)
    escalated(bot)
    escalation = Escalation.get()
    bot.tap_one_to_one(ICHIRO, codec.ClaimEscalation(escalation.id))
    assert items() == []  # a contact acts
    bot.tap_one_to_one(ICHIRO, codec.ReportOutcome(escalation.id, EscalationOutcome.UNREACHABLE))
    [item] = items("watch_escalation")
    assert item.source_id == escalation.id
    assert console_queue.row_of(item).line_side == "連絡先の方も連絡がつかないと報告しています"


# -- the console ----------------------------------------------------------------------
def test_the_queue_shows_each_need_with_names_only_where_they_agreed(linked, client):
    bot, org = linked
    group = linked_group(bot)
    bot.say(group, HANAKO, "/確認")
    bot.tap(group, ICHIRO, codec.Answer(AnswerKind.HELP, Round.get().id))
    watched(bot, contacts=(JIRO,))
    escalated(bot)
    bot.advance(3 * HOUR)
    bot.sweep()
    seed.operator(org, "staff@midori.example.jp")
    staff = client()
    staff.login("staff@midori.example.jp")

    page = staff.get("/console/queue").text
    assert "助けが必要" in page and "見守りの連絡先が対応していない" in page
    assert "いま：連絡先の方はまだだれも対応していません" in page
    assert ICHIRO not in page and "（非公開）" in page  # the group has not shared names
    assert f"{YAMADA}さん" in page  # he linked his own 見守り

    bot.say(group, HANAKO, "/設定 名前 団体にも")
    assert f"{ICHIRO}さん" in staff.get("/console/queue").text
    bot.say_one_to_one(YAMADA, "/団体 解除")
    page = staff.get("/console/queue").text
    assert YAMADA not in page and f"{ICHIRO}さん" in page

    # The operator's outcome reaches the contacts (for the 見守り) in its transaction.
    [item] = items("watch_escalation")
    detail = staff.get(f"/console/queue/{item.id}").text
    assert "見守り（1対1）" in detail and "ご本人が見守りを団体とつないでいないため" in detail
    bot.say_one_to_one(YAMADA, f"/団体 {CODE}")
    assert f"{YAMADA}さん" in staff.get(f"/console/queue/{item.id}").text
    assert staff.post(f"/console/queue/{item.id}/claim").status_code == 302
    assert staff.post(f"/console/queue/{item.id}/outcome", {"outcome": "reached"}).status_code == 302
    told = Outbox.select().where(Outbox.purpose == "watch-outcome").order_by(Outbox.id.desc()).get()
    assert told.person_id == person_id(JIRO)
    assert (
        "みどり市社会福祉協議会の担当者が、山田太郎さんと電話でお話ししました"
        in json.loads(told.messages)[0]["text"]
    )


def test_an_operators_outcome_on_a_follow_up_is_told_to_the_group_without_a_name(linked):
    bot, org = linked
    group = linked_group(bot)
    summary_with_jiro_silent(bot, group)
    bot.advance(3 * HOUR)
    bot.sweep()
    [item] = items("followup_overdue")
    operator = seed.operator(org, "staff@midori.example.jp")
    now = clock.now()
    assert console_queue.row_of(item).line_side == "近所の方はまだだれも確認に向かっていません"
    bot.tap(group, ICHIRO, codec.Claim(item.source_id))
    bot.tap(group, ICHIRO, codec.RecordOutcome(item.source_id, FollowUpOutcome.SAFE))
    assert console_queue.row_of(QueueItem.get_by_id(item.id)).line_side == "近所の方が無事を確認しました"
    assert console_queue.claim(org.id, item.id, operator, now)
    assert console_queue.record_outcome(org.id, item.id, operator, "visited", "", now)
    told = Outbox.get(Outbox.purpose == "queue-outcome")
    text = json.loads(told.messages)[0]["text"]
    assert told.group.line_group_id == group and "確認が取れていなかった方のところへ伺いました" in text
    assert JIRO not in text


def test_the_group_page_follows_the_leaders_choice_both_ways(linked, client):
    bot, org = linked
    group = linked_group(bot)
    seed.operator(org, "staff@midori.example.jp")
    staff = client()
    staff.login("staff@midori.example.jp")
    page = f"/console/groups/{Member.get(Member.person == person_id(ICHIRO)).group_id}"
    assert ICHIRO not in staff.get(page).text and "3人" in staff.get(page).text
    bot.say(group, HANAKO, "/設定 名前 団体にも")
    assert ICHIRO in staff.get(page).text and JIRO in staff.get(page).text
    bot.say(group, HANAKO, "/設定 名前 団体に見せない")
    assert ICHIRO not in staff.get(page).text
    bot.say(group, HANAKO, "/団体 解除")
    assert staff.get(page).status_code == 404  # no longer this organisation's


def test_the_statistics_page_shows_the_declared_age_bands_and_sexes_with_a_csv(linked, client):
    bot, org = linked
    group = linked_group(bot)
    bot.say(group, ICHIRO, "/年代 70代")
    bot.say(group, ICHIRO, "/性別 男性")
    bot.say(group, JIRO, "/年代 90代以上")
    bot.follow(YAMADA)  # declares, but is in none of the organisation's groups or watches
    bot.say_one_to_one(YAMADA, "/年代 70代")
    seed.operator(org, "staff@midori.example.jp")
    staff = client()
    staff.login("staff@midori.example.jp")
    page = staff.get("/console/statistics").text
    assert "年代（任意の自己申告）の人数（合計 3人）" in page
    assert '<th scope="row">70代</th><td class="num">1</td><td class="num">33.3%</td>' in page
    assert '<th scope="row">申告なし</th><td class="num">1</td>' in page
    csv = staff.get("/console/statistics/age_band.csv")
    assert csv.data.startswith(b"\xef\xbb\xbf")
    rows = csv.data.decode("utf-8-sig").splitlines()
    assert rows[0] == "区分,人数" and "70代,1" in rows and "90代以上,1" in rows and "申告なし,1" in rows
    sexes = staff.get("/console/statistics/sex.csv").data.decode("utf-8-sig").splitlines()
    assert "男性,1" in sexes and "申告なし,2" in sexes


def test_the_watches_page_lists_only_watches_linked_to_this_organisation(linked, client):
    bot, org = linked
    Organisation.create(
        name="北区自治会連合会", slug="kita", kind="council", created_at=naive(bot.now), link_code="WXYZ6789"
    )
    watched(bot, contacts=(JIRO,))
    watched(bot, HANAKO, contacts=(), code="WXYZ6789")  # another organisation's
    watched(bot, ICHIRO, contacts=(), code=None)  # linked to none
    escalated(bot)
    seed.operator(org, "staff@midori.example.jp")
    staff = client()
    staff.login("staff@midori.example.jp")
    page = staff.get("/console/watches").text
    assert f"{YAMADA}さん" in page and "1人" in page and "対応中（まだ確認できていません）" in page
    assert HANAKO not in page and ICHIRO not in page
    assert YAMADA not in staff.get("/console/watches?q=花子").text
    bot.say_one_to_one(YAMADA, "/団体 解除")
    assert YAMADA not in staff.get("/console/watches").text


def test_the_console_sweeps_up_what_arose_before_the_group_was_linked(linked):
    bot, org = linked
    group = bot.setup()  # not linked yet
    follow_up = summary_with_jiro_silent(bot, group)
    bot.tap(group, ICHIRO, codec.Claim(follow_up.id))
    bot.tap(group, ICHIRO, codec.RecordOutcome(follow_up.id, FollowUpOutcome.UNREACHABLE))
    assert items() == []
    bot.say(group, HANAKO, f"/団体 {CODE}")
    assert console_queue.collect(org.id, bot.now) == 1  # 連絡がつかない, still unresolved
    assert console_queue.collect(org.id, bot.now) == 0
    assert [i.source_id for i in items("followup_unreached")] == [follow_up.id]
