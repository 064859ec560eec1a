"""Hardening, the bot's side: odd names and long input answered within LINE's
limits, what is kept and for how long, leadership that can change hands."""

from __future__ import annotations

from datetime import timedelta

from domain import postback as codec
from domain.kinds import AnswerKind
from models import Answer, JmaTelegram, Member, Outbox, Person, Round, WebhookEvent, naive
from services import clock
from services.retention import RECORDS_RETENTION, prune
from tests.support import HANAKO, ICHIRO, JIRO, setup_group

RLO_NAME = "鈴木\u202e郎一"


# -- names and echoes ------------------------------------------------------------------
def test_it_registers_a_member_whose_line_name_holds_anything(world):
    odd = "\x00" + RLO_NAME + "\u200b" + "長" * 150
    group_id = world.group(odd, HANAKO)
    world.join(group_id, odd)
    person = Person.get()
    assert person.display_name == ("鈴木郎一" + "長" * 150)[:100]
    reply = world.last_text(group_id)
    assert "参加ありがとうございます" in reply and "\u202e" not in reply and "\x00" not in reply


def test_it_never_echoes_control_characters_in_names(bot):
    group = bot.group(HANAKO, RLO_NAME)
    bot.join(group, HANAKO, RLO_NAME)
    bot.say(group, HANAKO, "/リーダー")
    assert "\u202e" not in bot.say(group, HANAKO, "/リーダー 交代 鈴木郎一")
    assert "鈴木郎一さんに交代しました" in " ".join(m["text"] for m in bot.last)


def test_it_answers_very_long_arguments_within_lines_limits(world):
    group_id = setup_group(world)
    for command in ("/リーダー " + "あ" * 5000, "/地域 " + "あ" * 5000, "/名前 " + "あ" * 5000):
        world.say(group_id, HANAKO, command)
        reply = world.line.requests_log()[-1]
        assert reply["path"] == "/v2/bot/message/reply" and reply["status"] == 200, command


# -- what is kept ----------------------------------------------------------------------
def test_it_forgets_what_a_message_said_once_it_is_sent(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/確認")
    world.tap(group_id, ICHIRO, "OK")
    world.advance(23 * 3600)
    world.tick()
    assert "田中次郎さん" in world.last_text(group_id)  # the group read the names ...
    sent = list(Outbox.select().where(Outbox.state == "sent"))
    assert sent and all(row.messages == "[]" and row.reply_token is None for row in sent)  # ... we keep none
    summary = next(row for row in sent if row.purpose == "summary")
    assert summary.cost == 3 and summary.sent_at is not None  # what the statistics need stays


def test_it_forgets_someone_who_quits_but_keeps_the_counts(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/確認")
    world.tap(group_id, JIRO, "OK")
    world.say(group_id, JIRO, "/名前 じろう")
    world.say(group_id, JIRO, "/退会")
    assert "お名前も消しました" in world.last_text(group_id)
    jiro = Member.get(Member.nickname.is_null() & ~Member.active).person
    assert jiro.line_user_id.startswith("forgotten-") and jiro.display_name == ""
    assert Person.get_or_none(Person.line_user_id == world.user(JIRO)) is None
    assert Answer.select().count() == 1  # the round still counts the answer, anonymously


def test_it_keeps_someone_who_is_still_in_another_group(world):
    first = setup_group(world)
    second = world.group(JIRO, name="二丁目")
    world.join(second, JIRO)
    world.say(first, JIRO, "/退会")
    assert Person.get(Person.line_user_id == world.user(JIRO)).display_name == JIRO


def test_it_prunes_what_has_outlived_its_retention(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/確認")
    world.tap(group_id, ICHIRO, "OK")
    world.advance(23 * 3600)
    world.tick()
    JmaTelegram.create(
        entry_id="x",
        link="https://example.invalid/x",
        entry_updated=naive(clock.now()),
        created_at=naive(clock.now()),
    )
    counts = prune(clock.now())
    assert counts["rounds"] == 0 and Round.select().count() == 1
    later = clock.now() + RECORDS_RETENTION + timedelta(days=1)
    counts = prune(later)
    assert counts["rounds"] == 1 and Round.select().count() == 0 and Answer.select().count() == 0
    assert counts["outbox"] >= 1 and counts["telegrams"] == 1 and counts["events"] >= 1
    assert not WebhookEvent.select().exists()


# -- leadership --------------------------------------------------------------------------
def test_it_hands_leadership_over(bot):
    group = bot.setup()
    assert "佐藤花子さんから鈴木一郎さんに交代しました" in bot.say(group, HANAKO, "/リーダー 交代 鈴木一郎")
    assert [m.person.display_name for m in Member.select().where(Member.is_leader)] == [ICHIRO]
    assert "だけが使えます" in bot.say(group, HANAKO, "/停止")


def test_a_leader_can_step_down_and_the_group_is_asked_who_takes_it(bot):
    group = bot.setup()
    reply = bot.say(group, HANAKO, "/リーダー 辞める")
    assert "佐藤花子さんはリーダーをやめました" in reply and "リーダーがいなくなりました" in reply
    reply = bot.say(group, JIRO, "/リーダー")
    assert (
        "田中次郎さんがリーダーになりました" in reply and "交代できます" in reply
    )  # announced, so others can object


def test_the_group_is_asked_when_its_last_leader_leaves_line_group(world):
    group_id = setup_group(world)
    world.line.remove_member(group_id, world.user(HANAKO))
    world.work()
    item = world.bot_items(group_id)[-1]
    assert item["via"] == "push" and "リーダーがいなくなりました" in item["message"]["text"]


def test_a_member_cannot_step_anyone_down(bot):
    group = bot.setup()
    assert "だけが使えます" in bot.say(group, JIRO, "/リーダー 辞める")
    assert Member.select().where(Member.is_leader).count() == 1


def test_a_tap_on_another_groups_round_changes_nothing(bot):
    group = bot.setup()
    other = bot.group(JIRO, group="C" + "0" * 31 + "2")
    bot.join(other, JIRO)
    bot.say(group, HANAKO, "/確認")
    round_id = Round.get().id
    assert bot.tap(other, JIRO, codec.Answer(AnswerKind.OK, round_id)) == ""
    assert Answer.select().count() == 0
