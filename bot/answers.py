"""Answering a safety check in a group: by button or by typing OK.

The state change is services.rounds.record_answer; what the member and the
group read back depends on its outcome.
"""

from __future__ import annotations

from bot.context import EventContext
from domain.kinds import AnswerKind, Purpose
from messages import group as group_messages
from models import Round
from services import membership, rounds
from services.rounds import AnswerOutcome


def answer_round(ctx: EventContext, round_id: int | None, kind: AnswerKind, typed: bool) -> None:
    """Record the sender's answer to round ``round_id`` of this group.

    A typed OK outside an open round is ordinary chatter: nothing is said.
    A round of another group (a forged or copied button) changes nothing."""
    round_ = Round.get_or_none(Round.id == round_id) if round_id is not None else None
    if round_ is None or round_.group_id != ctx.group.id:
        return
    outcome = rounds.record_answer(round_, ctx.member, kind, ctx.now)
    if outcome is AnswerOutcome.NOT_REGISTERED:
        ctx.reply(group_messages.please_join(), Purpose.PLEASE_JOIN)
    elif outcome is AnswerOutcome.ROUND_CLOSED:
        if not typed:
            ctx.reply(group_messages.round_closed(), Purpose.CLOSED)
    elif outcome is AnswerOutcome.UNCHANGED:
        pass
    elif kind == AnswerKind.HELP:
        name = ctx.member.name
        # One reply carries both: the member's next steps and the alert the
        # whole group (leaders included) sees at once.  If the token no
        # longer works it is pushed, because this one must arrive.
        ctx.reply(
            group_messages.help_alert(name, membership.leader_names(ctx.group), round_.kind)
            + group_messages.help_on_the_way(name, round_.kind),
            Purpose.HELP_ALERT,
            fallback_push=True,
        )
    else:
        ctx.reply(group_messages.answer_thanks(ctx.member.name), Purpose.ACK)


def typed_ok(ctx: EventContext) -> None:
    """The sender typed OK: it answers the group's open round, if any."""
    current = rounds.current_round(ctx.group)
    if current is not None:
        answer_round(ctx, current.id, AnswerKind.OK, typed=True)
