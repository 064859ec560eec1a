"""Webhook event handlers, dispatched through a table by event type.

Each handler receives an EventContext inside the transaction that marks
the event processed.  Unknown event types are ignored (LINE adds new ones;
the webhook has already answered 200).
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from peewee import IntegrityError

from bot import messages
from bot.commands import run_command
from bot.context import EventContext
from bot.quake_commands import on_area_postback
from domain.commands import is_ok_answer, parse_command
from domain.schedule import Schedule
from jobs.rounds import close_round, current_round
from models import Answer, Group, Member, Outbox, Person, Round, db, naive

log = logging.getLogger(__name__)


# -- lookups ------------------------------------------------------------------
def group_id_of(event: dict) -> str | None:
    source = event.get("source") or {}
    return source.get("groupId") if source.get("type") == "group" else None


def load_group(ctx: EventContext, create: bool = True) -> Group | None:
    line_group_id = group_id_of(ctx.event)
    if line_group_id is None:
        return None
    group = Group.get_or_none(Group.line_group_id == line_group_id)
    if group is None and create:
        # An event from a group we never saw join (e.g. the bot was added
        # before this deployment): it is in the group, so start tracking it.
        group = Group.create(line_group_id=line_group_id, joined_at=naive(ctx.now))
    ctx.group = group
    return group


def load_member(ctx: EventContext) -> None:
    if ctx.group is None or not ctx.user_id:
        return
    ctx.person = Person.get_or_none(Person.line_user_id == ctx.user_id)
    if ctx.person is not None:
        ctx.member = Member.get_or_none((Member.group == ctx.group) & (Member.person == ctx.person))


def register(ctx: EventContext, nickname: str | None = None) -> tuple[Member, bool]:
    """Register the sender in the group (idempotent).  Returns the member
    and whether they were newly registered (or re-registered)."""
    name = ctx.profile_name or ""
    if ctx.person is None:
        try:
            with db.atomic():
                ctx.person = Person.create(
                    line_user_id=ctx.user_id, display_name=name, created_at=naive(ctx.now)
                )
        except IntegrityError:
            ctx.person = Person.get(Person.line_user_id == ctx.user_id)
    elif name and ctx.person.display_name != name:
        ctx.person.display_name = name
        ctx.person.save()
    member = ctx.member
    if member is None:
        try:
            with db.atomic():
                member = Member.create(
                    group=ctx.group, person=ctx.person, nickname=nickname, registered_at=naive(ctx.now)
                )
            ctx.member = member
            return member, True
        except IntegrityError:
            member = Member.get((Member.group == ctx.group) & (Member.person == ctx.person))
    fresh = not member.active
    if fresh or nickname:
        member.active = True
        member.left_at = None
        if fresh:
            member.registered_at = naive(ctx.now)
        if nickname:
            member.nickname = nickname
        member.save()
    ctx.member = member
    return member, fresh


# -- answers -----------------------------------------------------------------
def record_answer(ctx: EventContext, round_: Round | None, kind: str, typed: bool) -> None:
    """Record an OK (or 助けが必要) for ``round_``.  Changes nothing when the
    round is closed, the member already answered, or the event is old."""
    if round_ is None or round_.group_id != ctx.group.id:
        return
    if ctx.member is None or not ctx.member.active:
        ctx.reply(messages.please_join(), "please-join")
        return
    if round_.status != "open":
        if not typed:
            ctx.reply(messages.round_closed(), "closed")
        return
    try:
        with db.atomic():
            Answer.create(round=round_, member=ctx.member, kind=kind, answered_at=naive(ctx.now))
    except IntegrityError:
        existing = Answer.get((Answer.round == round_) & (Answer.member == ctx.member))
        if kind == "help" and existing.kind != "help":
            # Someone who said OK and then asks for help must be heard.
            existing.kind = "help"
            existing.save()
        else:
            return
    name = ctx.member.name
    if kind == "help":
        leaders = [
            m.name
            for m in Member.select(Member, Person)
            .join(Person)
            .where((Member.group == ctx.group) & Member.active & Member.is_leader)
        ]
        # One reply carries both: the member's next steps and the alert the
        # whole group (leaders included) sees at once.  If the token no
        # longer works it is pushed, because this one must arrive.
        ctx.reply(
            messages.help_alert(name, leaders, round_.kind) + messages.help_on_the_way(name, round_.kind),
            "help",
            fallback_push=True,
        )
    else:
        ctx.reply(messages.answer_thanks(name), "ack")


# -- handlers ----------------------------------------------------------------
def on_join(ctx: EventContext) -> None:
    group = load_group(ctx)
    group.active = True
    group.left_at = None
    if ctx.member_count is not None:
        group.member_count = ctx.member_count
    if group.schedule and not group.paused:
        # Invited back after a while: the next round is the next one from
        # now, not an immediate catch-up of the time it was away.
        group.next_round_at = naive(Schedule.from_spec(group.schedule).next_after(ctx.now, ctx.settings.tz))
    group.save()
    ctx.reply(messages.greeting(), "greeting")


def on_leave(ctx: EventContext) -> None:
    group = load_group(ctx, create=False)
    if group is None:
        return
    Group.update(active=False, left_at=naive(ctx.now)).where(Group.id == group.id).execute()
    # Nothing more may reach a group that removed us.
    Outbox.update(state="cancelled", last_error="the bot was removed from the group").where(
        (Outbox.group == group) & (Outbox.state == "pending")
    ).execute()
    for round_ in Round.select(Round.id).where((Round.group == group) & (Round.status == "open")):
        close_round(round_.id, ctx.now, send_summary=False)


def on_member_joined(ctx: EventContext) -> None:
    group = load_group(ctx)
    if ctx.member_count is not None:
        Group.update(member_count=ctx.member_count).where(Group.id == group.id).execute()
    ctx.reply(messages.welcome(), "welcome")


def on_member_left(ctx: EventContext) -> None:
    group = load_group(ctx, create=False)
    if group is None:
        return
    if ctx.member_count is not None:
        Group.update(member_count=ctx.member_count).where(Group.id == group.id).execute()
    left_ids = [m.get("userId") for m in (ctx.event.get("left") or {}).get("members", []) if m.get("userId")]
    if left_ids:
        people = Person.select(Person.id).where(Person.line_user_id.in_(left_ids))
        Member.update(active=False, is_leader=False, left_at=naive(ctx.now)).where(
            (Member.group == group) & Member.person.in_(people)
        ).execute()


def on_message(ctx: EventContext) -> None:
    message = ctx.event.get("message") or {}
    if message.get("type") != "text":
        return
    text = message.get("text") or ""
    if load_group(ctx) is None:
        ctx.reply([messages.text(messages.ONE_TO_ONE)], "one-to-one")
        return
    if not ctx.user_id:
        return  # LINE did not say who it was (e.g. a desktop client)
    load_member(ctx)
    command = parse_command(text)
    if command is not None:
        run_command(ctx, command)
        return
    if is_ok_answer(text):
        record_answer(ctx, current_round(ctx.group), "ok", typed=True)
    # Anything else is the group's own conversation: the bot stays quiet.


def on_postback(ctx: EventContext) -> None:
    if load_group(ctx) is None or not ctx.user_id:
        return
    load_member(ctx)
    data = {k: v[0] for k, v in parse_qs((ctx.event.get("postback") or {}).get("data", "")).items()}
    action = data.get("a")
    if action == "join":
        member, fresh = register(ctx)
        if fresh:
            ctx.reply(
                messages.registered(member.name, bool(ctx.profile_name or member.nickname)), "registered"
            )
        else:
            ctx.reply(messages.already_registered(member.name), "registered")
    elif action in ("ok", "help"):
        round_id = data.get("r", "")
        round_ = Round.get_or_none(Round.id == int(round_id)) if round_id.isdigit() else None
        record_answer(ctx, round_, action, typed=False)
    elif action == "area":
        on_area_postback(ctx, data)


def on_follow(ctx: EventContext) -> None:
    ctx.reply([messages.text(messages.ONE_TO_ONE)], "one-to-one")


HANDLERS = {
    "join": on_join,
    "leave": on_leave,
    "memberJoined": on_member_joined,
    "memberLeft": on_member_left,
    "message": on_message,
    "postback": on_postback,
    "follow": on_follow,
}


def needs_profile(event: dict) -> bool:
    """Whether handling ``event`` may register its sender (so we want their
    display name from LINE before the transaction starts)."""
    if group_id_of(event) is None or not (event.get("source") or {}).get("userId"):
        return False
    if event.get("type") == "postback":
        return "a=join" in (event.get("postback") or {}).get("data", "")
    if event.get("type") == "message":
        text = (event.get("message") or {}).get("text") or ""
        command = parse_command(text)
        return command is not None and command.name in ("leader", "name")
    return False


def needs_member_count(event: dict) -> bool:
    return event.get("type") in ("join", "memberJoined", "memberLeft") and group_id_of(event) is not None
