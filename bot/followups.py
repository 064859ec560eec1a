"""The follow-up loop's buttons: 「○○さんを確認します」 and the outcomes
(無事でした / 連絡がつかない / 助けが必要だった), tapped in the group or, by
leaders, in their one-to-one chat with the bot (reminders, leaders-only
summaries).

Who hears what:

- a claim is answered by reply where it was tapped: in the group the whole
  group reads 「佐藤花子さんが鈴木一郎さんを確認します」, with the outcome
  buttons; in a one-to-one chat only the tapper does.
- an outcome is told once to whoever saw the names: the group (by reply, or
  by push when it was tapped one-to-one), or — for a leaders-only summary —
  the tapper and the other leaders one-to-one.
- 連絡がつかない and 助けが必要だった also go to every leader one-to-one at
  once (a leader who is not the bot's friend reads it in the group message,
  which names them).

The rules are domain/followups.py's; the state changes services/followups.py's.
"""

from __future__ import annotations

from bot import answers
from bot.context import EventContext
from domain import postback as codec
from domain.followups import Verdict
from domain.kinds import FollowUpOutcome, NamesAudience, Purpose
from messages import followups as followup_messages
from messages import group as group_messages
from messages.flex import format_local
from messages.i18n import built_in
from models import FollowUp, Group, Member, Round
from services import clock, followups, membership
from services.outbox import add_push


def _context(ctx: EventContext, follow_up_id: int) -> tuple[FollowUp, Group, Member] | None:
    """The follow-up a button names, its group and the tapper's membership
    there; None (after a kind word when it helps) when the tap cannot count."""
    follow_up = followups.get(follow_up_id)
    if follow_up is None:
        return None
    if ctx.group is not None and follow_up.group_id != ctx.group.id:
        return None  # a button copied from another group
    group = ctx.group or Group.get_by_id(follow_up.group_id)
    member = ctx.member if ctx.group is not None else membership.find_member(group, ctx.person)
    if member is None or not member.active:
        if ctx.group is not None:
            ctx.reply(group_messages.please_join(), Purpose.PLEASE_JOIN)
        else:
            ctx.reply(followup_messages.not_in_group(), Purpose.FOLLOW_UP)
        return None
    return follow_up, group, member


def _kind(follow_up: FollowUp) -> str:
    return Round.get_by_id(follow_up.round_id).kind


def _claimer(follow_up: FollowUp) -> str | None:
    if not follow_up.claimed_by_id:
        return None
    return Member.get_by_id(follow_up.claimed_by_id).name


def on_claim(ctx: EventContext, action: codec.Claim) -> None:
    found = _context(ctx, action.follow_up_id)
    if found is None:
        return
    follow_up, group, member = found
    verdict, follow_up = followups.claim(follow_up, member, ctx.now)
    view = followups.view_of(follow_up)
    if verdict is Verdict.DONE:
        ctx.reply(followup_messages.claimed(member.name, view, _kind(follow_up)), Purpose.FOLLOW_UP)
    elif verdict is Verdict.TAKEN:
        ctx.reply(followup_messages.taken(view, _claimer(follow_up)), Purpose.FOLLOW_UP)
    elif verdict is Verdict.SELF:
        # The person tapped their own name: they are here, and fine.
        if ctx.group is not None:
            answers.own_name(ctx)
        else:
            followups.end_by_own_ok(group, member, ctx.now)
            ctx.reply(group_messages.answer_thanks(member.name), Purpose.FOLLOW_UP)
    else:
        by = Member.get_by_id(follow_up.outcome_by_id).name if follow_up.outcome_by_id else None
        ctx.reply(followup_messages.already(view, by), Purpose.FOLLOW_UP)


def on_outcome(ctx: EventContext, action: codec.RecordOutcome) -> None:
    found = _context(ctx, action.follow_up_id)
    if found is None:
        return
    follow_up, group, member = found
    verdict, follow_up = followups.record(follow_up, member, action.outcome, ctx.now, member.is_leader)
    view = followups.view_of(follow_up)
    if verdict is Verdict.DONE:
        _tell(ctx, group, follow_up, action.outcome, member)
    elif verdict is Verdict.NOT_YOURS:
        ctx.reply(followup_messages.not_yours(view, _claimer(follow_up)), Purpose.FOLLOW_UP)
    else:
        by = Member.get_by_id(follow_up.outcome_by_id).name if follow_up.outcome_by_id else None
        ctx.reply(followup_messages.already(view, by), Purpose.FOLLOW_UP)


def _tell(
    ctx: EventContext, group: Group, follow_up: FollowUp, outcome: FollowUpOutcome, member: Member
) -> None:
    """The outcome, told once to whoever saw the names; the serious ones to
    every leader at once."""
    kind = _kind(follow_up)
    view = followups.view_of(follow_up)
    leader_names = membership.leader_names(group)

    def build_told() -> list[dict]:
        return followup_messages.outcome_told(view, outcome, member.name, kind, leader_names)

    told = build_told()
    serious = outcome in (FollowUpOutcome.UNREACHABLE, FollowUpOutcome.NEEDED_HELP)
    in_group = ctx.group is not None
    if follow_up.shown_to == NamesAudience.GROUP:
        ctx.reply(told, Purpose.FOLLOW_UP, fallback_push=in_group)
        if not in_group:
            # Tapped in a leader's one-to-one chat: the group reads it in its language.
            ctx.queued.append(
                add_push(
                    group,
                    built_in(group.language, build_told),
                    Purpose.FOLLOW_UP,
                    ctx.now,
                    round=follow_up.round_id,
                )
            )
    else:
        ctx.reply(told, Purpose.FOLLOW_UP)
        if not serious:
            ctx.queued += followups.push_to_leaders(
                group, build_told, Purpose.FOLLOW_UP, ctx.now, follow_up.round_id, member.person_id
            )
    if serious:
        when = ctx.now + clock.chat_offset(group.line_group_id)  # the chat's own clock (simulator)
        ctx.queued += followups.push_to_leaders(
            group,
            lambda: followup_messages.to_leaders(
                view, outcome, member.name, format_local(when.astimezone(ctx.settings.tz)), kind
            ),
            Purpose.ESCALATION,
            ctx.now,
            follow_up.round_id,
            member.person_id,
        )
