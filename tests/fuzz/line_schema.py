"""LINE's webhook schema (tests/fixtures/line/webhook.yml) as JSON Schema.

OpenAPI 3.0 marks subtypes with ``discriminator`` (an Event is a MessageEvent
when its type is "message", ...), which JSON Schema does not know.  Here each
subtype pins its ``type`` to its mapping key, and every place that refers to
a discriminated base (outside the subtypes' own ``allOf``) refers to the
union of its subtypes instead.  Documentation keywords and OpenAPI formats
are dropped.

``line_schema()`` is LINE's schema so translated: any event LINE may send.
``bot_schema(window)`` adds the constraints the bot enforces on top
(domain/webhook_events.py, written out again here from LINE's documentation
so that the two can be compared): id formats, text and postback lengths,
reply tokens, 64-bit integers and, if given, a timestamp window (the
bot's depends on the moment of the request, so the oracle checks it apart).  Definitions are
under ``definitions``; ``event_schema(defs, name)`` roots one for a
validator or a generator.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import yaml

SPEC = Path(__file__).resolve().parent.parent / "fixtures/line/webhook.yml"
PREFIX = "#/components/schemas/"
DROPPED_KEYWORDS = {"description", "externalDocs", "example", "format", "discriminator"}
# Subtypes whose unknown ``type`` values are still valid (LINE adds message
# and mention kinds; the bot ignores what it does not know).  A Source of an
# unknown type is not: handlers know users, groups and rooms.
OPEN_UNIONS = {"MessageContent", "Mentionee", "MembershipContent", "ModuleContent", "Event"}

INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}
PRINTABLE = "^[!-~]+\\Z"  # \Z: Python's $ also matches before a final newline


def _ref(name: str) -> dict:
    return {"$ref": f"#/definitions/{name}"}


@cache
def _openapi() -> dict:
    return yaml.safe_load(SPEC.read_text())["components"]["schemas"]


def line_schema() -> dict:
    """LINE's components.schemas as JSON Schema definitions (see above)."""
    schemas = copy.deepcopy(_openapi())
    unions: dict[str, dict[str, str]] = {}
    for name, schema in schemas.items():
        if "discriminator" in schema:
            mapping = schema["discriminator"]["mapping"]
            unions[name] = {key: target.removeprefix(PREFIX) for key, target in mapping.items()}
    for base, mapping in unions.items():
        for key, sub in mapping.items():
            pin = {"type": "object", "required": ["type"], "properties": {"type": {"enum": [key]}}}
            schemas[sub].setdefault("allOf", []).append(pin)
        variants = [_ref(sub) for sub in mapping.values()]
        if base in OPEN_UNIONS:
            other = {"type": "object", "properties": {"type": {"not": {"enum": sorted(mapping)}}}}
            variants.append({"allOf": [_ref(base), other]})
        schemas[f"{base}Any"] = {"anyOf": variants}

    def convert(node, inherited: bool = False):
        if isinstance(node, list):
            return [convert(item, inherited) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            if not node["$ref"].startswith(PREFIX):
                return node  # one of ours, written with #/definitions/ already
            name = node["$ref"].removeprefix(PREFIX)
            # A subtype's allOf names its base; everything else names the union.
            return _ref(name if inherited or name not in unions else f"{name}Any")
        converted = {}
        for key, value in node.items():
            if key in DROPPED_KEYWORDS:
                continue
            if key == "properties":
                converted[key] = {prop: convert(schema) for prop, schema in value.items()}
            else:
                converted[key] = convert(value, inherited=key == "allOf")
        return converted

    return {name: convert(schema) for name, schema in schemas.items()}


def _patch(defs: dict, name: str, prop: str, constraints: dict) -> None:
    """Add ``constraints`` to property ``prop`` of definition ``name`` (in
    its own properties or its allOf part that declares it)."""
    schema = defs[name]
    for part in [schema, *schema.get("allOf", [])]:
        if prop in part.get("properties", {}):
            part["properties"][prop].update(constraints)
            return
    raise KeyError(f"{name}.{prop} is not in LINE's schema")


def bot_schema(window: tuple[int, int] | None = None) -> dict:
    """LINE's schema with what the bot enforces on top (module docstring);
    ``window`` bounds ``timestamp`` (milliseconds, inclusive)."""
    defs = line_schema()

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "integer":
                node.update(INT64)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(defs)
    user_id = {"pattern": "^U[0-9a-f]{32}\\Z"}
    for name in ("UserSource", "GroupSource", "RoomSource", "UserMentionee"):
        _patch(defs, name, "userId", user_id)
    _patch(defs, "GroupSource", "groupId", {"pattern": "^C[0-9a-f]{32}\\Z"})
    _patch(defs, "RoomSource", "roomId", {"pattern": "^R[0-9a-f]{32}\\Z"})
    _patch(defs, "TextMessageContent", "text", {"maxLength": 10_000})
    _patch(defs, "PostbackContent", "data", {"maxLength": 300})
    for name in ("MessageEvent", "PostbackEvent", "JoinEvent", "MemberJoinedEvent", "FollowEvent"):
        _patch(defs, name, "replyToken", {"pattern": PRINTABLE, "maxLength": 256})
    _patch(defs, "Event", "webhookEventId", {"pattern": PRINTABLE, "maxLength": 64})
    if window is not None:
        _patch(defs, "Event", "timestamp", {"minimum": window[0], "maximum": window[1]})
    return defs


def event_schema(defs: dict, name: str) -> dict:
    """A schema for the definition ``name`` that carries its definitions."""
    return {"definitions": defs, **_ref(name)}


def flat_schema(defs: dict, name: str) -> dict:
    """The definition ``name`` with every $ref written in and every allOf
    merged into one object schema: the same constraints, in the shape
    hypothesis-jsonschema generates from quickly (it would otherwise merge
    the allOf parts again at every draw).  LINE's schema has no recursion."""

    def merge(parts: list[dict]) -> dict:
        merged: dict = {}
        for part in parts:
            for key, value in part.items():
                if key == "properties":
                    props = merged.setdefault("properties", {})
                    for prop, schema in value.items():
                        props[prop] = merge([props[prop], schema]) if prop in props else schema
                elif key == "required":
                    merged["required"] = sorted(set(merged.get("required", [])) | set(value))
                else:
                    merged[key] = value  # the parts agree (type: object) or add (enum, pattern)
        return merged

    def inline(node):
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return inline(defs[node["$ref"].rsplit("/", 1)[1]])
        node = {key: inline(value) for key, value in node.items()}
        if "allOf" in node:
            parts = node.pop("allOf")
            node = merge([*parts, node])
        return node

    return inline(defs[name])
