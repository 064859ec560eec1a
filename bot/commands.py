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
from enum import Enum

from bot import answers, language, organisation_commands, quake_commands
from bot.context import EventContext
from bot.permissions import Role, allowed, refuse
from domain import schedule as schedules
from domain.absence import AbsenceError, parse_absence
from domain.commands import Command, suggest_command
from domain.kinds import FollowUpState, NamesAudience, Purpose, RoundKind
from domain.rounds import mostly_unregistered
from messages import commands as say
from messages import followups as followup_messages
from messages import group as group_messages
from messages.flex import clip, format_local, utf16_len
from models import utc
from services import absence, clock, followups, groups, membership, rollcall, roster, rounds
from services.usage import group_month_usage

NAME_LIMIT = 20


class Bare(Enum):
    """Whether a command works typed without its slash (「状況」「設定 毎日 9:00」).
    A bare command from someone without the role, or with an argument that
    does not read, was probably conversation: the bot stays quiet."""

    # Free text follows (お知らせ, 名前), or it changes too much (退会).
    NEVER = "never"
    # The word alone: 「状況」「確認」.
    ALONE = "alone"
    # Only with an argument that reads: 「お休み 3日」 (「お休み」 alone is good night).
    WITH_ARGUMENT = "with-argument"
    ANY = "any"


@dataclass(frozen=True)
class CommandSpec:
    name: str
    handler: Callable[[EventContext, Command], None]
    role: Role = Role.ANYONE
    # The role needed when the command is given an argument, if different
    # (anyone may claim a leaderless group with /リーダー; only a leader
    # appoints another with /リーダー お名前).
    role_with_argument: Role | None = None
    bare: Bare = Bare.NEVER

    def role_for(self, command: Command) -> Role:
        if command.arg and self.role_with_argument is not None:
            return self.role_with_argument
        return self.role

    def takes_bare(self, command: Command) -> bool:
        if self.bare is Bare.ANY:
            return True
        if self.bare is Bare.ALONE:
            return not command.arg
        return self.bare is Bare.WITH_ARGUMENT and bool(command.arg)


def _ahead(ctx: EventContext):
    """How far the group's own clock is ahead (a simulated group; else zero)."""
    return clock.chat_offset(ctx.group.line_group_id if ctx.group else None)


def _local(ctx: EventContext, moment) -> str:
    """A stored time as the chat reads it (in a simulated group, in the
    group's own clock: services/clock.chat_offset)."""
    moment = utc(moment) + _ahead(ctx)
    return format_local(moment.astimezone(ctx.settings.tz))


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
    followups.withdraw_members(ctx.group, [ctx.person.id], ctx.now)
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
    """/状況: the schedule, each open check's counts (which add up), the
    follow-ups under way, who is registered and who has not joined."""
    group = ctx.group
    groups.set_member_count(group, ctx.member_count)
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
    for round_ in reversed(rounds.open_rounds(group)):
        result = rollcall.round_tally(round_, ctx.settings.tz, group)
        lines.append(
            say.status_round(
                len(result.ok),
                len(result.need_help),
                len(result.unanswered),
                _local(ctx, round_.summary_due_at),
                away=len(result.away),
                offline=len(result.offline),
                label=group_messages.drill_label(round_.kind),
            )
        )
    live = followups.live_in_group(group)
    if live:
        states = [f.state for f in live]
        lines.append(
            say.status_follow_ups(
                states.count(FollowUpState.OPEN),
                states.count(FollowUpState.CLAIMED),
                states.count(FollowUpState.ESCALATED),
            )
        )
    registered = membership.count_active(group)
    lines.append(say.status_members(registered, len(roster.offline_members(group))))
    not_joined = max(0, group.member_count - registered) if group.member_count is not None else 0
    if not_joined:
        lines.append(say.status_not_joined(not_joined))
    if group.names_to == NamesAudience.LEADERS:
        lines.append(say.status_names_to_leaders())
    if ctx.is_leader:
        # What this group's pushes cost this month: for its leaders only, and
        # only its own share (other groups' use is theirs).
        lines.append(say.status_usage(group_month_usage(group, ctx.now, ctx.settings.tz)))
    messages = say.status(lines)
    if not_joined:
        messages.append(group_messages.join_invitation())
    ctx.reply(messages, Purpose.STATUS)


def cmd_away(ctx: EventContext, command: Command) -> None:
    """/お休み 12月5日まで | 3日 | おわり: a member away (入院, 旅行) is listed
    as お休み中, never as unanswered; it ends by itself."""
    if ctx.member is None or not ctx.member.active:
        if command.slash:
            ctx.reply(group_messages.please_join(), Purpose.PLEASE_JOIN)
        return
    if not command.arg:
        ctx.reply(say.away_usage())
        return
    today = ctx.now.astimezone(ctx.settings.tz).date()
    try:
        parsed = parse_absence(command.arg, today)
    except AbsenceError:
        if command.slash:
            ctx.reply(say.away_usage(unreadable=True))
        return
    person = ctx.member.person
    # Whoever sends it is here to send it: their own unanswered follow-ups end.
    told = answers.end_own_follow_ups(ctx)
    if parsed.end:
        was_away = absence.away_now(person, ctx.now, ctx.settings.tz)
        absence.set_away(person, None)
        reply = say.away_ended(ctx.member.name) if was_away else say.away_not_set(ctx.member.name)
    else:
        absence.set_away(person, parsed.until)
        reply = say.away_set(ctx.member.name, parsed.until.month, parsed.until.day)
    ctx.reply(reply + told)


# -- leader commands --------------------------------------------------------------
_NAMES_TO = {
    NamesAudience.LEADERS: ("リーダーだけ", "リーダーのみ", "リーダー", "leaders", "leader"),
    NamesAudience.GROUP: ("みんな", "全員", "グループ", "みなさん", "everyone", "all", "group"),
}
_NAMES_WORDS = ("名前", "なまえ", "names", "name")
# /設定 名前 団体にも | 団体に見せない: whether the linked organisation sees names.
_NAMES_TO_ORGANISATION = {
    True: ("団体にも", "団体にも見せる", "団体に見せる", "団体", "団体も", "organisation", "org"),
    False: (
        "団体に見せない",
        "団体には見せない",
        "団体に見せません",
        "団体なし",
        "団体だけ見せない",
        "no-org",
    ),
}


def cmd_schedule(ctx: EventContext, command: Command) -> None:
    word, _, rest = command.arg.partition(" ")
    if word in _NAMES_WORDS:
        set_names_to(ctx, command, rest.strip())
        return
    today = ctx.now.astimezone(ctx.settings.tz).date()
    try:
        parsed = schedules.parse_schedule(command.arg, today)
    except schedules.ScheduleError:
        if command.slash:
            ctx.reply(say.schedule_unknown(schedules.EXAMPLES))
        return
    next_at = groups.set_schedule(ctx.group, parsed, ctx.now, ctx.settings.tz, _ahead(ctx))
    ctx.reply(say.schedule_set(parsed.describe(), _local(ctx, next_at)))


def set_names_to(ctx: EventContext, command: Command, choice: str) -> None:
    """/設定 名前 リーダーだけ | みんな | 団体にも | 団体に見せない."""
    for shared, words in _NAMES_TO_ORGANISATION.items():
        if choice.lower() in words:
            organisation_commands.share_names_with_organisation(ctx, shared)
            return
    audience = next((a for a, words in _NAMES_TO.items() if choice.lower() in words), None)
    if audience is None:
        if command.slash:
            ctx.reply(say.names_usage())
        return
    groups.set_names_to(ctx.group, audience)
    if audience is NamesAudience.GROUP:
        ctx.reply(say.names_to_group_set())
        return
    not_friends = [m.name for m in membership.leaders(ctx.group) if not m.person.friend]
    ctx.reply(say.names_to_leaders_set(not_friends, followup_messages.befriend_how()))


def cmd_check(ctx: EventContext, command: Command) -> None:
    # A drill running does not hold up a real check (they may run side by side).
    open_round = next((r for r in rounds.open_rounds(ctx.group) if r.kind != RoundKind.DRILL), None)
    if open_round is not None:
        ctx.reply(say.round_in_progress(_local(ctx, open_round.summary_due_at)))
        return
    groups.set_member_count(ctx.group, ctx.member_count)
    registered = membership.count_active(ctx.group)
    # Fewer than half have joined: the leader reads that first (with a
    # 参加する button for the others), and the check starts all the same.
    first = (
        group_messages.few_registered(registered, ctx.group.member_count)
        if mostly_unregistered(registered, ctx.group.member_count)
        else []
    )
    # The prompt rides on the reply to the leader's command: free, and it
    # is pushed only if the reply token has run out.
    rounds.open_round_now(
        ctx.group,
        RoundKind.MANUAL,
        ctx.now,
        ctx.settings.checkin_summary_delay,
        announce=lambda prompt, round_: ctx.reply(first + prompt, Purpose.PROMPT, fallback_push=True),
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
    next_at = groups.resume(ctx.group, ctx.now, ctx.settings.tz, _ahead(ctx))
    ctx.reply(say.resumed(_local(ctx, next_at)))


def cmd_notice(ctx: EventContext, command: Command) -> None:
    body = command.raw_arg
    if not body:
        ctx.reply(say.notice_missing())
        return
    room = group_messages.notice_room()
    if utf16_len(body) > room:
        ctx.reply(say.notice_too_long(room, utf16_len(body) - room, _split_hint(body, room)))
        return
    # A reply reaches the whole group just like a push, and is free.
    ctx.reply(group_messages.notice(body), Purpose.NOTICE, fallback_push=True)


def _split_hint(body: str, room: int) -> str:
    """The last words of a first part that fits: where the leader could cut,
    at the end of a line or a sentence when there is one near the limit."""
    first = clip(body, room, ellipsis="")
    for mark in ("\n", "。", "、"):
        cut = first.rfind(mark)
        if cut >= len(first) // 2:
            first = first[: cut + (0 if mark == "\n" else 1)]
            break
    return first.rstrip()[-15:]


# -- /名簿 ---------------------------------------------------------------------------
_ROSTER_ADD = ("追加", "add", "入れる", "いれる", "登録")
_ROSTER_REMOVE = ("削除", "remove", "外す", "はずす", "消す", "けす", "解除")


def _clean_name(text: str) -> str | None:
    name = text.strip().removesuffix("さん").strip()
    if not name or len(name) > NAME_LIMIT or any(unicodedata.category(c).startswith("C") for c in name):
        return None
    return name


def cmd_roster(ctx: EventContext, command: Command) -> None:
    """/名簿 [追加|削除 お名前]: people without LINE in the roll call."""
    group = ctx.group
    offline = roster.offline_members(group)
    if not command.arg:
        members = sorted(membership.active_members(group), key=lambda m: (m.registered_at, m.id))
        not_joined = max(0, group.member_count - len(members)) if group.member_count is not None else None
        ctx.reply(say.roster([(m.name, m.is_leader) for m in members], [o.name for o in offline], not_joined))
        return
    action, _, rest = command.arg.partition(" ")
    name = _clean_name(rest)
    if action not in _ROSTER_ADD + _ROSTER_REMOVE or name is None:
        if command.slash:
            ctx.reply(say.roster_usage())
        return
    existing = roster.find_offline(group, name)
    if action in _ROSTER_ADD:
        if existing is not None:
            ctx.reply(say.roster_exists(name))
        elif roster.add_offline(group, name, ctx.member, ctx.now) is None:
            ctx.reply(say.roster_full(roster.MAX_OFFLINE))
        else:
            ctx.reply(say.roster_added(name))
    elif existing is None:
        ctx.reply(say.roster_not_found(name, [o.name for o in offline]))
    else:
        roster.remove_offline(existing, ctx.now)
        ctx.reply(say.roster_removed(name))


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("help", cmd_help, bare=Bare.ALONE),
        CommandSpec("name", cmd_name),
        CommandSpec("quit", cmd_quit),
        CommandSpec("status", cmd_status, bare=Bare.ALONE),
        CommandSpec("away", cmd_away, bare=Bare.WITH_ARGUMENT),
        CommandSpec("leader", cmd_leader, role_with_argument=Role.LEADER),
        CommandSpec("schedule", cmd_schedule, Role.LEADER, bare=Bare.WITH_ARGUMENT),
        CommandSpec("check", cmd_check, Role.LEADER, bare=Bare.ALONE),
        CommandSpec("pause", cmd_pause, Role.LEADER, bare=Bare.ALONE),
        CommandSpec("resume", cmd_resume, Role.LEADER, bare=Bare.ALONE),
        CommandSpec("notice", cmd_notice, Role.LEADER),
        CommandSpec("roster", cmd_roster, Role.LEADER, bare=Bare.ANY),
        CommandSpec("area", quake_commands.cmd_area, Role.LEADER, bare=Bare.ALONE),
        CommandSpec("drill", quake_commands.cmd_drill, Role.LEADER, bare=Bare.ALONE),
        CommandSpec("organisation", organisation_commands.cmd_group_organisation, Role.LEADER),
        CommandSpec("age", organisation_commands.cmd_age),
        CommandSpec("sex", organisation_commands.cmd_sex),
        # Leaders only once the group has one: the handler decides (bot/language.py).
        CommandSpec("language", language.cmd_language),
    )
}


def run_command(ctx: EventContext, command: Command) -> None:
    """Dispatch ``command``: unknown -> 「もしかして …ですか？」 when it is
    close to one, else the help; a command the sender may not use -> a
    polite refusal.  None of these changes anything."""
    spec = COMMANDS.get(command.name or "")
    if spec is None:
        meant = suggest_command(command.word)
        if meant in COMMANDS:
            ctx.reply(say.suggestion(meant), Purpose.USAGE)
        else:
            cmd_help(ctx, command)
        return
    if not allowed(ctx, spec.role_for(command)):
        refuse(ctx, spec.name)
        return
    spec.handler(ctx, command)


def run_bare_command(ctx: EventContext, command: Command) -> None:
    """A message that is exactly a command without its slash: run it when
    the table allows it bare and the sender may use it; otherwise it was
    conversation and nothing is said."""
    spec = COMMANDS.get(command.name or "")
    if spec is None or not spec.takes_bare(command) or not allowed(ctx, spec.role_for(command)):
        return
    spec.handler(ctx, command)
