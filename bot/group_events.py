"""Webhook events in a group chat: the bot joining and leaving, members
coming and going, messages and button taps."""

from __future__ import annotations

from bot import answers
from bot.commands import run_bare_command, run_command
from bot.context import EventContext
from bot.postbacks import GROUP_POSTBACKS, run_postback
from domain.commands import parse_bare_command, parse_command
from domain.kinds import Purpose
from messages import commands as say
from messages import group as group_messages
from services import followups, groups, membership


def _load_sender(ctx: EventContext) -> None:
    if ctx.user_id:
        ctx.person, ctx.member = membership.find_sender(ctx.group, ctx.user_id)


def on_join(ctx: EventContext) -> None:
    groups.bot_joined(ctx.group, ctx.member_count, ctx.now, ctx.settings.tz)
    ctx.reply(group_messages.greeting(), Purpose.GREETING)


def on_leave(ctx: EventContext) -> None:
    groups.bot_left(ctx.group, ctx.now)


def on_member_joined(ctx: EventContext) -> None:
    groups.set_member_count(ctx.group, ctx.member_count)
    ctx.reply(group_messages.welcome(), Purpose.WELCOME)


def on_member_left(ctx: EventContext) -> None:
    groups.set_member_count(ctx.group, ctx.member_count)
    left = ctx.event.get("left")
    members = left.get("members") if isinstance(left, dict) else None
    user_ids = [
        m["userId"]
        for m in (members if isinstance(members, list) else [])
        if isinstance(m, dict) and isinstance(m.get("userId"), str)
    ]
    had_leaders = bool(membership.leaders(ctx.group))
    people = membership.leave_by_line_ids(ctx.group, user_ids, ctx.now)
    followups.withdraw_by_line_ids(ctx.group, user_ids, ctx.now)
    for person in people:
        membership.forget_if_unused(person)
    if had_leaders and not membership.leaders(ctx.group):
        # No reply token on memberLeft: this one is worth a push.
        ctx.push(say.leaderless(), Purpose.COMMAND)


def on_message(ctx: EventContext) -> None:
    message = ctx.event.get("message")
    if not isinstance(message, dict) or not ctx.user_id:
        return  # LINE did not say who it was (e.g. a desktop client)
    if message.get("type") == "sticker":
        _load_sender(ctx)
        answers.sticker(ctx)  # a sign of life during a check
        return
    text = message.get("text")
    if message.get("type") != "text" or not isinstance(text, str):
        return
    _load_sender(ctx)
    command = parse_command(text)
    if command is not None:
        run_command(ctx, command)
        return
    if answers.typed(ctx, text):
        return
    bare = parse_bare_command(text)
    if bare is not None:
        run_bare_command(ctx, bare)
    # Anything else is the group's own conversation: the bot stays quiet.


def on_postback(ctx: EventContext) -> None:
    if not ctx.user_id:
        return
    _load_sender(ctx)
    run_postback(ctx, GROUP_POSTBACKS)


# The group events that exist before the bot sees the group (the ones it
# creates a Group row for) and the ones that need the row to exist already.
HANDLERS = {
    "join": on_join,
    "leave": on_leave,
    "memberJoined": on_member_joined,
    "memberLeft": on_member_left,
    "message": on_message,
    "postback": on_postback,
}
# Events that only make sense for a group we already know.
NEEDS_KNOWN_GROUP = frozenset({"leave", "memberLeft"})
