"""/言語 (/language) and the greeting's language buttons: the language a
group reads (its leaders choose; anyone while it has no leader yet) or a
person reads in their one-to-one chat.

The answer is written in the language just chosen, so the reader sees at
once what they picked.
"""

from __future__ import annotations

from bot.context import EventContext
from bot.permissions import refuse
from domain import postback as codec
from domain.commands import Command
from domain.kinds import Purpose
from domain.languages import Language, parse_language, stored
from messages import languages as say
from messages.i18n import using
from services import groups, membership


def _may_choose_for_group(ctx: EventContext) -> bool:
    """A leader; or anyone while the group has no leader (the greeting's
    buttons come before anyone has sent /リーダー)."""
    return ctx.is_leader or not membership.leaders(ctx.group)


def choose(ctx: EventContext, language: Language) -> None:
    """Set the language of the chat the event came from, and say so in it."""
    if ctx.group is not None:
        if not _may_choose_for_group(ctx):
            refuse(ctx, "language")
            return
        groups.set_language(ctx.group, stored(language))
    else:
        person = ctx.person or membership.ensure_person(
            ctx.user_id, ctx.profile_name, ctx.now, from_line=ctx.name_from_line
        )
        ctx.person = person
        membership.set_language(person, stored(language))
    with using(stored(language)):
        ctx.reply(say.language_set(language, group=ctx.group is not None), Purpose.COMMAND)


def cmd_language(ctx: EventContext, command: Command) -> None:
    """/言語 やさしい日本語 | English | 日本語 (forgiving: 英語, かんたん, easy)."""
    language = parse_language(command.arg)
    if language is None:
        if ctx.group is not None and not _may_choose_for_group(ctx):
            refuse(ctx, "language")
            return
        ctx.reply(say.language_usage(), Purpose.USAGE)
        return
    choose(ctx, language)


def on_language_chosen(ctx: EventContext, action: codec.ChooseLanguage) -> None:
    choose(ctx, action.language)
