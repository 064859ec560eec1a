"""Request-body validation against LINE's message-object limits.

Every ``validate_*`` function returns a list of error details, each
``{"message": ..., "property": ...}`` (ErrorDetail in messaging-api.yml); an
empty list means the body is acceptable. ``error_body(details)`` wraps them in
LINE's 400 shape::

    {"message": "The request body has N error(s)", "details": [...]}

Limits enforced (REF "Message objects" / "Action objects", OAS
messaging-api.yml):

- 1..5 message objects per request; unknown message type is an error.
- text: non-empty, at most 5,000 UTF-16 code units (an emoji counts 2).
- template: altText required, at most 1,500 characters.
  buttons: text at most 160 (60 with a title or thumbnail), title at most 40,
  1..4 actions. confirm: text at most 240, exactly 2 actions.
  carousel: 1..10 columns, text at most 120 (60 with title/thumbnail), 1..3
  actions, the same number of actions in every column. image_carousel: 1..10
  columns, label at most 12.
- actions: postback data required, at most 300; displayText at most 300;
  ``text`` together with ``displayText`` is an error. message action text
  1..300. uri action uri required, at most 1,000. Labels at most 20 in
  templates and quick reply, 40 in Flex, counted in grapheme clusters.
- quickReply: 1..13 items.
- flex: altText at most 1,500; a bubble serialises to at most 30 KB, a
  carousel holds 1..12 bubbles and at most 50 KB; components are checked
  recursively (box needs layout+contents, text needs text or contents, button
  needs an action, image/icon need a url, video needs url/previewUrl/
  altContent); an unknown component type is an error.

Approximations (LINE does not publish its exact algorithm):

- Grapheme clusters are approximated by counting code points, skipping
  combining marks, variation selectors, emoji modifiers and tag characters,
  joining across ZWJ, and pairing regional indicators.
- "KB" is taken as 1,000 bytes of compact UTF-8 JSON (the stricter reading),
  so the emulator never accepts a Flex message that LINE could reject.

Cost: the emulator must validate LINE's 2,000 pushes a second cheaply. A
length is measured only when the string could exceed its limit (a text
has at least as many UTF-16 units as code points, a label at most as many
grapheme clusters), and Flex sizes are not re-serialised when the request
body as received (``body_size``) is already within the limit: compact
UTF-8 JSON of any part of a body is never longer than the body's text.
- Lengths other than text-message text and labels are counted in UTF-16 code
  units, like text (DOCS/text-character-count).
- Detail message wording copies the style of LINE's documented examples
  ("May not be empty", "Size must be between 1 and 5",
  "Length must be between 0 and 5000"), not every exact string.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

MAX_MESSAGES = 5
MAX_TEXT_UTF16 = 5000
MAX_ALT_TEXT = 1500
MAX_BUTTONS_TEXT = 160
MAX_BUTTONS_TEXT_WITH_TITLE_OR_IMAGE = 60
MAX_BUTTONS_TITLE = 40
MAX_BUTTONS_ACTIONS = 4
MAX_CONFIRM_TEXT = 240
MAX_CAROUSEL_COLUMNS = 10
MAX_CAROUSEL_TEXT = 120
MAX_CAROUSEL_TEXT_WITH_TITLE_OR_IMAGE = 60
MAX_CAROUSEL_ACTIONS = 3
MAX_POSTBACK_DATA = 300
MAX_DISPLAY_TEXT = 300
MAX_MESSAGE_ACTION_TEXT = 300
MAX_URI = 1000
MAX_LABEL_TEMPLATE = 20
MAX_LABEL_FLEX = 40
MAX_LABEL_IMAGE_CAROUSEL = 12
MAX_QUICK_REPLY_ITEMS = 13
MAX_FLEX_BUBBLE_BYTES = 30_000
MAX_FLEX_CAROUSEL_BYTES = 50_000
MAX_FLEX_CAROUSEL_BUBBLES = 12
MAX_URL = 2000
MAX_SENDER_NAME = 20

MESSAGE_TYPES = (
    "text",
    "textV2",
    "sticker",
    "image",
    "video",
    "audio",
    "location",
    "imagemap",
    "template",
    "flex",
    "coupon",
)
TEMPLATE_TYPES = ("buttons", "confirm", "carousel", "image_carousel")
ACTION_TYPES = (
    "postback",
    "message",
    "uri",
    "datetimepicker",
    "camera",
    "cameraRoll",
    "location",
    "richmenuswitch",
    "clipboard",
)
FLEX_COMPONENT_TYPES = (
    "box",
    "button",
    "image",
    "video",
    "icon",
    "text",
    "span",
    "separator",
    "filler",
)
BOX_LAYOUTS = ("horizontal", "vertical", "baseline")
DATETIME_MODES = ("date", "time", "datetime")

Details = list[dict[str, str]]


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: how LINE counts text (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _is_extender(cp: int, char: str) -> bool:
    """True for code points that never start a grapheme cluster of their own."""
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Mn", "Me")
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF  # variation selectors supplement
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (subdivision flags)
    )


def grapheme_length(text: str) -> int:
    """Approximate number of grapheme clusters (user-perceived characters)."""
    count = 0
    joined = False  # previous char was ZWJ: this one extends the cluster
    pending_regional = False  # odd regional indicator waiting for its pair
    for char in text:
        cp = ord(char)
        if cp == 0x200D:
            joined = True
            continue
        if joined:
            joined = False
            continue
        if _is_extender(cp, char):
            continue
        if 0x1F1E6 <= cp <= 0x1F1FF:
            if pending_regional:
                pending_regional = False
                continue
            pending_regional = True
        else:
            pending_regional = False
        count += 1
    return count


def error_body(details: Details) -> dict[str, Any]:
    """LINE's 400 body for validation errors (ErrorResponse)."""
    body: dict[str, Any] = {"message": f"The request body has {len(details)} error(s)"}
    if details:
        body["details"] = details
    return body


# measure(s) <= factor * len(s) for each measure: below that, no need to measure.
_AT_MOST_PER_CODE_POINT = {utf16_length: 2, grapheme_length: 1, len: 1}


class _Checker:
    """Collects error details with their JSON property paths.

    ``body_size``: the byte length of the request body the checked object
    was parsed from, when known (lets Flex size checks be skipped)."""

    def __init__(self, body_size: int | None = None) -> None:
        self.details: Details = []
        self.body_size = body_size

    def error(self, prop: str, message: str) -> None:
        self.details.append({"message": message, "property": prop})

    def required(self, obj: dict[str, Any], key: str, prop: str) -> bool:
        if obj.get(key) is None:
            self.error(f"{prop}.{key}" if prop else key, "Must be specified")
            return False
        return True

    def string(
        self,
        obj: dict[str, Any],
        key: str,
        prop: str,
        *,
        max_len: int,
        required: bool = False,
        non_empty: bool = False,
        measure=utf16_length,
    ) -> None:
        path = f"{prop}.{key}" if prop else key
        value = obj.get(key)
        if value is None:
            if required:
                self.error(path, "Must be specified")
            return
        if not isinstance(value, str):
            self.error(path, "Must be a string")
            return
        if non_empty and value == "":
            self.error(path, "May not be empty")
            return
        if len(value) * _AT_MOST_PER_CODE_POINT.get(measure, max_len + 1) <= max_len:
            return  # cannot be too long: no need to measure
        if measure(value) > max_len:
            low = 1 if non_empty else 0
            self.error(path, f"Length must be between {low} and {max_len}")

    def array(self, obj: dict[str, Any], key: str, prop: str, *, low: int, high: int) -> list[Any] | None:
        """Check that obj[key] is a list of low..high items; return it or None."""
        path = f"{prop}.{key}" if prop else key
        value = obj.get(key)
        if value is None:
            self.error(path, "Must be specified")
            return None
        if not isinstance(value, list):
            self.error(path, "Must be an array")
            return None
        if not low <= len(value) <= high:
            self.error(path, f"Size must be between {low} and {high}")
        return value

    def one_of(self, value: Any, allowed: tuple[str, ...], prop: str) -> bool:
        if value not in allowed:
            self.error(prop, f"Must be one of the following values: [{', '.join(allowed)}]")
            return False
        return True

    def obj(self, value: Any, prop: str) -> bool:
        if not isinstance(value, dict):
            self.error(prop, "Must be an object")
            return False
        return True


# --- requests -------------------------------------------------------------


def validate_reply_request(body: Any, body_size: int | None = None) -> Details:
    """Validate a ReplyMessageRequest: replyToken and 1..5 messages."""
    c = _Checker(body_size)
    if not c.obj(body, ""):
        return c.details
    c.string(body, "replyToken", "", max_len=10_000, required=True, non_empty=True)
    _messages(c, body)
    return c.details


def validate_push_request(body: Any, body_size: int | None = None) -> Details:
    """Validate a PushMessageRequest: ``to`` and 1..5 messages."""
    c = _Checker(body_size)
    if not c.obj(body, ""):
        return c.details
    c.string(body, "to", "", max_len=10_000, required=True, non_empty=True)
    _messages(c, body)
    return c.details


def validate_messages_request(body: Any, body_size: int | None = None) -> Details:
    """Validate a ValidateMessageRequest (``/v2/bot/message/validate/*``)."""
    c = _Checker(body_size)
    if not c.obj(body, ""):
        return c.details
    _messages(c, body)
    return c.details


def validate_messages(messages: Any) -> Details:
    """Validate a bare list of message objects (property paths ``messages[i]``)."""
    c = _Checker()
    _messages(c, {"messages": messages})
    return c.details


def _messages(c: _Checker, body: dict[str, Any]) -> None:
    messages = c.array(body, "messages", "", low=1, high=MAX_MESSAGES)
    for i, message in enumerate(messages or []):
        _message(c, message, f"messages[{i}]")


# --- message objects --------------------------------------------------------


def _message(c: _Checker, msg: Any, prop: str) -> None:
    if not c.obj(msg, prop):
        return
    if not c.one_of(msg.get("type"), MESSAGE_TYPES, f"{prop}.type"):
        return
    kind = msg["type"]
    if kind in ("text", "textV2"):
        c.string(msg, "text", prop, max_len=MAX_TEXT_UTF16, required=True, non_empty=True)
    elif kind == "sticker":
        c.required(msg, "packageId", prop)
        c.required(msg, "stickerId", prop)
    elif kind in ("image", "video"):
        c.string(msg, "originalContentUrl", prop, max_len=MAX_URL, required=True, non_empty=True)
        c.string(msg, "previewImageUrl", prop, max_len=MAX_URL, required=True, non_empty=True)
    elif kind == "audio":
        c.string(msg, "originalContentUrl", prop, max_len=MAX_URL, required=True, non_empty=True)
        c.required(msg, "duration", prop)
    elif kind == "location":
        c.string(msg, "title", prop, max_len=100, required=True, non_empty=True)
        c.string(msg, "address", prop, max_len=100, required=True, non_empty=True)
        c.required(msg, "latitude", prop)
        c.required(msg, "longitude", prop)
    elif kind == "imagemap":
        c.string(msg, "baseUrl", prop, max_len=MAX_URL, required=True, non_empty=True)
        c.string(msg, "altText", prop, max_len=MAX_ALT_TEXT, required=True, non_empty=True)
        c.required(msg, "baseSize", prop)
        c.array(msg, "actions", prop, low=0, high=50)
    elif kind == "template":
        c.string(msg, "altText", prop, max_len=MAX_ALT_TEXT, required=True, non_empty=True)
        if c.required(msg, "template", prop):
            _template(c, msg["template"], f"{prop}.template")
    elif kind == "flex":
        c.string(msg, "altText", prop, max_len=MAX_ALT_TEXT, required=True, non_empty=True)
        if c.required(msg, "contents", prop):
            _flex_container(c, msg["contents"], f"{prop}.contents")
    elif kind == "coupon":
        c.required(msg, "couponId", prop)

    if msg.get("quickReply") is not None:
        _quick_reply(c, msg["quickReply"], f"{prop}.quickReply")
    if msg.get("sender") is not None and c.obj(msg["sender"], f"{prop}.sender"):
        c.string(msg["sender"], "name", f"{prop}.sender", max_len=MAX_SENDER_NAME)
        c.string(msg["sender"], "iconUrl", f"{prop}.sender", max_len=MAX_URL)


def _quick_reply(c: _Checker, quick_reply: Any, prop: str) -> None:
    if not c.obj(quick_reply, prop):
        return
    items = c.array(quick_reply, "items", prop, low=1, high=MAX_QUICK_REPLY_ITEMS)
    for i, item in enumerate(items or []):
        item_prop = f"{prop}.items[{i}]"
        if not c.obj(item, item_prop):
            continue
        if item.get("type", "action") != "action":
            c.one_of(item.get("type"), ("action",), f"{item_prop}.type")
        c.string(item, "imageUrl", item_prop, max_len=MAX_URL)
        if c.required(item, "action", item_prop):
            _action(
                c,
                item["action"],
                f"{item_prop}.action",
                label_max=MAX_LABEL_TEMPLATE,
                label_required=True,
            )


# --- templates ----------------------------------------------------------------


def _template(c: _Checker, tpl: Any, prop: str) -> None:
    if not c.obj(tpl, prop):
        return
    if not c.one_of(tpl.get("type"), TEMPLATE_TYPES, f"{prop}.type"):
        return
    kind = tpl["type"]
    if kind == "buttons":
        has_header = tpl.get("title") is not None or tpl.get("thumbnailImageUrl") is not None
        text_max = MAX_BUTTONS_TEXT_WITH_TITLE_OR_IMAGE if has_header else MAX_BUTTONS_TEXT
        c.string(tpl, "text", prop, max_len=text_max, required=True, non_empty=True)
        c.string(tpl, "title", prop, max_len=MAX_BUTTONS_TITLE)
        c.string(tpl, "thumbnailImageUrl", prop, max_len=MAX_URL)
        _template_actions(c, tpl, prop, low=1, high=MAX_BUTTONS_ACTIONS)
        _default_action(c, tpl, prop)
    elif kind == "confirm":
        c.string(tpl, "text", prop, max_len=MAX_CONFIRM_TEXT, required=True, non_empty=True)
        _template_actions(c, tpl, prop, low=2, high=2)
    elif kind == "carousel":
        columns = c.array(tpl, "columns", prop, low=1, high=MAX_CAROUSEL_COLUMNS)
        action_counts = set()
        for i, col in enumerate(columns or []):
            col_prop = f"{prop}.columns[{i}]"
            if not c.obj(col, col_prop):
                continue
            has_header = col.get("title") is not None or col.get("thumbnailImageUrl") is not None
            text_max = MAX_CAROUSEL_TEXT_WITH_TITLE_OR_IMAGE if has_header else MAX_CAROUSEL_TEXT
            c.string(col, "text", col_prop, max_len=text_max, required=True, non_empty=True)
            c.string(col, "title", col_prop, max_len=MAX_BUTTONS_TITLE)
            actions = _template_actions(c, col, col_prop, low=1, high=MAX_CAROUSEL_ACTIONS)
            if actions is not None:
                action_counts.add(len(actions))
            _default_action(c, col, col_prop)
        if len(action_counts) > 1:
            c.error(f"{prop}.columns", "All columns must have the same number of actions")
    elif kind == "image_carousel":
        columns = c.array(tpl, "columns", prop, low=1, high=MAX_CAROUSEL_COLUMNS)
        for i, col in enumerate(columns or []):
            col_prop = f"{prop}.columns[{i}]"
            if not c.obj(col, col_prop):
                continue
            c.string(col, "imageUrl", col_prop, max_len=MAX_URL, required=True, non_empty=True)
            if c.required(col, "action", col_prop):
                _action(
                    c,
                    col["action"],
                    f"{col_prop}.action",
                    label_max=MAX_LABEL_IMAGE_CAROUSEL,
                    label_required=False,
                )


def _template_actions(
    c: _Checker, obj: dict[str, Any], prop: str, *, low: int, high: int
) -> list[Any] | None:
    actions = c.array(obj, "actions", prop, low=low, high=high)
    for i, action in enumerate(actions or []):
        _action(
            c,
            action,
            f"{prop}.actions[{i}]",
            label_max=MAX_LABEL_TEMPLATE,
            label_required=True,
        )
    return actions


def _default_action(c: _Checker, obj: dict[str, Any], prop: str) -> None:
    if obj.get("defaultAction") is not None:
        _action(
            c,
            obj["defaultAction"],
            f"{prop}.defaultAction",
            label_max=MAX_LABEL_TEMPLATE,
            label_required=False,
        )


# --- actions ------------------------------------------------------------------


def _action(c: _Checker, action: Any, prop: str, *, label_max: int, label_required: bool) -> None:
    if not c.obj(action, prop):
        return
    if not c.one_of(action.get("type"), ACTION_TYPES, f"{prop}.type"):
        return
    c.string(
        action,
        "label",
        prop,
        max_len=label_max,
        required=label_required,
        non_empty=label_required,
        measure=grapheme_length,
    )
    kind = action["type"]
    if kind == "postback":
        c.string(action, "data", prop, max_len=MAX_POSTBACK_DATA, required=True, measure=len)
        c.string(action, "displayText", prop, max_len=MAX_DISPLAY_TEXT, non_empty=True)
        c.string(action, "text", prop, max_len=MAX_DISPLAY_TEXT, non_empty=True)
        if action.get("text") is not None and action.get("displayText") is not None:
            c.error(f"{prop}.displayText", "Cannot be specified together with text")
    elif kind == "message":
        c.string(action, "text", prop, max_len=MAX_MESSAGE_ACTION_TEXT, required=True, non_empty=True)
    elif kind == "uri":
        c.string(action, "uri", prop, max_len=MAX_URI, required=True, non_empty=True)
        alt = action.get("altUri")
        if alt is not None and c.obj(alt, f"{prop}.altUri"):
            c.string(alt, "desktop", f"{prop}.altUri", max_len=MAX_URI)
    elif kind == "datetimepicker":
        c.string(action, "data", prop, max_len=MAX_POSTBACK_DATA, required=True, measure=len)
        if c.required(action, "mode", prop):
            c.one_of(action["mode"], DATETIME_MODES, f"{prop}.mode")
    elif kind == "richmenuswitch":
        c.string(action, "data", prop, max_len=MAX_POSTBACK_DATA, required=True, measure=len)
        c.string(action, "richMenuAliasId", prop, max_len=32, required=True, non_empty=True)
    elif kind == "clipboard":
        c.string(action, "clipboardText", prop, max_len=1000, required=True, non_empty=True)


# --- flex ---------------------------------------------------------------------


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _too_big(c: _Checker, value: Any, limit: int) -> bool:
    if c.body_size is not None and c.body_size <= limit:
        return False  # the whole body was smaller than the limit
    return _json_size(value) > limit


def _flex_container(c: _Checker, container: Any, prop: str) -> None:
    if not c.obj(container, prop):
        return
    if not c.one_of(container.get("type"), ("bubble", "carousel"), f"{prop}.type"):
        return
    if container["type"] == "bubble":
        _flex_bubble(c, container, prop)
        return
    bubbles = c.array(container, "contents", prop, low=1, high=MAX_FLEX_CAROUSEL_BUBBLES)
    for i, bubble in enumerate(bubbles or []):
        bubble_prop = f"{prop}.contents[{i}]"
        if c.obj(bubble, bubble_prop) and c.one_of(bubble.get("type"), ("bubble",), f"{bubble_prop}.type"):
            _flex_bubble(c, bubble, bubble_prop)
    if _too_big(c, container, MAX_FLEX_CAROUSEL_BYTES):
        c.error(prop, f"Size of the carousel must be {MAX_FLEX_CAROUSEL_BYTES // 1000}KB or less")


def _flex_bubble(c: _Checker, bubble: dict[str, Any], prop: str) -> None:
    if _too_big(c, bubble, MAX_FLEX_BUBBLE_BYTES):
        c.error(prop, f"Size of the bubble must be {MAX_FLEX_BUBBLE_BYTES // 1000}KB or less")
    for block in ("header", "body", "footer"):
        if bubble.get(block) is not None:
            block_prop = f"{prop}.{block}"
            if c.obj(bubble[block], block_prop) and c.one_of(
                bubble[block].get("type"), ("box",), f"{block_prop}.type"
            ):
                _flex_component(c, bubble[block], block_prop)
    if bubble.get("hero") is not None:
        hero_prop = f"{prop}.hero"
        if c.obj(bubble["hero"], hero_prop) and c.one_of(
            bubble["hero"].get("type"), ("box", "image", "video"), f"{hero_prop}.type"
        ):
            _flex_component(c, bubble["hero"], hero_prop)
    if bubble.get("action") is not None:
        _flex_action(c, bubble["action"], f"{prop}.action", label_required=False)


def _flex_action(c: _Checker, action: Any, prop: str, *, label_required: bool) -> None:
    _action(c, action, prop, label_max=MAX_LABEL_FLEX, label_required=label_required)


def _flex_component(c: _Checker, comp: Any, prop: str) -> None:
    if not c.obj(comp, prop):
        return
    if not c.one_of(comp.get("type"), FLEX_COMPONENT_TYPES, f"{prop}.type"):
        return
    kind = comp["type"]
    if kind == "box":
        if c.required(comp, "layout", prop):
            c.one_of(comp["layout"], BOX_LAYOUTS, f"{prop}.layout")
        contents = c.array(comp, "contents", prop, low=0, high=10_000)
        for i, child in enumerate(contents or []):
            _flex_component(c, child, f"{prop}.contents[{i}]")
    elif kind == "text":
        if comp.get("text") is None and comp.get("contents") is None:
            c.error(f"{prop}.text", "Must be specified")
        spans = comp.get("contents")
        if spans is not None:
            if not isinstance(spans, list):
                c.error(f"{prop}.contents", "Must be an array")
            else:
                for i, span in enumerate(spans):
                    span_prop = f"{prop}.contents[{i}]"
                    if c.obj(span, span_prop) and c.one_of(span.get("type"), ("span",), f"{span_prop}.type"):
                        _flex_component(c, span, span_prop)
    elif kind == "span":
        c.required(comp, "text", prop)
    elif kind == "button":
        if c.required(comp, "action", prop):
            _flex_action(c, comp["action"], f"{prop}.action", label_required=True)
        return
    elif kind in ("image", "icon"):
        c.string(comp, "url", prop, max_len=MAX_URL, required=True, non_empty=True)
    elif kind == "video":
        c.string(comp, "url", prop, max_len=MAX_URL, required=True, non_empty=True)
        c.string(comp, "previewUrl", prop, max_len=MAX_URL, required=True, non_empty=True)
        if c.required(comp, "altContent", prop):
            _flex_component(c, comp["altContent"], f"{prop}.altContent")
    # separator and filler have no required properties.
    if comp.get("action") is not None:
        _flex_action(c, comp["action"], f"{prop}.action", label_required=False)
