"""LINE message objects as plain dicts (LINE's JSON): the pieces every
catalogue module builds with, and LINE's size limits.

Kind, plain presentation for members who are new to smartphones: one big
button, large text that follows the phone's font size (``scaling``).
Builders are pure functions; the outbox stores their output as JSON, so a
retry sends exactly the same body.
"""

from __future__ import annotations

from datetime import datetime

from domain import postback as codec
from domain.names import clean_name
from messages.i18n import _

GREEN = "#06C755"  # LINE green: the colour members already associate with "go"
RED = "#D93A3A"
TEXT_LIMIT = 5000  # one text message, in UTF-16 code units
ALT_TEXT_LIMIT = 1500  # a Flex message's altText
FLEX_LABEL_LIMIT = 40  # a Flex button's label
DISPLAY_TEXT_LIMIT = 300  # a postback's displayText
MESSAGES_PER_REQUEST = 5


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clip(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` UTF-16 code units (never inside a
    surrogate pair), ending with ``ellipsis`` when it was cut."""
    if utf16_len(text) <= limit:
        return text
    room = limit - utf16_len(ellipsis)
    out, used = [], 0
    for char in text:
        size = utf16_len(char)
        if used + size > room:
            break
        out.append(char)
        used += size
    return "".join(out) + ellipsis


def text(body: str) -> dict:
    return {"type": "text", "text": body}


def postback(label: str, action: codec.Action, display_text: str | None = None) -> dict:
    """A postback action carrying ``action`` (encoded by the codec)."""
    data = {"type": "postback", "label": clip(label, FLEX_LABEL_LIMIT), "data": codec.encode(action)}
    if display_text:
        data["displayText"] = clip(display_text, DISPLAY_TEXT_LIMIT)
    return data


def _text(body: str, size: str = "lg", weight: str | None = None, color: str | None = None) -> dict:
    component = {"type": "text", "text": body, "size": size, "wrap": True, "scaling": True}
    if weight:
        component["weight"] = weight
    if color:
        component["color"] = color
    return component


def button(action: dict, style: str = "primary", color: str | None = GREEN) -> dict:
    """A big Flex button (height md, follows the phone's font size)."""
    component = {"type": "button", "style": style, "height": "md", "action": action, "scaling": True}
    if color and style == "primary":
        component["color"] = color
    return component


def bubble(title: str, lines: list[str], buttons: list[dict], alt: str) -> dict:
    """A Flex message: a bold title, large lines of text, buttons below."""
    body = [_text(title, size="xl", weight="bold")]
    body += [_text(line, size="lg") for line in lines]
    return {
        "type": "flex",
        "altText": clip(alt, ALT_TEXT_LIMIT),
        "contents": {
            "type": "bubble",
            "size": "giga",
            "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": body},
            "footer": {"type": "box", "layout": "vertical", "spacing": "md", "contents": buttons},
        },
    }


def format_local(moment: datetime) -> str:
    """「11月28日 9時05分」: a moment already in the reader's time zone.

    A translation may write the time on a 12-hour clock instead: ``period``
    (午前/午後, AM/PM) and ``hour12`` are passed too (やさしい日本語 writes
    「12月1日 午後3時5分」, English "12/1 3:05 PM")."""
    return _("{month}月{day}日 {hour}時{minute:02d}分").format(
        month=moment.month,
        day=moment.day,
        hour=moment.hour,
        minute=moment.minute,
        period=_("午前") if moment.hour < 12 else _("午後"),
        hour12=moment.hour % 12 or 12,
    )


def shown(name: str | None) -> str:
    """A person's name as a message shows it: cleaned (domain.names), or
    「メンバー」 when there is none."""
    return clean_name(name) or _("メンバー")


def names(people: list[str]) -> str:
    """「佐藤花子さん、鈴木一郎さん」"""
    return _("、").join(_("{name}さん").format(name=shown(name)) for name in people)
