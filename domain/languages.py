"""The languages the bot writes in, and reading what someone typed after
/言語 (「やさしい日本語」「English」「英語」「かんたん」).

Pure.  A language is stored as its code (Group.language, Person.language);
NULL is the source language, 日本語.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum


class Language(StrEnum):
    JA = "ja"  # the source text, stored as NULL
    JA_EASY = "ja_easy"  # やさしい日本語
    EN = "en"


# Every spelling someone may type after /言語 (after NFKC, lowercased,
# spaces removed).
_SPELLINGS: dict[Language, tuple[str, ...]] = {
    Language.JA: ("日本語", "にほんご", "ニホンゴ", "japanese", "ja", "nihongo", "ふつう", "普通"),
    Language.JA_EASY: (
        "やさしい日本語",
        "やさしいにほんご",
        "優しい日本語",
        "易しい日本語",
        "やさしい",
        "かんたん",
        "簡単",
        "かんたんな日本語",
        "簡単な日本語",
        "easyjapanese",
        "easy",
        "ja_easy",
        "ja-x-easy",
        "yasashii",
    ),
    Language.EN: ("english", "英語", "えいご", "エイゴ", "en", "eng", "英", "engrish", "englsh", "englich"),
}
_BY_SPELLING = {spelling: language for language, spellings in _SPELLINGS.items() for spelling in spellings}


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def parse_language(text: str) -> Language | None:
    """The language ``text`` names, or None when it names none we write."""
    key = _key(text)
    if not key:
        return None
    found = _BY_SPELLING.get(key)
    if found is None and key.endswith(("語", "ご")):
        found = _BY_SPELLING.get(key[:-1])
    return found


def stored(language: Language) -> str | None:
    """What the database keeps for ``language`` (NULL for 日本語)."""
    return None if language is Language.JA else language.value


def of(stored_value: str | None) -> Language:
    """The Language a stored column means (NULL, or a retired code: 日本語)."""
    try:
        return Language(stored_value or Language.JA)
    except ValueError:
        return Language.JA
