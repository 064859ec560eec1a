"""The whole check-in loop, end to end: emulator -> webhook -> RQ -> LINE."""

from __future__ import annotations

from models import Answer, Group, Member, Outbox, Round, WebhookEvent
from tests.support import HANAKO, ICHIRO, JIRO, postback_actions, setup_group

DAY = 24 * 3600


def test_it_greets_a_group_by_reply_with_a_join_button(world):
    group_id = world.group(HANAKO, ICHIRO)
    [greeting, hint, languages] = world.bot_items(group_id)
    assert greeting["via"] == hint["via"] == languages["via"] == "reply"
    greeting_text = " ".join(world.bot_texts(group_id))
    assert "住所や電話番号などは必要ありません" in greeting_text
    assert "LINEの表示名と、OKを押したかどうかだけを記録します" in greeting_text  # what is kept, honestly
    assert [a["label"] for a in postback_actions(greeting["message"])] == ["参加する"]
    # The language buttons (/言語), each in its own language.
    assert [a["label"] for a in postback_actions(languages["message"])] == [
        "日本語",
        "やさしい日本語",
        "English",
    ]
    assert world.line.usage()["total"] == 0  # replies are free
    group = Group.get(Group.line_group_id == group_id)
    assert group.active and group.member_count == 2


def test_it_welcomes_a_member_who_joins_later(world):
    group_id = world.group(HANAKO)
    world.line.add_member(group_id, world.user(JIRO))
    world.work()
    welcome = world.bot_items(group_id)[-1]
    assert welcome["via"] == "reply"
    assert "ようこそ" in world.last_text(group_id)
    assert [a["label"] for a in postback_actions(welcome["message"])] == ["参加する"]
    assert Group.get(Group.line_group_id == group_id).member_count == 2


def test_it_registers_members_with_their_line_names(world):
    group_id = world.group(HANAKO, ICHIRO, JIRO)
    world.join(group_id, ICHIRO)
    assert "鈴木一郎さん、参加ありがとうございます" in world.last_text(group_id)
    world.join(group_id, ICHIRO)  # tapping again changes nothing
    members = list(Member.select())
    assert [(m.person.display_name, m.person.line_user_id) for m in members] == [(ICHIRO, world.user(ICHIRO))]
    assert "参加済み" in world.last_text(group_id)


def test_it_runs_the_whole_loop(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/確認")
    prompt = world.bot_items(group_id)[-1]
    assert prompt["via"] == "reply"  # the leader's command carries the prompt for free
    [ok] = postback_actions(prompt["message"])
    assert ok["label"] == "OK" and ok["displayText"] == "OK"

    world.tap(group_id, HANAKO, "OK")
    world.say(group_id, ICHIRO, "ＯＫ")
    user_lines = [i for i in world.line.timeline(group_id) if i["sender"] == "user"]
    assert user_lines[-2]["display_name"] == HANAKO and user_lines[-2]["message"]["text"] == "OK"

    world.advance(23 * 3600 - 60)
    world.tick()
    assert Round.get().status == "open"  # not yet

    world.advance(61)
    world.tick()
    summary, buttons = world.bot_items(group_id)[-2:]
    assert summary["via"] == buttons["via"] == "push"  # one push: the text and its buttons
    assert summary["message"]["text"].startswith(
        "田中次郎さんの無事がまだ確認できていません。お声がけをお願いします。"
    )
    assert [a["label"] for a in postback_actions(buttons["message"])] == ["田中次郎さんを確認します"]
    assert Round.get().status == "closed"
    assert world.line.usage()["total"] == 3  # one push to a group of three

    world.advance(DAY)
    world.tick()
    summaries = [o for o in Outbox.select().where(Outbox.purpose == "summary")]
    assert len(summaries) == 1 and summaries[0].state == "sent" and summaries[0].cost == 3


def test_it_says_when_everyone_answered(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/確認")
    for name in (HANAKO, ICHIRO, JIRO):
        world.tap(group_id, name, "OK")
    world.advance(23 * 3600)
    world.tick()
    assert world.last_text(group_id) == "全員の無事が確認できました。ご協力ありがとうございます。"


def test_it_opens_routine_rounds_on_schedule(world):
    group_id = setup_group(world, "毎日 9:00")
    assert "次の確認は" in world.last_text(group_id)
    group = Group.get(Group.line_group_id == group_id)
    world.advance((group.next_round_at - world_now(world)).total_seconds() + 1)
    world.tick()
    prompt = world.bot_items(group_id)[-1]
    assert prompt["via"] == "push"
    assert "無事ですか？" in world.last_text(group_id)
    assert len(world.prompts(group_id)) == 1
    assert Round.select().count() == 1
    world.tick()  # a second tick opens nothing new
    assert Round.select().count() == 1
    assert world.line.usage()["total"] == 3
    next_at = Group.get_by_id(group.id).next_round_at
    assert (next_at - group.next_round_at).total_seconds() == DAY


def world_now(world):
    from services import clock

    return clock.now().replace(tzinfo=None)


def test_it_counts_typed_answers(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/確認")
    world.say(group_id, HANAKO, "ok")
    world.say(group_id, ICHIRO, "ＯＫ")
    world.say(group_id, JIRO, "今日は寒いですね")  # chatter is not an answer, and gets no reply
    assert Answer.select().count() == 2
    assert world.last_text(group_id) == "鈴木一郎さん、ありがとうございます。確認しました。"


def test_it_ignores_second_answers_closed_rounds_and_redeliveries(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/確認")
    prompt = world.prompt_message(group_id)
    world.tap(group_id, ICHIRO, "OK", prompt)
    replies_before = len(world.bot_items(group_id))
    world.tap(group_id, ICHIRO, "OK", prompt)  # twice
    world.say(group_id, ICHIRO, "OK")  # and typed
    assert Answer.select().count() == 1
    assert len(world.bot_items(group_id)) == replies_before  # no noise either

    last_event = world.line.delivered_events()[-1]
    world.line.redeliver(last_event["webhookEventId"])
    world.work()
    assert WebhookEvent.select().count() == len({e["webhookEventId"] for e in world.line.delivered_events()})

    world.advance(23 * 3600)
    world.tick()
    world.tap(group_id, ICHIRO, "OK", prompt)  # too late, and nothing to follow up
    assert Answer.select().count() == 1
    assert "締め切られました" in world.last_text(group_id)


def test_it_asks_unregistered_members_to_join_first(world):
    group_id = world.group(HANAKO, ICHIRO)
    world.join(group_id, HANAKO)
    world.lead(group_id, HANAKO)
    world.say(group_id, HANAKO, "/確認")
    world.tap(group_id, ICHIRO, "OK")
    assert Answer.select().count() == 0
    assert "先に「参加する」を押してください" in world.last_text(group_id)


def test_it_stops_when_removed_from_the_group(world):
    group_id = setup_group(world, "毎日 9:00")
    world.say(group_id, HANAKO, "/確認")
    world.line.remove_bot(group_id)
    world.work()
    group = Group.get(Group.line_group_id == group_id)
    assert not group.active and group.left_at is not None
    pushes = len(world.pushes())
    world.advance(3 * DAY)
    world.tick()
    assert len(world.pushes()) == pushes
    assert Round.get().status == "closed"
    assert Outbox.select().where(Outbox.state == "pending").count() == 0


def test_it_does_not_catch_up_when_invited_back(world):
    group_id = setup_group(world, "毎日 9:00")
    world.line.remove_bot(group_id)
    world.work()
    world.advance(5 * DAY)
    world.tick()
    world.line.invite_bot(group_id)
    world.work()
    world.tick()
    assert Round.select().count() == 0  # no round for the days it was away
    assert "こんにちは" in world.bot_texts(group_id)[-3]  # greeted again (then the hint and the languages)
    world.advance(DAY)
    world.tick()
    assert Round.select().count() == 1


def test_it_tells_the_leader_first_when_most_of_the_group_has_not_joined(world):
    group_id = world.group(HANAKO, ICHIRO, JIRO, "山田太郎")
    world.join(group_id, HANAKO)
    world.lead(group_id, HANAKO)
    world.say(group_id, HANAKO, "/確認")
    note, prompt = world.bot_items(group_id)[-2:]
    assert note["via"] == prompt["via"] == "reply"  # one free reply: the note first, then the check
    assert world.bot_texts(group_id)[-2].startswith("参加している方は4人中1人です")
    assert [a["label"] for a in postback_actions(note["message"])] == ["参加する"]
    assert [a["label"] for a in postback_actions(prompt["message"])] == ["OK"]
