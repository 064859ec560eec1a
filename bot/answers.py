"""Answering a safety check in a group: by button, in one's own words
(「元気です」「助けて」, read by domain/answers.py), or with a sticker — and
answers that come late.

- An OK counts in every open round of the group (a drill beside a /確認
  asks the same thing) and ends the person's own unanswered follow-ups,
  saying so.  An OK after 助けが必要 keeps the help (someone confirms them).
- 助けが必要 is heard at any time: in the open round, after the round
  closed, or with no round at all.  The group (leaders by name) is told at
  once, with a 「○○さんを確認します」 button when there is a round to follow
  up in.
- Typed words and stickers outside a check are the group's own: nothing is
  said, except a call for help.

The state changes are services' (rounds.record_answer, followups); what the
member and the group read back depends on their outcome.
"""

from __future__ import annotations

from bot.context import EventContext
from domain.answers import STICKER_ANSWER, classify_answer, sounds_unwell
from domain.followups import FollowUpView
from domain.kinds import (
    AnswerKind,
    FollowUpKind,
    FollowUpState,
    NamesAudience,
    Purpose,
    RoundKind,
    RoundStatus,
)
from messages import followups as followup_messages
from messages import group as group_messages
from models import FollowUp, Member, Round
from services import followups, membership, rounds
from services.rounds import AnswerOutcome


def _registered(ctx: EventContext) -> bool:
    return ctx.member is not None and ctx.member.active


def _own_names(ctx: EventContext) -> list[str]:
    found = [ctx.profile_name] if ctx.profile_name else []
    if ctx.member is not None:
        found += [ctx.member.nickname or "", ctx.member.person.display_name]
    elif ctx.person is not None:
        found.append(ctx.person.display_name)
    return [name for name in found if name]


# -- entry points -----------------------------------------------------------------
def answer_button(ctx: EventContext, round_id: int | None, kind: AnswerKind) -> None:
    """A tap on a prompt's OK or 助けが必要.  A round of another group (a
    forged or copied button) changes nothing."""
    # An OK is counted in every open round of the group, so those are read
    # first; the tapped round is usually one of them (one query, not two).
    open_rounds = rounds.open_rounds(ctx.group) if kind == AnswerKind.OK else []
    round_ = next((r for r in open_rounds if r.id == round_id), None)
    if round_ is None and round_id is not None:
        round_ = Round.get_or_none(Round.id == round_id)
    if round_ is None or round_.group_id != ctx.group.id:
        return
    if not _registered(ctx):
        ctx.reply(group_messages.please_join(), Purpose.PLEASE_JOIN)
        return
    if kind == AnswerKind.HELP:
        _help(ctx, round_, typed=False)
    elif round_.status == RoundStatus.OPEN:
        _ok(ctx, [round_, *[r for r in open_rounds if r.id != round_.id]])
    else:
        _late_ok(ctx, from_button=True)


def typed(ctx: EventContext, text: str) -> bool:
    """A text message: an answer if it reads as one (and a check, or the
    sender's follow-up, is open); True when it was taken as one."""
    kind = classify_answer(text, _own_names(ctx))
    if kind is not None:
        return _typed_answer(ctx, kind)
    if sounds_unwell(text) and _registered(ctx):
        open_rounds = rounds.open_rounds(ctx.group)
        answered = open_rounds and rounds.answer_of(open_rounds[0], ctx.member) == AnswerKind.OK
        if open_rounds and not answered:
            ctx.reply(followup_messages.unwell(ctx.member.name), Purpose.ACK)
            return True
    return False


def sticker(ctx: EventContext) -> bool:
    """Any sticker during a check (or while the sender is being followed up) is an OK."""
    return _typed_answer(ctx, STICKER_ANSWER)


def _typed_answer(ctx: EventContext, kind: AnswerKind) -> bool:
    open_rounds = rounds.open_rounds(ctx.group)
    if kind == AnswerKind.HELP:
        if not _registered(ctx):
            _help_from_outside(ctx)
            return True
        # Real help before practice: a drill only when nothing else is open.
        target = next((r for r in open_rounds if r.kind != RoundKind.DRILL), None)
        target = target or (open_rounds[0] if open_rounds else rounds.latest_round(ctx.group))
        if target is None:
            _help_from_outside(ctx)
        else:
            _help(ctx, target, typed=True)
        return True
    if not _registered(ctx):
        if open_rounds:
            ctx.reply(group_messages.please_join(), Purpose.PLEASE_JOIN)
            return True
        return False
    if open_rounds:
        _ok(ctx, open_rounds)
        return True
    return _late_ok(ctx, from_button=False)


def own_name(ctx: EventContext) -> None:
    """The person tapped 「（their own name）さんを確認します」: an OK from them."""
    if not _typed_answer(ctx, AnswerKind.OK):
        ctx.reply(group_messages.answer_thanks(ctx.member.name), Purpose.ACK)


# -- OK ---------------------------------------------------------------------------
def _ok(ctx: EventContext, open_rounds: list[Round]) -> None:
    outcomes = {rounds.record_answer(r, ctx.member, AnswerKind.OK, ctx.now) for r in open_rounds}
    messages = []
    if AnswerOutcome.RECORDED in outcomes:
        messages += group_messages.answer_thanks(ctx.member.name)
    if AnswerOutcome.HELP_KEPT in outcomes:
        messages += followup_messages.help_kept(ctx.member.name)
    messages += end_own_follow_ups(ctx)
    if messages:
        ctx.reply(messages, Purpose.ACK)


def _late_ok(ctx: EventContext, from_button: bool) -> bool:
    """An OK after the check closed: it ends the sender's own follow-ups."""
    told = end_own_follow_ups(ctx)
    if told:
        ctx.reply(group_messages.answer_thanks(ctx.member.name) + told, Purpose.ACK)
        return True
    if followups.live_help(ctx.group, ctx.member):
        ctx.reply(followup_messages.help_kept(ctx.member.name), Purpose.ACK)
        return True
    if from_button:
        ctx.reply(group_messages.round_closed(), Purpose.CLOSED)
        return True
    return False


def end_own_follow_ups(ctx: EventContext) -> list[dict]:
    """The sender is here: end their unanswered follow-ups.  Returns what the
    group reads about it (leaders-only follow-ups are told to the leaders
    instead, by push)."""
    ended = followups.end_by_own_ok(ctx.group, ctx.member, ctx.now)
    if not ended:
        return []
    claimers = sorted(
        {m.name for m in Member.select().where(Member.id.in_([f.claimed_by_id for f in ended]))}
    )
    kind = Round.get_by_id(ended[-1].round_id).kind
    told = followup_messages.own_ok(ctx.member.name, claimers, kind)
    if any(f.shown_to == NamesAudience.GROUP for f in ended):
        return told
    ctx.queued += followups.push_to_leaders(
        ctx.group,
        lambda: followup_messages.own_ok(ctx.member.name, claimers, kind),
        Purpose.FOLLOW_UP,
        ctx.now,
        ended[-1].round_id,
    )
    return []


# -- 助けが必要 ----------------------------------------------------------------------
def _help(ctx: EventContext, round_: Round, typed: bool) -> None:
    """Record the call for help (in an open round) and tell the group at
    once, with a button for whoever will go.  Pushed if the reply token no
    longer works: this one must arrive."""
    if round_.status == RoundStatus.OPEN:
        # A second call is heard again (the alert below); the answer stays help.
        rounds.record_answer(round_, ctx.member, AnswerKind.HELP, ctx.now)
    follow_up = followups.for_help(round_, ctx.member, ctx.now, ctx.settings.followup_remind_after)
    ctx.reply(
        _alert(ctx, ctx.member.name, round_.kind, typed, follow_up), Purpose.HELP_ALERT, fallback_push=True
    )


def _help_from_outside(ctx: EventContext) -> None:
    """「助けて」 from someone not registered, or with no round to follow up
    in: the group is told all the same."""
    name = ctx.member.name if _registered(ctx) else ctx.profile_name
    ctx.reply(_alert(ctx, name, RoundKind.MANUAL, True, None), Purpose.HELP_ALERT, fallback_push=True)


def _alert(
    ctx: EventContext, name: str | None, kind: str, typed: bool, follow_up: FollowUp | None
) -> list[dict]:
    messages = group_messages.help_alert(name, membership.leader_names(ctx.group), kind, typed)
    if follow_up is not None and follow_up.state == FollowUpState.OPEN:
        view = FollowUpView(follow_up.id, name, FollowUpKind.HELP)
        messages += followup_messages.claim_buttons([view], kind, max_messages=1)
    return messages + group_messages.help_on_the_way(name, kind)
