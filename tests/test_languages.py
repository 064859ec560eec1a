"""/言語: a group (its leaders choose) or a person (in their one-to-one chat)
reads the bot in 日本語, やさしい日本語 or English; whoever is written to reads
their own language."""

from __future__ import annotations

import json

import pytest

from domain import postback as codec
from domain.languages import Language, parse_language
from models import Group, Outbox, Person
from tests.support import HANAKO, ICHIRO, JIRO, group_state, postback_actions, texts_of

HOUR = 3600


def _texts(row: Outbox) -> str:
    return " ".join(t for m in json.loads(row.messages) for t in texts_of(m))


@pytest.mark.parametrize(
    "typed, language",
    [
        ("やさしい日本語", Language.JA_EASY),
        ("かんたん", Language.JA_EASY),
        ("やさしい", Language.JA_EASY),
        ("Easy Japanese", Language.JA_EASY),
        ("English", Language.EN),
        ("ｅｎｇｌｉｓｈ", Language.EN),
        ("英語", Language.EN),
        ("えいご", Language.EN),
        ("日本語", Language.JA),
        ("にほんご", Language.JA),
        ("Japanese", Language.JA),
    ],
)
def test_it_reads_forgiving_spellings_of_a_language(typed, language):
    assert parse_language(typed) is language


@pytest.mark.parametrize("typed", ["", "フランス語", "klingon", "やさしくない"])
def test_it_does_not_guess_a_language(typed):
    assert parse_language(typed) is None


def test_it_lets_a_leader_switch_the_group_to_english_and_the_next_check_and_summary_follow(bot):
    group = bot.setup()
    reply = bot.say(group, HANAKO, "/言語 英語")
    assert reply == "From now on, this group gets messages in English."
    assert Group.get().language == "en"
    # The next check a leader starts, and its summary, are in English.
    prompt = bot.say(group, HANAKO, "/check")
    assert "Are you safe?" in prompt and "無事" not in prompt
    assert "Thank you, Ichiro Suzuki" not in bot.say(group, ICHIRO, "OK")  # names stay as written
    bot.advance(23 * HOUR)
    bot.sweep()
    summary = _texts(Outbox.get(Outbox.purpose == "summary"))
    assert "We do not know yet whether" in summary and "田中次郎" in summary
    assert "確認" not in summary
    # Commands typed in Japanese still work in an English group.
    assert "paused" in bot.say(group, HANAKO, "/停止")


def test_it_switches_a_group_to_yasashii_nihongo_and_back(bot):
    group = bot.setup()
    assert "やさしい日本語で 送ります" in bot.say(group, HANAKO, "/language かんたん")
    assert Group.get().language == "ja_easy"
    assert "無事(ぶじ)" in bot.say(group, HANAKO, "/確認")
    assert bot.say(group, HANAKO, "/言語 日本語") == "これからは、このグループには日本語でお送りします。"
    assert Group.get().language is None  # 日本語 is stored as NULL


def test_it_politely_refuses_a_member_who_is_not_a_leader(bot):
    group = bot.setup()
    before = group_state()
    reply = bot.say(group, JIRO, "/言語 English")
    assert "「/言語」はリーダー（佐藤花子さん）の方だけが使えます" in reply and "ごめんなさい" in reply
    assert group_state() == before and Group.get().language is None
    # The greeting's button follows the same rule.
    assert "ごめんなさい" in bot.tap(group, JIRO, codec.ChooseLanguage(Language.EN))
    assert Group.get().language is None


def test_it_offers_the_languages_in_the_greeting_and_anyone_may_choose_before_there_is_a_leader(bot):
    bot.members[bot.GROUP] = [HANAKO, ICHIRO]
    greeting = bot.event("join", bot.GROUP)
    labels = [a["label"] for m in greeting for a in postback_actions(m)]
    assert labels == ["参加する", "日本語", "やさしい日本語", "English"]
    assert bot.tap(bot.GROUP, ICHIRO, codec.ChooseLanguage(Language.EN)).startswith("From now on")
    assert Group.get().language == "en"


def test_it_answers_a_language_it_does_not_write_with_the_choices(bot):
    group = bot.setup()
    reply = bot.say(group, HANAKO, "/言語 フランス語")
    assert "例：/言語 やさしい日本語" in reply
    assert [a["label"] for m in bot.last for a in postback_actions(m)] == [
        "日本語",
        "やさしい日本語",
        "English",
    ]
    assert Group.get().language is None


def test_it_sets_a_persons_own_language_in_their_one_to_one_chat(bot):
    bot.follow(HANAKO)
    assert bot.say_one_to_one(HANAKO, "/language English") == "From now on, messages come in English."
    assert Person.get(Person.display_name == HANAKO).language == "en"
    assert "Try tapping OK" in bot.say_one_to_one(HANAKO, "/確認")
    assert "From now on, messages come in やさしい日本語" not in bot.say_one_to_one(
        HANAKO, "/言語 やさしい日本語"
    )
    assert Person.get(Person.display_name == HANAKO).language == "ja_easy"
    assert "OKを 押して みて ください" in bot.say_one_to_one(HANAKO, "/確認")


def test_it_writes_to_a_contact_and_a_leader_in_their_own_language(bot):
    # 佐藤花子 reads English one-to-one; her contact 鈴木一郎 reads やさしい日本語.
    bot.follow(HANAKO)
    bot.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    bot.follow(ICHIRO)
    bot.say_one_to_one(ICHIRO, "/言語 やさしい日本語")
    bot.say_one_to_one(HANAKO, "/language English")
    bot.link_contact(HANAKO, ICHIRO)
    assert bot.pushes_to(HANAKO)[-1].endswith("is now one of your contacts (contacts: 1).")
    bot.say_one_to_one(HANAKO, "/お休み 3日 連絡先にも知らせる")
    assert "確認(かくにん)を 休みます" in bot.pushes_to(ICHIRO)[-1]
    # A group in 日本語 whose leader reads English: her summary names come in English.
    group = bot.setup()
    bot.say(group, HANAKO, "/設定 名前 リーダーだけ")
    bot.say(group, HANAKO, "/確認")
    bot.advance(23 * HOUR)
    bot.sweep()
    assert "まとめ" in _texts(Outbox.get(Outbox.purpose == "summary"))
    assert "[Summary] The names are sent to the leaders only." in _texts(
        Outbox.get(Outbox.purpose == "leader-summary")
    )
