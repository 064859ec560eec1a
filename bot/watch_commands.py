"""Commands in a person's one-to-one chat with the bot (見守り), dispatched
through a table, and the steps buttons share with them.

Everyone in their own chat may use every command (``Role.ANYONE``); who may
act on someone else's check is decided by the data (is the tapper a contact
of that person?), in services/escalations.py.  A handler runs inside the
event's transaction, changes state through services and answers by reply;
pushes to other people (contacts, the watched person) are queued rows the
job sends right after the commit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date

from bot import language, organisation_commands
from bot.commands import NAME_LIMIT, CommandSpec
from bot.context import EventContext
from bot.permissions import allowed, refuse
from domain import postback as codec
from domain.absence import AbsenceError, is_away, parse_absence
from domain.answers import classify_answer
from domain.commands import Command
from domain.kinds import AnswerKind, Purpose, WatchState
from domain.rounds import month_start
from domain.schedule import Schedule, ScheduleError
from domain.watch import MAX_CONTACTS, WatchCommand, is_end_word, parse_watch_argument, split_share
from messages import commands as command_messages
from messages import contacts as contact_messages
from messages import watch as say
from messages.flex import format_local
from models import Outbox, Person, utc
from services import absence, clock, contacts, membership, watch_budget
from services import watch as watches
from services.contacts import CodeResult


def is_typed_ok(text: str) -> bool:
    """Whether a message typed in the one-to-one chat is an OK: the natural
    answers groups accept (domain/answers.py; 「元気じゃない」 never is)."""
    return classify_answer(text) == AnswerKind.OK


def _local(ctx: EventContext, moment, watched: str | None = None) -> str:
    """A stored time as the person reads it: in a simulated chat, in the
    watched person's own clock (services/clock.chat_offset); ``watched``:
    their LINE id when it is not the reader (a contact reading about them)."""
    moment = utc(moment) + clock.chat_offset(watched or ctx.user_id)
    return format_local(moment.astimezone(ctx.settings.tz))


def _today(ctx: EventContext) -> date:
    return ctx.now.astimezone(ctx.settings.tz).date()


def sender(ctx: EventContext) -> Person:
    """The person writing in this chat, recorded on first sight."""
    if ctx.person is None:
        ctx.person = membership.ensure_person(
            ctx.user_id, ctx.profile_name, ctx.now, from_line=ctx.name_from_line
        )
    return ctx.person


def _queue(ctx: EventContext, rows) -> None:
    ctx.queued.extend(rows)


def reply_about(ctx: EventContext, messages: list[dict], watch_id: int | None) -> None:
    """Reply with words about ``watch_id``'s person (to a contact), tagged
    with the watch so that /退会 can blank them later."""
    before = len(ctx.queued)
    ctx.reply(messages)
    if watch_id is not None and len(ctx.queued) > before:
        row = ctx.queued[-1]
        Outbox.update(watch=watch_id).where(Outbox.id == row.id).execute()
        row.watch = watch_id


# -- shared with the buttons ------------------------------------------------------
def start_schedule(ctx: EventContext, schedule: Schedule) -> None:
    watch = watches.ensure_watch(sender(ctx), ctx.now)
    next_at, rows = watches.set_schedule(
        watch, schedule, ctx.now, ctx.settings.tz, clock.chat_offset(ctx.user_id)
    )
    _queue(ctx, rows)
    ctx.reply(say.schedule_set(schedule.describe(), _local(ctx, next_at), contacts.count_contacts(watch.id)))


def resume_watch(ctx: EventContext) -> None:
    watch = watches.find_watch(sender(ctx))
    if watch is None or not watch.schedule:
        ctx.reply(say.no_schedule_yet())
        return
    if watch.state == WatchState.ACTIVE:
        ctx.reply(say.not_paused(_local(ctx, watch.next_check_at)))
        return
    next_at, rows = watches.resume(watch, ctx.now, ctx.settings.tz, clock.chat_offset(ctx.user_id))
    _queue(ctx, rows)
    ctx.reply(say.resumed(_local(ctx, next_at)))


def answer_ok(ctx: EventContext) -> None:
    """The person said OK (button or typed)."""
    person = sender(ctx)
    watch = watches.find_watch(person)
    if watch is None:
        ctx.reply(say.thanks_unasked(contacts.person_name(person)), Purpose.ACK)
        return
    result = watches.record_ok(watch, ctx.now, ctx.settings.tz)
    _queue(ctx, result.rows)
    name = contacts.name_of(watch, person)
    reply = {
        watches.OkOutcome.ON_TIME: say.thanks,
        watches.OkOutcome.LATE: say.thanks_late,
        watches.OkOutcome.TRIAL: say.thanks_trial,
        watches.OkOutcome.UNASKED: say.thanks_unasked,
    }[result.outcome]
    ctx.reply(reply(name), Purpose.ACK)


def offer_code(ctx: EventContext, code: str) -> None:
    """Someone sent a 6-digit code: whose contact they would become."""
    outcome = contacts.offer_code(code, sender(ctx), ctx.now)
    replies: dict[CodeResult, Callable[[], list[dict]]] = {
        CodeResult.OFFER: lambda: contact_messages.offer(outcome.name, outcome.invitation.id, code),
        CodeResult.UNUSABLE: contact_messages.code_unusable,
        CodeResult.LOCKED: contact_messages.code_locked,
        CodeResult.OWN: contact_messages.own_code,
        CodeResult.ALREADY: lambda: contact_messages.already_contact(outcome.name),
        CodeResult.FULL: lambda: contact_messages.contacts_full(outcome.name),
    }
    reply_about(ctx, replies[outcome.result](), outcome.invitation.watch_id if outcome.invitation else None)


def _watch_lines(ctx: EventContext, person: Person, show_hint: bool) -> list[str]:
    watch = watches.find_watch(person)
    if watch is None or not watch.schedule:
        lines = [say.status_not_started()]
        if watch is not None:
            lines.append(say.setting_contacts(contacts.contact_names(watch)))
        return lines
    lines = [
        say.setting_schedule(Schedule.from_spec(watch.schedule).describe(), say.state_label(watch.state))
    ]
    if watch.state == WatchState.ACTIVE and watch.next_check_at:
        lines.append(say.setting_next(_local(ctx, watch.next_check_at)))
    if is_away(person.away_until, _today(ctx)):
        lines.append(say.setting_away(say.day(person.away_until)))
    lines.append(say.setting_contacts(contacts.contact_names(watch)))
    lines.append(say.setting_last_ok(_local(ctx, watch.last_ok_at) if watch.last_ok_at else None))
    if show_hint:
        lines.append(say.setting_pause_hint(watch.state != WatchState.ACTIVE))
    return lines


# -- the commands -----------------------------------------------------------------
def cmd_help(ctx: EventContext, command: Command) -> None:
    ctx.reply(say.help_text(), Purpose.USAGE)


def cmd_watch(ctx: EventContext, command: Command) -> None:
    """/見守り [毎日 9:00 | 停止 | 再開]"""
    try:
        request = parse_watch_argument(command.arg, _today(ctx))
    except ScheduleError:
        ctx.reply(say.schedule_unknown())
        return
    person = sender(ctx)
    watch = watches.find_watch(person)
    if request.command is WatchCommand.SCHEDULE:
        start_schedule(ctx, request.schedule)
    elif request.command is WatchCommand.RESUME:
        resume_watch(ctx)
    elif watch is None or not watch.schedule:
        ctx.reply(say.choose_time())
    elif request.command is WatchCommand.SHOW:
        ctx.reply(say.settings(_watch_lines(ctx, person, show_hint=True)), Purpose.STATUS)
    elif watches.pause(watch, ctx.now):
        ctx.reply(say.paused())
    else:
        ctx.reply(say.already_paused())


def cmd_check(ctx: EventContext, command: Command) -> None:
    """/確認: one check now, by reply (free), to try it."""
    person = sender(ctx)
    watch = watches.ensure_watch(person, ctx.now)
    check = watches.open_trial_check(watch, ctx.now)
    ctx.reply(say.trial_check(check.id, contacts.name_of(watch, person)), Purpose.WATCH_CHECK)


def cmd_contacts(ctx: EventContext, command: Command) -> None:
    """/連絡先: the person's contacts and an invitation to forward;
    /連絡先 解除: end a link (either side)."""
    person = sender(ctx)
    if is_end_word(command.arg):
        choose_link_to_end(ctx, person)
        return
    watch = watches.ensure_watch(person, ctx.now)
    names = contacts.contact_names(watch)
    watching = [w.name for w in contacts.watched_by(person)]
    inviting = len(names) < MAX_CONTACTS
    reply = say.contacts_overview(names, watching, inviting)
    if inviting:
        invitation = contacts.live_invitation(watch, ctx.now)
        basic_id = watch_budget.line_account().basic_id
        reply += say.invitation(
            contacts.name_of(watch, person),
            invitation.code,
            say.friend_link(basic_id) if basic_id else None,
            _local(ctx, invitation.expires_at),
        )
    ctx.reply(reply)


def choose_link_to_end(ctx: EventContext, person: Person) -> None:
    choices: list[tuple[str, codec.EndContact]] = []
    watch = watches.find_watch(person)
    if watch is not None:
        choices += [
            (say.end_label_contact(contacts.person_name(contact)), codec.EndContact(link_id))
            for link_id, contact in contacts.contact_links(watch.id)
        ]
    choices += [
        (say.end_label_watching(watched.name), codec.EndContact(watched.contact_id))
        for watched in contacts.watched_by(person)
    ]
    ctx.reply(say.end_choices(choices) if choices else say.nothing_to_end())


def cmd_away(ctx: EventContext, command: Command) -> None:
    """/お休み 12月5日まで [連絡先にも知らせる] | 3日 | おわり"""
    person = sender(ctx)
    text, share = split_share(command.arg)
    today = _today(ctx)
    away = is_away(person.away_until, today)
    if not text:
        ctx.reply(say.away_usage(say.day(person.away_until) if away else None))
        return
    try:
        parsed = parse_absence(text, today)
    except AbsenceError as exc:
        ctx.reply(say.away_unknown(str(exc)))
        return
    if parsed.end:
        if not away:
            ctx.reply(say.not_away())
            return
        absence.set_away(person, None)
        ctx.reply(say.away_ended())
        return
    absence.set_away(person, parsed.until)
    watch = watches.find_watch(person)
    shared = False
    if watch is not None:
        watches.excuse_open_checks(watch, ctx.now)
        if share:
            rows = contacts.tell_contacts(
                watch.id,
                lambda: contact_messages.absence_shared(
                    contacts.name_of(watch, person), say.day(parsed.until)
                ),
                Purpose.WATCH_ABSENCE,
                ctx.now,
            )
            _queue(ctx, rows)
            shared = bool(rows)
    ctx.reply(say.away_set(say.day(parsed.until), say.day_after(parsed.until), shared))


def cmd_status(ctx: EventContext, command: Command) -> None:
    """/状況: the person's own 見守り and what it cost this month, and the
    people they are a contact for (name, whether it runs, last OK)."""
    person = sender(ctx)
    lines = _watch_lines(ctx, person, show_hint=False)
    watch = watches.find_watch(person)
    if watch is not None and watch.schedule:
        start = month_start(ctx.now.astimezone(ctx.settings.tz))
        lines.append(say.setting_messages(watches.messages_this_month(person, start)))
    watching = contacts.watched_by(person)
    if watching:
        entries = [
            say.watching_entry(
                w.name,
                say.state_label(w.watch.state),
                _local(ctx, w.watch.last_ok_at, w.person.line_user_id) if w.watch.last_ok_at else None,
            )
            for w in watching
        ]
        lines += ["", say.status_watching(entries)]
    ctx.reply(say.status(lines), Purpose.STATUS)


def cmd_name(ctx: EventContext, command: Command) -> None:
    """/名前 山田花子: the name the contacts read."""
    name = command.arg.strip().removesuffix("さん").strip()
    if not name:
        ctx.reply(command_messages.name_missing())
        return
    if len(name) > NAME_LIMIT or any(unicodedata.category(c).startswith("C") for c in name):
        ctx.reply(command_messages.name_invalid(NAME_LIMIT))
        return
    watches.set_name(watches.ensure_watch(sender(ctx), ctx.now), name)
    ctx.reply(say.name_set(name))


def cmd_quit(ctx: EventContext, command: Command) -> None:
    """/退会: asks first (a button), because nothing can be brought back."""
    ctx.reply(say.erase_confirm())


ONE_TO_ONE_COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("help", cmd_help),
        CommandSpec("watch", cmd_watch),
        CommandSpec("check", cmd_check),
        CommandSpec("contacts", cmd_contacts),
        CommandSpec("away", cmd_away),
        CommandSpec("status", cmd_status),
        CommandSpec("name", cmd_name),
        CommandSpec("quit", cmd_quit),
        CommandSpec("organisation", organisation_commands.cmd_watch_organisation),
        CommandSpec("age", organisation_commands.cmd_age),
        CommandSpec("sex", organisation_commands.cmd_sex),
        CommandSpec("language", language.cmd_language),
    )
}


def run_one_to_one_command(ctx: EventContext, command: Command) -> None:
    """Dispatch ``command``; anything unknown here gets the help."""
    spec = ONE_TO_ONE_COMMANDS.get(command.name or "")
    if spec is None:
        cmd_help(ctx, command)
        return
    if not allowed(ctx, spec.role_for(command)):
        refuse(ctx, spec.name)
        return
    spec.handler(ctx, command)
