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

from domain.kinds import EscalationOutcome, EscalationState, FollowUpState, Purpose
from domain.names import clean_name
from messages import console_outcomes
from messages import organisation as organisation_messages
from messages.i18n import built_in
from models import (
    Answer,
    Escalation,
    FollowUp,
    Group,
    Member,
    Operator,
    Organisation,
    Person,
    QueueItem,
    Round,
    Watch,
    db,
    naive,
)
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
    return _insert(query)


def queue_help(answer_id: int, now: datetime) -> int:
    """Queue one 助けが必要 answer, if its group belongs to an organisation.
    Called by services.rounds.record_answer, inside the transaction that
    records the answer, so the need is queued the moment it exists."""
    org_id = Group.select(Group.organisation).join(Round).join(Answer).where(Answer.id == answer_id).scalar()
    return collect_help(org_id, now, answer_id) if org_id else 0


_FIELDS = [
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


def _insert(query) -> int:
    return QueueItem.insert_from(query, _FIELDS).on_conflict_ignore().as_rowcount().execute() or 0


def _follow_ups(kind: str, raised, where, org_id: int | None, ids: list[int] | None, now: datetime) -> int:
    """INSERT … SELECT the follow-ups matching ``where`` of groups linked to
    an organisation (``org_id``'s only, when given; ``ids`` only, when given)."""
    query = (
        FollowUp.select(
            Group.organisation,
            FollowUp.group,
            Member.person,
            Value(kind),
            FollowUp.id,
            raised,
            Value("open"),
            Value(""),
            Value(naive(now)),
        )
        .join(Group, on=(FollowUp.group == Group.id))
        .switch(FollowUp)
        .join(Member, JOIN.LEFT_OUTER, on=(FollowUp.member == Member.id))
        .where(where & Group.organisation.is_null(False))
    )
    if org_id is not None:
        query = query.where(Group.organisation == org_id)
    if ids is not None:
        if not ids:
            return 0
        query = query.where(FollowUp.id.in_(ids))
    else:
        # The sweep-up reads recent rounds' follow-ups through the indexed
        # summary_due_at (and (round, member)), not every follow-up ever made.
        query = query.join(Round, on=(FollowUp.round == Round.id)).where(
            Round.summary_due_at >= naive(now - HELP_WINDOW)
        )
    return _insert(query)


def collect_unreached(org_id: int | None, now: datetime, ids: list[int] | None = None) -> int:
    """Follow-ups a neighbour marked 「連絡がつかない」 (recent ones, or ``ids``)."""
    where = FollowUp.unreachable_at.is_null(False) & (FollowUp.state == FollowUpState.ESCALATED)
    if ids is None:
        where &= FollowUp.unreachable_at >= naive(now - HELP_WINDOW)
    return _follow_ups("followup_unreached", FollowUp.unreachable_at, where, org_id, ids, now)


def collect_overdue(org_id: int | None, now: datetime, ids: list[int] | None = None) -> int:
    """Follow-ups still unclaimed when their reminder went to the leaders."""
    where = (FollowUp.state == FollowUpState.OPEN) & FollowUp.reminded_at.is_null(False)
    if ids is None:
        where &= FollowUp.reminded_at >= naive(now - HELP_WINDOW)
    return _follow_ups("followup_overdue", FollowUp.reminded_at, where, org_id, ids, now)


def queue_unreached(follow_up_id: int, now: datetime) -> int:
    """Called by services.followups.record in the transaction that records 連絡がつかない."""
    return collect_unreached(None, now, [follow_up_id])


def queue_overdue(follow_up_ids: list[int], now: datetime) -> int:
    """Called by services.reminders.write_reminders in the sweep's transaction."""
    return collect_overdue(None, now, list(follow_up_ids))


def collect_escalations(org_id: int | None, now: datetime, ids: list[int] | None = None) -> int:
    """Escalated 見守り of watches linked to an organisation where no contact
    acted: still open after the contacts were reminded (or with no contact
    to tell at all), or a contact's 「連絡がつかない」."""
    acted_on_by_nobody = (Escalation.state == EscalationState.OPEN) & (
        Escalation.reminded_at.is_null(False) | (Escalation.contacts_told == 0)
    )
    unreachable = (Escalation.state == EscalationState.CLAIMED) & (
        Escalation.outcome == EscalationOutcome.UNREACHABLE
    )
    query = (
        Escalation.select(
            Watch.organisation,
            Value(None),
            Watch.person,
            Value("watch_escalation"),
            Escalation.id,
            Escalation.opened_at,
            Value("open"),
            Value(""),
            Value(naive(now)),
        )
        .join(Watch, on=(Escalation.watch == Watch.id))
        .where((acted_on_by_nobody | unreachable) & Watch.organisation.is_null(False))
    )
    if org_id is not None:
        query = query.where(Watch.organisation == org_id)
    if ids is not None:
        if not ids:
            return 0
        query = query.where(Escalation.id.in_(ids))
    else:
        query = query.where(Escalation.opened_at >= naive(now - HELP_WINDOW))
    return _insert(query)


def queue_escalations(escalation_ids: list[int], now: datetime) -> int:
    """Called by services.escalations (escalate, remind, report) in their transaction."""
    return collect_escalations(None, now, list(escalation_ids))


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


def _tell_group_follow_up(item: QueueItem, outcome: str, now: datetime) -> None:
    """The group that asked neighbours to check is told an operator did
    (no name: the summary named them where the group's rule allows)."""
    group = Group.get_or_none(Group.id == item.group_id) if item.group_id else None
    if group is None or not group.active:
        return
    org = Organisation.get_by_id(item.organisation_id)
    add_push(
        group,
        built_in(group.language, organisation_messages.follow_up_outcome, org.name, outcome),
        "queue-outcome",
        now,
        dedup_key=f"queue-outcome:{item.id}",
    )


def _tell_contacts(item: QueueItem, outcome: str, now: datetime) -> None:
    """The contacts of the watched person are told what the operator found."""
    from services.contacts import name_of, tell_contacts  # services.contacts is heavier; only here

    escalation = Escalation.get_or_none(Escalation.id == item.source_id)
    watch = Watch.get_or_none(Watch.id == escalation.watch_id) if escalation and escalation.watch_id else None
    if watch is None:
        return
    org = Organisation.get_by_id(item.organisation_id)
    tell_contacts(
        watch.id,
        lambda: organisation_messages.watch_outcome(org.name, name_of(watch, watch.person), outcome),
        Purpose.WATCH_OUTCOME,
        now,
    )


@dataclass(frozen=True)
class Source:
    label: str  # what the queue calls it
    collect: Callable[[int, datetime], int] | None  # None: the source does not exist yet
    tell: Callable[[QueueItem, str, datetime], None] | None = None  # who is told of the outcome
    told: str = ""  # the rule, in words, for the page


SOURCES: dict[str, Source] = {
    "help": Source("助けが必要", collect_help, _tell_group, "グループに「担当者が対応した」とお知らせします"),
    # Each is inserted by its producer in the transaction that creates the
    # need (services.followups, services.reminders, services.escalations);
    # ``collect`` only sweeps up what arose before the organisation linked
    # the group or watch, or before this was deployed.
    "followup_unreached": Source(
        "「連絡がつかない」との報告", collect_unreached, _tell_group_follow_up, "グループにお知らせします"
    ),
    "followup_overdue": Source(
        "声かけの引き受け手がいない", collect_overdue, _tell_group_follow_up, "グループにお知らせします"
    ),
    "watch_escalation": Source(
        "見守りの連絡先が対応していない", collect_escalations, _tell_contacts, "連絡先の方にお知らせします"
    ),
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
    line_side: str | None = None  # where the need stands on the LINE side now (line_side())


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


def consented_name(item: QueueItem) -> str | None:
    """The person's name, only where they (or their group's leader) agreed
    that this organisation sees it: a group linked to it that shares names
    (/設定 名前 団体にも), or a 見守り the person linked to it (/団体 CODE).
    Consent taken back later hides the name again."""
    if item.source_kind == "watch_escalation":
        watch = Watch.get_or_none(Watch.person == item.person_id) if item.person_id else None
        if watch is None or watch.organisation_id != item.organisation_id:
            return None
        return clean_name(watch.name or watch.person.display_name) or None
    group = item.group if item.group_id else None
    if group is None or not group.names_shared or group.organisation_id != item.organisation_id:
        return None
    if item.source_kind in ("followup_unreached", "followup_overdue"):
        follow_up = FollowUp.get_or_none(FollowUp.id == item.source_id)
        return follow_up.name if follow_up else None
    if item.person_id:
        member = Member.get_or_none((Member.group == group.id) & (Member.person == item.person_id))
        return member.name if member else item.person.display_name
    return None


_FOLLOW_UP_NOW = {
    FollowUpState.OPEN: "近所の方はまだだれも確認に向かっていません",
    FollowUpState.CLAIMED: "近所の方が確認に向かっています",
    FollowUpState.ESCALATED: "近所の方も連絡がつかないと報告しています",
}
_FOLLOW_UP_DONE = {
    "safe": "近所の方が無事を確認しました",
    "needed-help": "近所の方が「助けが必要だった」と報告しました",
    "self-ok": "ご本人からOKがありました",
    "superseded": "次のまとめで改めて確認しています",
    "withdrawn": "グループを抜けました",
}
_ESCALATION_NOW = {
    EscalationState.OPEN: "連絡先の方はまだだれも対応していません",
    EscalationState.CLAIMED: "連絡先の方が確認に向かっています",
    EscalationState.ANSWERED: "ご本人からOKがありました",
    EscalationState.SUPERSEDED: "次の確認で改めて連絡先に知らせています",
    EscalationState.ENDED: "見守りが終わりました",
}


def line_side(item: QueueItem) -> str | None:
    """Where the need stands on the LINE side now: neighbours or contacts
    may settle it before an operator does (the item stays for the operator
    to close; this tells them what they will find)."""
    if item.source_kind in ("followup_unreached", "followup_overdue"):
        follow_up = FollowUp.get_or_none(FollowUp.id == item.source_id)
        if follow_up is None:
            return None
        if follow_up.state == FollowUpState.DONE:
            return _FOLLOW_UP_DONE.get(follow_up.outcome)
        return _FOLLOW_UP_NOW.get(follow_up.state)
    if item.source_kind == "watch_escalation":
        escalation = Escalation.get_or_none(Escalation.id == item.source_id)
        if escalation is None:
            return None
        if escalation.state == EscalationState.RESOLVED:
            if escalation.outcome == EscalationOutcome.EMERGENCY:
                return "連絡先の方が救急・警察に連絡しました"
            return "連絡先の方が無事を確認しました"
        if (
            escalation.state == EscalationState.CLAIMED
            and escalation.outcome == EscalationOutcome.UNREACHABLE
        ):
            return "連絡先の方も連絡がつかないと報告しています"
        return _ESCALATION_NOW.get(escalation.state)
    return None


def row_of(item: QueueItem) -> QueueRow:
    group = item.group if item.group_id else None
    source = SOURCES.get(item.source_kind)
    if group is not None:
        where = group_label(group.id)
    elif item.source_kind == "watch_escalation":
        where = "見守り（1対1）"
    else:
        where = "（グループなし）"
    return QueueRow(
        item=item,
        label=source.label if source else item.source_kind,
        group_label=where,
        area_code=group.area_code if group else None,
        person_name=consented_name(item),
        claimed_by=(item.claimed_by.name or item.claimed_by.email) if item.claimed_by_id else None,
        line_side=line_side(item),
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
