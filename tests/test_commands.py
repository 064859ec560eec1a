"""Group commands: what leaders and members type, and kind answers to mistakes."""

from __future__ import annotations

import pytest

from domain import postback as codec
from domain.commands import is_ok_answer, parse_command
from domain.kinds import AnswerKind
from models import Group, Member, Outbox, Round
from tests.support import HANAKO, ICHIRO, JIRO, group_state, setup_group


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


# -- leaders (the fast harness: handlers on SQLite, no transport) -------------------
def test_it_makes_the_first_member_who_asks_the_leader(bot):
    group = bot.group(HANAKO, ICHIRO)
    assert "佐藤花子さんがリーダーになりました" in bot.say(group, HANAKO, "/リーダー")
    assert Member.get().is_leader and Member.get().person.display_name == HANAKO  # registered too
    assert "リーダーは佐藤花子さんです" in bot.say(group, ICHIRO, "/リーダー")
    assert [m.is_leader for m in Member.select()] == [True]  # a refusal registers nobody


def test_it_lets_a_leader_appoint_another(bot):
    group = bot.setup()
    assert "鈴木一郎さんをリーダーにしました" in bot.say(group, HANAKO, "/リーダー 鈴木一郎さん")
    bot.say(group, ICHIRO, "/停止")
    assert Group.get().paused is True


def test_it_refuses_to_appoint_someone_unknown(bot):
    group = bot.setup()
    before = group_state()
    assert "見つかりません" in bot.say(group, HANAKO, "/リーダー 山田太郎")
    assert group_state() == before


@pytest.mark.parametrize(
    "command", ["/設定 毎日 9:00", "/確認", "/停止", "/再開", "/お知らせ こんにちは", "/リーダー 田中次郎"]
)
def test_it_politely_refuses_leader_commands_from_members(bot, command):
    group = bot.setup()
    before = group_state()
    reply = bot.say(group, JIRO, command)
    assert "リーダー（佐藤花子さん）の方だけが使えます" in reply and "ごめんなさい" in reply
    assert group_state() == before


def test_it_refuses_a_leaders_button_from_a_member_by_the_same_rule(bot):
    group = bot.setup()
    before = group_state()
    reply = bot.tap(group, JIRO, codec.ChooseArea("1421200"))
    assert "「/地域」はリーダー（佐藤花子さん）の方だけが使えます" in reply
    assert group_state() == before and Group.get().area_code is None


def test_it_tells_members_how_to_become_leader_when_there_is_none(bot):
    group = bot.group(HANAKO)
    bot.join(group, HANAKO)
    assert "まだリーダーがいません" in bot.say(group, HANAKO, "/確認")
    assert Round.select().count() == 0


# -- schedules ----------------------------------------------------------------------
def test_it_sets_the_schedule_and_says_when_the_next_round_is(bot):
    group = bot.setup()
    reply = bot.say(group, HANAKO, "／設定　毎週月水金　８：３０")
    assert "「毎週月水金 8:30」にしました" in reply and "次の確認は" in reply
    assert Group.get().schedule == "weekly 024 08:30"


@pytest.mark.parametrize("bad", ["/設定", "/設定 ときどき", "/設定 毎日 25:00", "/設定 毎週 9:00"])
def test_it_answers_a_bad_schedule_with_examples(bot, bad):
    group = bot.setup("毎日 9:00")
    before = group_state()
    reply = bot.say(group, HANAKO, bad)
    assert "わかりませんでした" in reply and "/設定 毎週月水金 8:30" in reply
    assert group_state() == before


def test_it_pauses_and_resumes(bot):
    group = bot.setup("毎日 9:00")
    assert "停止しました" in bot.say(group, HANAKO, "/停止")
    bot.advance(2 * 24 * 3600)
    bot.sweep()
    assert Round.select().count() == 0  # paused: nothing opens
    assert "再開しました" in bot.say(group, HANAKO, "/再開")
    bot.advance(24 * 3600)
    bot.sweep()
    assert Round.select().count() == 1


def test_it_says_when_a_round_is_already_open(bot):
    group = bot.setup()
    bot.say(group, HANAKO, "/確認")
    assert "いま確認中です" in bot.say(group, HANAKO, "/確認")
    assert Round.select().count() == 1


# -- status, notices, names ---------------------------------------------------------
def test_it_reports_status_with_counts_and_usage(world):
    group_id = setup_group(world, "毎日 9:00")
    world.say(group_id, HANAKO, "/確認")
    world.tap(group_id, ICHIRO, "OK")
    world.advance(23 * 3600)
    # The summary (one push to 3 members = 3 messages), then the routine
    # check that came due meanwhile: the summary goes first, so the round
    # that just ended does not swallow it (3 more).
    world.tick()
    world.say(group_id, HANAKO, "/確認")
    assert "いま確認中です" in world.last_text(group_id)
    world.tap(group_id, JIRO, "OK")
    world.say(group_id, ICHIRO, "/状況")
    status = world.last_text(group_id)
    assert "確認の予定：毎日 9:00" in status
    assert "いまの確認：OK 1人・まだ 2人" in status
    assert "参加している方：3人" in status
    assert "今月のメッセージ数（このボット全体）：6通" in status


def test_it_posts_a_notice_by_reply(world):
    group_id = setup_group(world)
    world.say(group_id, HANAKO, "/お知らせ 明日は避難訓練です。\n9時に公民館へ。")
    notice = world.bot_items(group_id)[-1]
    assert notice["via"] == "reply"
    assert notice["message"]["text"] == "【お知らせ】\n明日は避難訓練です。\n9時に公民館へ。"
    assert world.line.usage()["total"] == 0


def test_it_explains_a_notice_that_is_too_long(bot):
    group = bot.setup()
    before = group_state()
    assert "長すぎます" in bot.say(group, HANAKO, "/お知らせ " + "あ" * 5000)
    assert group_state() == before


def test_it_counts_emoji_as_line_does_for_the_limit(bot):
    group = bot.setup()
    # 5,000 UTF-16 units + the heading
    assert "長すぎます" in bot.say(group, HANAKO, "/お知らせ " + "🙂" * 2500)


def test_it_pushes_a_notice_when_the_reply_token_has_expired(world):
    group_id = setup_group(world)
    world.line.send_text(group_id, world.user(HANAKO), "/お知らせ 停電のお知らせ")
    world.advance(120)  # the worker only got to it two minutes later
    world.work()
    notice = world.bot_items(group_id)[-1]
    assert notice["via"] == "push" and "停電のお知らせ" in notice["message"]["text"]
    assert Outbox.select().where(Outbox.purpose == "notice").count() == 2  # the expired reply, the push


def test_it_sets_and_uses_a_name(bot):
    group = bot.setup()
    assert "「じろうさん」とお呼びします" in bot.say(group, JIRO, "/名前 じろうさん")
    bot.say(group, HANAKO, "/確認")
    bot.advance(23 * 3600)
    bot.sweep()
    summary = Outbox.select().where(Outbox.purpose == "summary").get()
    assert "じろうさん" in summary.messages


@pytest.mark.parametrize("bad", ["/名前", "/名前 " + "長" * 21])
def test_it_explains_bad_names(bot, bad):
    group = bot.setup()
    before = group_state()
    assert "例：/名前 山田花子" in bot.say(group, JIRO, bad)
    assert group_state() == before


def test_it_lets_members_quit(bot):
    group = bot.setup()
    assert "参加をやめました" in bot.say(group, JIRO, "/退会")
    bot.say(group, HANAKO, "/確認")
    round_id = Round.get().id
    bot.tap(group, HANAKO, codec.Answer(AnswerKind.OK, round_id))
    bot.tap(group, ICHIRO, codec.Answer(AnswerKind.OK, round_id))
    bot.advance(23 * 3600)
    bot.sweep()
    summary = Outbox.select().where(Outbox.purpose == "summary").get()
    assert "全員の無事が確認できました。ご協力ありがとうございます。" in summary.messages


def test_it_forgets_members_who_leave_the_group(world):
    group_id = setup_group(world)
    world.line.remove_member(group_id, world.user(JIRO))
    world.work()
    assert [m.active for m in Member.select().order_by(Member.id)] == [True, True, False]
    assert Group.get().member_count == 2


def test_a_leader_who_leaves_is_no_longer_a_leader(bot):
    group = bot.setup()
    bot.say(group, HANAKO, "/退会")
    assert not Member.select().where(Member.is_leader).exists()
    assert "まだリーダーがいません" in bot.say(group, ICHIRO, "/確認")


# -- help ---------------------------------------------------------------------------
def test_it_answers_an_unknown_command_with_help(bot):
    group = bot.setup()
    reply = bot.say(group, JIRO, "/たべる")
    assert reply.startswith("【つながりの使い方】") and "/名前" in reply and "/設定" not in reply


def test_it_shows_leaders_their_commands(bot):
    group = bot.setup()
    reply = bot.say(group, HANAKO, "/help")
    assert "【リーダーの方】" in reply and "/設定 毎日 9:00" in reply and "/お知らせ" in reply
