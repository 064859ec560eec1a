"""Escalations: telling a watched person's contacts that a check went
unanswered, the first contact's 「わたしが確認します」, the outcome, and the
reminder when nobody takes it.

An escalation is never lost or doubled: the sweep claims the check's
deadline with compare-and-set before this module writes anything, the
``Escalation`` row is unique per check, and its messages are outbox rows
written in the same transaction (each push with its own retry key).  At most
one escalation per watch is unresolved: a newer one supersedes it, so the
contacts always act on the latest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from domain.kinds import (
    UNRESOLVED_ESCALATION_STATES,
    CheckState,
    EscalationOutcome,
    EscalationState,
    Purpose,
)
from messages import contacts as contact_messages
from messages import watch as watch_messages
from messages.i18n import built_in
from models import Contact, Escalation, Outbox, Person, Watch, WatchCheck, naive
from services.console_queue import queue_escalations
from services.contacts import local, name_of, person_name, tell_contacts, to_person
from services.outbox import push_row
from services.watch import check_rows
from services.watch_budget import Budget


def _contacts_of(watch_ids: list[int]) -> dict[int, list[tuple[int, str, str | None]]]:
    """(person id, LINE id, language) of each watch's contacts, in one query."""
    found: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
    rows = (
        Contact.select(Contact.watch, Person.id, Person.line_user_id, Person.language)
        .join(Person)
        .where(Contact.watch.in_(watch_ids))
        .order_by(Contact.consented_at, Contact.id)
        .tuples()
    )
    for watch_id, person_id, line_user_id, language in rows:
        found[watch_id].append((person_id, line_user_id, language))
    return found


def escalate(check_ids: list[int], now: datetime, settings, budget: Budget | None = None) -> list[int]:
    """Tell the contacts of each of these checks (already claimed: state
    escalated) by push: who, which check, when they last answered, what to
    do, and 「わたしが確認します」.  A watch with no contacts still gets its
    Escalation row (nobody to tell; the console sees it).  Returns the push
    ids (leased for the paced sender).  Five queries per batch."""
    if not check_ids:
        return []
    checks = check_rows(check_ids)
    watch_ids = sorted({c.watch_id for c in checks})
    Escalation.update(state=EscalationState.SUPERSEDED, closed_at=naive(now), followup_due_at=None).where(
        Escalation.watch.in_(watch_ids) & Escalation.state.in_(UNRESOLVED_ESCALATION_STATES)
    ).execute()
    contacts = _contacts_of(watch_ids)
    followup = naive(now + timedelta(seconds=settings.watch_followup_after))
    created = (
        Escalation.insert_many(
            [
                {
                    "check": c.id,
                    "watch": c.watch_id,
                    "state": EscalationState.OPEN,
                    "opened_at": naive(now),
                    "contacts_told": len(contacts[c.watch_id]),
                    "followup_due_at": followup if contacts[c.watch_id] else None,
                }
                for c in checks
            ]
        )
        .returning(Escalation.id, Escalation.check)
        .tuples()
        .execute()
    )
    escalation_of = {check_id: escalation_id for escalation_id, check_id in created}
    # A watch with nobody to tell goes straight to its organisation's queue.
    queue_escalations(sorted(escalation_of.values()), now)
    rows = [
        push_row(
            to_person(person_id, line_user_id),
            built_in(
                language,
                contact_messages.escalation,
                watch_messages.person_name(c.name or c.display_name),
                escalation_of[c.id],
                local(c.opened_at, settings.tz, c.line_user_id),
                local(c.last_ok_at, settings.tz, c.line_user_id),
            ),
            Purpose.WATCH_ESCALATION,
            now,
            watch=c.watch_id,
            enqueued_at=naive(now),
        )
        for c in checks
        for person_id, line_user_id, language in contacts[c.watch_id]
    ]
    if budget is not None:
        budget.spend(len(rows))
    if not rows:
        return []
    return [row_id for (row_id,) in Outbox.insert_many(rows).returning(Outbox.id).tuples().execute()]


def remind(escalation_ids: list[int], now: datetime, settings) -> list[int]:
    """Nobody has taken these escalations (claimed by the caller): tell
    every contact again.  Three queries per batch."""
    if not escalation_ids:
        return []
    escalations = list(
        Escalation.select(
            Escalation.id,
            Escalation.watch,
            WatchCheck.opened_at,
            Watch.name,
            Watch.last_ok_at,
            Person.display_name,
            Person.line_user_id,
        )
        .join(WatchCheck)
        .switch(Escalation)
        .join(Watch)
        .join(Person)
        .where(Escalation.id.in_(escalation_ids))
        .objects()
    )
    contacts = _contacts_of(sorted({e.watch_id for e in escalations}))
    # Nobody acted within the window: the organisation's operators see it.
    queue_escalations(escalation_ids, now)
    rows = [
        push_row(
            to_person(person_id, line_user_id),
            built_in(
                language,
                contact_messages.escalation,
                watch_messages.person_name(e.name or e.display_name),
                e.id,
                local(e.opened_at, settings.tz, e.line_user_id),
                local(e.last_ok_at, settings.tz, e.line_user_id),
                reminder=True,
            ),
            Purpose.WATCH_REMINDER,
            now,
            watch=e.watch_id,
            enqueued_at=naive(now),
        )
        for e in escalations
        for person_id, line_user_id, language in contacts[e.watch_id]
    ]
    if not rows:
        return []
    return [row_id for (row_id,) in Outbox.insert_many(rows).returning(Outbox.id).tuples().execute()]


# -- contacts answering ----------------------------------------------------------------
class Claim(StrEnum):
    WON = "won"  # this tap was first
    MINE = "mine"  # tapped again by the one who has it
    TAKEN = "taken"  # someone else has it
    CLOSED = "closed"  # resolved, answered, superseded or ended
    NOT_CONTACT = "not-contact"  # not a contact of this person (a forged tap)


class Report(StrEnum):
    RECORDED = "recorded"
    REPEATED = "repeated"  # 連絡がつかない again: the others were told already
    NOT_CLAIMER = "not-claimer"
    CLOSED = "closed"
    NOT_CONTACT = "not-contact"


@dataclass
class Answer:
    """What a contact's tap did, with what the handler needs to say."""

    result: StrEnum
    escalation_id: int = 0
    name: str = ""  # the watched person
    claimer: str = ""
    rows: list[Outbox] = field(default_factory=list)
    watch_id: int | None = None


def _load(escalation_id: int, person: Person) -> tuple[Escalation | None, str]:
    """The escalation if ``person`` is a contact of its watch, and the
    watched person's name."""
    escalation = Escalation.get_or_none(Escalation.id == escalation_id)
    if escalation is None or escalation.watch_id is None:
        return None, ""
    if (
        not Contact.select()
        .where((Contact.watch == escalation.watch_id) & (Contact.person == person.id))
        .exists()
    ):
        return None, ""
    watch = Watch.get_by_id(escalation.watch_id)
    return escalation, name_of(watch, Person.get_by_id(watch.person_id))


def _claimer_name(escalation: Escalation) -> str:
    return person_name(Person.get_by_id(escalation.claimed_by_id)) if escalation.claimed_by_id else ""


def claim(escalation_id: int, person: Person, now: datetime) -> Answer:
    """わたしが確認します: the first tap wins (compare-and-set on the state);
    the other contacts are told who has it."""
    escalation, name = _load(escalation_id, person)
    if escalation is None:
        return Answer(Claim.NOT_CONTACT)
    won = (
        Escalation.update(
            state=EscalationState.CLAIMED, claimed_by=person.id, claimed_at=naive(now), followup_due_at=None
        )
        .where((Escalation.id == escalation.id) & (Escalation.state == EscalationState.OPEN))
        .execute()
    )
    if won:
        rows = tell_contacts(
            escalation.watch_id,
            lambda: contact_messages.claimed_notice(name, person_name(person)),
            Purpose.WATCH_CLAIMED,
            now,
            except_person=person.id,
        )
        return Answer(Claim.WON, escalation.id, name, person_name(person), rows, escalation.watch_id)
    escalation = Escalation.get_by_id(escalation.id)
    if escalation.state == EscalationState.CLAIMED:
        mine = escalation.claimed_by_id == person.id
        return Answer(
            Claim.MINE if mine else Claim.TAKEN,
            escalation.id,
            name,
            _claimer_name(escalation),
            [],
            escalation.watch_id,
        )
    return Answer(Claim.CLOSED, escalation.id, name, watch_id=escalation.watch_id)


def report(escalation_id: int, person: Person, outcome: EscalationOutcome, now: datetime) -> Answer:
    """The contact who took the escalation says what they found; the
    others are told.  無事でした and 救急・警察に連絡した resolve it (and
    its check); 連絡がつかない keeps it theirs, to report again later."""
    escalation, name = _load(escalation_id, person)
    if escalation is None:
        return Answer(Report.NOT_CONTACT)
    mine = (
        (Escalation.id == escalation.id)
        & (Escalation.state == EscalationState.CLAIMED)
        & (Escalation.claimed_by == person.id)
    )
    if outcome.is_final:
        changed = (
            Escalation.update(
                state=EscalationState.RESOLVED, outcome=outcome, outcome_at=naive(now), closed_at=naive(now)
            )
            .where(mine)
            .execute()
        )
        if changed:
            WatchCheck.update(state=CheckState.RESOLVED, closed_at=naive(now), resend_due_at=None).where(
                (WatchCheck.id == escalation.check_id) & (WatchCheck.state == CheckState.ESCALATED)
            ).execute()
    else:
        changed = (
            Escalation.update(outcome=outcome, outcome_at=naive(now))
            .where(mine & (Escalation.outcome.is_null() | (Escalation.outcome != outcome)))
            .execute()
        )
    if changed:
        if outcome is EscalationOutcome.UNREACHABLE:
            # A contact could not reach them either: the organisation's operators see it.
            queue_escalations([escalation.id], now)
        rows = tell_contacts(
            escalation.watch_id,
            lambda: contact_messages.outcome_notice(name, person_name(person), outcome),
            Purpose.WATCH_OUTCOME,
            now,
            except_person=person.id,
        )
        return Answer(Report.RECORDED, escalation.id, name, person_name(person), rows, escalation.watch_id)
    escalation = Escalation.get_by_id(escalation.id)
    if escalation.state == EscalationState.CLAIMED and escalation.claimed_by_id == person.id:
        return Answer(Report.REPEATED, escalation.id, name, watch_id=escalation.watch_id)
    if escalation.state in UNRESOLVED_ESCALATION_STATES:
        return Answer(
            Report.NOT_CLAIMER, escalation.id, name, _claimer_name(escalation), watch_id=escalation.watch_id
        )
    return Answer(Report.CLOSED, escalation.id, name, watch_id=escalation.watch_id)
