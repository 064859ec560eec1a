"""Rounds: opening a safety check, recording answers, closing it with its
summary — each a state change plus its outbox rows, in one transaction.

Every function here runs inside ``db.atomic()`` (the caller's) and starts
with a conditional write, so whichever process gets there first does the
work and every other one does nothing.  The batch forms used by the sweep
run a fixed number of queries per batch of groups, whatever the batch size
(no N+1).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from peewee import fn

from config import Settings
from domain.kinds import AnswerKind, Purpose, RoundKind, RoundStatus
from messages import group as group_messages
from messages.i18n import ByLanguage, using
from models import Answer, Group, Member, Outbox, Round, insert_rows, naive, utc
from services import console_queue
from services.outbox import Recipient, add_push, push_row
from services.summaries import ClosedRound, write_summaries

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
    with using(group.language):
        prompt = group_messages.prompt(opened.id, kind, headline)
    if announce is None:
        add_push(group, prompt, Purpose.PROMPT, now, round=opened)
    else:
        announce(prompt, opened)
    return opened


def open_routine_rounds(groups: list, now: datetime, delay_seconds: float) -> int:
    """Open a routine round in each of ``groups`` (already claimed by the
    caller; each has ``id`` and ``line_group_id``): one INSERT for the
    rounds, one for their prompts (per INSERT_ROWS_CHUNK groups)."""
    if not groups:
        return 0
    created = insert_rows(
        Round,
        [
            {
                "group": g.id,
                "kind": RoundKind.ROUTINE,
                "opened_at": naive(now),
                "summary_due_at": naive(now + timedelta(seconds=delay_seconds)),
            }
            for g in groups
        ],
        returning=(Round.id, Round.group),
    )
    round_of = {group_id: round_id for round_id, group_id in created}
    prompt_of = ByLanguage(lambda: group_messages.prompt_json(RoundKind.ROUTINE))  # -> round id -> JSON
    insert_rows(
        Outbox,
        [
            push_row(
                Recipient.of_group(g),
                prompt_of(getattr(g, "language", None))(round_of[g.id]),
                Purpose.PROMPT,
                now,
                round_of[g.id],
            )
            for g in groups
        ],
    )
    return len(groups)


def current_round(group: Group) -> Round | None:
    """The group's open round, if any (the newest, should there be two)."""
    return (
        Round.select()
        .where((Round.group == group) & (Round.status == RoundStatus.OPEN))
        .order_by(Round.opened_at.desc())
        .first()
    )


def latest_round(group: Group) -> Round | None:
    """The group's most recent round, open or closed."""
    return (
        Round.select().where(Round.group == group).order_by(Round.opened_at.desc(), Round.id.desc()).first()
    )


def answer_of(round_: Round, member: Member) -> str | None:
    """The member's answer to ``round_`` (ok, help), if any."""
    return Answer.select(Answer.kind).where((Answer.round == round_) & (Answer.member == member)).scalar()


def open_rounds(group: Group) -> list[Round]:
    """The group's open rounds, newest first (a drill may run beside a
    leader's /確認 or the routine check)."""
    return list(
        Round.select()
        .where((Round.group == group) & (Round.status == RoundStatus.OPEN))
        .order_by(Round.opened_at.desc(), Round.id.desc())
    )


def open_round_ids(group: Group) -> list[int]:
    return [r.id for r in open_rounds(group)]


class AnswerOutcome(StrEnum):
    RECORDED = "recorded"  # a first answer
    NOW_HELP = "now-help"  # an OK turned into 助けが必要
    HELP_KEPT = "help-kept"  # an OK after 助けが必要: heard, help kept until someone confirms
    UNCHANGED = "unchanged"  # already answered so
    ROUND_CLOSED = "round-closed"
    NOT_REGISTERED = "not-registered"


def record_answer(round_: Round, member: Member | None, kind: AnswerKind, now: datetime) -> AnswerOutcome:
    """Record ``member``'s OK (or 助けが必要) for ``round_``.  Someone who said
    OK and then asks for help is heard; an OK after help keeps the help (a
    neighbour or a leader confirms them) and says so."""
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
        if kind == AnswerKind.HELP:
            _queue_help(round_, member, now)
        return AnswerOutcome.RECORDED
    if kind == AnswerKind.HELP:
        changed = (
            Answer.update(kind=AnswerKind.HELP)
            .where((Answer.round == round_) & (Answer.member == member) & (Answer.kind != AnswerKind.HELP))
            .execute()
        )
        if changed:
            _queue_help(round_, member, now)
            return AnswerOutcome.NOW_HELP
    elif (
        Answer.select()
        .where((Answer.round == round_) & (Answer.member == member) & (Answer.kind == AnswerKind.HELP))
        .exists()
    ):
        return AnswerOutcome.HELP_KEPT
    return AnswerOutcome.UNCHANGED


def _queue_help(round_: Round, member: Member, now: datetime) -> None:
    """A 助けが必要 in a group linked to an organisation goes to its
    operators' queue in the same transaction (outbox principle)."""
    group_org = Group.select(Group.organisation).where(Group.id == round_.group_id).scalar()
    if group_org is None:
        return
    answer_id = Answer.select(Answer.id).where((Answer.round == round_) & (Answer.member == member)).scalar()
    console_queue.queue_help(answer_id, now)


def close_rounds(
    round_ids: list[int], now: datetime, settings: Settings | None = None, send_summary: bool = True
) -> list[int]:
    """Close those of ``round_ids`` that are still open and queue one summary
    each, with its follow-ups (services/summaries.py).  Returns the ids this
    call closed (others were closed by someone else).  A fixed number of
    queries, however many rounds."""
    if not round_ids:
        return []
    closed = [
        ClosedRound(round_id, group_id, kind, utc(opened_at), utc(skipped))
        for round_id, group_id, kind, opened_at, skipped in Round.update(
            status=RoundStatus.CLOSED, closed_at=naive(now)
        )
        .where(Round.id.in_(round_ids) & (Round.status == RoundStatus.OPEN))
        .returning(Round.id, Round.group, Round.kind, Round.opened_at, Round.skipped_routine_at)
        .tuples()
        .execute()
    ]
    if closed and send_summary:
        if settings is None:
            raise ValueError("a summary needs the settings (time zone, reminder delay)")
        write_summaries(closed, now, settings)
    return [r.id for r in closed]


def close_round(
    round_id: int, now: datetime, settings: Settings | None = None, send_summary: bool = True
) -> Round | None:
    """Close one round (see close_rounds); the round if this call closed it."""
    if close_rounds([round_id], now, settings, send_summary):
        return Round.get_by_id(round_id)
    return None


def absorb_routine(round_ids: list[int], occurrence: datetime) -> int:
    """A routine occurrence came due while these rounds were open: it is not
    opened (members are being asked already), and each round's summary will
    say so.  The first skipped occurrence is the one kept."""
    if not round_ids:
        return 0
    return (
        Round.update(skipped_routine_at=naive(occurrence))
        .where(Round.id.in_(round_ids) & Round.skipped_routine_at.is_null())
        .execute()
    )


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
