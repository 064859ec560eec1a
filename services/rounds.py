"""Rounds: opening a safety check, recording answers, closing it with its
summary — each a state change plus its outbox rows, in one transaction.

Every function here runs inside ``db.atomic()`` (the caller's) and starts
with a conditional write, so whichever process gets there first does the
work and every other one does nothing.  The batch forms used by the sweep
run a fixed number of queries per batch of groups, whatever the batch size
(no N+1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from peewee import fn

from domain.kinds import AnswerKind, Purpose, RoundKind, RoundStatus
from domain.names import clean_name
from domain.rounds import MemberView, Tally, tally
from messages import group as group_messages
from models import Answer, Group, Member, Outbox, Person, Round, naive, utc
from services.outbox import Recipient, add_push, push_row

# (prompt messages, the new round) -> None: how a prompt is queued when it
# is not simply pushed (a leader's /確認 carries it in the free reply).
Announce = Callable[[list[dict], Round], None]


def open_round_now(
    group: Group,
    kind: RoundKind,
    now: datetime,
    delay_seconds: float,
    headline: str | None = None,
    event_id: str | None = None,
    intensity: str | None = None,
    announce: Announce | None = None,
) -> Round:
    """Open a round in ``group`` and queue its prompt.  The caller has
    already claimed the right to do so (and checked no round is open).

    ``announce(messages, round)`` queues the prompt; by default it is a
    push to the group."""
    opened = Round.create(
        group=group,
        kind=kind,
        opened_at=naive(now),
        summary_due_at=naive(now + timedelta(seconds=delay_seconds)),
        event_id=event_id,
        intensity=intensity,
        title=headline,
    )
    prompt = group_messages.prompt(opened.id, kind, headline)
    if announce is None:
        add_push(group, prompt, Purpose.PROMPT, now, round=opened)
    else:
        announce(prompt, opened)
    return opened


def open_routine_rounds(groups: list, now: datetime, delay_seconds: float) -> int:
    """Open a routine round in each of ``groups`` (already claimed by the
    caller; each has ``id`` and ``line_group_id``): one INSERT for the
    rounds, one for their prompts."""
    if not groups:
        return 0
    created = (
        Round.insert_many(
            [
                {
                    "group": g.id,
                    "kind": RoundKind.ROUTINE,
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
        push_row(
            Recipient.of_group(g),
            group_messages.prompt(round_of[g.id]),
            Purpose.PROMPT,
            now,
            round_of[g.id],
        )
        for g in groups
    ]
    Outbox.insert_many(prompts).execute()
    return len(groups)


def current_round(group: Group) -> Round | None:
    """The group's open round, if any (the newest, should there be two)."""
    return (
        Round.select()
        .where((Round.group == group) & (Round.status == RoundStatus.OPEN))
        .order_by(Round.opened_at.desc())
        .first()
    )


def open_round_ids(group: Group) -> list[int]:
    return [
        r.id
        for r in Round.select(Round.id).where((Round.group == group) & (Round.status == RoundStatus.OPEN))
    ]


class AnswerOutcome(StrEnum):
    RECORDED = "recorded"  # a first answer
    NOW_HELP = "now-help"  # an OK turned into 助けが必要
    UNCHANGED = "unchanged"  # already answered so (or an OK after help)
    ROUND_CLOSED = "round-closed"
    NOT_REGISTERED = "not-registered"


def record_answer(round_: Round, member: Member | None, kind: AnswerKind, now: datetime) -> AnswerOutcome:
    """Record ``member``'s OK (or 助けが必要) for ``round_``.  Someone who said
    OK and then asks for help is heard; an OK after help changes nothing."""
    if member is None or not member.active:
        return AnswerOutcome.NOT_REGISTERED
    if round_.status != RoundStatus.OPEN:
        return AnswerOutcome.ROUND_CLOSED
    # One statement, no savepoint: a second answer is simply not inserted.
    inserted = (
        Answer.insert(round=round_, member=member, kind=kind, answered_at=naive(now))
        .on_conflict_ignore()
        .returning(Answer.id)
        .execute()
    )
    if list(inserted):
        return AnswerOutcome.RECORDED
    if kind == AnswerKind.HELP:
        changed = (
            Answer.update(kind=AnswerKind.HELP)
            .where((Answer.round == round_) & (Answer.member == member) & (Answer.kind != AnswerKind.HELP))
            .execute()
        )
        if changed:
            return AnswerOutcome.NOW_HELP
    return AnswerOutcome.UNCHANGED


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
            MemberView(member_id, clean_name(nickname or display_name), utc(registered_at))
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
    closed = list(
        Round.update(status=RoundStatus.CLOSED, closed_at=naive(now))
        .where(Round.id.in_(round_ids) & (Round.status == RoundStatus.OPEN))
        .returning(Round.id, Round.group, Round.kind)
        .tuples()
        .execute()
    )
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
                    Recipient.of_group(group),
                    group_messages.summary(result, kind),
                    Purpose.SUMMARY,
                    now,
                    round_id,
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


def recent_emergencies(group_ids: list[int], since: datetime) -> dict[int, datetime]:
    """The latest emergency round start at or after ``since``, per group."""
    if not group_ids:
        return {}
    rows = (
        Round.select(Round.group, fn.MAX(Round.opened_at))
        .where(
            Round.group.in_(group_ids)
            & (Round.kind == RoundKind.EMERGENCY)
            & (Round.opened_at >= naive(since))
        )
        .group_by(Round.group)
        .tuples()
    )
    return {group_id: utc(opened_at) for group_id, opened_at in rows}
