"""/団体, /年代, /性別: in a group and in the one-to-one chat.

/団体 CODE links the group (a leader's command; the table in bot/commands.py
checks the role) or, in the one-to-one chat, the person's own 見守り, to the
organisation whose console shows that code; /団体 解除 unlinks; /団体 alone
says where it stands.  /年代 and /性別 are the person's own, optional
declarations, for the organisation's statistics (counts only).
"""

from __future__ import annotations

from bot.context import EventContext
from domain.commands import Command
from domain.demographics import Unreadable, is_removal, parse_age_band, parse_sex
from messages import organisation as say
from models import Person
from services import membership, organisations
from services import watch as watches
from services.organisations import LinkResult

# /団体 解除 (the same words as /連絡先 解除, /名簿 削除).
_UNLINK = frozenset(
    {"解除", "かいじょ", "やめる", "止める", "外す", "はずす", "削除", "消す", "unlink", "remove"}
)


def _person(ctx: EventContext) -> Person:
    if ctx.person is None:
        ctx.person = membership.ensure_person(
            ctx.user_id, ctx.profile_name, ctx.now, from_line=ctx.name_from_line
        )
    return ctx.person


def _refused(ctx: EventContext, link) -> bool:
    if link.result is LinkResult.WRONG:
        ctx.reply(say.code_wrong())
    elif link.result is LinkResult.LOCKED:
        ctx.reply(say.code_locked())
    else:
        return False
    return True


def cmd_group_organisation(ctx: EventContext, command: Command) -> None:
    """/団体 [CODE | 解除] in a group (leaders only)."""
    group = ctx.group
    if not command.arg:
        ctx.reply(
            say.group_status(organisations.organisation_name(group.organisation_id), group.names_shared)
        )
        return
    if command.arg.lower() in _UNLINK:
        previous = organisations.unlink_group(group)
        ctx.reply(say.group_unlinked(previous) if previous else say.group_not_linked())
        return
    link = organisations.link_group(group, command.arg, _person(ctx), ctx.now)
    if _refused(ctx, link):
        return
    if link.result is LinkResult.ALREADY:
        ctx.reply(say.group_already_linked(link.organisation.name))
    else:
        ctx.reply(say.group_linked(link.organisation.name, link.previous))


def share_names_with_organisation(ctx: EventContext, shared: bool) -> None:
    """/設定 名前 団体にも | 団体に見せない (leaders only, as every /設定)."""
    group = ctx.group
    if not shared:
        organisations.share_names(group, False)
        ctx.reply(say.names_hidden_set())
        return
    org_name = organisations.organisation_name(group.organisation_id)
    if org_name is not None:  # consent to an organisation, not to whoever links later
        organisations.share_names(group, True)
    ctx.reply(say.names_shared_set(org_name))


def cmd_watch_organisation(ctx: EventContext, command: Command) -> None:
    """/団体 [CODE | 解除] in the one-to-one chat: the person's own 見守り."""
    person = _person(ctx)
    watch = watches.find_watch(person)
    if not command.arg:
        ctx.reply(say.watch_status(organisations.organisation_name(watch.organisation_id) if watch else None))
        return
    if command.arg.lower() in _UNLINK:
        previous = organisations.unlink_watch(watch)
        ctx.reply(say.watch_unlinked(previous) if previous else say.watch_not_linked())
        return
    link = organisations.link_watch(watches.ensure_watch(person, ctx.now), command.arg, person, ctx.now)
    if _refused(ctx, link):
        return
    if link.result is LinkResult.ALREADY:
        ctx.reply(say.watch_already_linked(link.organisation.name))
    else:
        ctx.reply(say.watch_linked(link.organisation.name, link.previous))


def _own(ctx: EventContext, value: str | None) -> str | None:
    """What the person declared, shown back only in their one-to-one chat."""
    return value if ctx.group is None else None


def cmd_age(ctx: EventContext, command: Command) -> None:
    """/年代 70代 | 消す (anyone, anywhere: it is their own)."""
    _declare(
        ctx,
        command.arg,
        current=lambda person: person.age_band,
        parse=parse_age_band,
        store=organisations.set_age_band,
        usage=say.age_usage,
        removed=say.age_removed,
        stored=say.age_set,
        also_removal=("答えない", "こたえない"),
    )


def cmd_sex(ctx: EventContext, command: Command) -> None:
    """/性別 女性 | 男性 | その他 | 答えない | 消す (答えない is an answer here)."""
    _declare(
        ctx,
        command.arg,
        current=lambda person: person.sex,
        parse=parse_sex,
        store=organisations.set_sex,
        usage=say.sex_usage,
        removed=say.sex_removed,
        stored=say.sex_set,
    )


def _declare(ctx, arg, *, current, parse, store, usage, removed, stored, also_removal=()) -> None:
    """A self-declared value on the sender's Person: shown without an
    argument, removed by 消す (or ``also_removal``), else parsed and stored —
    the usage again when it cannot be read.  In a group the value itself is
    not repeated (the others read the chat)."""
    person = _person(ctx)
    if not arg:
        ctx.reply(usage(_own(ctx, current(person))))
        return
    if is_removal(arg) or arg in also_removal:
        ctx.reply(removed(store(person, None) is not None))
        return
    try:
        value = parse(arg)
    except Unreadable:
        ctx.reply(usage(_own(ctx, current(person))))
        return
    store(person, value)
    ctx.reply(say.declared_in_group() if ctx.group is not None else stored(value))
