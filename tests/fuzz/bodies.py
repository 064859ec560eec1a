"""Webhook bodies for the fuzz tests, and what the webhook must do with them.

Events come from LINE's schema (tests/fuzz/line_schema.py): well-formed
ones of the types the bot handles, anything LINE's schema allows of every
type, and well-formed ones with one hostile edit (a wrong type, NUL, a lone
surrogate, a huge number, NaN, nesting deeper than json's recursion limit,
an overlong id or text, a missing field).  ``expected()`` is the oracle: the
outcome an event must get, judged with the JSON Schema rather than with the
webhook's own checks, so the two are compared.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from dataclasses import dataclass
from functools import cache

import jsonschema
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from domain.webhook_events import CHECKS, DROP, IGNORE, MAX_EVENT_AGE, MAX_EVENT_LEAD, PROCESS, REJECT
from tests.fuzz.line_schema import _openapi, bot_schema, event_schema, flat_schema, line_schema

# The event types the bot handles (domain.webhook_events.CHECKS) and their schemas.
HANDLED = tuple(CHECKS)
SCHEMA_OF = {
    key: target.rsplit("/", 1)[1]
    for key, target in _openapi()["Event"]["discriminator"]["mapping"].items()
    if key in HANDLED
}
AGE_MS = int(MAX_EVENT_AGE.total_seconds() * 1000)
LEAD_MS = int(MAX_EVENT_LEAD.total_seconds() * 1000)
MAX_DEPTH = 32  # written out again: domain/webhook_events.py says the same

# jsonschema counts 1.0 as an integer (draft 6 on); JSON-wise LINE's int64
# fields are integers written without a fraction, which is what Python
# parses as int.
_types = jsonschema.Draft7Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: type(value) is int
)
Validator = jsonschema.validators.extend(jsonschema.Draft7Validator, type_checker=_types)
_BOT = bot_schema()
VALIDATORS = {kind: Validator(event_schema(_BOT, name)) for kind, name in SCHEMA_OF.items()}


def now_ms() -> int:
    return int(time.time() * 1000)


# -- raw JSON that Python values cannot express --------------------------------
@dataclass(frozen=True)
class Raw:
    """A JSON text put into the body as it is (none can be stored)."""

    text: str

    def __repr__(self) -> str:
        return f"Raw({self.text[:12]!r}... {len(self.text)} characters)"


RAW = (
    Raw("1" + "0" * 5000),  # beyond int()'s 4,300 digits
    Raw("-" + "9" * 30),
    Raw("1e999"),  # inf
    Raw("NaN"),
    Raw("-Infinity"),
    Raw("[" * 3000 + "]" * 3000),  # beyond json's recursion limit
    Raw('{"a":' * 1500 + "0" + "}" * 1500),
)


def serialise(body: dict) -> bytes:
    """The body as UTF-8 JSON, with Raw values spliced in."""
    raws: list[Raw] = []

    def placeholder(value):
        if isinstance(value, Raw):
            raws.append(value)
            return f"\ue000{len(raws) - 1}\ue000"
        if isinstance(value, dict):
            return {k: placeholder(v) for k, v in value.items()}
        if isinstance(value, list):
            return [placeholder(v) for v in value]
        return value

    # ASCII-only: lone surrogates become \\udXXX escapes, as a hostile
    # sender would write them (they have no UTF-8 form).
    text = json.dumps(placeholder(body), ensure_ascii=True)
    for i, raw in enumerate(raws):
        text = text.replace(f'"\\ue000{i}\\ue000"', raw.text, 1)
    return text.encode()


# -- the oracle ---------------------------------------------------------------
def storable(value) -> bool:
    """No NUL or unpaired surrogate in any string or key, nesting at most
    MAX_DEPTH, integers in 64 bits, finite numbers, no Raw."""

    def clean(text: str) -> bool:
        return "\x00" not in text and not re.search("[\ud800-\udfff]", text)

    def ok(node, depth: int) -> bool:
        if isinstance(node, bool) or node is None:
            return True
        if isinstance(node, str):
            return clean(node)
        if isinstance(node, int):
            return -(2**63) <= node < 2**63
        if isinstance(node, float):
            return math.isfinite(node)
        if isinstance(node, dict):
            return depth <= MAX_DEPTH and all(clean(k) and ok(v, depth + 1) for k, v in node.items())
        if isinstance(node, list):
            return depth <= MAX_DEPTH and all(ok(v, depth + 1) for v in node)
        return False  # Raw

    return ok(value, 1)


def expected(event, at_ms: int) -> str:
    """The outcome the webhook owes ``event`` at ``at_ms`` (see
    domain/webhook_events.py for the meaning of each)."""
    if not isinstance(event, dict):
        return DROP
    event_id = event.get("webhookEventId")
    if not (isinstance(event_id, str) and re.fullmatch(r"[!-~]{1,64}", event_id)):
        return DROP
    kind = event.get("type")
    if not (isinstance(kind, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,31}", kind)):
        return REJECT
    if kind not in HANDLED:
        return IGNORE
    if not storable(event) or not VALIDATORS[kind].is_valid(event):
        return REJECT
    if event["mode"] == "standby":
        return IGNORE
    if not at_ms - AGE_MS <= event["timestamp"] <= at_ms + LEAD_MS:
        return REJECT
    return PROCESS


# -- strategies ----------------------------------------------------------------
def _generated(defs: dict, name: str):
    # No NUL and only UTF-8-encodable text from the generator: the hostile
    # edits below add those on purpose, where the oracle can see them.
    return from_schema(flat_schema(defs, name), allow_x00=False, codec="utf-8")


@cache  # building a strategy from a schema takes seconds: once per session
def well_formed_events(start_ms: int):
    """Events of the handled types that satisfy the bot's schema, stamped
    well inside the window (the test runs for minutes, not hours)."""
    window = (start_ms - AGE_MS + 3_600_000, start_ms + LEAD_MS - 600_000)
    defs = bot_schema(window)
    return st.one_of([_generated(defs, SCHEMA_OF[kind]) for kind in HANDLED])


@cache
def any_line_events():
    """Anything LINE's schema allows, of any type (ids, timestamps and all)."""
    return _generated(line_schema(), "EventAny")


HOSTILE_VALUES = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            0,
            -1,
            2**63,
            -(2**63) - 1,
            1.5,
            "",
            " ",
            "x",
            "a\x00b",
            "\x00",
            "\ud800",
            "ok\udfff",
            [],
            {},
            ["x"],
            {"type": "user"},
            "U" + "0" * 99,
            "C" + "a" * 99,
            "x" * 5001,
            "r=" + "x" * 299,
            "r=²",
            json.loads("[" * 40 + "]" * 40),
            *RAW,
        ]
    ),
    st.text(max_size=20),
    st.integers(),
)


def _paths(node, prefix=()):
    """Every path to a value inside ``node``."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found += _paths(value, (*prefix, key))
    return found


@st.composite
def hostile_edit(draw, events):
    """An event from ``events`` with one value replaced or one key removed."""
    event = copy.deepcopy(draw(events))
    paths = _paths(event)
    if not paths:
        return event
    path = draw(st.sampled_from(paths))
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(HOSTILE_VALUES)
    return event


@cache
def _elements(start_ms: int):
    good = well_formed_events(start_ms)
    return st.one_of(
        good,
        good,
        any_line_events(),
        hostile_edit(good),
        hostile_edit(any_line_events()),
        HOSTILE_VALUES,  # an element that is not an event at all
    )


@st.composite
def bodies(draw, start_ms: int, max_events: int = 6):
    """A signed-to-be webhook body: an object with a list of events, each
    given a fresh webhookEventId unless the edit broke it, some sharing
    the id of an earlier one (a duplicate within the body)."""
    events = draw(st.lists(_elements(start_ms), min_size=1, max_size=max_events))
    prefix = draw(st.uuids()).hex[:12].upper()
    ids: list[str] = []
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            continue
        if ids and draw(st.integers(0, 9)) == 0:
            event["webhookEventId"] = draw(st.sampled_from(ids))
        elif isinstance(event.get("webhookEventId"), str) and draw(st.booleans()):
            # keep the edit's id (hostile or not), made unique to this body
            event["webhookEventId"] = f"{prefix}{i}{event['webhookEventId']}"
        elif "webhookEventId" in event and not isinstance(event["webhookEventId"], str):
            pass  # the edit broke the id: the event must be dropped
        elif draw(st.integers(0, 4)) == 0:
            event.pop("webhookEventId", None)  # no id at all: dropped too
            continue
        else:
            event["webhookEventId"] = f"01{prefix}{i:012d}"
        if isinstance(event.get("webhookEventId"), str):
            ids.append(event["webhookEventId"])
    return {"destination": "U" + "f" * 32, "events": events}
