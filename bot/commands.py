"""Group commands, dispatched through a table.

Each entry says who may use it and what it does.  A handler runs inside the
event's transaction (see bot/context.py), changes state through services and
answers by reply.  Bad input gets a kind explanation and changes nothing.
How each command is written, and every word of its answers, live in
messages/commands.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from bot import quake_commands
from bot.context import EventContext
from bot.permissions import Role, allowed, refuse
from domain import schedule as schedules
from domain.commands import Command
from domain.kinds import Purpose, RoundKind
from messages import commands as say
from messages import group as group_messages
from messages.flex import format_local, utf16_len
from models import utc
from services import groups, membership, rounds
from services.usage import group_month_usage

NAME_LIMIT = 20


@dataclass(frozen=True)
class CommandSpec:
    name: str
    handler: Callable[[EventContext, Command], None]
    role: Role = Role.ANYONE
    # The role needed when the command is given an argument, if different
    # (anyone may claim a leaderless group with /リーダー; only a leader
    # appoints another with /リーダー お名前).
    role_with_argument: Role | None = None

    def role_for(self, command: Command) -> Role:
        if command.arg and self.role_with_argument is not None:
            return self.role_with_argument
        return self.role


def _local(ctx: EventContext, moment) -> str:
    return format_local(utc(moment).astimezone(ctx.settings.tz))


def register_sender(ctx: EventContext, nickname: str | None = None):
    """Register the sender in the group (idempotent): (member, fresh)."""
    ctx.person = membership.ensure_person(
        ctx.user_id, ctx.profile_name, ctx.now, from_line=ctx.name_from_line
    )
    member, fresh = membership.register(ctx.group, ctx.person, ctx.member, ctx.now, nickname)
    ctx.member = member
    return member, fresh


# -- member commands -----------------------------------------------------------
def cmd_help(ctx: EventContext, command: Command) -> None:
    member_commands = [s.name for s in COMMANDS.values() if s.role is Role.ANYONE]
    leader_commands = [s.name for s in COMMANDS.values() if s.role is Role.LEADER] if ctx.is_leader else None
    no_leader = not ctx.is_leader and not membership.leaders(ctx.group)
    ctx.reply(say.help_text(member_commands, leader_commands, no_leader), Purpose.USAGE)


def cmd_name(ctx: EventContext, command: Command) -> None:
    name = command.arg.strip().removesuffix("さん").strip()
    if not name:
        ctx.reply(say.name_missing())
        return
    if len(name) > NAME_LIMIT or any(unicodedata.category(c).startswith("C") for c in name):
        ctx.reply(say.name_invalid(NAME_LIMIT))
        return
    member, _ = register_sender(ctx, nickname=name)
    ctx.reply(say.name_set(member.name))


def cmd_quit(ctx: EventContext, command: Command) -> None:
    if ctx.member is None or not ctx.member.active:
        ctx.reply(say.not_joined())
        return
    was_last_leader = ctx.is_leader and len(membership.leaders(ctx.group)) == 1
    name = ctx.member.name
    membership.leave(ctx.group, [ctx.person.id], ctx.now)
    membership.forget_if_unused(ctx.person)
    ctx.reply(say.quit_done(name) + (say.leaderless() if was_last_leader else []))


# /リーダー 交代 お名前, /リーダー 辞める: the first word after /リーダー.
_HAND_OVER = frozenset({"交代", "こうたい", "交替", "handover"})
_STEP_DOWN = frozenset({"辞める", "やめる", "辞任", "降りる", "おりる", "stepdown", "resign"})


def cmd_leader(ctx: EventContext, command: Command) -> None:
    """/リーダー: claim a leaderless group.  With a word after it (a leader's
    own; the table checks the role): 交代 お名前 hands over, 辞める steps
    down, お名前 appoints another leader."""
    if command.arg:
        word, _, rest = command.arg.partition(" ")
        if word in _HAND_OVER:
            appoint_leader(ctx, rest.strip(), hand_over=True)
        elif word in _STEP_DOWN:
            step_down(ctx)
        else:
            appoint_leader(ctx, command.arg)
        return
    leaders = membership.leader_names(ctx.group)
    if ctx.is_leader:
        ctx.reply(say.already_leader())
    elif leaders:
        ctx.reply(say.leaders_are(leaders))
    else:
        # The claim is answered in the group, so everyone sees who took it
        # and can say so if that is not what they agreed.
        member, _ = register_sender(ctx)
        membership.make_leader(member)
        ctx.reply(say.became_leader(member.name))


def step_down(ctx: EventContext) -> None:
    membership.stop_leading(ctx.member)
    left = membership.leader_names(ctx.group)
    ctx.reply(say.stepped_down(ctx.member.name, left) + ([] if left else say.leaderless()))


def appoint_leader(ctx: EventContext, wanted_text: str, hand_over: bool = False) -> None:
    """/リーダー お名前: a leader appoints another registered member (and with
    交代, steps down in the same breath)."""
    wanted = wanted_text.removesuffix("さん").strip().lstrip("@")
    if not wanted:
        ctx.reply(say.leader_usage())
        return
    candidates = [
        m
        for m in membership.active_members(ctx.group)
        if wanted in (m.nickname, m.person.display_name, m.name)
    ]
    if not candidates:
        ctx.reply(say.member_not_found(wanted))
    elif len(candidates) > 1:
        ctx.reply(say.member_ambiguous(wanted))
    elif candidates[0].id == ctx.member.id:
        ctx.reply(say.already_leader())
    elif hand_over:
        membership.make_leader(candidates[0])
        membership.stop_leading(ctx.member)
        ctx.reply(say.handed_over(ctx.member.name, candidates[0].name))
    elif candidates[0].is_leader:
        ctx.reply(say.is_already_leader(candidates[0].name))
    else:
        membership.make_leader(candidates[0])
        ctx.reply(say.appointed(candidates[0].name))


def cmd_status(ctx: EventContext, command: Command) -> None:
    group = ctx.group
    lines = []
    if group.schedule:
        lines.append(
            say.status_schedule(schedules.Schedule.from_spec(group.schedule).describe(), group.paused)
        )
        if group.next_round_at and not group.paused:
            lines.append(say.status_next(_local(ctx, group.next_round_at)))
    else:
        lines.append(say.status_no_schedule())
    lines.append(quake_commands.status_line(group))
    round_ = rounds.current_round(group)
    if round_ is not None:
        result = rounds.round_tally(round_)
        lines.append(
            say.status_round(
                len(result.answered),
                len(result.need_help),
                len(result.unanswered),
                _local(ctx, round_.summary_due_at),
            )
        )
    lines.append(say.status_members(membership.count_active(group)))
    if ctx.is_leader:
        # What this group's pushes cost this month: for its leaders only, and
        # only its own share (other groups' use is theirs).
        lines.append(say.status_usage(group_month_usage(group, ctx.now, ctx.settings.tz)))
    ctx.reply(say.status(lines), Purpose.STATUS)


# -- leader commands --------------------------------------------------------------
def cmd_schedule(ctx: EventContext, command: Command) -> None:
    today = ctx.now.astimezone(ctx.settings.tz).date()
    try:
        parsed = schedules.parse_schedule(command.arg, today)
    except schedules.ScheduleError:
        ctx.reply(say.schedule_unknown(schedules.EXAMPLES))
        return
    next_at = groups.set_schedule(ctx.group, parsed, ctx.now, ctx.settings.tz)
    ctx.reply(say.schedule_set(parsed.describe(), _local(ctx, next_at)))


def cmd_check(ctx: EventContext, command: Command) -> None:
    open_round = rounds.current_round(ctx.group)
    if open_round is not None:
        ctx.reply(say.round_in_progress(_local(ctx, open_round.summary_due_at)))
        return
    # The prompt rides on the reply to the leader's command: free, and it
    # is pushed only if the reply token has run out.
    rounds.open_round_now(
        ctx.group,
        RoundKind.MANUAL,
        ctx.now,
        ctx.settings.checkin_summary_delay,
        announce=lambda prompt, round_: ctx.reply(prompt, Purpose.PROMPT, fallback_push=True),
    )


def cmd_pause(ctx: EventContext, command: Command) -> None:
    if ctx.group.paused:
        ctx.reply(say.already_paused())
        return
    groups.pause(ctx.group)
    ctx.reply(say.paused())


def cmd_resume(ctx: EventContext, command: Command) -> None:
    if not ctx.group.schedule:
        ctx.reply(say.no_schedule_yet())
        return
    if not ctx.group.paused:
        ctx.reply(say.not_paused())
        return
    next_at = groups.resume(ctx.group, ctx.now, ctx.settings.tz)
    ctx.reply(say.resumed(_local(ctx, next_at)))


def cmd_notice(ctx: EventContext, command: Command) -> None:
    body = command.raw_arg
    if not body:
        ctx.reply(say.notice_missing())
        return
    room = group_messages.notice_room()
    if utf16_len(body) > room:
        ctx.reply(say.notice_too_long(room))
        return
    # A reply reaches the whole group just like a push, and is free.
    ctx.reply(group_messages.notice(body), Purpose.NOTICE, fallback_push=True)


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("help", cmd_help),
        CommandSpec("name", cmd_name),
        CommandSpec("quit", cmd_quit),
        CommandSpec("status", cmd_status),
        CommandSpec("leader", cmd_leader, role_with_argument=Role.LEADER),
        CommandSpec("schedule", cmd_schedule, Role.LEADER),
        CommandSpec("check", cmd_check, Role.LEADER),
        CommandSpec("pause", cmd_pause, Role.LEADER),
        CommandSpec("resume", cmd_resume, Role.LEADER),
        CommandSpec("notice", cmd_notice, Role.LEADER),
        CommandSpec("area", quake_commands.cmd_area, Role.LEADER),
        CommandSpec("drill", quake_commands.cmd_drill, Role.LEADER),
    )
}


def run_command(ctx: EventContext, command: Command) -> None:
    """Dispatch ``command``: unknown -> help; a command the sender may not
    use -> a polite refusal.  Neither changes anything."""
    spec = COMMANDS.get(command.name or "")
    if spec is None:
        cmd_help(ctx, command)
        return
    if not allowed(ctx, spec.role_for(command)):
        refuse(ctx, spec.name)
        return
    spec.handler(ctx, command)
