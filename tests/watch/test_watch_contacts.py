"""見守り contacts: by consent, never typed in.  Invitation codes (expiry,
reuse, guessing, one's own code, a fourth contact), both sides told, either
side ends it, and what a contact may learn.  The fast harness."""

from __future__ import annotations

from datetime import timedelta

import pytest
from peewee import IntegrityError

from domain import postback as codec
from domain.watch import WRONG_CODE_LIMIT, WRONG_CODE_WINDOW
from models import CodeAttempt, Contact, Invitation, LineAccount, Person, Watch, db, naive
from services import contacts as contact_service
from services.contacts import CodeResult
from services.watch_budget import line_account
from tests.support import HANAKO, ICHIRO, JIRO, invitation_code, postback_actions

YAMADA, TAKAHASHI = "山田太郎", "高橋三郎"
HOUR = 3600


def invite(bot, person: str = HANAKO) -> str:
    return invitation_code(bot.say_one_to_one(person, "/連絡先"))


def contact_ids(bot) -> list[str]:
    return sorted(c.person.line_user_id for c in Contact.select(Contact, Person).join(Person))


def test_the_invitation_carries_the_friend_link_and_a_code(bot):
    LineAccount.update(basic_id="@123abcde").where(LineAccount.id == line_account().id).execute()
    bot.follow(HANAKO)
    said = bot.say_one_to_one(HANAKO, "/連絡先")
    assert "まだ連絡先の方がいません" in said and "転送してください" in said
    invitation = bot.last[-1]["text"]  # the message to forward: it speaks to the contact-to-be
    assert invitation.startswith("佐藤花子さんから、見守りの連絡先のお願いです。")
    assert "https://line.me/R/ti/p/%40123abcde" in invitation
    code = invitation_code(invitation)
    assert "（12月3日 9時00分まで有効・1回かぎり）" in invitation
    assert Invitation.get().code == code
    assert invite(bot) == code  # asked again within 72 hours: the same code


def test_a_contact_is_made_by_the_contacts_own_tap_and_both_are_told(bot):
    bot.follow(HANAKO)
    code = invite(bot)
    bot.follow(ICHIRO)
    said = bot.say_one_to_one(ICHIRO, code)
    assert said.startswith("佐藤花子さんの見守りの連絡先になりますか？")
    [button] = [a for m in bot.last for a in postback_actions(m)]
    assert button["label"] == "連絡先になる"
    assert Contact.select().count() == 0  # the code alone makes nobody a contact
    action = codec.decode(button["data"])
    said = bot.tap_one_to_one(ICHIRO, action)
    assert said.startswith("佐藤花子さんの見守りの連絡先になりました")
    assert bot.pushes_to(HANAKO, "contact") == [
        "鈴木一郎さんが、あなたの見守りの連絡先になってくださいました（連絡先 1人）。"
    ]
    [contact] = Contact.select()
    assert contact.slot == 1 and contact.consented_at == naive(bot.now)
    assert "あなたの連絡先：鈴木一郎さん（1人）" in bot.say_one_to_one(HANAKO, "/連絡先")


def test_a_code_expires_after_72_hours(bot):
    bot.follow(HANAKO)
    code = invite(bot)
    bot.advance(72 * HOUR)
    bot.follow(ICHIRO)
    assert bot.say_one_to_one(ICHIRO, code).startswith("この番号は使えません")
    assert CodeAttempt.select().count() == 1
    assert invite(bot) != code  # a new one


def test_a_code_is_used_once(bot):
    bot.follow(HANAKO)
    bot.link_contact(HANAKO, ICHIRO)
    used = Invitation.get().code
    bot.follow(JIRO)
    assert bot.say_one_to_one(JIRO, used).startswith("この番号は使えません")
    invitation = Invitation.get(Invitation.code == used)
    assert "この番号は使えません" in bot.tap_one_to_one(JIRO, codec.BecomeContact(invitation.id, used))
    assert contact_ids(bot) == [bot.user(ICHIRO)]


def test_a_shown_offer_cannot_be_accepted_twice(bot):
    bot.follow(HANAKO)
    code = invite(bot)
    invitation = Invitation.get()
    bot.follow(ICHIRO)
    bot.follow(JIRO)
    bot.say_one_to_one(ICHIRO, code)
    bot.say_one_to_one(JIRO, code)  # both were shown the button
    bot.tap_one_to_one(ICHIRO, codec.BecomeContact(invitation.id, code))
    assert "この番号は使えません" in bot.tap_one_to_one(JIRO, codec.BecomeContact(invitation.id, code))
    assert contact_ids(bot) == [bot.user(ICHIRO)]


def test_guessing_codes_is_stopped_per_sender(bot):
    bot.follow(HANAKO)
    code = invite(bot)
    bot.follow(YAMADA)
    wrong = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, WRONG_CODE_LIMIT + 1)]
    for guess in wrong:
        assert bot.say_one_to_one(YAMADA, guess).startswith("この番号は使えません")
    # Even the right code is refused now, and looked up no more.
    said = bot.say_one_to_one(YAMADA, code)
    assert said.startswith("番号のまちがいが続いたため")
    invitation = Invitation.get()
    assert bot.tap_one_to_one(YAMADA, codec.BecomeContact(invitation.id, code)).startswith(
        "番号のまちがいが続いたため"
    )
    assert Contact.select().count() == 0
    assert CodeAttempt.select().count() == WRONG_CODE_LIMIT
    # Someone else is not held up by it.
    bot.follow(ICHIRO)
    assert bot.say_one_to_one(ICHIRO, code).startswith("佐藤花子さんの見守りの連絡先になりますか")
    # And after a day the sender may try again (the code has been renewed meanwhile).
    bot.advance(WRONG_CODE_WINDOW.total_seconds())
    bot.sweep()
    fresh = invite(bot)
    assert bot.say_one_to_one(YAMADA, fresh).startswith("佐藤花子さんの見守りの連絡先になりますか")


def test_a_forged_tap_with_a_wrong_code_counts_as_a_guess(bot):
    bot.follow(HANAKO)
    invite(bot)
    invitation = Invitation.get()
    bot.follow(YAMADA)
    for n in range(WRONG_CODE_LIMIT):
        bot.tap_one_to_one(YAMADA, codec.BecomeContact(invitation.id, f"{n:06d}"))
    assert CodeAttempt.select().count() == WRONG_CODE_LIMIT
    said = bot.tap_one_to_one(YAMADA, codec.BecomeContact(invitation.id, invitation.code))
    assert said.startswith("番号のまちがいが続いたため")


def test_ones_own_code_makes_nobody_a_contact(bot):
    bot.follow(HANAKO)
    code = invite(bot)
    assert bot.say_one_to_one(HANAKO, code).startswith("これはあなたの番号です")
    invitation = Invitation.get()
    assert "これはあなたの番号です" in bot.tap_one_to_one(HANAKO, codec.BecomeContact(invitation.id, code))
    assert Contact.select().count() == 0 and CodeAttempt.select().count() == 0
    assert Invitation.get().used_at is None


def test_a_contact_already_linked_is_told_so(bot):
    bot.follow(HANAKO)
    bot.link_contact(HANAKO, ICHIRO)
    code = invite(bot)
    assert bot.say_one_to_one(ICHIRO, code) == "あなたはすでに佐藤花子さんの見守りの連絡先です。"


def test_three_contacts_at_most(bot):
    bot.follow(HANAKO)
    for contact in (ICHIRO, JIRO, YAMADA):
        bot.link_contact(HANAKO, contact)
    said = bot.say_one_to_one(HANAKO, "/連絡先")
    assert "（3人）" in said and "連絡先は3人までです" in said and "番号" not in said
    assert Invitation.select().where(Invitation.used_at.is_null()).count() == 0
    # A code handed out before the third accepted cannot make a fourth.
    watch = Watch.get()
    spare = Invitation.create(
        watch=watch, code="999999", created_at=naive(bot.now), expires_at=naive(bot.now + timedelta(hours=1))
    )
    bot.follow(TAKAHASHI)
    assert (
        bot.say_one_to_one(TAKAHASHI, "999999")
        == "佐藤花子さんの連絡先は、すでに3人います。ありがとうございました。"
    )
    assert "すでに3人" in bot.tap_one_to_one(TAKAHASHI, codec.BecomeContact(spare.id, "999999"))
    assert Contact.select().count() == 3


def test_the_database_itself_keeps_a_watch_at_three(bot):
    bot.follow(HANAKO)
    for contact in (ICHIRO, JIRO, YAMADA):
        bot.link_contact(HANAKO, contact)
    bot.follow(TAKAHASHI)
    extra = Person.get(Person.line_user_id == bot.user(TAKAHASHI))
    with pytest.raises(IntegrityError), db.atomic():
        Contact.create(watch=Watch.get(), person=extra, slot=1, consented_at=naive(bot.now))


def test_the_last_place_goes_to_one_of_two_people_accepting_at_once(bot):
    bot.follow(HANAKO)
    for contact in (ICHIRO, JIRO):
        bot.link_contact(HANAKO, contact)
    watch = Watch.get()
    bot.follow(YAMADA)
    bot.follow(TAKAHASHI)
    first = Invitation.create(
        watch=watch, code="111111", created_at=naive(bot.now), expires_at=naive(bot.now + timedelta(hours=1))
    )
    second = Invitation.create(
        watch=watch, code="222222", created_at=naive(bot.now), expires_at=naive(bot.now + timedelta(hours=1))
    )
    yamada = Person.get(Person.line_user_id == bot.user(YAMADA))
    takahashi = Person.get(Person.line_user_id == bot.user(TAKAHASHI))
    # The other one took slot 3 after this one counted the free slots.
    with db.atomic():
        Contact.create(watch=watch, person=takahashi, slot=3, consented_at=naive(bot.now))
        Invitation.update(used_at=naive(bot.now)).where(Invitation.id == second.id).execute()
    with db.atomic():
        outcome = contact_service.accept(first.id, "111111", yamada, bot.now)
    assert outcome.result is CodeResult.FULL
    assert Contact.select().count() == 3
    assert Invitation.get_by_id(first.id).used_at is None  # given back


def test_either_side_can_end_it(bot):
    bot.follow(HANAKO)
    bot.link_contact(HANAKO, ICHIRO)
    bot.link_contact(HANAKO, JIRO)
    said = bot.say_one_to_one(HANAKO, "/連絡先 解除")
    labels = [a["label"] for m in bot.last for a in postback_actions(m)]
    assert labels == ["鈴木一郎さん（あなたの連絡先）", "田中次郎さん（あなたの連絡先）"]
    assert "相手の方にもお知らせします" in said
    ichiro_link = codec.decode(postback_actions(bot.last[0])[0]["data"])
    assert bot.tap_one_to_one(HANAKO, ichiro_link).startswith("鈴木一郎さんとの見守りのつながりをやめました")
    assert bot.pushes_to(ICHIRO, "contact") == [
        "佐藤花子さんの見守りの連絡先のつながりが終わりました。ありがとうございました。"
    ]
    assert bot.tap_one_to_one(HANAKO, ichiro_link) == "このつながりは、すでに終わっています。"

    bot.say_one_to_one(JIRO, "/連絡先 解除")
    [label] = [a["label"] for m in bot.last for a in postback_actions(m)]
    assert label == "佐藤花子さんの連絡先をやめる"
    jiro_link = codec.decode(postback_actions(bot.last[0])[0]["data"])
    assert bot.tap_one_to_one(YAMADA, jiro_link) == "このつながりは、すでに終わっています。"  # not theirs
    bot.tap_one_to_one(JIRO, jiro_link)
    assert bot.pushes_to(HANAKO, "contact")[-1].startswith(
        "田中次郎さんは、あなたの見守りの連絡先ではなくなりました"
    )
    assert Contact.select().count() == 0
    assert bot.say_one_to_one(HANAKO, "/連絡先 解除") == "やめられる連絡先のつながりはありません。"


def test_someone_watching_several_people_always_knows_whom_a_message_is_about(bot):
    bot.follow(HANAKO)
    bot.follow(JIRO)
    bot.link_contact(HANAKO, ICHIRO)
    bot.link_contact(JIRO, ICHIRO)
    for person in (HANAKO, JIRO):
        bot.say_one_to_one(person, "/見守り 毎日 9:00")
    bot.advance(24 * HOUR)
    bot.sweep()
    bot.advance(12 * HOUR)
    bot.sweep()
    escalations = bot.pushes_to(ICHIRO, "watch-escalation")
    assert len(escalations) == 2
    assert {e.split("さんから")[0] for e in escalations} == {HANAKO, JIRO}
    said = bot.say_one_to_one(ICHIRO, "/状況")
    assert "・佐藤花子さん（見守り中" in said and "・田中次郎さん（見守り中" in said


def test_expired_codes_and_old_guesses_are_forgotten(bot):
    bot.follow(HANAKO)
    code = invite(bot)
    bot.follow(YAMADA)
    bot.say_one_to_one(YAMADA, f"{(int(code) + 1) % 10**6:06d}")
    bot.advance(72 * HOUR)
    assert contact_service.prune(bot.now) == 2
    assert Invitation.select().count() == 0 and CodeAttempt.select().count() == 0
