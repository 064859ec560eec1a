"""Routing a webhook event to its handler: by the chat it happened in (a
group, or a person's one-to-one chat), then by event type.

``handle`` runs inside the transaction that marks the event processed.
Unknown event types, rooms and events without a usable source are ignored
(LINE adds new types; the webhook has already answered 200).

``needs_profile`` and ``needs_member_count`` say which reads from LINE a
handler will want, so the job does them before the transaction (a network
call never holds a lock).
"""

from __future__ import annotations

from bot import group_events, one_to_one
from bot.context import EventContext, chat_of
from domain.answers import classify_answer
from domain.commands import parse_bare_command, parse_command
from domain.kinds import AnswerKind, ChatKind
from domain.postback import Join, decode
from messages.i18n import using
from services import groups, membership


def handle(ctx: EventContext) -> None:
    kind, chat_id = chat_of(ctx.event)
    event_type = ctx.event.get("type")
    if kind is ChatKind.GROUP:
        handler = group_events.HANDLERS.get(event_type)
        if handler is None:
            return
        if event_type in group_events.NEEDS_KNOWN_GROUP:
            ctx.group = groups.find_group(chat_id)
            if ctx.group is None:
                return
        else:
            ctx.group = groups.ensure_group(chat_id, ctx.now)
        # Every reply is written in the group's language (messages/i18n.py).
        with using(ctx.group.language):
            handler(ctx)
    elif kind is ChatKind.USER:
        handler = one_to_one.HANDLERS.get(event_type)
        if handler is not None:
            ctx.person = membership.find_person(chat_id)
            with using(ctx.person.language if ctx.person is not None else None):
                handler(ctx)


def group_id_of(event: dict) -> str | None:
    kind, chat_id = chat_of(event)
    return chat_id if kind is ChatKind.GROUP else None


# Commands that may register their sender, and so want the LINE name.
_REGISTERING_COMMANDS = frozenset({"leader", "name"})
# Commands that say how many of the LINE group have joined, and so want its size.
_COUNTING_COMMANDS = frozenset({"check", "status", "roster"})


def _text_of(event: dict) -> str | None:
    message = event.get("message")
    text = message.get("text") if isinstance(message, dict) else None
    return text if isinstance(text, str) else None


def _command_of(event: dict):
    text = _text_of(event)
    if text is None:
        return None
    return parse_command(text) or parse_bare_command(text)


def needs_profile(event: dict) -> bool:
    """Whether handling ``event`` may register its sender (so we want their
    display name from LINE before the transaction starts): in a group, a
    join button or a registering command; in a one-to-one chat, a follow."""
    source = event.get("source")
    if not isinstance(source, dict) or not source.get("userId"):
        return False
    if chat_of(event)[0] is ChatKind.USER:
        return event.get("type") == "follow"
    if group_id_of(event) is None:
        return False
    if event.get("type") == "postback":
        postback = event.get("postback")
        return isinstance(decode(postback.get("data") if isinstance(postback, dict) else None), Join)
    if event.get("type") == "message":
        text = _text_of(event)
        command = parse_command(text) if text is not None else None
        if command is not None:
            return command.name in _REGISTERING_COMMANDS
        # A call for help from someone not registered is named to the group.
        return text is not None and classify_answer(text) is AnswerKind.HELP
    return False


def needs_member_count(event: dict) -> bool:
    if group_id_of(event) is None:
        return False
    if event.get("type") in ("join", "memberJoined", "memberLeft"):
        return True
    command = _command_of(event) if event.get("type") == "message" else None
    return command is not None and command.name in _COUNTING_COMMANDS
