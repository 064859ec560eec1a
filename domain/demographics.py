"""Self-declared 年代 and 性別 (/年代 70代, /性別 女性): reading what a person
typed.  Pure.  Both are optional and never asked for; the console counts
them (only for groups and watches linked to the organisation) as the
distribution the council reports publish.

Stored values are the keys below; the words people read are in messages/.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

# 10代 … 80代, and 90代以上 (stored as "90").
AGE_BANDS: tuple[str, ...] = ("10", "20", "30", "40", "50", "60", "70", "80", "90")


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"  # 答えない: chose not to say (counted apart from "not declared")


# What removes a declaration (/年代 消す, /性別 消す).
_REMOVE = frozenset(
    {
        "消す",
        "けす",
        "削除",
        "さくじょ",
        "取り消し",
        "取消",
        "とりけし",
        "解除",
        "なし",
        "無し",
        "clear",
        "remove",
        "delete",
    }
)

_SEX_WORDS: dict[Sex, frozenset[str]] = {
    Sex.FEMALE: frozenset({"女性", "女", "おんな", "じょせい", "女子", "female", "f", "woman"}),
    Sex.MALE: frozenset({"男性", "男", "おとこ", "だんせい", "男子", "male", "m", "man"}),
    Sex.OTHER: frozenset({"その他", "そのた", "他", "other", "ほか"}),
    Sex.UNDISCLOSED: frozenset(
        {"答えない", "こたえない", "回答しない", "無回答", "言わない", "いわない", "ひみつ", "秘密", "none"}
    ),
}

_KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


class Unreadable(ValueError):
    """The text is neither a value nor a removal."""


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def is_removal(text: str) -> bool:
    return _clean(text) in _REMOVE


def _kanji_number(text: str) -> int | None:
    """七十, 八十五, 十九 … (what people write for an age), else None."""
    match = re.fullmatch(r"([一二三四五六七八九])?十([一二三四五六七八九])?", text)
    if not match:
        match = re.fullmatch(r"(百)", text)
        return 100 if match else None
    tens = _KANJI_DIGITS[match.group(1)] if match.group(1) else 1
    ones = _KANJI_DIGITS[match.group(2)] if match.group(2) else 0
    return tens * 10 + ones


def parse_age_band(text: str) -> str:
    """「70代」「70」「７０代」「七十代」「73歳」「90代以上」「100歳」 -> "70" / "90".
    Raises Unreadable for anything else (under 10, no number)."""
    cleaned = _clean(text)
    cleaned = re.sub(r"(代以上|代|歳代|才代|歳|才|以上|くらい|ぐらい|です|です。|。)+$", "", cleaned)
    if cleaned.isdigit():
        number = int(cleaned)
    else:
        kanji = _kanji_number(cleaned)
        if kanji is None:
            raise Unreadable(text)
        number = kanji
    if number < 10 or number > 130:
        raise Unreadable(text)
    return AGE_BANDS[min(number // 10, 9) - 1]


def parse_sex(text: str) -> Sex:
    cleaned = _clean(text).removesuffix("です")
    for sex, words in _SEX_WORDS.items():
        if cleaned in words:
            return sex
    raise Unreadable(text)
