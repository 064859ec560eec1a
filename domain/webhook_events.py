"""A webhook body, read, and each of its events checked before it is stored.

Pure: no Flask, no database, no LINE SDK; the caller passes the time.

The webhook stores what this module accepts and the workers' handlers read
it later, so the checks here are what handlers may rely on.  An event of a
type the bot handles (``CHECKS``) is checked against LINE's webhook schema
(line/line-openapi ``webhook.yml``; a copy is in tests/fixtures/line/) in
full: every field the schema defines is checked when present and required
when the schema requires it, and a few constraints are tightened where LINE
documents them or where the bot reads the field:

- user, group and room ids are ``U``, ``C``, ``R`` + 32 lowercase hex digits;
- ``message.text`` is at most 10,000 characters (what the LINE app lets a
  member type), ``postback.data`` 300 (LINE's limit on the data a bot sets);
- ``webhookEventId`` and ``replyToken`` are printable ASCII without spaces
  (64 and 256 characters at most: the sizes of the columns that keep them);
- ``timestamp`` is an integer no older than MAX_EVENT_AGE and no further
  ahead than MAX_EVENT_LEAD (so a signed event replayed after its dedupe row
  was pruned is refused by its age);
- nothing anywhere in the event may be unstorable or unserialisable:
  containers nest at most MAX_DEPTH deep, strings hold no NUL and no
  unpaired surrogate, integers fit in 64 bits, numbers are finite.

Fields the schema does not know are allowed (LINE adds fields) within that
last rule.  Each event gets one of four outcomes (``Checked.outcome``):

- PROCESS: stored with its JSON for a worker;
- IGNORE: a type the bot does not handle (LINE adds new ones), or an event
  for the ``standby`` channel: stored as already done, without its JSON;
- REJECT: malformed: stored as already done, without its JSON, with the
  reason (so a redelivery is recognised and dropped, and the reason can be
  counted); never processed;
- DROP: not an object, or no usable ``webhookEventId``: there is no key to
  store it under, so it is only counted.

Reasons are fixed texts and schema field names, never values from the
event, so they may be logged.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

# Processed events are pruned 7 days after processing (jobs/sweep.py,
# EVENT_RETENTION), and then the unique index no longer knows their ids.  An
# event accepted when its timestamp was up to MAX_EVENT_LEAD ahead of our
# clock is refused by its age MAX_EVENT_AGE + MAX_EVENT_LEAD after it
# arrived at the latest, so that sum must stay below the retention (it does
# by 23 hours).  LINE does not say how long it redelivers; six days leaves
# it room.
MAX_EVENT_AGE = timedelta(days=6)
MAX_EVENT_LEAD = timedelta(hours=1)
# LINE's deepest event (a mention inside a text message) nests 5 deep.
MAX_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_MS = timedelta(milliseconds=1)

PROCESS, IGNORE, REJECT, DROP = "process", "ignore", "reject", "drop"


class MalformedBody(ValueError):
    """The body is not a JSON object with an ``events`` list."""


@dataclass(frozen=True, slots=True)
class Checked:
    """What the webhook does with one event (see the module docstring)."""

    outcome: str
    event_id: str | None = None  # the dedupe key; None when DROP
    event_type: str = ""  # for the event_type column ("" when malformed)
    reason: str | None = None  # None when PROCESS


class _Unusable:
    """Stands in, after parsing, for a value that cannot be kept."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


_TOO_DEEP = _Unusable("nested too deeply")
_HUGE = _Unusable("a number out of range")


# -- the body ---------------------------------------------------------------
def _parse_int(digits: str):
    # int() refuses more than 4,300 digits (a ValueError that would lose the
    # whole body); anything longer than 20 characters is beyond int64 anyway.
    return int(digits) if len(digits) <= 20 else _HUGE


def parse_body(body: str | bytes) -> list:
    """The ``events`` list of a webhook body; MalformedBody if there is none.

    Values that cannot be kept (a subtree nested deeper than json's recursion
    limit, an integer of thousands of digits) are replaced by markers that
    make only the event holding them malformed."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedBody("not UTF-8") from None
    try:
        payload = json.loads(body, parse_int=_parse_int)
    except RecursionError:
        payload = _loads_without_recursion(body, MAX_DEPTH + 2)  # body > events > event
    except ValueError:
        raise MalformedBody("not JSON") from None
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise MalformedBody("no events list")
    return events


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# json.loads also reads NaN and Infinity; unstorable() refuses them later.
_LITERAL = re.compile(r"true|false|null|NaN|Infinity|-Infinity")
_LITERALS = {"true": True, "false": False, "null": None, "NaN": math.nan, "Infinity": math.inf}
_LITERALS["-Infinity"] = -math.inf
_scanstring = json.decoder.scanstring


def _loads_without_recursion(text: str, max_depth: int):
    """json.loads for bodies nested too deeply for it: the same result, with
    every container deeper than ``max_depth`` parsed but replaced by
    _TOO_DEEP.  An explicit stack instead of recursion; only hostile bodies
    come here, so it favours plainness over speed.  MalformedBody when the
    text is not JSON."""
    try:
        return _walk_json(text, max_depth)
    except (ValueError, IndexError):
        raise MalformedBody("not JSON") from None


def _read_key(text: str, pos: int, frame: list) -> int:
    if not text.startswith('"', pos):
        raise ValueError("expected a key")
    frame[1], pos = _scanstring(text, pos + 1)
    pos = _WS.match(text, pos).end()
    if not text.startswith(":", pos):
        raise ValueError("expected ':'")
    return _WS.match(text, pos + 1).end()


def _walk_json(text: str, max_depth: int):
    stack: list[list] = []  # frames: [container or None (too deep), pending key, closing char]
    pos = _WS.match(text, 0).end()
    while True:
        # A value starts at pos.
        char = text[pos]
        if char in "{[":
            container = ({} if char == "{" else []) if len(stack) < max_depth else None
            frame = [container, None, "}" if char == "{" else "]"]
            stack.append(frame)
            pos = _WS.match(text, pos + 1).end()
            if not text.startswith(frame[2], pos):
                if char == "{":
                    pos = _read_key(text, pos, frame)
                continue
            pos += 1  # an empty container: complete already
            stack.pop()
            value = _TOO_DEEP if container is None else container
        elif char == '"':
            value, pos = _scanstring(text, pos + 1)
        elif numeral := _NUMBER.match(text, pos):
            pos = numeral.end()
            whole = numeral.group(2) is None and numeral.group(3) is None
            value = _parse_int(numeral.group()) if whole else float(numeral.group())
        elif literal := _LITERAL.match(text, pos):
            pos = literal.end()
            value = _LITERALS[literal.group()]
        else:
            raise ValueError("expected a value")
        # A value is complete: put it in its container, closing containers.
        while True:
            if not stack:
                if _WS.match(text, pos).end() != len(text):
                    raise ValueError("extra data")
                return value
            frame = stack[-1]
            container = frame[0]
            if container is not None:
                if frame[2] == "}":
                    container[frame[1]] = value
                else:
                    container.append(value)
            pos = _WS.match(text, pos).end()
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()
                if frame[2] == "}":
                    pos = _read_key(text, pos, frame)
                break
            if not text.startswith(frame[2], pos):
                raise ValueError("expected ',' or a closing bracket")
            pos += 1
            stack.pop()
            value = _TOO_DEEP if container is None else container


# -- checks -----------------------------------------------------------------
class Invalid(Exception):
    """One problem with an event: ``path`` (schema field names and list
    indices) and ``problem`` (a fixed text)."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}" if path else problem)


Check = Callable[[object, str], None]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def string(max_length: int | None = None, pattern: str | None = None, choices=None) -> Check:
    compiled = re.compile(pattern) if pattern else None
    allowed = frozenset(choices) if choices else None

    def check(value, path):
        if type(value) is not str:
            raise Invalid(path, "not a string")
        if max_length is not None and len(value) > max_length:
            raise Invalid(path, f"longer than {max_length} characters")
        if compiled is not None and compiled.fullmatch(value) is None:
            raise Invalid(path, "not in the expected format")
        if allowed is not None and value not in allowed:
            raise Invalid(path, "not one of the expected values")

    return check


def integer(value, path):
    if type(value) is not int:
        raise Invalid(path, "not an integer")


def number(value, path):
    if type(value) not in (int, float):
        raise Invalid(path, "not a number")


def boolean(value, path):
    if type(value) is not bool:
        raise Invalid(path, "not true or false")


def array(item: Check, max_items: int | None = None) -> Check:
    def check(value, path):
        if type(value) is not list:
            raise Invalid(path, "not a list")
        if max_items is not None and len(value) > max_items:
            raise Invalid(path, f"more than {max_items} items")
        for i, element in enumerate(value):
            item(element, f"{path}[{i}]")

    return check


def mapping(item: Check) -> Check:
    """An object whose every value passes ``item`` (its keys are free)."""

    def check(value, path):
        if type(value) is not dict:
            raise Invalid(path, "not an object")
        for element in value.values():
            item(element, _join(path, "*"))

    return check


def obj(required: dict[str, Check] | None = None, optional: dict[str, Check] | None = None) -> Check:
    """An object with these fields (others are allowed and not checked)."""
    required = required or {}
    optional = optional or {}

    def check(value, path):
        if type(value) is not dict:
            raise Invalid(path, "not an object")
        for name, field in required.items():
            if name not in value:
                raise Invalid(_join(path, name), "missing")
            field(value[name], _join(path, name))
        for name, field in optional.items():
            if name in value:
                field(value[name], _join(path, name))

    return check


def union(base: Check, variants: dict[str, Check], unknown: str = "allow") -> Check:
    """LINE's ``discriminator``: ``base`` applies to every object, then the
    variant named by its ``type``.  An unknown type is allowed (``base``
    only) or, with ``unknown="reject"``, refused."""

    def check(value, path):
        base(value, path)  # an object whose type is a string
        variant = variants.get(value["type"])
        if variant is not None:
            variant(value, path)
        elif unknown == "reject":
            raise Invalid(_join(path, "type"), "not one of the expected values")

    return check


def both(*checks: Check) -> Check:
    def check(value, path):
        for each in checks:
            each(value, path)

    return check


# -- LINE's webhook schema, as the bot enforces it ----------------------------
PRINTABLE = r"[!-~]+"  # printable ASCII, no spaces or control characters
USER_ID = string(pattern=r"U[0-9a-f]{32}")
GROUP_ID = string(pattern=r"C[0-9a-f]{32}")
ROOM_ID = string(pattern=r"R[0-9a-f]{32}")
WEBHOOK_EVENT_ID = string(max_length=64, pattern=PRINTABLE)
REPLY_TOKEN = string(max_length=256, pattern=PRINTABLE)
EVENT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
# What a member can type in one LINE message (the app's limit; the 5,000 of
# the Messaging API is what a bot may send).  An overlong /お知らせ must still
# reach its handler, which answers it kindly.
TEXT_MAX = 10_000
POSTBACK_DATA_MAX = 300
STICKER_RESOURCE_TYPES = (
    *("STATIC", "ANIMATION", "SOUND", "ANIMATION_SOUND", "POPUP", "POPUP_SOUND"),
    *("CUSTOM", "MESSAGE", "NAME_TEXT", "PER_STICKER_TEXT"),
)
TEXT = string()

SOURCE = union(
    obj(required={"type": TEXT}),
    {
        "user": obj(optional={"userId": USER_ID}),
        "group": obj(required={"groupId": GROUP_ID}, optional={"userId": USER_ID}),
        "room": obj(required={"roomId": ROOM_ID}, optional={"userId": USER_ID}),
    },
    unknown="reject",  # handlers know these three
)
USER_SOURCE = obj(required={"type": string(choices=("user",))}, optional={"userId": USER_ID})
MEMBERS = obj(required={"members": array(USER_SOURCE)})

CONTENT_PROVIDER = obj(
    required={"type": string(choices=("line", "external"))},
    optional={"originalContentUrl": TEXT, "previewImageUrl": TEXT},
)
EMOJI = obj(required={"index": integer, "length": integer, "productId": TEXT, "emojiId": TEXT})
MENTIONEE = union(
    obj(required={"type": TEXT, "index": integer, "length": integer}),
    {"user": obj(optional={"userId": USER_ID, "isSelf": boolean})},
)
MESSAGE = union(
    obj(required={"type": TEXT, "id": TEXT}, optional={"markAsReadToken": TEXT}),
    {
        "text": obj(
            required={"text": string(max_length=TEXT_MAX), "quoteToken": TEXT},
            optional={
                "emojis": array(EMOJI),
                "mention": obj(required={"mentionees": array(MENTIONEE)}),
                "quotedMessageId": TEXT,
            },
        ),
        "image": obj(
            required={"contentProvider": CONTENT_PROVIDER, "quoteToken": TEXT},
            optional={"imageSet": obj(required={"id": TEXT}, optional={"index": integer, "total": integer})},
        ),
        "video": obj(
            required={"contentProvider": CONTENT_PROVIDER, "quoteToken": TEXT},
            optional={"duration": integer},
        ),
        "audio": obj(required={"contentProvider": CONTENT_PROVIDER}, optional={"duration": integer}),
        "file": obj(required={"fileName": TEXT, "fileSize": integer}),
        "location": obj(
            required={"latitude": number, "longitude": number}, optional={"title": TEXT, "address": TEXT}
        ),
        "sticker": obj(
            required={
                "packageId": TEXT,
                "stickerId": TEXT,
                "stickerResourceType": string(choices=STICKER_RESOURCE_TYPES),
                "quoteToken": TEXT,
            },
            optional={
                "keywords": array(TEXT, max_items=15),
                "text": string(max_length=100),
                "quotedMessageId": TEXT,
            },
        ),
    },
)

# Every event: LINE's Event schema.  timestamp is checked by check_event.
ENVELOPE = obj(
    required={
        "type": TEXT,
        "timestamp": integer,
        "mode": string(choices=("active", "standby")),
        "webhookEventId": WEBHOOK_EVENT_ID,
        "deliveryContext": obj(required={"isRedelivery": boolean}),
    },
    optional={"source": SOURCE},
)
# The event types the bot handles (bot/group_events.py and bot/one_to_one.py
# HANDLERS): their own fields.
CHECKS: dict[str, Check] = {
    "message": obj(required={"message": MESSAGE}, optional={"replyToken": REPLY_TOKEN}),
    "postback": obj(
        required={
            "postback": obj(
                required={"data": string(max_length=POSTBACK_DATA_MAX)}, optional={"params": mapping(TEXT)}
            )
        },
        optional={"replyToken": REPLY_TOKEN},
    ),
    "join": obj(required={"replyToken": REPLY_TOKEN}),
    "leave": obj(),
    "memberJoined": obj(required={"replyToken": REPLY_TOKEN, "joined": MEMBERS}),
    "memberLeft": obj(required={"left": MEMBERS}),
    "follow": obj(required={"replyToken": REPLY_TOKEN, "follow": obj(required={"isUnblocked": boolean})}),
    "unfollow": obj(),
}


# -- one event -------------------------------------------------------------
def _clean(text: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no unpaired surrogate (no UTF-8)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable(event: dict) -> str | None:
    """Why some value anywhere in ``event`` cannot be stored as JSON text and
    read back (see the module docstring), or None.  Iterative: an event may
    be nested as deeply as the body allows."""
    stack = [(event, 1)]
    while stack:
        value, depth = stack.pop()
        kind = type(value)
        if kind is str:
            if not _clean(value):
                return "a string with a NUL or an unpaired surrogate"
        elif kind is dict or kind is list:
            if depth > MAX_DEPTH:
                return "nested too deeply"
            items = value.items() if kind is dict else enumerate(value)
            for key, item in items:
                if kind is dict and not _clean(key):
                    return "a key with a NUL or an unpaired surrogate"
                stack.append((item, depth + 1))
        elif kind is int:
            if not INT64_MIN <= value <= INT64_MAX:
                return "a number out of range"
        elif kind is float:
            if not math.isfinite(value):
                return "a number out of range"
        elif kind is _Unusable:
            return value.reason
        elif value is not None and kind is not bool:
            return "a value JSON cannot hold"  # unreachable from json.loads
    return None


def check_event(event: object, now_ms: int) -> Checked:
    """Decide what to do with one element of a body's ``events`` list.

    ``now_ms`` is the current time in milliseconds since the epoch, on
    LINE's clock (real time: the demo clock does not move LINE's)."""
    if type(event) is not dict:
        return Checked(DROP, reason="not an object")
    event_id = event.get("webhookEventId")
    try:
        WEBHOOK_EVENT_ID(event_id, "webhookEventId")
    except Invalid as exc:
        return Checked(DROP, reason=str(exc))
    event_type = event.get("type")
    if type(event_type) is not str or EVENT_TYPE.fullmatch(event_type) is None:
        return Checked(REJECT, event_id, "", "type: not an event type")
    check = CHECKS.get(event_type)
    if check is None:
        return Checked(IGNORE, event_id, event_type, "not a type the bot handles")
    problem = unstorable(event)
    if problem is not None:
        return Checked(REJECT, event_id, event_type, problem)
    try:
        ENVELOPE(event, "")
        check(event, "")
    except Invalid as exc:
        return Checked(REJECT, event_id, event_type, str(exc))
    if event["mode"] != "active":
        return Checked(IGNORE, event_id, event_type, "for the standby channel")
    age_ms = now_ms - event["timestamp"]
    if age_ms > MAX_EVENT_AGE // _MS:
        return Checked(REJECT, event_id, event_type, "timestamp: too old")
    if -age_ms > MAX_EVENT_LEAD // _MS:
        return Checked(REJECT, event_id, event_type, "timestamp: in the future")
    return Checked(PROCESS, event_id, event_type)
