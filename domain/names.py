"""People's names as the bot shows them: what LINE or a member typed, made
safe to echo.  Pure.

A display name comes from LINE and a nickname from /名前; either may hold
what would garble a message or mislead its reader — a right-to-left
override (RLO) turning 「佐藤さんがOK」 around, zero-width characters,
newlines that fake a second line from the bot, control characters, or 500
characters.  ``clean_name`` keeps the visible name and drops the rest.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME = 40  # LINE display names are at most 20; twice that leaves room, never a wall of text
_SPACES = re.compile(r" {2,}")


def clean_name(text: str | None, limit: int = MAX_NAME) -> str:
    """``text`` without control, format (bidi overrides, zero-width) or
    unassigned characters, lone surrogates or line breaks, with runs of
    spaces folded to one, cut to ``limit`` characters."""
    if not text:
        return ""
    kept = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if char in "\n\r\t\u2028\u2029":
            kept.append(" ")
        elif category[0] == "C" or category in ("Zl", "Zp"):
            continue  # Cc control, Cf format (RLO, ZWSP...), Cs surrogate, Co, Cn
        else:
            kept.append(char)
    return _SPACES.sub(" ", "".join(kept)).strip()[:limit].strip()


def is_clean(text: str) -> bool:
    return clean_name(text, limit=len(text) + 1) == text.strip()
