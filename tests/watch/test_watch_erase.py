"""/退会 in the one-to-one chat: everything the service holds about the
person is deleted (and said so), their past answers anonymised, their
contacts told that the watch ended."""

from __future__ import annotations

import json
from datetime import timedelta

from domain import postback as codec
from domain.kinds import AnswerKind, CheckState, EscalationState
from models import (
    Answer,
    CodeAttempt,
    Contact,
    Escalation,
    Invitation,
    Member,
    Outbox,
    Person,
    Round,
    Watch,
    WatchCheck,
)
from tests.support import HANAKO, ICHIRO, JIRO, postback_actions

HOUR = 3600
YAMADA = "山田太郎"


def test_it_asks_first_and_then_deletes_everything(bot):
    # 佐藤花子 leads a group, is watched (two contacts, an escalation that
    # 鈴木一郎 took), is herself 山田太郎's contact, and once mistyped a code.
    group = bot.setup()
    bot.say(group, HANAKO, "/名前 はなこ")
    bot.say(group, HANAKO, "/確認")
    bot.tap(group, HANAKO, codec.Answer(AnswerKind.OK, Round.get().id))
    bot.follow(HANAKO)
    bot.link_contact(HANAKO, ICHIRO)
    bot.link_contact(HANAKO, JIRO)
    bot.follow(YAMADA)
    bot.link_contact(YAMADA, HANAKO)
    bot.say_one_to_one(HANAKO, "000000")
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.say_one_to_one(HANAKO, "/連絡先")  # a live invitation
    bot.advance(24 * HOUR)
    bot.sweep()
    bot.advance(12 * HOUR)
    bot.sweep()
    escalation = Escalation.get()
    bot.tap_one_to_one(ICHIRO, codec.ClaimEscalation(escalation.id))
    hanako = Person.get(Person.line_user_id == bot.user(HANAKO))
    watch_id = Watch.get(Watch.person == hanako).id

    said = bot.say_one_to_one(HANAKO, "/退会")
    assert "見守りの記録をすべて消しますか" in said and "元に戻せません" in said
    [button] = [a for m in bot.last for a in postback_actions(m)]
    assert button["label"] == "すべて消す" and Watch.select().where(Watch.id == watch_id).exists()

    said = bot.tap_one_to_one(HANAKO, codec.ConfirmErase())
    assert said.startswith("見守りの記録をすべて消しました")

    # Her watch, its contacts and invitations, her link as 山田太郎's contact, her guesses: gone.
    assert Watch.select().where(Watch.id == watch_id).count() == 0
    assert Contact.select().where((Contact.person == hanako) | (Contact.watch == watch_id)).count() == 0
    assert Invitation.select().where(Invitation.watch == watch_id).count() == 0
    assert CodeAttempt.select().where(CodeAttempt.person == hanako).count() == 0
    # Her name and LINE id: gone; the row stays as nobody, for past answers.
    person = Person.get_by_id(hanako.id)
    assert person.line_user_id.startswith("erased:") and person.display_name == ""
    assert not person.friend and person.away_until is None
    assert Person.select().where(Person.line_user_id == bot.user(HANAKO)).count() == 0
    [member] = Member.select().where(Member.person == hanako)
    assert not member.active and not member.is_leader and member.nickname is None
    assert Answer.select().where(Answer.member == member).count() == 1  # counted, anonymously
    # Her checks and the escalation stay, belonging to no watch.
    assert all(c.watch_id is None for c in WatchCheck.select())
    assert WatchCheck.get().state == CheckState.ENDED
    escalation = Escalation.get_by_id(escalation.id)
    assert escalation.watch_id is None and escalation.state == EscalationState.ENDED
    # What was said to her or about her: cost kept, words and LINE id gone.
    about_her = Outbox.select().where(Outbox.person == hanako)
    assert all(row.to is None for row in about_her)
    for row in about_her:
        if row.kind == "push":
            assert row.messages == "[]"
    for contact in (ICHIRO, JIRO):
        told = bot.pushes_to(contact)
        assert told[-1] == (
            "佐藤花子さんの見守りが終わりました。佐藤花子さんが見守りをやめ、記録を消されたためです。"
            "これまでありがとうございました。"
        )
        assert all(text == "" for text in told[:-1])  # the escalation and the rest, blanked
    assert bot.pushes_to(YAMADA, "contact")[-1].startswith(
        "佐藤花子さんは、あなたの見守りの連絡先ではなくなりました"
    )
    # In one-to-one chats, only the farewells (and 山田太郎's own news of
    # who became his contact) still name her.
    naming = {
        row.purpose
        for row in Outbox.select().where(Outbox.recipient == "user")
        if HANAKO in json.dumps(json.loads(row.messages), ensure_ascii=False)
    }
    assert naming == {"watch-ended", "contact"}

    # She can begin again, as someone new.
    bot.follow(HANAKO)
    assert Person.select().where(Person.line_user_id == bot.user(HANAKO)).count() == 1
    assert Watch.select().count() == 1  # 山田太郎's


def test_there_is_nothing_to_confirm_twice(bot):
    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.tap_one_to_one(HANAKO, codec.ConfirmErase())
    assert Watch.select().count() == 0
    # The old button again: the person is someone new now, with nothing to delete.
    assert bot.tap_one_to_one(HANAKO, codec.ConfirmErase()).startswith("見守りの記録をすべて消しました")
    assert Person.select().where(Person.line_user_id.startswith("erased:")).count() == 2


def test_leaving_a_group_does_not_forget_someone_watched_or_a_contact(bot):
    group = bot.setup()
    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.link_contact(HANAKO, ICHIRO)
    bot.say(group, HANAKO, "/退会")  # her only group
    bot.say(group, ICHIRO, "/退会")  # his only group
    bot.say(group, JIRO, "/退会")  # nothing else keeps him
    for name in (HANAKO, ICHIRO):
        assert Person.select().where(Person.line_user_id == bot.user(name)).exists(), name
    assert not Person.select().where(Person.line_user_id == bot.user(JIRO)).exists()


def test_closed_checks_and_their_escalations_go_after_the_retention(bot):
    from services.retention import RECORDS_RETENTION, prune

    bot.follow(HANAKO)
    bot.link_contact(HANAKO, ICHIRO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.advance(24 * HOUR)
    bot.sweep()
    bot.advance(12 * HOUR)
    bot.sweep()
    bot.say_one_to_one(HANAKO, "OK")  # closes the check and its escalation
    bot.advance(12 * HOUR)
    bot.sweep()  # the next check: open
    assert prune(bot.now)["watch_checks"] == 0
    counts = prune(bot.now + RECORDS_RETENTION + timedelta(days=1))
    assert counts["watch_checks"] == 1
    assert Escalation.select().count() == 0
    assert WatchCheck.select().count() == 1 and WatchCheck.get().state == CheckState.OPEN
