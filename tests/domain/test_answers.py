"""The natural-answer classifier: real phrasings members type during a check,
both ways.  OK and 助けが必要 are counted; anything that says the opposite, asks
a question or talks about something else is the group's own conversation."""

from __future__ import annotations

import pytest

from domain.answers import STICKER_ANSWER, classify_answer, sounds_unwell
from domain.kinds import AnswerKind

OK, HELP = AnswerKind.OK, AnswerKind.HELP


@pytest.mark.parametrize(
    "text",
    [
        "はい",
        "はい。",
        "はーい",
        "うん",
        "ええ",
        "元気",
        "元気です",
        "元気です！",
        "元気でーす",
        "元気だよ",
        "げんきです",
        "元気にしています",
        "元気でやってます",
        "おはようございます。元気です",
        "おはようございます 元気です",
        "おはようございます、元気です。",
        "こんにちは！元気です",
        "はい、元気です",
        "はい元気です",
        "元気です、ありがとう",
        "元気ですありがとうございます",
        "いつもありがとうございます。元気です",
        "大丈夫",
        "大丈夫です",
        "大丈夫だよ",
        "だいじょうぶです",
        "大丈夫っす",
        "こちらは大丈夫です",
        "無事",
        "無事です",
        "無事です！ありがとうございます😊",
        "OK",
        "ok",
        "Ok!",
        "ＯＫ",
        "ｏｋ",
        "OKです",
        "OK です",
        "おけ",
        "おけー",
        "おっけー",
        "オッケー",
        "おk",
        "👍",
        "👍👍",
        "👍🏻",
        "🙆‍♀️",
        "⭕",
        "元気です😊",
        "問題ありません",
        "変わりありません",
        "異常なし",
        "平気です",
        "生きてるよ",
        "鈴木です。元気です",
        "すみません、遅くなりました。元気です",
    ],
)
def test_it_counts_what_means_fine(text):
    assert classify_answer(text, names=["鈴木一郎"]) is OK


@pytest.mark.parametrize(
    "text",
    [
        "助けて",
        "助けて！",
        "助けて！！",
        "たすけて",
        "たすけてー",
        "助けてください",
        "助けて下さい",
        "すみません、助けてください",
        "誰か助けて",
        "助けが必要",
        "助けが必要です",
        "救急車",
        "救急車を呼んで",
        "救急車を呼んでください",
        "はい、助けてください",
        "SOS",
        "動けない",
        "動けません、助けて",
        "閉じ込められた",
        "けがをしました",
        "至急、助けてください",
    ],
)
def test_it_hears_a_call_for_help(text):
    assert classify_answer(text) is HELP


@pytest.mark.parametrize(
    "text",
    [
        # the opposite of fine: never counted
        "元気じゃない",
        "元気じゃないです",
        "元気がない",
        "元気ないです",
        "大丈夫じゃない",
        "大丈夫じゃないです",
        "大丈夫ではありません",
        "無事じゃない",
        "OKじゃない",
        "いいえ",
        "だめです",
        # questions
        "元気？",
        "大丈夫？",
        "みんな元気ですか？",
        "OKです？",
        "助けて？",
        # someone else, or another topic
        "元気でね",
        "田中さんは元気です",
        "母は大丈夫です",
        "今日は寒いですね",
        "おはようございます",
        "ありがとうございます",
        "了解です",
        "OK牧場",
        "BOOK",
        "okay then",
        "NG",
        "救急車の音がしましたね",
        "助けてもらいました、ありがとう",
        "助けはいりません",
        "大丈夫です、助けはいりません",
        "元気です、助けて",
        "元気です。でも膝が痛い",
        "😢",
        "元気です😢",
        "明日の清掃は9時からです。みなさん元気に参加しましょう",
        "おはようございます。今朝は霜が降りていて、とても寒いですね。皆さん元気ですか",
        "",
        "   ",
    ],
)
def test_it_leaves_conversation_and_the_opposite_alone(text):
    assert classify_answer(text) is None


@pytest.mark.parametrize(
    "text, unwell",
    [
        ("元気じゃない", True),
        ("大丈夫じゃないです", True),
        ("具合が悪いです", True),
        ("体調が悪い", True),
        ("元気です", False),
        ("今日は寒いですね", False),
        ("元気じゃないけど、みんなに会えるのを楽しみにしています", False),  # long: conversation
    ],
)
def test_it_notices_a_short_message_that_is_not_fine(text, unwell):
    assert sounds_unwell(text) is unwell


def test_a_sticker_is_an_ok():
    assert STICKER_ANSWER is OK
