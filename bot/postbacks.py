"""Button taps (postbacks), dispatched through a table by the decoded action.

The data is decoded by domain/postback.py (a tap on anything the bot did not
send decodes to None and is ignored).  Each entry says who may tap it; the
permission rule and the refusal are bot/permissions.py's, as for commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import answers, followups, language, quake_commands
from bot.commands import register_sender
from bot.context import EventContext
from bot.permissions import Role, allowed, refuse
from domain import postback as codec
from domain.kinds import Purpose
from messages import group as group_messages


@dataclass(frozen=True)
class PostbackSpec:
    handler: Callable[[EventContext, codec.Action], None]
    role: Role = Role.ANYONE
    # The command whose name a refusal mentions (the one that offers the button).
    command: str = ""


def on_join(ctx: EventContext, action: codec.Join) -> None:
    member, fresh = register_sender(ctx)
    if fresh:
        ctx.reply(
            group_messages.registered(member.name, bool(ctx.profile_name or member.nickname)),
            Purpose.REGISTERED,
        )
    else:
        ctx.reply(group_messages.already_registered(member.name), Purpose.REGISTERED)


def on_answer(ctx: EventContext, action: codec.Answer) -> None:
    answers.answer_button(ctx, action.round_id, action.kind)


GROUP_POSTBACKS: dict[type, PostbackSpec] = {
    codec.Join: PostbackSpec(on_join),
    codec.Answer: PostbackSpec(on_answer),
    codec.ChooseArea: PostbackSpec(quake_commands.on_area_chosen, Role.LEADER, command="area"),
    # Anyone registered may go to a door; the claimer or a leader records
    # how it went (bot/followups.py checks, by the rules in domain/followups.py).
    codec.Claim: PostbackSpec(followups.on_claim),
    codec.RecordOutcome: PostbackSpec(followups.on_outcome),
    # The greeting's 日本語 / やさしい日本語 / English: leaders (anyone before
    # the group has one); the handler decides, as for /言語.
    codec.ChooseLanguage: PostbackSpec(language.on_language_chosen),
}

# Buttons that reach a person's one-to-one chat: the names and reminders a
# leader receives there.  Membership of the follow-up's group is checked by
# the handler.
ONE_TO_ONE_POSTBACKS: dict[type, PostbackSpec] = {
    codec.Claim: PostbackSpec(followups.on_claim),
    codec.RecordOutcome: PostbackSpec(followups.on_outcome),
    codec.ChooseLanguage: PostbackSpec(language.on_language_chosen),
}


def run_postback(ctx: EventContext, table: dict[type, PostbackSpec]) -> None:
    """Decode the tapped button and run its handler, if the tapper may."""
    postback = ctx.event.get("postback")
    action = codec.decode(postback.get("data") if isinstance(postback, dict) else None)
    spec = table.get(type(action))
    if spec is None:
        return  # not a button this chat has
    if not allowed(ctx, spec.role):
        refuse(ctx, spec.command)
        return
    spec.handler(ctx, action)
