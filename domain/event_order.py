"""In what order webhook events are handled, read from the event alone.
Pure; the webhook stores both values with each event.

- ``order_key``: whose events must be handled one after another, in the
  order LINE sent them — the sender (a member's 参加する before their OK, a
  leader's /設定 before their /確認); without a sender, the chat.
- ``is_urgent``: someone is asking for help (the 助けが必要 button, or typing
  it); those events jump the queue.
"""

from __future__ import annotations

import unicodedata

from domain import postback as codec
from domain.kinds import AnswerKind

# Typed words that mean "help" — the same meaning the answer rules give them.
HELP_WORDS = frozenset(
    {"助けて", "たすけて", "助けが必要", "助けが必要です", "助けてください", "救急車", "sos", "help"}
)


def order_key(event: dict) -> str | None:
    source = event.get("source")
    if not isinstance(source, dict):
        return None
    for key in ("userId", "groupId", "roomId"):
        value = source.get(key)
        if isinstance(value, str) and value:
            return value[:64]
    return None


def is_urgent(event: dict) -> bool:
    kind = event.get("type")
    if kind == "postback":
        postback = event.get("postback")
        action = codec.decode(postback.get("data") if isinstance(postback, dict) else None)
        return isinstance(action, codec.Answer) and action.kind is AnswerKind.HELP
    if kind == "message":
        message = event.get("message")
        text = message.get("text") if isinstance(message, dict) else None
        if isinstance(text, str) and len(text) <= 40:
            folded = unicodedata.normalize("NFKC", text).strip().lower().rstrip("!！。.～~ 　")
            return folded in HELP_WORDS
    return False
