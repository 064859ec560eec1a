"""The queue: every person who needs a human, as work an operator claims.

Each need is a ``QueueItem`` row, whatever produced it.  A source is one
entry in SOURCES: a label, and ``collect(org_id, now)`` — one idempotent
``INSERT … SELECT … ON CONFLICT DO NOTHING`` that queues the needs it finds
(unique on (source_kind, source_id), so running it again, from any number of
web workers, queues nothing twice).  Sources built later (follow-ups marked
「連絡がつかない」, unclaimed follow-ups past their reminder, escalated 見守り
with no contact acting) add an entry here, or insert rows themselves in the
transaction that creates the need; nothing else changes.

Every state change is a compare-and-set on ``state`` (open -> claimed ->
done), scoped to the organisation, so two operators never both hold an item
and an item of another organisation is never touched.  Recording an outcome
also queues, in the same transaction, what the rule of the source says
(TELL): for a 助けが必要 the group is told it was handled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import JOIN, SQL, Value

from messages import console_outcomes
from messages.i18n import built_in
from models import Answer, Group, Member, Operator, Organisation, Person, QueueItem, Round, db, naive
from services.outbox import add_push

# Until the bot queues each 助けが必要 in its own transaction (queue_help,
# below), the console sweeps up those of rounds opened within this long
# whenever a page of the console that shows the queue is opened.
HELP_WINDOW = timedelta(days=30)

OUTCOMES = {
    "reached": "電話でつながった",
    "visited": "訪問した",
    "emergency": "救急・警察",
    "unreached": "つながらない",
}
STATES = {"open": "未対応", "claimed": "対応中", "done": "対応済み"}
MAX_NOTE = 1000


def collect_help(org_id: int, now: datetime, answer_id: int | None = None) -> int:
    """Queue every 助けが必要 answer of the organisation's recent rounds (or
    only ``answer_id``)."""
    query = (
        Answer.select(
            Value(org_id),
            Round.group,
            Member.person,
            Value("help"),
            Answer.id,
            Answer.answered_at,
            Value("open"),
            Value(""),
            Value(naive(now)),
        )
        .join(Round)
        .join(Group)
        .switch(Answer)
        .join(Member)
        .where(
            (Answer.kind == "help")
            & (Group.organisation == org_id)
            # summary_due_at is indexed and follows opened_at closely.
            & (Round.summary_due_at >= naive(now - HELP_WINDOW))
            & (Round.opened_at >= naive(now - HELP_WINDOW))
        )
    )
    if answer_id is not None:
        query = query.where(Answer.id == answer_id)
    fields = [
        QueueItem.organisation,
        QueueItem.group,
        QueueItem.person,
        QueueItem.source_kind,
        QueueItem.source_id,
        QueueItem.raised_at,
        QueueItem.state,
        QueueItem.note,
        QueueItem.created_at,
    ]
    return QueueItem.insert_from(query, fields).on_conflict_ignore().as_rowcount().execute() or 0


def queue_help(answer_id: int, now: datetime) -> int:
    """Queue one 助けが必要 answer, if its group belongs to an organisation.
    Meant for the bot's record_answer, inside the transaction that records
    the answer, so the need is queued the moment it exists."""
    org_id = Group.select(Group.organisation).join(Round).join(Answer).where(Answer.id == answer_id).scalar()
    return collect_help(org_id, now, answer_id) if org_id else 0


def _tell_group(item: QueueItem, outcome: str, now: datetime) -> None:
    group = Group.get_or_none(Group.id == item.group_id) if item.group_id else None
    if group is None or not group.active:
        return
    org = Organisation.get_by_id(item.organisation_id)
    add_push(
        group,
        built_in(group.language, console_outcomes.help_outcome, org.name, outcome),
        "queue-outcome",
        now,
        dedup_key=f"queue-outcome:{item.id}",
    )


@dataclass(frozen=True)
class Source:
    label: str  # what the queue calls it
    collect: Callable[[int, datetime], int] | None  # None: the source does not exist yet
    tell: Callable[[QueueItem, str, datetime], None] | None = None  # who is told of the outcome
    told: str = ""  # the rule, in words, for the page


SOURCES: dict[str, Source] = {
    "help": Source("助けが必要", collect_help, _tell_group, "グループに「担当者が対応した」とお知らせします"),
    # Not built yet; their producers insert QueueItem rows with these kinds.
    "followup_unreached": Source("「連絡がつかない」との報告", None, told="グループにお知らせします"),
    "followup_overdue": Source("声かけの引き受け手がいない", None, told="グループにお知らせします"),
    "watch_escalation": Source("見守りの連絡先が対応していない", None, told="連絡先の方にお知らせします"),
}


def collect(org_id: int, now: datetime) -> int:
    """Run every source that exists; returns how many needs were new."""
    return sum(source.collect(org_id, now) for source in SOURCES.values() if source.collect)


def item_of(org_id: int, item_id: int) -> QueueItem | None:
    return QueueItem.get_or_none((QueueItem.id == item_id) & (QueueItem.organisation == org_id))


def claim(org_id: int, item_id: int, operator: Operator, now: datetime) -> bool:
    """Take an open item; False if someone else took it first (or it is not ours)."""
    return bool(
        QueueItem.update(state="claimed", claimed_by=operator.id, claimed_at=naive(now))
        .where((QueueItem.id == item_id) & (QueueItem.organisation == org_id) & (QueueItem.state == "open"))
        .execute()
    )


def release(org_id: int, item_id: int, operator: Operator) -> bool:
    """Put an item one holds back in the queue, for someone else."""
    return bool(
        QueueItem.update(state="open", claimed_by=None, claimed_at=None)
        .where(
            (QueueItem.id == item_id)
            & (QueueItem.organisation == org_id)
            & (QueueItem.state == "claimed")
            & (QueueItem.claimed_by == operator.id)
        )
        .execute()
    )


def record_outcome(
    org_id: int, item_id: int, operator: Operator, outcome: str, note: str, now: datetime
) -> bool:
    """Close an item one holds with its outcome, and queue what the source's
    rule says, in one transaction.  False if one does not hold it."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    with db.atomic():
        won = (
            QueueItem.update(
                state="done", outcome=outcome, note=(note or "").strip()[:MAX_NOTE], done_at=naive(now)
            )
            .where(
                (QueueItem.id == item_id)
                & (QueueItem.organisation == org_id)
                & (QueueItem.state == "claimed")
                & (QueueItem.claimed_by == operator.id)
            )
            .execute()
        )
        if not won:
            return False
        item = QueueItem.get_by_id(item_id)
        source = SOURCES.get(item.source_kind)
        if source and source.tell:
            source.tell(item, outcome, now)
    return True


@dataclass(frozen=True)
class QueueRow:
    item: QueueItem
    label: str
    group_label: str
    area_code: str | None
    person_name: str | None  # only where the group shares names with the organisation
    claimed_by: str | None


def list_items(org_id: int, state: str = "open", limit: int = 200) -> list[QueueRow]:
    """Items in ``state``: open and claimed oldest first, done newest first."""
    order = QueueItem.done_at.desc() if state == "done" else QueueItem.raised_at
    rows = (
        QueueItem.select(QueueItem, Group, Person, Operator)
        .join(Group, on=(QueueItem.group == Group.id), join_type=JOIN.LEFT_OUTER)
        .switch(QueueItem)
        .join(Person, on=(QueueItem.person == Person.id), join_type=JOIN.LEFT_OUTER)
        .switch(QueueItem)
        .join(Operator, on=(QueueItem.claimed_by == Operator.id), join_type=JOIN.LEFT_OUTER)
        .where((QueueItem.organisation == org_id) & (QueueItem.state == state))
        .order_by(order, QueueItem.id)
        .limit(limit)
    )
    return [row_of(item) for item in rows]


def row_of(item: QueueItem) -> QueueRow:
    group = item.group if item.group_id else None
    name = None
    if group is not None and group.names_shared and item.person_id:
        member = Member.get_or_none((Member.group == group.id) & (Member.person == item.person_id))
        name = member.name if member else item.person.display_name
    source = SOURCES.get(item.source_kind)
    return QueueRow(
        item=item,
        label=source.label if source else item.source_kind,
        group_label=group_label(group.id) if group else "（グループなし）",
        area_code=group.area_code if group else None,
        person_name=name,
        claimed_by=(item.claimed_by.name or item.claimed_by.email) if item.claimed_by_id else None,
    )


def group_label(group_id: int) -> str:
    """How the console names a group: the bot does not keep LINE group names."""
    return f"グループ {group_id}"


def counts(org_id: int) -> dict[str, int]:
    rows = (
        QueueItem.select(QueueItem.state, SQL("COUNT(*)"))
        .where(QueueItem.organisation == org_id)
        .group_by(QueueItem.state)
        .tuples()
    )
    found = dict.fromkeys(STATES, 0)
    found.update({state: int(n) for state, n in rows})
    return found
