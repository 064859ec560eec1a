"""見守り, the watched person's side of the one-to-one chat: greeting,
choosing a time, settings, pausing, trying it, answering.  The fast harness:
handlers on SQLite, no transport (the sweep's pushes stay in the outbox)."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain import postback as codec
from domain.kinds import CheckKind, CheckState, WatchState
from models import Escalation, Outbox, Person, Watch, WatchCheck, utc
from tests.conftest import utc as at
from tests.support import HANAKO, ICHIRO, postback_actions

DAY = 24 * 3600


def watch_of(bot, name: str) -> Watch:
    return Watch.get(Watch.person == Person.get(Person.line_user_id == bot.user(name)))


def test_it_greets_a_new_friend_with_what_it_is_and_a_start_button(bot):
    said = bot.follow(HANAKO)
    assert "住所や電話番号は必要ありません" in said and "料金もかかりません" in said
    assert "6けたの番号" in said  # for someone asked to be a contact
    [start] = [a for m in bot.last for a in postback_actions(m)]
    assert start["label"] == "見守りをはじめる"
    assert codec.decode(start["data"]) == codec.StartWatch()
    assert Person.get().friend
    assert Watch.select().count() == 0  # nothing is started by being greeted
    assert all(row.kind == "reply" for row in bot.queued)  # the greeting is free


def test_it_starts_with_a_time_chosen_by_button(bot):
    bot.follow(HANAKO)
    said = bot.tap_one_to_one(HANAKO, codec.StartWatch())
    assert "何時に確認しましょうか" in said
    labels = [a["label"] for m in bot.last for a in postback_actions(m)]
    assert labels == ["毎日 7:00", "毎日 9:00", "毎日 12:00", "毎日 19:00"]
    said = bot.tap_one_to_one(HANAKO, codec.ChooseWatchTime(9, 0))
    # It is 9:00 on Monday: the first check is tomorrow's.
    assert "毎日 9:00 に確認をお送りします。次は 12月1日 9時00分 です" in said
    assert "まだ連絡先の方がいません" in said
    watch = watch_of(bot, HANAKO)
    assert watch.state == WatchState.ACTIVE and utc(watch.next_check_at) == at(2026, 12, 1, 0, 0)


@pytest.mark.parametrize(
    "words, first",
    [
        ("毎日 9:30", at(2026, 11, 30, 0, 30)),
        ("２日ごと　２０：００", at(2026, 11, 30, 11, 0)),
        ("3日ごと 8:00", at(2026, 12, 2, 23, 0)),
        ("毎週月水金 9:00", at(2026, 12, 2, 0, 0)),  # Monday 9:00 has just gone: Wednesday
    ],
)
def test_it_reads_the_schedule_words_groups_use(bot, words, first):
    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, f"/見守り {words}")
    assert utc(watch_of(bot, HANAKO).next_check_at) == first


def test_it_explains_a_time_it_cannot_read_and_changes_nothing(bot):
    bot.follow(HANAKO)
    said = bot.say_one_to_one(HANAKO, "/見守り あしたの朝")
    assert "/見守り 毎日 9:00" in said and "/見守り 毎週月水金 9:00" in said
    assert Watch.select().count() == 0


def test_watch_alone_shows_the_settings_or_offers_the_times(bot):
    bot.follow(HANAKO)
    assert "何時に確認しましょうか" in bot.say_one_to_one(HANAKO, "/見守り")
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    said = bot.say_one_to_one(HANAKO, "/見守り")
    assert "確認：毎日 9:00（見守り中）" in said
    assert "次の確認：12月1日 9時00分" in said
    assert "連絡先：まだいません" in said and "最後のOK：まだありません" in said


def test_it_pauses_and_resumes(bot):
    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    assert "止めました" in bot.say_one_to_one(HANAKO, "/見守り 停止")
    assert "いま止まっています" in bot.say_one_to_one(HANAKO, "/見守り 停止")
    bot.advance(2 * DAY)
    bot.sweep()
    assert bot.pushes_to(HANAKO) == []  # no checks while paused
    said = bot.say_one_to_one(HANAKO, "/見守り 再開")
    assert "再開しました。次は 12月3日 9時00分 です" in said
    assert "続いています" in bot.say_one_to_one(HANAKO, "/見守り 再開")
    assert watch_of(bot, HANAKO).state == WatchState.ACTIVE


def test_pausing_ends_a_check_that_is_waiting(bot):
    bot.follow(HANAKO)
    bot.link_contact(HANAKO, ICHIRO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.advance(DAY)
    bot.sweep()
    bot.say_one_to_one(HANAKO, "/見守り 停止")
    assert WatchCheck.get().state == CheckState.ENDED
    bot.advance(13 * 3600)
    bot.sweep()
    assert bot.pushes_to(ICHIRO, "watch-escalation") == []


def test_a_try_is_answered_by_reply_and_never_resent_nor_escalated(bot):
    bot.follow(HANAKO)
    bot.link_contact(HANAKO, ICHIRO)
    said = bot.say_one_to_one(HANAKO, "/確認")
    assert "【おためし】佐藤花子さん、お変わりありませんか？" in said
    assert "連絡先の方にはお知らせしません" in said
    [ok] = [a for m in bot.last for a in postback_actions(m)]
    check = WatchCheck.get()
    assert check.kind == CheckKind.TRIAL and codec.decode(ok["data"]) == codec.WatchOk(check.id)
    assert bot.queued[0].kind == "reply"  # by reply: free
    bot.advance(DAY)
    bot.sweep()
    assert bot.pushes_to(HANAKO, "watch-resend") == [] and Escalation.select().count() == 0
    said = bot.tap_one_to_one(HANAKO, codec.WatchOk(check.id))
    assert "このようにOKを押してください" in said
    assert WatchCheck.get_by_id(check.id).state == CheckState.ANSWERED


@pytest.mark.parametrize("answer", ["OK", "ＯＫ", "ok", "大丈夫です", "オッケー"])
def test_it_thanks_for_an_ok_typed_or_tapped(bot, answer):
    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.advance(DAY)
    bot.sweep()
    said = bot.say_one_to_one(HANAKO, answer)
    assert said == "佐藤花子さん、ありがとうございます。確認しました。"
    check = WatchCheck.get()
    assert check.state == CheckState.ANSWERED and utc(check.answered_at) == bot.now
    assert utc(watch_of(bot, HANAKO).last_ok_at) == bot.now
    assert "いまお答えいただく確認はありません" in bot.say_one_to_one(HANAKO, "OK")


def test_an_ok_on_someone_elses_check_does_nothing(bot):
    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.advance(DAY)
    bot.sweep()
    check = WatchCheck.get()
    bot.follow(ICHIRO)
    bot.say_one_to_one(ICHIRO, "/見守り 毎日 8:00")
    assert bot.tap_one_to_one(ICHIRO, codec.WatchOk(check.id)) == ""
    assert WatchCheck.get_by_id(check.id).state == CheckState.OPEN


def test_it_points_to_the_help_for_anything_else(bot):
    bot.follow(HANAKO)
    assert bot.say_one_to_one(HANAKO, "今日は寒いですね") == "使い方は「/ヘルプ」と送ると見られます。"
    said = bot.say_one_to_one(HANAKO, "/ヘルプ")
    for command in (
        "/見守り 毎日 9:00",
        "/確認",
        "/連絡先",
        "/連絡先 解除",
        "/お休み 12月5日まで",
        "/状況",
        "/退会",
    ):
        assert command in said
    assert bot.say_one_to_one(HANAKO, "/たべる") == said  # an unknown command gets the help


def test_the_name_is_the_one_contacts_read(bot):
    bot.follow(HANAKO)
    assert "お名前を続けて" in bot.say_one_to_one(HANAKO, "/名前")
    assert "「はなこさん」とお伝えします" in bot.say_one_to_one(HANAKO, "/名前 はなこ")
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.advance(DAY)
    bot.sweep()
    assert bot.pushes_to(HANAKO, "watch-check") == [
        "はなこさん、お変わりありませんか？ いつもの見守りの確認です。お変わりなければ、OKを押してください。 OK"
    ]


def test_status_shows_the_persons_own_schedule_and_what_it_cost(bot):
    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.advance(DAY)
    bot.sweep()
    Outbox.update(state="sent", sent_at=bot.now.replace(tzinfo=None), cost=1).where(
        Outbox.purpose == "watch-check"
    ).execute()
    bot.say_one_to_one(HANAKO, "OK")
    said = bot.say_one_to_one(HANAKO, "/状況")
    assert "確認：毎日 9:00（見守り中）" in said
    assert "次の確認：12月2日 9時00分" in said
    assert "最後のOK：12月1日 9時00分" in said
    assert "今月この見守りで送ったメッセージ：1通" in said


def test_someone_who_never_followed_can_still_start(bot):
    # LINE may not deliver the follow (or it came before the bot was set up).
    said = bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    assert "に確認をお送りします" in said
    person = Person.get()
    assert person.display_name == "" and not person.friend
    assert "ご利用者さん" in bot.say_one_to_one(HANAKO, "/確認")


def test_the_schedule_follows_the_bot_timezone_not_utc(bot):
    bot.follow(HANAKO)
    bot.now = datetime.fromisoformat("2026-11-30T14:30:00+00:00")  # 23:30 JST
    bot.say_one_to_one(HANAKO, "/見守り 毎日 0:30")
    assert utc(watch_of(bot, HANAKO).next_check_at) == at(2026, 11, 30, 15, 30)  # 0:30 JST on 1 December
