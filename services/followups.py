"""The follow-up loop: after a summary, someone goes to the door.

Every change here is a conditional write (compare-and-set on the state that
was read), so two people tapping the same button at once, a redelivered
event or a second worker can neither double a claim nor record an outcome
twice: the first wins and the second is told who has it.  The rules (who may
do what, and what it does) are domain/followups.py's.

Follow-ups are created by the summary (services/summaries.py) and by a call
for help (``for_help``); they end by an outcome a member records, by the
person's own late OK (``end_by_own_ok``), by a newer summary that asks about
the same person again (superseded, its claim carried over), or by the person
leaving the group or the 名簿 (``withdraw_*``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from peewee import IntegrityError

from domain.followups import (
    FollowUpView,
    Verdict,
    claim_verdict,
    ends_by_own_ok,
    outcome_verdict,
    state_after,
)
from domain.kinds import (
    LIVE_FOLLOW_UP_STATES,
    FollowUpKind,
    FollowUpOutcome,
    FollowUpState,
    NamesAudience,
    Purpose,
)
from messages.i18n import built_in
from models import FollowUp, Group, Member, OfflineMember, Outbox, Person, Round, db, naive
from services import console_queue
from services.outbox import add_push
from services.rollcall import LeaderView, leaders_of

# A chain of superseded follow-ups is at most one per summary; this bounds a
# corrupted (cyclic) chain.
MAX_CHAIN = 1000


def get(follow_up_id: int) -> FollowUp | None:
    """The follow-up a button names, or the live one that superseded it (a
    button from yesterday's summary acts on today's follow-up of the same
    person)."""
    follow_up = FollowUp.get_or_none(FollowUp.id == follow_up_id)
    for _ in range(MAX_CHAIN):
        if (
            follow_up is None
            or follow_up.outcome != FollowUpOutcome.SUPERSEDED
            or not follow_up.superseded_by_id
        ):
            break
        follow_up = FollowUp.get_or_none(FollowUp.id == follow_up.superseded_by_id)
    return follow_up


def member_name(member: Member | None) -> str | None:
    return member.name if member is not None else None


def view_of(follow_up: FollowUp) -> FollowUpView:
    claimer = Member.get_or_none(Member.id == follow_up.claimed_by_id) if follow_up.claimed_by_id else None
    return FollowUpView(
        follow_up.id,
        follow_up.name,
        FollowUpKind(follow_up.kind),
        FollowUpState(follow_up.state),
        member_name(claimer),
        FollowUpOutcome(follow_up.outcome) if follow_up.outcome else None,
    )


def round_of(follow_up: FollowUp) -> Round:
    return Round.get_by_id(follow_up.round_id)


def for_help(round_: Round, member: Member, now: datetime, remind_after: float) -> FollowUp:
    """The follow-up of someone who asked for help in ``round_``: created,
    or turned into a help follow-up if they were only unanswered, or opened
    again if an earlier one had ended.  Their live follow-ups from older
    rounds are superseded by it."""
    remind_at = naive(now + timedelta(seconds=remind_after))
    follow_up = FollowUp.get_or_none((FollowUp.round == round_) & (FollowUp.member == member))
    if follow_up is None:
        try:
            with db.atomic():
                follow_up = FollowUp.create(
                    round=round_,
                    group=round_.group_id,
                    member=member,
                    name=member.name,
                    kind=FollowUpKind.HELP,
                    state=FollowUpState.OPEN,
                    shown_to=NamesAudience.GROUP,
                    created_at=naive(now),
                    remind_at=remind_at,
                )
        except IntegrityError:
            follow_up = FollowUp.get((FollowUp.round == round_) & (FollowUp.member == member))
    if follow_up.state == FollowUpState.DONE:
        # Helped, or confirmed, and now asking again: a new call for help.
        FollowUp.update(
            kind=FollowUpKind.HELP,
            state=FollowUpState.OPEN,
            shown_to=NamesAudience.GROUP,
            claimed_by=None,
            claimed_at=None,
            outcome=None,
            outcome_by=None,
            outcome_at=None,
            remind_at=remind_at,
            reminded_at=None,
        ).where(FollowUp.id == follow_up.id).execute()
    elif follow_up.kind != FollowUpKind.HELP:
        FollowUp.update(kind=FollowUpKind.HELP).where(FollowUp.id == follow_up.id).execute()
    FollowUp.update(
        state=FollowUpState.DONE,
        outcome=FollowUpOutcome.SUPERSEDED,
        outcome_at=naive(now),
        superseded_by=follow_up.id,
    ).where(
        (FollowUp.group == round_.group_id)
        & (FollowUp.member == member)
        & (FollowUp.id != follow_up.id)
        & FollowUp.state.in_(LIVE_FOLLOW_UP_STATES)
    ).execute()
    return FollowUp.get_by_id(follow_up.id)


def claim(follow_up: FollowUp, member: Member, now: datetime) -> tuple[Verdict, FollowUp]:
    """「○○さんを確認します」 from ``member``: the first claim wins."""
    verdict = claim_verdict(FollowUpState(follow_up.state), follow_up.member_id == member.id)
    if verdict is Verdict.DONE:
        won = (
            FollowUp.update(state=FollowUpState.CLAIMED, claimed_by=member, claimed_at=naive(now))
            .where((FollowUp.id == follow_up.id) & (FollowUp.state == FollowUpState.OPEN))
            .execute()
        )
        if not won:  # someone else got there in between
            follow_up = FollowUp.get_by_id(follow_up.id)
            verdict = claim_verdict(FollowUpState(follow_up.state), False)
            return verdict, follow_up
    return verdict, FollowUp.get_by_id(follow_up.id)


def record(
    follow_up: FollowUp, member: Member, outcome: FollowUpOutcome, now: datetime, is_leader: bool
) -> tuple[Verdict, FollowUp]:
    """無事でした / 連絡がつかない / 助けが必要だった from ``member``: recorded
    once, by the claimer or a leader."""
    state = FollowUpState(follow_up.state)
    verdict = outcome_verdict(state, outcome, follow_up.claimed_by_id == member.id, is_leader)
    if verdict is not Verdict.DONE:
        return verdict, follow_up
    fields = {
        "state": state_after(outcome),
        "outcome": outcome,
        "outcome_by": member,
        "outcome_at": naive(now),
    }
    if outcome == FollowUpOutcome.UNREACHABLE:
        fields["unreachable_at"] = naive(now)
    if state == FollowUpState.OPEN:
        fields.update(claimed_by=member, claimed_at=naive(now))
    changed = (
        FollowUp.update(**fields).where((FollowUp.id == follow_up.id) & (FollowUp.state == state)).execute()
    )
    if changed and outcome == FollowUpOutcome.UNREACHABLE:
        # The organisation's operators see it in the same transaction (a
        # group linked to one only).
        console_queue.queue_unreached(follow_up.id, now)
    fresh = FollowUp.get_by_id(follow_up.id)
    if not changed:  # another tap changed it first: judge again against what it is now
        verdict = outcome_verdict(
            FollowUpState(fresh.state), outcome, fresh.claimed_by_id == member.id, is_leader
        )
        if verdict is Verdict.DONE:
            return record(fresh, member, outcome, now, is_leader)
    return verdict, fresh


def end_by_own_ok(group: Group, member: Member, now: datetime) -> list[FollowUp]:
    """The person answered OK themselves: their unanswered follow-ups in
    ``group`` end (self-ok).  Returns those this call ended."""
    ended = [
        row_id
        for (row_id,) in FollowUp.update(
            state=FollowUpState.DONE,
            outcome=FollowUpOutcome.SELF_OK,
            outcome_by=member,
            outcome_at=naive(now),
        )
        .where(
            (FollowUp.group == group)
            & (FollowUp.member == member)
            & FollowUp.state.in_(LIVE_FOLLOW_UP_STATES)
            & FollowUp.kind.in_([kind for kind in FollowUpKind if ends_by_own_ok(kind)])
        )
        .returning(FollowUp.id)
        .tuples()
        .execute()
    ]
    return list(FollowUp.select().where(FollowUp.id.in_(ended)).order_by(FollowUp.id)) if ended else []


def live_help(group: Group, member: Member) -> list[FollowUp]:
    """The member's live help follow-ups in ``group`` (their own OK does not end them)."""
    return list(
        FollowUp.select().where(
            (FollowUp.group == group)
            & (FollowUp.member == member)
            & (FollowUp.kind == FollowUpKind.HELP)
            & FollowUp.state.in_(LIVE_FOLLOW_UP_STATES)
        )
    )


def live_in_group(group: Group) -> list[FollowUp]:
    return list(
        FollowUp.select()
        .where((FollowUp.group == group) & FollowUp.state.in_(LIVE_FOLLOW_UP_STATES))
        .order_by(FollowUp.id)
    )


def _withdraw(where, now: datetime) -> int:
    return (
        FollowUp.update(state=FollowUpState.DONE, outcome=FollowUpOutcome.WITHDRAWN, outcome_at=naive(now))
        .where(where & FollowUp.state.in_(LIVE_FOLLOW_UP_STATES))
        .execute()
    )


def withdraw_members(group: Group, person_ids: list[int], now: datetime) -> int:
    """People who left the group (or /退会): nobody needs to go to their door
    on the group's behalf any more."""
    if not person_ids:
        return 0
    members = Member.select(Member.id).where((Member.group == group) & Member.person.in_(person_ids))
    return _withdraw((FollowUp.group == group) & FollowUp.member.in_(members), now)


def withdraw_by_line_ids(group: Group, line_user_ids: list[str], now: datetime) -> int:
    people = [p.id for p in Person.select(Person.id).where(Person.line_user_id.in_(line_user_ids))]
    return withdraw_members(group, people, now)


def withdraw_offline(offline: OfflineMember, now: datetime) -> int:
    return _withdraw(FollowUp.offline_member == offline, now)


# -- who hears about it ------------------------------------------------------------
def reachable_leaders(group: Group, exclude_person_id: int | None = None) -> list[LeaderView]:
    """The group's leaders the bot may push to one-to-one (friends)."""
    return [
        leader
        for leader in leaders_of([group.id]).get(group.id, [])
        if leader.friend and leader.person_id != exclude_person_id
    ]


def push_to_leaders(
    group: Group,
    messages: list[dict] | Callable[[], list[dict]],
    purpose: Purpose,
    now: datetime,
    round_id: int | None = None,
    exclude_person_id: int | None = None,
) -> list[Outbox]:
    """Push ``messages`` to each reachable leader one-to-one (one message
    each); returns the rows queued (the caller's job sends them at once).
    A builder (``lambda: …``) is built in each leader's own language."""
    return [
        add_push(
            leader.recipient,
            built_in(leader.language, messages) if callable(messages) else messages,
            purpose,
            now,
            round=round_id,
        )
        for leader in reachable_leaders(group, exclude_person_id)
    ]
