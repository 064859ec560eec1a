"""Group commands: what leaders and members type, and kind answers to mistakes."""

from __future__ import annotations

import pytest

from domain.commands import is_ok_answer, parse_command
from models import Group, Member, Outbox, Round
from tests.test_checkin_loop import setup_group
from tests.world import HANAKO, ICHIRO, JIRO


def group_state():
    """Everything a command could change, to prove that bad input changed nothing."""
    group = Group.get()
    return (
        group.schedule,
        group.paused,
        group.next_round_at,
        Round.select().count(),
        [(m.nickname, m.is_leader, m.active) for m in Member.select().order_by(Member.id)],
        Outbox.select().where(Outbox.kind == "push").count(),
    )


# -- parsing (pure) -------------------------------------------------------------
@pytest.mark.parametrize(
    "text, name, arg",
    [
        ("/設定 毎日 9:00", "schedule", "毎日 9:00"),
        ("／設定　毎日　９：００", "schedule", "毎日 9:00"),  # full-width slash, spaces, digits
        ("/schedule daily 9:00", "schedule", "daily 9:00"),
        ("/HELP", "help", ""),
        ("/ヘルプ", "help", ""),
        ("/leader", "leader", ""),
        ("/check", "check", ""),
        ("/pause", "pause", ""),
        ("/resume", "resume", ""),
        ("/status", "status", ""),
        ("/notice 明日は清掃日です", "notice", "明日は清掃日です"),
        ("/name 花子", "name", "花子"),
        ("/quit", "quit", ""),
        ("/たべる", None, ""),
    ],
)
def test_it_reads_commands_and_aliases(text, name, arg):
    command = parse_command(text)
    assert command is not None and command.name == name and command.arg == arg


@pytest.mark.parametrize("text", ["こんにちは", "OK", "", "  ", "http://example.com/a"])
def test_it_leaves_ordinary_messages_alone(text):
    assert parse_command(text) is None


@pytest.mark.parametrize("text", ["OK", "ok", "Ok", "ＯＫ", "ｏｋ", " OK! ", "OK。", "オッケー", "無事です"])
def test_it_takes_typed_ok_as_an_answer(text):
    assert is_ok_answer(text)


@pytest.mark.parametrize("text", ["OKです？", "BOOK", "今日は寒い", "okay then", "NG", ""])
def test_it_does_not_take_chatter_as_an_answer(text):
    assert not is_ok_answer(text)


def test_it_keeps_the_notice_text_as_typed():
    command = parse_command("/お知らせ 明日９時　公民館")
    assert command.raw_arg == "明日９時　公民館"


# -- leaders ------------------------------------------------------------------------
def test_it_makes_the_first_member_who_asks_the_leader(world):
    group_id = world.group(HANAKO, ICHIRO)
    world.lead(group_id, HANAKO)
    assert "佐藤花子さんがリーダーになりました" in world.last_text(group_id)
    assert Member.get().is_leader and Member.get().person.display_name == HANAKO  # registered too
    world.lead(group_id, ICHIRO)
    assert "リーダーは佐藤花子さんです" in world.last_text(group_id)
    assert [m.is_leader for m in Member.select()] == [True]  # a refusal registers nobody


def test_it_lets_a_leader_appoint_another(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/リーダー 鈴木一郎さん")
    assert "鈴木一郎さんをリーダーにしました" in world.last_text(group_id)
    world.say(group_id, ICHIRO, "/停止")
    assert Group.get().paused is True


def test_it_refuses_to_appoint_someone_unknown(world):
    group_id = setup_group(world)
    before = group_state()
    world.say(group_id, HANAKO, "/リーダー 山田太郎")
    assert "見つかりません" in world.last_text(group_id)
    assert group_state() == before


@pytest.mark.parametrize(
    "command", ["/設定 毎日 9:00", "/確認", "/停止", "/再開", "/お知らせ こんにちは", "/リーダー 田中次郎"]
)
def test_it_politely_refuses_leader_commands_from_members(world, command):
    group_id = setup_group(world)
    before = group_state()
    world.say(group_id, JIRO, command)
    reply = world.last_text(group_id)
    assert "リーダー（佐藤花子さん）の方だけが使えます" in reply and "ごめんなさい" in reply
    assert group_state() == before


def test_it_tells_members_how_to_become_leader_when_there_is_none(world):
    group_id = world.group(HANAKO)
    world.join(group_id, HANAKO)
    world.say(group_id, HANAKO, "/確認")
    assert "まだリーダーがいません" in world.last_text(group_id)
    assert Round.select().count() == 0


# -- schedules ----------------------------------------------------------------------
def test_it_sets_the_schedule_and_says_when_the_next_round_is(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "／設定　毎週月水金　８：３０")
    reply = world.last_text(group_id)
    assert "「毎週月水金 8:30」にしました" in reply and "次の確認は" in reply
    assert Group.get().schedule == "weekly 024 08:30"


@pytest.mark.parametrize("bad", ["/設定", "/設定 ときどき", "/設定 毎日 25:00", "/設定 毎週 9:00"])
def test_it_answers_a_bad_schedule_with_examples(world, bad):
    group_id = setup_group(world, "毎日 9:00")
    before = group_state()
    world.say(group_id, HANAKO, bad)
    reply = world.last_text(group_id)
    assert "わかりませんでした" in reply and "/設定 毎週月水金 8:30" in reply
    assert group_state() == before


def test_it_pauses_and_resumes(world):
    group_id = setup_group(world, "毎日 9:00")
    world.say(group_id, HANAKO, "/停止")
    assert "停止しました" in world.last_text(group_id)
    world.advance(2 * 24 * 3600)
    world.tick()
    assert Round.select().count() == 0  # paused: nothing opens
    world.say(group_id, HANAKO, "/再開")
    assert "再開しました" in world.last_text(group_id)
    world.advance(24 * 3600)
    world.tick()
    assert Round.select().count() == 1


def test_it_says_when_a_round_is_already_open(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/確認")
    world.say(group_id, HANAKO, "/確認")
    assert "いま確認中です" in world.last_text(group_id)
    assert Round.select().count() == 1


# -- status, notices, names ---------------------------------------------------------
def test_it_reports_status_with_counts_and_usage(world):
    group_id = setup_group(world, "毎日 9:00")
    world.say(group_id, HANAKO, "/確認")
    world.tap(group_id, ICHIRO, "OK")
    world.advance(23 * 3600)
    world.tick()  # the summary: one push to 3 members = 3 messages
    world.say(group_id, HANAKO, "/確認")
    world.tap(group_id, JIRO, "OK")
    world.say(group_id, ICHIRO, "/状況")
    status = world.last_text(group_id)
    assert "確認の予定：毎日 9:00" in status
    assert "いまの確認：OK 1人・まだ 2人" in status
    assert "参加している方：3人" in status
    assert "今月のメッセージ数（このボット全体）：3通" in status


def test_it_posts_a_notice_by_reply(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/お知らせ 明日は避難訓練です。\n9時に公民館へ。")
    notice = world.bot_items(group_id)[-1]
    assert notice["via"] == "reply"
    assert notice["message"]["text"] == "【お知らせ】\n明日は避難訓練です。\n9時に公民館へ。"
    assert world.line.usage()["total"] == 0


def test_it_explains_a_notice_that_is_too_long(world):
    group_id = setup_group(world)
    before = group_state()
    world.say(group_id, HANAKO, "/お知らせ " + "あ" * 5000)
    assert "長すぎます" in world.last_text(group_id)
    assert group_state() == before


def test_it_counts_emoji_as_line_does_for_the_limit(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/お知らせ " + "🙂" * 2500)  # 5,000 UTF-16 units + the heading
    assert "長すぎます" in world.last_text(group_id)


def test_it_pushes_a_notice_when_the_reply_token_has_expired(world):
    group_id = setup_group(world)
    world.line.send_text(group_id, world.user(HANAKO), "/お知らせ 停電のお知らせ")
    world.advance(120)  # the worker only got to it two minutes later
    world.work()
    notice = world.bot_items(group_id)[-1]
    assert notice["via"] == "push" and "停電のお知らせ" in notice["message"]["text"]
    assert Outbox.select().where(Outbox.purpose == "notice").count() == 2  # the expired reply, the push


def test_it_sets_and_uses_a_name(world):
    group_id = setup_group(world)
    world.say(group_id, JIRO, "/名前 じろうさん")
    assert "「じろうさん」とお呼びします" in world.last_text(group_id)
    world.say(group_id, HANAKO, "/確認")
    world.advance(23 * 3600)
    world.tick()
    assert "じろうさん" in world.last_text(group_id)


@pytest.mark.parametrize("bad", ["/名前", "/名前 " + "長" * 21])
def test_it_explains_bad_names(world, bad):
    group_id = setup_group(world)
    before = group_state()
    world.say(group_id, JIRO, bad)
    assert "例：/名前 山田花子" in world.last_text(group_id)
    assert group_state() == before


def test_it_lets_members_quit(world):
    group_id = setup_group(world)
    world.say(group_id, JIRO, "/退会")
    assert "参加をやめました" in world.last_text(group_id)
    world.say(group_id, HANAKO, "/確認")
    world.tap(group_id, HANAKO, "OK")
    world.tap(group_id, ICHIRO, "OK")
    world.advance(23 * 3600)
    world.tick()
    assert world.last_text(group_id) == "全員の無事が確認できました。ご協力ありがとうございます。"


def test_it_forgets_members_who_leave_the_group(world):
    group_id = setup_group(world)
    world.line.remove_member(group_id, world.user(JIRO))
    world.work()
    assert [m.active for m in Member.select().order_by(Member.id)] == [True, True, False]
    assert Group.get().member_count == 2


# -- help ---------------------------------------------------------------------------
def test_it_answers_an_unknown_command_with_help(world):
    group_id = setup_group(world)
    world.say(group_id, JIRO, "/たべる")
    reply = world.last_text(group_id)
    assert reply.startswith("【つながりの使い方】") and "/名前" in reply and "/設定" not in reply


def test_it_shows_leaders_their_commands(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/help")
    reply = world.last_text(group_id)
    assert "【リーダーの方】" in reply and "/設定 毎日 9:00" in reply and "/お知らせ" in reply
