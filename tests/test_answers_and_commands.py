"""What members ran into, with the fast harness (handlers on SQLite): answers
in their own words and stickers, 「助けて」 at any time, and forgiving
commands — /名簿, /お休み, /設定 名前, もしかして, commands without a slash."""

from __future__ import annotations

from datetime import date

import pytest

from domain import postback as codec
from domain.commands import parse_bare_command, suggest_command
from domain.kinds import AnswerKind, FollowUpKind, NamesAudience
from models import Answer, FollowUp, Group, OfflineMember, Outbox, Person, Round
from tests.support import HANAKO, ICHIRO, JIRO, group_state

UME = "高橋ウメ"


def answers():
    return sorted((a.member.person.display_name, a.kind) for a in Answer.select())


# -- natural answers ------------------------------------------------------------------
def test_it_counts_answers_in_members_own_words_and_stickers(bot):
    group = bot.setup()
    bot.say(group, HANAKO, "/確認")
    assert (
        bot.say(group, ICHIRO, "おはようございます。元気です")
        == "鈴木一郎さん、ありがとうございます。確認しました。"
    )
    assert bot.sticker(group, JIRO) == "田中次郎さん、ありがとうございます。確認しました。"
    assert bot.say(group, HANAKO, "👍") == "佐藤花子さん、ありがとうございます。確認しました。"
    assert answers() == sorted([(HANAKO, "ok"), (ICHIRO, "ok"), (JIRO, "ok")])
    assert bot.say(group, ICHIRO, "はい") == ""  # said twice: counted once, no noise


@pytest.mark.parametrize("text", ["元気じゃない", "大丈夫じゃないです", "具合が悪いです"])
def test_it_never_counts_the_opposite_and_asks_kindly(bot, text):
    group = bot.setup()
    bot.say(group, HANAKO, "/確認")
    reply = bot.say(group, JIRO, text)
    assert "田中次郎さん、大丈夫ですか。助けが必要なときは「助けて」と送ってください" in reply
    assert answers() == []


def test_it_leaves_conversation_alone_outside_a_check(bot):
    group = bot.setup()
    assert bot.say(group, ICHIRO, "元気です") == ""
    assert bot.sticker(group, ICHIRO) == ""
    bot.say(group, HANAKO, "/確認")
    assert bot.say(group, ICHIRO, "今日は寒いですね。みなさん元気ですか") == ""
    assert answers() == []


def test_it_asks_someone_not_registered_to_join_first(bot):
    group = bot.group(HANAKO, ICHIRO)
    bot.join(group, HANAKO)
    bot.say(group, HANAKO, "/リーダー")
    bot.say(group, HANAKO, "/確認")
    assert "先に「参加する」を押してください" in bot.sticker(group, ICHIRO)
    assert answers() == []


def test_it_hears_help_typed_during_a_drill(bot):
    group = bot.setup()
    bot.say(group, HANAKO, "/訓練")
    reply = bot.say(group, JIRO, "助けて！")
    assert reply.startswith("【訓練】佐藤花子さんへ：田中次郎さんから「助けて」と届きました。")
    assert "田中次郎さんを確認します" in reply  # a neighbour can say they will go
    assert answers() == [(JIRO, "help")]
    [follow_up] = FollowUp.select()
    assert follow_up.kind == FollowUpKind.HELP and follow_up.state == "open"


def test_it_hears_help_with_no_check_open(bot):
    group = bot.setup()
    reply = bot.say(group, JIRO, "救急車を呼んでください")
    assert "佐藤花子さんへ：田中次郎さんから「助けて」と届きました" in reply and "119番" in reply
    bot.say(group, HANAKO, "/確認")
    bot.advance(23 * 3600)
    bot.sweep()
    # Once a group has had a round, a call for help is followed up in it.
    assert "田中次郎さんを確認します" in bot.say(group, JIRO, "助けて")
    assert FollowUp.get(FollowUp.kind == FollowUpKind.HELP).member.person.display_name == JIRO


def test_it_hears_help_from_someone_not_registered(bot):
    group = bot.group(HANAKO, ICHIRO)
    bot.join(group, HANAKO)
    bot.say(group, HANAKO, "/リーダー")
    reply = bot.say(group, ICHIRO, "たすけて")
    assert "佐藤花子さんへ：鈴木一郎さんから「助けて」と届きました" in reply


def test_it_says_so_when_an_ok_follows_a_call_for_help(bot):
    group = bot.setup()
    bot.say(group, HANAKO, "/訓練")
    round_id = Round.get().id
    bot.tap(group, JIRO, codec.Answer(AnswerKind.HELP, round_id))
    reply = bot.tap(group, JIRO, codec.Answer(AnswerKind.OK, round_id))
    assert "田中次郎さん、OKを受け取りました。「助けが必要」とうかがっていたので" in reply
    assert answers() == [(JIRO, "help")]  # kept until someone confirms them
    # OK -> help is heard at once, as before.
    bot.tap(group, ICHIRO, codec.Answer(AnswerKind.OK, round_id))
    assert "鈴木一郎さんが「助けが必要」を押しました" in bot.tap(
        group, ICHIRO, codec.Answer(AnswerKind.HELP, round_id)
    )


def test_an_ok_counts_in_a_drill_and_the_check_beside_it(bot):
    group = bot.setup()
    bot.say(group, HANAKO, "/確認")
    reply = bot.say(group, HANAKO, "/訓練")  # a leader may run a drill at any time
    assert reply.startswith("【訓練】無事を確認しています")
    assert Round.select().where(Round.status == "open").count() == 2
    bot.say(group, ICHIRO, "元気です")
    assert sorted(a.round.kind for a in Answer.select()) == ["drill", "manual"]
    assert "いま確認中です" in bot.say(group, HANAKO, "/確認")
    assert "訓練はそのあとで" in bot.say(group, HANAKO, "/訓練")


# -- /名簿 ----------------------------------------------------------------------------
def test_it_keeps_people_without_line_on_the_roster(bot):
    group = bot.setup()
    assert "高橋ウメさんを名簿に入れました" in bot.say(group, HANAKO, "/名簿 追加 高橋ウメさん")
    assert "もう名簿に入っています" in bot.say(group, HANAKO, "/名簿 追加 高橋ウメ")
    listing = bot.say(group, HANAKO, "/名簿")
    assert "参加している方（3人）：佐藤花子さん（リーダー）、鈴木一郎さん、田中次郎さん" in listing
    assert "LINEなしの方（1人）：高橋ウメさん" in listing
    assert "名簿にいません" in bot.say(group, HANAKO, "/名簿 削除 山田花子")
    assert "高橋ウメさんを名簿から外しました" in bot.say(group, HANAKO, "/名簿 削除 高橋ウメ")
    assert [(o.name, o.active) for o in OfflineMember.select()] == [(UME, False)]


@pytest.mark.parametrize("command", ["/名簿", "/名簿 追加 高橋ウメ"])
def test_only_leaders_keep_the_roster(bot, command):
    group = bot.setup()
    assert "リーダー（佐藤花子さん）の方だけが使えます" in bot.say(group, JIRO, command)
    assert OfflineMember.select().count() == 0


@pytest.mark.parametrize("bad", ["/名簿 追加", "/名簿 追加 " + "長" * 21, "/名簿 たす 高橋ウメ"])
def test_it_explains_a_roster_command_it_cannot_read(bot, bad):
    group = bot.setup()
    assert "/名簿 追加 高橋ウメ" in bot.say(group, HANAKO, bad)
    assert OfflineMember.select().count() == 0


# -- /お休み ---------------------------------------------------------------------------
def test_it_records_an_absence_and_its_end(bot):
    group = bot.setup()
    reply = bot.say(group, ICHIRO, "/お休み 12月5日まで")
    assert "鈴木一郎さん、12月5日までお休みですね" in reply
    assert Person.get(Person.display_name == ICHIRO).away_until == date(2026, 12, 5)
    assert "12月2日までお休みですね" in bot.say(group, ICHIRO, "/お休み 3日")  # Monday to Wednesday
    assert "おかえりなさい" in bot.say(group, ICHIRO, "/お休み おわり")
    assert Person.get(Person.display_name == ICHIRO).away_until is None
    assert "入っていません" in bot.say(group, ICHIRO, "/お休み おわり")


def test_it_explains_an_absence_it_cannot_read(bot):
    group = bot.setup()
    assert "わかりませんでした" in bot.say(group, ICHIRO, "/お休み ずっと")
    assert Person.get(Person.display_name == ICHIRO).away_until is None


def test_good_night_is_not_an_absence(bot):
    group = bot.setup()
    assert bot.say(group, ICHIRO, "お休み") == ""  # 「おやすみ」: good night, not a command
    assert bot.say(group, ICHIRO, "お休み なさい") == ""
    assert "12月2日までお休みですね" in bot.say(group, ICHIRO, "お休み 3日")


# -- /設定 ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed, described",
    [
        ("毎朝9時", "毎日 9:00"),
        ("平日 8:00", "平日 8:00"),
        ("毎日 午前9時", "毎日 9:00"),
        ("土日 9時半", "土日 9:30"),
    ],
)
def test_it_reads_schedules_as_leaders_write_them(bot, typed, described):
    group = bot.setup()
    assert f"「{described}」にしました" in bot.say(group, HANAKO, f"/設定 {typed}")


def test_it_sends_the_names_to_the_leaders_when_the_group_wants_that(bot):
    group = bot.setup()
    reply = bot.say(group, HANAKO, "/設定 名前 リーダーだけ")
    assert "お名前をリーダーの方だけにお送りします" in reply
    assert "佐藤花子さんはまだ「つながり」と友だちになっていません" in reply and "友だち追加のしかた" in reply
    assert Group.get().names_to == NamesAudience.LEADERS
    assert "グループのみなさんにお送りします" in bot.say(group, HANAKO, "/設定 名前 みんな")
    assert Group.get().names_to == NamesAudience.GROUP
    before = group_state()
    assert "/設定 名前 リーダーだけ" in bot.say(group, HANAKO, "/設定 名前 ときどき")
    assert group_state() == before


# -- forgiving commands -----------------------------------------------------------------
@pytest.mark.parametrize(
    "typed, meant",
    [
        ("/せってい 毎日 9:00", "/設定"),
        ("/セッテイ", "/設定"),
        ("/かくにん", "/確認"),
        ("/確認して", "/確認"),
        ("/じょうきょう", "/状況"),
        ("/状態", "/状況"),
        ("/おやすみ 3日", "/お休み"),
        ("/めいぼ", "/名簿"),
    ],
)
def test_it_suggests_the_command_a_near_miss_meant(bot, typed, meant):
    group = bot.setup()
    before = group_state()
    reply = bot.say(group, HANAKO, typed)
    assert reply.startswith(f"もしかして「{meant}」ですか？") and "【つながりの使い方】" not in reply
    assert group_state() == before  # a guess never runs


def test_it_still_gives_the_help_for_what_it_cannot_guess(bot):
    group = bot.setup()
    assert bot.say(group, JIRO, "/たべる").startswith("【つながりの使い方】")


def test_it_takes_a_command_typed_without_its_slash(bot):
    group = bot.setup()
    assert bot.say(group, JIRO, "状況").startswith("【いまの状況】")
    assert bot.say(group, JIRO, "確認") == ""  # a member: it was conversation
    assert Round.select().count() == 0
    assert "無事ですか？" in bot.say(group, HANAKO, "確認")
    assert Round.select().count() == 1
    assert "「毎日 9:00」にしました" in bot.say(group, HANAKO, "設定 毎日 9:00")
    assert bot.say(group, HANAKO, "設定 変えたいですね") == ""
    assert bot.say(group, HANAKO, "お知らせ 明日は清掃です") == ""  # free text: never without a slash
    assert bot.say(group, JIRO, "退会") == "" and all(m.active for m in Group.get().members)


@pytest.mark.parametrize(
    "text, name",
    [
        ("状況", "status"),
        ("確認。", "check"),
        ("ヘルプ", "help"),
        ("設定 毎日 9:00", "schedule"),
        ("確認？", None),
    ],
)
def test_it_reads_bare_command_words(text, name):
    command = parse_bare_command(text)
    assert (command.name if command else None) == name


def test_it_guesses_nothing_for_words_that_are_not_near_a_command():
    assert suggest_command("たべる") is None and suggest_command("元気") is None


def test_it_says_how_much_to_cut_from_a_long_notice(bot):
    group = bot.setup()
    body = ("明日の清掃は9時に駅前に集合してください。" * 300)[:6000]
    reply = bot.say(group, HANAKO, "/お知らせ " + body)
    assert "あと1007文字短くしてください" in reply  # 6,000 - (5,000 - 「【お知らせ】」)
    assert "1通目を「…" in reply and "」のところまでにしてください" in reply
    assert Outbox.select().where(Outbox.purpose == "notice").count() == 0


# -- nobody invisible ----------------------------------------------------------------------
def test_it_tells_the_leader_first_when_most_have_not_joined(bot):
    group = bot.group(HANAKO, ICHIRO, JIRO, "山田太郎")
    bot.join(group, HANAKO)
    bot.say(group, HANAKO, "/リーダー")
    reply = bot.say(group, HANAKO, "/確認")
    assert reply.startswith("参加している方は4人中1人です")
    assert "参加する" in reply and "無事ですか？" in reply  # and the check starts all the same
    assert Round.select().count() == 1


def test_status_counts_add_up(bot):
    group = bot.group(HANAKO, ICHIRO, JIRO, "山田太郎", "小林さくら")
    bot.join(group, HANAKO, ICHIRO, JIRO, "山田太郎")
    bot.say(group, HANAKO, "/リーダー")
    bot.say(group, HANAKO, "/名簿 追加 高橋ウメ")
    bot.say(group, "山田太郎", "/お休み 3日")
    bot.say(group, HANAKO, "/訓練")
    bot.say(group, HANAKO, "OK")
    bot.say(group, ICHIRO, "助けて")
    status = bot.say(group, JIRO, "/状況")
    assert "【訓練】いまの確認：OK 1人・助けが必要 1人・まだ 1人・お休み 1人・LINEなしの方 1人" in status
    assert "参加している方：4人（ほかにLINEなしの方 1人）" in status
    assert "まだ参加していない方：1人（「参加する」を押すと、確認の数に入ります）" in status
    assert "お声がけ：まだどなたも向かっていない方 1人" in status  # 鈴木一郎's call for help
