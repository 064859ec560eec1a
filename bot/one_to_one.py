"""Webhook events in a person's one-to-one chat with the bot.

Today the bot only explains that it works in groups; the one-to-one 見守り
service adds its handlers to ``HANDLERS`` (and its commands and buttons to
tables of its own), routed here by bot/events.py exactly as group events
are.
"""

from __future__ import annotations

from bot.context import EventContext
from bot.postbacks import ONE_TO_ONE_POSTBACKS, run_postback
from domain.kinds import Purpose
from messages import one_to_one
from services import membership


def explain(ctx: EventContext) -> None:
    ctx.reply(one_to_one.groups_only(), Purpose.ONE_TO_ONE)


def on_message(ctx: EventContext) -> None:
    message = ctx.event.get("message")
    if isinstance(message, dict) and message.get("type") == "text":
        explain(ctx)


def on_follow(ctx: EventContext) -> None:
    """Added as a friend (or unblocked): the bot may now push to them."""
    ctx.person = membership.ensure_person(
        ctx.user_id, ctx.profile_name, ctx.now, from_line=ctx.name_from_line
    )
    membership.set_friend(ctx.person, True, ctx.now)
    explain(ctx)


def on_unfollow(ctx: EventContext) -> None:
    """Blocked: LINE would accept pushes but deliver none."""
    if ctx.person is not None:
        membership.set_friend(ctx.person, False, ctx.now)


def on_postback(ctx: EventContext) -> None:
    """A button in the one-to-one chat (a leader's summary or reminder)."""
    if ctx.person is not None:
        run_postback(ctx, ONE_TO_ONE_POSTBACKS)


HANDLERS = {
    "follow": on_follow,
    "unfollow": on_unfollow,
    "message": on_message,
    "postback": on_postback,
}
