"""Opening and closing rounds: state change plus outbox, in one transaction.

Both functions expect to run inside ``db.atomic()`` and start with a
conditional UPDATE, so that whichever process gets there first does the work
and every other one does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import messages
from domain.rounds import MemberView, Tally, tally
from jobs.outbox import add_push
from models import Answer, Group, Member, Person, Round, naive, utc


def open_round_now(
    group: Group,
    kind: str,
    now: datetime,
    delay_seconds: float,
    headline: str | None = None,
    event_id: str | None = None,
    intensity: str | None = None,
    announce=None,
) -> Round:
    """Open a round in ``group`` and queue its prompt.  The caller has
    already claimed the right to do so (and checked no round is open).

    ``announce(messages, round)`` queues the prompt; by default it is a
    push, but a leader's /確認 carries it in the (free) reply."""
    opened = Round.create(
        group=group,
        kind=kind,
        opened_at=naive(now),
        summary_due_at=naive(now + timedelta(seconds=delay_seconds)),
        event_id=event_id,
        intensity=intensity,
        title=headline,
    )
    prompt = messages.prompt(opened.id, kind, headline)
    if announce is None:
        add_push(group, prompt, "prompt", now, round=opened)
    else:
        announce(prompt, opened)
    return opened


def current_round(group: Group) -> Round | None:
    return (
        Round.select()
        .where((Round.group == group) & (Round.status == "open"))
        .order_by(Round.opened_at.desc())
        .first()
    )


def member_views(group_id: int) -> list[MemberView]:
    rows = (
        Member.select(Member.id, Member.nickname, Member.registered_at, Person.display_name)
        .join(Person)
        .where((Member.group == group_id) & Member.active)
    )
    return [
        MemberView(m.id, m.nickname or m.person.display_name or "メンバー", utc(m.registered_at))
        for m in rows
    ]


def round_tally(round_: Round) -> Tally:
    answers = {
        a.member_id: a.kind
        for a in Answer.select(Answer.member, Answer.kind).where(Answer.round == round_.id)
    }
    return tally(member_views(round_.group_id), answers)


def close_round(round_id: int, now: datetime, send_summary: bool = True) -> Round | None:
    """Close the round if it is still open and queue its one summary.

    Returns the round if this call closed it, None if someone else did."""
    claimed = (
        Round.update(status="closed", closed_at=naive(now))
        .where((Round.id == round_id) & (Round.status == "open"))
        .execute()
    )
    if claimed != 1:
        return None
    closed = Round.get_by_id(round_id)
    group = Group.get_by_id(closed.group_id)
    if send_summary and group.active:
        result = round_tally(closed)
        if result.answered or result.unanswered:
            add_push(group, messages.summary(result, closed.kind), "summary", now, round=closed)
    return closed
