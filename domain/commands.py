"""Recognising what a member typed: a command, or chatter.

Pure.  Commands start with ``/`` or the full-width ``／``; NFKC folds
full-width letters, digits and the slash, so 「／設定　毎日　９：００」 reads like
``/設定 毎日 9:00``.  A message that is exactly a command word without its
slash (「状況」「確認」) is read by ``parse_bare_command``; which commands may
be used that way is bot/commands.py's table.  A command word the bot does
not know but almost does (「/せってい」「/確認して」) gets a suggestion from
``suggest_command``.  The table of what each command does lives in
bot/commands.py; this module only knows the names.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from domain.answers import classify_answer
from domain.kinds import AnswerKind

# canonical name -> every spelling a member may type (after NFKC, lowercased)
ALIASES: dict[str, tuple[str, ...]] = {
    "help": ("ヘルプ", "help", "使い方", "つかいかた"),
    "leader": ("リーダー", "leader"),
    "schedule": ("設定", "schedule"),
    "check": ("確認", "check"),
    "pause": ("停止", "pause"),
    "resume": ("再開", "resume"),
    "status": ("状況", "status"),
    "notice": ("お知らせ", "notice"),
    "name": ("名前", "name"),
    "quit": ("退会", "quit"),
    "area": ("地域", "area"),
    "drill": ("訓練", "drill"),
    "roster": ("名簿", "roster"),
    "away": ("お休み", "away"),
    # The one-to-one 見守り chat (bot/watch_commands.py).
    "watch": ("見守り", "見守", "みまもり", "watch"),
    "contacts": ("連絡先", "れんらくさき", "contacts", "contact"),
    # Consent to an organisation, and the optional self-declared 年代 / 性別
    # (bot/organisation_commands.py; in groups and the one-to-one chat).
    "organisation": ("団体", "organisation", "organization", "org"),
    "age": ("年代", "age"),
    "sex": ("性別", "sex", "gender"),
    # Groups and one-to-one chats alike (bot/commands.py, bot/watch_commands.py).
    "language": ("言語", "language", "lang", "げんご", "ことば", "言葉"),
}

# How each command is read aloud, in hiragana: typed with a slash, these get
# 「もしかして …ですか？」 (never run: a guess must not change anything).
READINGS: dict[str, tuple[str, ...]] = {
    "help": ("へるぷ",),
    "leader": ("りーだー", "りいだあ"),
    "schedule": ("せってい",),
    "check": ("かくにん",),
    "pause": ("ていし",),
    "resume": ("さいかい",),
    "status": ("じょうきょう",),
    "notice": ("おしらせ",),
    "name": ("なまえ",),
    "quit": ("たいかい",),
    "area": ("ちいき",),
    "drill": ("くんれん",),
    "roster": ("めいぼ",),
    "away": ("おやすみ", "やすみ", "休み"),
    "organisation": ("だんたい",),
    "age": ("ねんだい",),
    "sex": ("せいべつ",),
    "language": ("げんごせってい",),
}

_BY_SPELLING = {spelling: name for name, spellings in ALIASES.items() for spelling in spellings}
_BY_READING = {reading: name for name, readings in READINGS.items() for reading in readings}
_KNOWN = sorted({*_BY_SPELLING, *_BY_READING}, key=len, reverse=True)
# What may end a bare command without making it a question: 「確認。」「状況！」
_BARE_TRAILING = "。.!！ 　"


@dataclass(frozen=True)
class Command:
    name: str | None  # None: starts with / but is not a command we know
    word: str  # what was typed after the slash
    arg: str  # the rest, whitespace-trimmed (NFKC-normalised)
    raw_arg: str  # the rest as typed (for notices: keep the leader's text)
    slash: bool = True  # False: typed without its slash (parse_bare_command)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _split(body: str) -> tuple[str, str]:
    match = re.match(r"^(\S*)(?:\s+(.*))?$", body, re.S)
    return match.group(1), (match.group(2) or "")


def parse_command(text: str) -> Command | None:
    """A Command if ``text`` starts with / or ／, else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "/／":
        return None
    word, raw_arg = _split(stripped[1:])
    key = normalise(word).lower()
    return Command(_BY_SPELLING.get(key), word, normalise(raw_arg), raw_arg.strip())


def parse_bare_command(text: str) -> Command | None:
    """A Command if ``text`` is a known command word without its slash
    (「状況」, 「設定 毎日 9:00」), else None.  Whether a command may be used
    so, and with an argument, is the caller's rule."""
    stripped = normalise(text).rstrip(_BARE_TRAILING)
    if not stripped or "\n" in stripped:
        return None
    word, raw_arg = _split(stripped)
    name = _BY_SPELLING.get(word.lower())
    if name is None:
        return None
    return Command(name, word, normalise(raw_arg), raw_arg.strip(), slash=False)


def _hiragana(text: str) -> str:
    """Katakana folded to hiragana (ー kept), for comparing readings."""
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def suggest_command(word: str) -> str | None:
    """The command a mistyped ``word`` most likely meant (「せってい」,
    「確認して」, 「設底」), or None when nothing is close."""
    key = _hiragana(normalise(word).lower())
    if not key:
        return None
    if key in _BY_READING:
        return _BY_READING[key]
    for known in _KNOWN:
        # 「確認して」「設定する」: a known word with something after it.
        if len(known) >= 2 and key.startswith(_hiragana(known)) and key != _hiragana(known):
            return _BY_SPELLING.get(known) or _BY_READING.get(known)
    candidates = {_hiragana(k): k for k in _KNOWN}
    # Two-character words differ by half when one character is wrong (設底).
    cutoff = 0.5 if len(key) <= 2 else 0.6
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=cutoff)
    if close:
        known = candidates[close[0]]
        return _BY_SPELLING.get(known) or _BY_READING.get(known)
    return None


def is_ok_answer(text: str) -> bool:
    """True when a typed message is an OK answer (OK / ＯＫ / 元気です ...):
    domain.answers decides."""
    return classify_answer(text) is AnswerKind.OK
