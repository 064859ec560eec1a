"""Opening and closing rounds: state change plus outbox, in one transaction.

Every function here expects to run inside ``db.atomic()`` and starts with a
conditional UPDATE, so whichever process gets there first does the work and
every other one does nothing.  The batch forms used by the sweep run a fixed
number of queries per batch of groups, whatever the batch size (no N+1).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from bot import messages
from domain.rounds import MemberView, Tally, tally
from jobs.outbox import add_push, push_row
from models import Answer, Group, Member, Outbox, Person, Round, naive, utc


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


def open_routine_rounds(groups: list, now: datetime, delay_seconds: float) -> int:
    """Open a routine round in each of ``groups`` (already claimed by the
    caller): one INSERT for the rounds, one for their prompts."""
    if not groups:
        return 0
    created = (
        Round.insert_many(
            [
                {
                    "group": g.id,
                    "kind": "routine",
                    "opened_at": naive(now),
                    "summary_due_at": naive(now + timedelta(seconds=delay_seconds)),
                }
                for g in groups
            ]
        )
        .returning(Round.id, Round.group)
        .tuples()
        .execute()
    )
    round_of = {group_id: round_id for round_id, group_id in created}
    prompts = [
        push_row(g.id, g.line_group_id, messages.prompt(round_of[g.id]), "prompt", now, round_of[g.id])
        for g in groups
    ]
    Outbox.insert_many(prompts).execute()
    return len(groups)


def current_round(group: Group) -> Round | None:
    return (
        Round.select()
        .where((Round.group == group) & (Round.status == "open"))
        .order_by(Round.opened_at.desc())
        .first()
    )


def member_views(group_ids: list[int]) -> dict[int, list[MemberView]]:
    """Active registered members of each group, in one query."""
    views: dict[int, list[MemberView]] = defaultdict(list)
    rows = (
        Member.select(Member.id, Member.group, Member.nickname, Member.registered_at, Person.display_name)
        .join(Person)
        .where(Member.group.in_(group_ids) & Member.active)
        .tuples()
    )
    for member_id, group_id, nickname, registered_at, display_name in rows:
        views[group_id].append(
            MemberView(member_id, nickname or display_name or "メンバー", utc(registered_at))
        )
    return views


def answers_of(round_ids: list[int]) -> dict[int, dict[int, str]]:
    found: dict[int, dict[int, str]] = defaultdict(dict)
    rows = Answer.select(Answer.round, Answer.member, Answer.kind).where(Answer.round.in_(round_ids)).tuples()
    for round_id, member_id, kind in rows:
        found[round_id][member_id] = kind
    return found


def round_tally(round_: Round) -> Tally:
    return tally(member_views([round_.group_id])[round_.group_id], answers_of([round_.id])[round_.id])


def close_rounds(round_ids: list[int], now: datetime, send_summary: bool = True) -> list[int]:
    """Close those of ``round_ids`` that are still open and queue one summary
    each.  Returns the ids this call closed (others were closed by someone
    else).  Five queries, however many rounds."""
    if not round_ids:
        return []
    closed = (
        Round.update(status="closed", closed_at=naive(now))
        .where(Round.id.in_(round_ids) & (Round.status == "open"))
        .returning(Round.id, Round.group, Round.kind)
        .tuples()
        .execute()
    )
    closed = list(closed)
    if not closed or not send_summary:
        return [round_id for round_id, _, _ in closed]
    group_ids = sorted({group_id for _, group_id, _ in closed})
    groups = {
        g.id: g
        for g in Group.select(Group.id, Group.line_group_id, Group.active).where(Group.id.in_(group_ids))
    }
    members = member_views(group_ids)
    answers = answers_of([round_id for round_id, _, _ in closed])
    summaries = []
    for round_id, group_id, kind in closed:
        group = groups[group_id]
        result = tally(members.get(group_id, []), answers.get(round_id, {}))
        # A group that left, or where nobody registered, gets no message.
        if group.active and (result.answered or result.unanswered):
            summaries.append(
                push_row(
                    group_id, group.line_group_id, messages.summary(result, kind), "summary", now, round_id
                )
            )
    if summaries:
        Outbox.insert_many(summaries).execute()
    return [round_id for round_id, _, _ in closed]


def close_round(round_id: int, now: datetime, send_summary: bool = True) -> Round | None:
    """Close one round (see close_rounds); the round if this call closed it."""
    if close_rounds([round_id], now, send_summary):
        return Round.get_by_id(round_id)
    return None
