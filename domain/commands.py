"""Recognising what a member typed: a command, an OK answer, or chatter.

Pure.  Commands start with ``/`` or the full-width ``／``; NFKC folds
full-width letters, digits and the slash, so 「／設定　毎日　９：００」 reads like
``/設定 毎日 9:00``.  The table of what each command does lives in
bot/commands.py; this module only knows the names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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
}

_BY_SPELLING = {spelling: name for name, spellings in ALIASES.items() for spelling in spellings}

# What counts as typing "OK": OK, ok, ＯＫ, オッケー, おk... kept deliberately
# small so that ordinary chatter is never taken as an answer.
_OK_WORDS = {"ok", "okです", "おk", "オッケー", "おっけー", "無事", "無事です", "大丈夫", "大丈夫です"}


@dataclass(frozen=True)
class Command:
    name: str | None  # None: starts with / but is not a command we know
    word: str  # what was typed after the slash
    arg: str  # the rest, whitespace-trimmed (NFKC-normalised)
    raw_arg: str  # the rest as typed (for notices: keep the leader's text)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def parse_command(text: str) -> Command | None:
    """A Command if ``text`` starts with / or ／, else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "/／":
        return None
    body = stripped[1:]
    match = re.match(r"^(\S*)(?:\s+(.*))?$", body, re.S)
    word, raw_arg = match.group(1), (match.group(2) or "")
    key = normalise(word).lower()
    return Command(_BY_SPELLING.get(key), word, normalise(raw_arg), raw_arg.strip())


def is_ok_answer(text: str) -> bool:
    """True when a typed message is an OK answer (OK / ＯＫ / ok ...)."""
    folded = normalise(text).lower().rstrip("!！。.～~ 　")
    return folded in _OK_WORDS
