"""Reading a short reply to a safety check: "I'm fine", "help", or neither.

Pure.  During an open check a member may answer in their own words instead
of pressing a button: 「はい」「元気です」「おはようございます。元気です」「👍」
「おけ」 mean OK; 「助けて」「救急車」 mean 助けが必要.  The bot must never
count a message that says the opposite (「元気じゃない」「大丈夫じゃない」), and
longer conversation is the group's own.

The rule: a message is read as an answer only when it is short (at most
``MAX_LENGTH`` characters, ``MAX_PARTS`` parts) and *every* part of it is
something this module knows — a greeting or a courtesy (「おはようございます」
「ありがとう」「すみません」), a yes (「はい」「うん」), a fine word with an
ordinary ending (「元気です」「大丈夫だよ」「無事でーす」), a help phrase
(「助けてください」「救急車を呼んで」), the sender's own name (「鈴木です」), or
a fine emoji (👍 👌 🙆 ⭕).  Anything else in the message — a negation, a
question, a complaint, another topic — makes it conversation: ``None``.
Because unknown parts are never skipped, 「元気じゃない」 cannot be read as
元気.  A message that says both (「元気です、助けて」) is not guessed at.

Public API (the one-to-one 見守り uses it too):

- ``classify_answer(text, names=()) -> AnswerKind | None``
- ``sounds_unwell(text) -> bool``: a short message saying the opposite of
  fine (「元気じゃない」「具合が悪い」), so the bot can ask kindly instead of
  counting it.
- ``STICKER_ANSWER``: what a sticker means during a check (OK).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from domain.kinds import AnswerKind

MAX_LENGTH = 40  # characters after normalising, separators excluded
MAX_PARTS = 6

# Any LINE sticker sent during an open check is a sign of life: OK.
STICKER_ANSWER = AnswerKind.OK

# Separators between the parts of a message (after NFKC: full-width forms are
# folded, so 「！」 is "!" and 「　」 is " ").
_SEPARATORS = re.compile(r"[\s、,。.!…‥・♪☆★♡♥〜~]+")
_QUESTION = re.compile(r"[?？]")

# Endings that may follow a fine word without changing what it says.
_ENDING = r"(?:です|でーす|ですよ|ですね|ですー|でした|でございます|だよ|だね|だ|よ|ね|っす|す|だわ|よー|ー)*"

_FINE_WORDS = (
    "元気",
    "げんき",
    "げんきげんき",
    "元気元気",
    "大丈夫",
    "だいじょうぶ",
    "だいじょぶ",
    "無事",
    "ぶじ",
    "平気",
    "へいき",
    "ok",
    "okay",
    "おk",
    "おけ",
    "おけー",
    "おっけ",
    "おっけー",
    "おーけー",
    "オッケー",
    "オッケ",
    "オーケー",
    "問題ない",
    "問題なし",
    "問題ありません",
    "変わりない",
    "変わりなし",
    "変わりありません",
    "かわりない",
    "かわりなし",
    "かわりありません",
    "お変わりありません",
    "異常なし",
    "異常ありません",
    "異状なし",
    "生きてる",
    "生きてます",
    "生きています",
    "元気にしてる",
    "元気にしてます",
    "元気にしています",
    "元気でやってる",
    "元気でやってます",
    "元気でやっています",
    "無事でいます",
    "無事にしています",
    "大丈夫でした",
    "みんな元気",
    "家族みんな元気",
    "家族も元気",
    "私も元気",
    "わたしも元気",
    "私は元気",
    "わたしは元気",
    "こちらは大丈夫",
    "こちらも大丈夫",
    "うちは大丈夫",
    "うちも大丈夫",
    "こちらは無事",
    "うちは無事",
    "無事でおります",
    "元気でおります",
    "fine",
    "im fine",
    "i'm fine",
    "all good",
    "safe",
    "good",
)
_FINE = re.compile("^(?:" + "|".join(re.escape(w) for w in _FINE_WORDS) + ")" + _ENDING + "$")

_YES = frozenset({"はい", "はーい", "はいはい", "はい!", "うん", "うんうん", "ええ", "yes", "イエス"})

_HELP_WORDS = (
    "助けて",
    "たすけて",
    "タスケテ",
    "助けてください",
    "助けて下さい",
    "たすけてください",
    "助けてほしい",
    "助けて欲しい",
    "助けてほしいです",
    "助けが必要",
    "助けが必要です",
    "たすけがひつよう",
    "助けがいる",
    "助けがいります",
    "助けをください",
    "誰か助けて",
    "だれか助けて",
    "だれかたすけて",
    "誰か来て",
    "だれか来て",
    "だれかきて",
    "来てください",
    "きてください",
    "救急車",
    "きゅうきゅうしゃ",
    "救急車を呼んで",
    "救急車呼んで",
    "救急車をお願いします",
    "救急車お願いします",
    "救急車を呼んでください",
    "sos",
    "help me",
    "動けない",
    "うごけない",
    "動けません",
    "うごけません",
    "閉じ込められた",
    "閉じ込められました",
    "とじこめられた",
    "怪我をした",
    "怪我をしました",
    "怪我しました",
    "けがをした",
    "けがをしました",
    "けがしました",
    "ケガしました",
    "倒れて動けない",
)
_HELP = re.compile("^(?:" + "|".join(re.escape(w) for w in _HELP_WORDS) + ")(?:です|ー)*$")

# Greetings and courtesies: they may surround an answer but are not one.
_COURTESY = frozenset(
    {
        "おはよう",
        "おはようございます",
        "おはよ",
        "おはよー",
        "こんにちは",
        "こんにちわ",
        "こんばんは",
        "こんばんわ",
        "どうも",
        "ありがとう",
        "ありがとうございます",
        "ありがとうございました",
        "いつもありがとうございます",
        "ありがとね",
        "お疲れ様です",
        "おつかれさまです",
        "ご苦労様です",
        "お世話になります",
        "よろしくお願いします",
        "すみません",
        "すいません",
        "遅くなりました",
        "遅くなってすみません",
        "返事が遅くなりました",
        "失礼しました",
        "ごめんなさい",
        "お願いします",
        "おねがいします",
        "お願い",
        "至急",
        "緊急",
        "今日も",
        "きょうも",
        "今朝も",
        "今日も一日",
        "hi",
        "hello",
        "thanks",
        "thank you",
        "good morning",
    }
)

# Emoji that say "fine" on their own (any number of them, skin tones allowed).
_FINE_EMOJI = frozenset("👍👌🙆⭕〇○◯🆗✌😊🙂😀😃😄☺🌞☀✅💮🙋")
_EMOJI_EXTENDERS = re.compile("[\ufe0f\u200d\u2640\u2642\U0001f3fb-\U0001f3ff]")

# What people type when they are not fine, for a kind question back.
_UNWELL = re.compile(
    r"(元気|げんき|大丈夫|だいじょうぶ|だいじょぶ|無事|ぶじ|平気)"
    r"(じゃない|じゃありません|ではない|ではありません|でない|ない|がない|なし|じゃないです)"
    r"|具合が悪い|ぐあいがわるい|体調が悪い|体調不良|調子が悪い|気分が悪い|しんどい|つらい|苦しい|痛い"
)
_UNWELL_MAX = 20


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text or "").lower().strip()
    return _EMOJI_EXTENDERS.sub("", folded)


def _parts(folded: str) -> list[str]:
    """The message cut at separators, with every run of symbols (emoji) a
    part of its own: 「元気です😊」 is 「元気です」 and 「😊」."""
    spaced = "".join(f" {c} " if unicodedata.category(c) == "So" else c for c in folded)
    return [p for p in _SEPARATORS.split(spaced) if p]


_PEELABLE_SET = _COURTESY | _YES
_PEELABLE = sorted(_PEELABLE_SET, key=len, reverse=True)
_JUST_ENDING = re.compile("^" + _ENDING + "$")


def _peel(part: str) -> list[str]:
    """「はい元気です」 -> 「はい」「元気です」; 「元気ですありがとう」 ->
    「元気です」「ありがとう」: courtesies and yeses typed without a separator."""
    head: list[str] = []
    tail: list[str] = []
    changed = True
    while changed and part and part not in _PEELABLE_SET:
        changed = False
        for word in _PEELABLE:
            if part != word and part.startswith(word):
                head.append(word)
                part = part[len(word) :]
                changed = True
                break
            if part != word and part.endswith(word) and len(part) > len(word):
                tail.insert(0, word)
                part = part[: -len(word)]
                changed = True
                break
    return [*head, *([part] if part else []), *tail]


def _is_fine_emoji(part: str) -> bool:
    return all(char in _FINE_EMOJI for char in part)


def _own_name(part: str, names: tuple[str, ...]) -> bool:
    """「鈴木です」「鈴木一郎です」: the sender saying who they are."""
    stem = re.sub(r"(?:です|だよ|でございます)$", "", part)
    if len(stem) < 2:
        return False
    return any(_normalise(name).replace(" ", "").startswith(stem) for name in names)


def classify_answer(text: str, names: Iterable[str] = ()) -> AnswerKind | None:
    """OK, 助けが必要, or None (conversation: not an answer).

    ``names`` are the sender's own names (LINE name, nickname), so that
    「鈴木です。元気です」 is read as an answer too."""
    folded = _normalise(text)
    if not folded or _QUESTION.search(folded):
        return None
    parts = [piece for part in _parts(folded) for piece in _peel(part)]
    if not parts or len(parts) > MAX_PARTS or sum(len(p) for p in parts) > MAX_LENGTH:
        return None
    names = tuple(names)
    fine = helped = yes = False
    for part in parts:
        if _HELP.match(part):
            helped = True
        elif _FINE.match(part) or _is_fine_emoji(part):
            fine = True
        elif part in _YES:
            yes = True
        elif part in _COURTESY or _JUST_ENDING.match(part) or _own_name(part, names):
            continue
        else:
            return None  # something else is said: the group's own conversation
    if helped:
        return None if fine else AnswerKind.HELP
    if fine or yes:
        return AnswerKind.OK
    return None


def sounds_unwell(text: str) -> bool:
    """A short message that says the person is not fine (「元気じゃない」
    「具合が悪い」): never counted as OK, but worth a kind question."""
    folded = _normalise(text).replace(" ", "")
    return 0 < len(folded) <= _UNWELL_MAX and bool(_UNWELL.search(folded))
