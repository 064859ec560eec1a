"""見守り, when a check goes unanswered: the resend, the contacts told, the
first 「わたしが確認します」, outcomes, the reminder, a late OK; absence in
JST; blocking the bot.  The fast harness (the sweep's pushes stay in the
outbox, where these tests read them)."""

from __future__ import annotations

from datetime import date, timedelta

from domain import postback as codec
from domain.kinds import CheckState, EscalationOutcome, EscalationState, WatchState
from models import Contact, Escalation, Outbox, Person, Watch, WatchCheck, utc
from services import absence
from tests.conftest import utc as at
from tests.support import HANAKO, ICHIRO, JIRO, postback_actions

HOUR = 3600
DAY = 24 * HOUR
YAMADA = "山田太郎"


def watched(bot, schedule: str = "毎日 9:00", contacts=(ICHIRO, JIRO)) -> None:
    """佐藤花子 is watched at ``schedule`` with these contacts."""
    bot.follow(HANAKO)
    for contact in contacts:
        bot.link_contact(HANAKO, contact)
    bot.say_one_to_one(HANAKO, f"/見守り {schedule}")


def until_check(bot) -> WatchCheck:
    """Move to tomorrow 9:00 JST and sweep: the check goes out."""
    bot.advance(DAY)
    bot.sweep()
    return WatchCheck.select().order_by(WatchCheck.id.desc()).get()


def test_it_sends_the_check_at_the_persons_time(bot):
    watched(bot)
    bot.advance(DAY - 1)
    bot.sweep()
    assert bot.pushes_to(HANAKO, "watch-check") == []
    bot.advance(1)
    bot.sweep()
    [check] = WatchCheck.select()
    assert bot.pushes_to(HANAKO, "watch-check") == [
        "佐藤花子さん、お変わりありませんか？ いつもの見守りの確認です。お変わりなければ、OKを押してください。 OK"
    ]
    assert check.state == CheckState.OPEN
    assert utc(check.resend_due_at) == bot.now + timedelta(hours=3)
    assert utc(Watch.get().next_check_at) == at(2026, 12, 2, 0, 0)  # the next one, tomorrow


def test_it_sends_it_once_more_worded_differently(bot):
    watched(bot)
    until_check(bot)
    bot.advance(3 * HOUR - 1)
    bot.sweep()
    assert bot.pushes_to(HANAKO, "watch-resend") == []
    bot.advance(1)
    bot.sweep()
    bot.advance(HOUR)
    bot.sweep()
    [resend] = bot.pushes_to(HANAKO, "watch-resend")
    assert resend.startswith("佐藤花子さん、もう一度お聞きします 先ほどの確認に、まだOKがありません")
    assert "12月1日 21時00分ごろまでにOKがないときは、連絡先の方にお知らせします" in resend


def test_it_tells_every_contact_when_there_is_still_no_answer(bot):
    watched(bot)
    bot.say_one_to_one(HANAKO, "/確認")
    bot.say_one_to_one(HANAKO, "OK")  # last answered: the try, Monday 9:00
    until_check(bot)
    bot.advance(12 * HOUR - 1)
    bot.sweep()
    assert Escalation.select().count() == 0
    bot.advance(1)
    bot.sweep()
    escalation = Escalation.get()
    assert escalation.state == EscalationState.OPEN and escalation.contacts_told == 2
    assert utc(escalation.followup_due_at) == bot.now + timedelta(hours=3)
    assert WatchCheck.get(WatchCheck.kind == "routine").state == CheckState.ESCALATED
    for contact in (ICHIRO, JIRO):
        [told] = bot.pushes_to(contact, "watch-escalation")
        assert told.startswith("佐藤花子さんからお返事がありません")
        assert "12月1日 9時00分の見守りの確認に、もう一度お送りしてもOKがありません" in told
        assert "最後にOKがあったのは 11月30日 9時00分 です" in told
        assert "119番" in told and "警察（110番）" in told
        assert told.endswith("わたしが確認します")
        # Nothing about the other contact: they are told only who takes it.
        assert ICHIRO not in told and JIRO not in told
    assert len(bot.pushes_to(HANAKO)) == 2 + 2  # contacts joined, the check, the resend: nothing more


def escalated(bot) -> Escalation:
    watched(bot)
    until_check(bot)
    bot.advance(12 * HOUR)
    bot.sweep()
    return Escalation.get()


def test_the_first_claim_wins_and_the_others_are_told_who_has_it(bot):
    escalation = escalated(bot)
    said = bot.tap_one_to_one(ICHIRO, codec.ClaimEscalation(escalation.id))
    assert said.startswith("佐藤花子さんの確認をお願いします")
    assert [a["label"] for m in bot.last for a in postback_actions(m)] == [
        "無事でした",
        "連絡がつかない",
        "救急・警察に連絡した",
    ]
    assert bot.pushes_to(JIRO, "watch-claimed") == [
        "佐藤花子さんの確認は、鈴木一郎さんが引き受けてくださいました。結果がわかったらお知らせします。"
    ]
    assert bot.pushes_to(ICHIRO, "watch-claimed") == []
    said = bot.tap_one_to_one(JIRO, codec.ClaimEscalation(escalation.id))
    assert said == "佐藤花子さんの確認は、鈴木一郎さんが引き受けています。"
    escalation = Escalation.get_by_id(escalation.id)
    assert escalation.state == EscalationState.CLAIMED
    assert escalation.claimed_by_id == Person.get(Person.line_user_id == bot.user(ICHIRO)).id
    assert escalation.followup_due_at is None  # taken: no reminder
    assert "お願いします" in bot.tap_one_to_one(
        ICHIRO, codec.ClaimEscalation(escalation.id)
    )  # again: the buttons


def test_outcomes_are_reported_by_the_one_who_checked(bot):
    escalation = escalated(bot)
    bot.tap_one_to_one(ICHIRO, codec.ClaimEscalation(escalation.id))
    said = bot.tap_one_to_one(JIRO, codec.ReportOutcome(escalation.id, EscalationOutcome.SAFE))
    assert said == "佐藤花子さんの確認は、鈴木一郎さんが引き受けています。"
    assert Escalation.get_by_id(escalation.id).outcome is None

    said = bot.tap_one_to_one(ICHIRO, codec.ReportOutcome(escalation.id, EscalationOutcome.UNREACHABLE))
    assert "様子がわかったら、もう一度ボタンで教えてください" in said
    assert bot.pushes_to(JIRO, "watch-outcome") == [
        "鈴木一郎さんから：佐藤花子さんに連絡がつきません。お心当たりがあれば、ご連絡や訪問をお願いします。"
        "命にかかわるおそれがあるときは、119番や警察（110番）に相談してください。"
    ]
    bot.tap_one_to_one(ICHIRO, codec.ReportOutcome(escalation.id, EscalationOutcome.UNREACHABLE))
    assert len(bot.pushes_to(JIRO, "watch-outcome")) == 1  # said once
    assert Escalation.get_by_id(escalation.id).state == EscalationState.CLAIMED

    bot.advance(HOUR)
    said = bot.tap_one_to_one(ICHIRO, codec.ReportOutcome(escalation.id, EscalationOutcome.EMERGENCY))
    assert "ご無事をお祈りしています" in said
    assert (
        bot.pushes_to(JIRO, "watch-outcome")[-1]
        == "鈴木一郎さんから：佐藤花子さんのことで、救急・警察に連絡しました。"
    )
    escalation = Escalation.get_by_id(escalation.id)
    assert escalation.state == EscalationState.RESOLVED and escalation.outcome == EscalationOutcome.EMERGENCY
    assert WatchCheck.get_by_id(escalation.check_id).state == CheckState.RESOLVED
    said = bot.tap_one_to_one(ICHIRO, codec.ReportOutcome(escalation.id, EscalationOutcome.SAFE))
    assert said == "佐藤花子さんのこの確認は、すでに終わっています。ありがとうございます。"


def test_someone_who_is_not_a_contact_cannot_take_it(bot):
    escalation = escalated(bot)
    bot.follow(YAMADA)
    assert "受け付けられません" in bot.tap_one_to_one(YAMADA, codec.ClaimEscalation(escalation.id))
    assert "受け付けられません" in bot.tap_one_to_one(
        YAMADA, codec.ReportOutcome(escalation.id, EscalationOutcome.SAFE)
    )
    assert Escalation.get_by_id(escalation.id).state == EscalationState.OPEN


def test_nobody_taking_it_means_the_contacts_are_told_again_once(bot):
    escalation = escalated(bot)
    bot.advance(3 * HOUR - 1)
    bot.sweep()
    assert bot.pushes_to(ICHIRO, "watch-reminder") == []
    bot.advance(1)
    bot.sweep()
    bot.advance(3 * HOUR)
    bot.sweep()
    for contact in (ICHIRO, JIRO):
        [reminder] = bot.pushes_to(contact, "watch-reminder")
        assert reminder.startswith("【もう一度お知らせします】佐藤花子さんからお返事がありません")
        assert "まだどなたも確認を引き受けていません" in reminder
    assert utc(Escalation.get_by_id(escalation.id).reminded_at) == bot.now - timedelta(hours=3)


def test_a_late_ok_closes_everything_and_tells_the_contacts(bot):
    escalation = escalated(bot)
    bot.tap_one_to_one(ICHIRO, codec.ClaimEscalation(escalation.id))
    bot.advance(20 * 60)
    said = bot.say_one_to_one(HANAKO, "OK")
    assert "連絡先の方にも、OKがあったことをお知らせしました" in said
    for contact in (ICHIRO, JIRO):
        assert bot.pushes_to(contact, "watch-all-clear") == [
            "佐藤花子さんから、12月1日 21時20分にOKがありました。ご無事です。ご心配をおかけしました。"
        ]
    assert Escalation.get_by_id(escalation.id).state == EscalationState.ANSWERED
    assert WatchCheck.get_by_id(escalation.check_id).state == CheckState.ANSWERED
    assert "すでに終わっています" in bot.tap_one_to_one(
        ICHIRO, codec.ReportOutcome(escalation.id, EscalationOutcome.SAFE)
    )
    bot.advance(6 * HOUR)
    bot.sweep()
    assert bot.pushes_to(JIRO, "watch-reminder") == []


def test_the_next_check_replaces_an_unanswered_one_and_escalates_afresh(bot):
    first = escalated(bot)
    bot.advance(12 * HOUR)  # 9:00 the next day: a new check; the old one is missed
    bot.sweep()
    assert WatchCheck.get_by_id(first.check_id).state == CheckState.MISSED
    bot.advance(12 * HOUR)
    bot.sweep()
    first = Escalation.get_by_id(first.id)
    second = Escalation.select().order_by(Escalation.id.desc()).get()
    assert first.state == EscalationState.SUPERSEDED and second.state == EscalationState.OPEN
    assert len(bot.pushes_to(ICHIRO, "watch-escalation")) == 2
    assert "すでに終わっています" in bot.tap_one_to_one(ICHIRO, codec.ClaimEscalation(first.id))


def test_someone_with_no_contacts_still_has_the_escalation_recorded(bot):
    watched(bot, contacts=())
    until_check(bot)
    bot.advance(3 * HOUR)
    bot.sweep()
    [resend] = bot.pushes_to(HANAKO, "watch-resend")
    assert "連絡先の方にお知らせします" not in resend  # nobody to tell: no such promise
    bot.advance(9 * HOUR)
    bot.sweep()
    escalation = Escalation.get()
    assert escalation.contacts_told == 0 and escalation.followup_due_at is None
    assert Outbox.select().where(Outbox.purpose == "watch-escalation").count() == 0


# -- absence, in the bot's time zone --------------------------------------------------
def test_no_checks_while_away_and_they_resume_by_themselves(bot):
    watched(bot, schedule="毎日 0:30")  # half past midnight JST: the day boundary matters
    said = bot.say_one_to_one(HANAKO, "/お休み 12月5日まで")
    assert "12月5日までお休みにしました" in said and "12月6日から" in said
    assert "連絡先の方にはお知らせしていません" in said
    # 5 December 0:30 JST is 4 December 15:30 UTC: away.
    bot.now = at(2026, 12, 4, 15, 30)
    bot.sweep()
    assert WatchCheck.select().count() == 0
    # 6 December 0:30 JST is still 5 December in UTC: back, by the JST date.
    bot.now = at(2026, 12, 5, 15, 30)
    bot.sweep()
    assert WatchCheck.select().count() == 1
    assert len(bot.pushes_to(HANAKO, "watch-check")) == 1
    assert bot.pushes_to(ICHIRO, "watch-absence") == []  # not told, not asked to be


def test_the_last_day_of_an_absence_ends_at_midnight_jst(bot):
    watched(bot, schedule="毎日 23:30")
    bot.say_one_to_one(HANAKO, "/お休み 3日")  # Monday to Wednesday (2 December)
    bot.now = at(2026, 12, 2, 14, 30)  # Wednesday 23:30 JST
    bot.sweep()
    assert WatchCheck.select().count() == 0
    bot.now = at(2026, 12, 3, 14, 30)  # Thursday 23:30 JST
    bot.sweep()
    assert WatchCheck.select().count() == 1


def test_an_absence_excuses_the_check_that_is_waiting(bot):
    watched(bot)
    until_check(bot)
    bot.advance(HOUR)
    bot.say_one_to_one(HANAKO, "/お休み 2日")
    assert WatchCheck.get().state == CheckState.EXCUSED
    bot.advance(12 * HOUR)
    bot.sweep()
    assert bot.pushes_to(HANAKO, "watch-resend") == [] and Escalation.select().count() == 0
    assert bot.pushes_to(ICHIRO) == []


def test_being_away_when_the_escalation_is_due_excuses_the_check(bot):
    watched(bot)
    check = until_check(bot)
    # Away set elsewhere (a group's /お休み): the person-level absence counts here too.
    absence.set_away(Person.get(Person.line_user_id == bot.user(HANAKO)), date(2026, 12, 3))
    bot.advance(12 * HOUR)
    bot.sweep()
    assert WatchCheck.get_by_id(check.id).state == CheckState.EXCUSED
    assert Escalation.select().count() == 0


def test_the_person_may_choose_to_tell_their_contacts(bot):
    watched(bot)
    said = bot.say_one_to_one(HANAKO, "/お休み 12月5日まで 連絡先にも知らせる")
    assert "連絡先の方にも、お休みのことをお知らせしました" in said
    assert bot.pushes_to(ICHIRO, "watch-absence") == [
        "佐藤花子さんから：12月5日まで見守りの確認をお休みします。"
    ]


def test_an_absence_can_end_early(bot):
    watched(bot)
    assert "お休みになっていません" in bot.say_one_to_one(HANAKO, "/お休み おわり")
    bot.say_one_to_one(HANAKO, "/お休み 1週間")
    assert "12月6日まで" in bot.say_one_to_one(HANAKO, "/お休み")
    assert "終わりにしました" in bot.say_one_to_one(HANAKO, "/お休み おわり")
    until_check(bot)
    assert len(bot.pushes_to(HANAKO, "watch-check")) == 1
    assert (
        bot.say_one_to_one(HANAKO, "/お休み らいしゅう")
        == "いつまでかがわかりません。例：/お休み 12月5日まで、/お休み 3日"
    )


def test_contacts_never_learn_of_an_absence_from_status(bot):
    watched(bot)
    bot.say_one_to_one(HANAKO, "/お休み 3日")
    assert "お休み：12月2日まで" in bot.say_one_to_one(HANAKO, "/状況")
    said = bot.say_one_to_one(ICHIRO, "/状況")
    assert "・佐藤花子さん（見守り中、OKはまだありません）" in said
    assert "お休み" not in said


# -- blocking the bot ---------------------------------------------------------------------
def test_blocking_the_bot_stops_the_watch_and_tells_the_contacts_once(bot):
    escalation = escalated(bot)
    bot.unfollow(HANAKO)
    watch = Watch.get()
    assert watch.state == WatchState.STOPPED and watch.next_check_at is None
    assert Escalation.get_by_id(escalation.id).state == EscalationState.ENDED
    assert WatchCheck.get_by_id(escalation.check_id).state == CheckState.ENDED
    expected = (
        "佐藤花子さんの見守りの確認が止まりました。佐藤花子さんが「つながり」の友だち登録をやめたためです。"
        "ご心配なときは、ご本人に声をかけてみてください。"
    )
    assert bot.pushes_to(ICHIRO, "watch-ended") == [expected]
    bot.unfollow(HANAKO)  # LINE redelivers, or a second block: nothing new
    bot.advance(2 * DAY)
    bot.sweep()
    assert bot.pushes_to(ICHIRO, "watch-ended") == [expected]
    assert len(bot.pushes_to(HANAKO, "watch-check")) == 1  # none since the block

    said = bot.follow(HANAKO)
    assert "おかえりなさい、佐藤花子さん" in said and "見守りを再開する" in said
    said = bot.tap_one_to_one(HANAKO, codec.ResumeWatch())
    assert "再開しました" in said
    assert bot.pushes_to(JIRO, "watch-ended")[-1] == "佐藤花子さんの見守りの確認が再開しました。"
    assert Watch.get().state == WatchState.ACTIVE


def test_a_contact_who_blocks_the_bot_stops_being_a_contact(bot):
    escalation = escalated(bot)
    bot.tap_one_to_one(ICHIRO, codec.ClaimEscalation(escalation.id))
    bot.unfollow(ICHIRO)
    assert Contact.select().count() == 1
    assert bot.pushes_to(HANAKO, "contact")[-1].startswith(
        "鈴木一郎さんは、あなたの見守りの連絡先ではなくなりました"
    )
    # What they had taken is open again, and the others are reminded at once.
    escalation = Escalation.get_by_id(escalation.id)
    assert escalation.state == EscalationState.OPEN and escalation.claimed_by_id is None
    bot.sweep()
    assert len(bot.pushes_to(JIRO, "watch-reminder")) == 1
