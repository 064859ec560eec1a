"""Webhook events in a person's one-to-one chat with the bot: the 見守り
service.

Routed here by bot/events.py exactly as group events are.  Commands and
buttons have tables of their own (bot/watch_commands.py,
bot/watch_postbacks.py); a 6-digit code is someone agreeing to be a contact;
an OK answers the person's check; anything else gets a pointer to /ヘルプ.
"""

from __future__ import annotations

from bot.context import EventContext
from bot.postbacks import ONE_TO_ONE_POSTBACKS as FOLLOW_UP_POSTBACKS
from bot.postbacks import run_postback
from bot.watch_commands import answer_ok, is_typed_ok, offer_code, run_one_to_one_command, sender
from bot.watch_postbacks import ONE_TO_ONE_POSTBACKS as WATCH_POSTBACKS
from domain.commands import parse_command
from domain.kinds import Purpose, WatchState
from domain.watch import read_code
from messages import watch as say
from services import contacts, membership
from services import watch as watches

# The buttons a one-to-one chat has: the person's own 見守り and a contact's,
# and a leader's follow-ups sent to them one-to-one (bot/postbacks.py).
ONE_TO_ONE_POSTBACKS = {**WATCH_POSTBACKS, **FOLLOW_UP_POSTBACKS}


def on_message(ctx: EventContext) -> None:
    message = ctx.event.get("message")
    if not isinstance(message, dict) or message.get("type") != "text" or not ctx.user_id:
        return
    text = message.get("text")
    if not isinstance(text, str):
        return
    sender(ctx)
    command = parse_command(text)
    if command is not None:
        run_one_to_one_command(ctx, command)
    elif (code := read_code(text)) is not None:
        offer_code(ctx, code)
    elif is_typed_ok(text):
        answer_ok(ctx)
    else:
        ctx.reply(say.hint(), Purpose.ONE_TO_ONE)


def on_postback(ctx: EventContext) -> None:
    """A button in the one-to-one chat: the person's own 見守り, a contact's,
    or a leader's follow-up (from a summary or reminder sent to them)."""
    if not ctx.user_id:
        return
    sender(ctx)
    run_postback(ctx, ONE_TO_ONE_POSTBACKS)


def on_follow(ctx: EventContext) -> None:
    """Added as a friend (or unblocked): the bot may now push to them.  A
    person whose watch stopped when they blocked the bot is offered to
    resume it; anyone else is greeted."""
    ctx.person = membership.ensure_person(
        ctx.user_id, ctx.profile_name, ctx.now, from_line=ctx.name_from_line
    )
    membership.set_friend(ctx.person, True, ctx.now)
    watch = watches.find_watch(ctx.person)
    if watch is not None and watch.schedule and watch.state == WatchState.STOPPED:
        ctx.reply(say.welcome_back(contacts.name_of(watch, ctx.person)), Purpose.GREETING)
    else:
        ctx.reply(say.greeting(), Purpose.GREETING)


def on_unfollow(ctx: EventContext) -> None:
    """Blocked: LINE would accept pushes but deliver none.  Their watch
    stops (the contacts are told once), and they stop being anyone's
    contact (each person they watched is told)."""
    if ctx.person is None:
        return
    membership.set_friend(ctx.person, False, ctx.now)
    watch = watches.find_watch(ctx.person)
    if watch is not None:
        ctx.queued.extend(watches.stop(watch, ctx.now))
    ctx.queued.extend(contacts.end_links_of(ctx.person, ctx.now))


HANDLERS = {
    "follow": on_follow,
    "unfollow": on_unfollow,
    "message": on_message,
    "postback": on_postback,
}
