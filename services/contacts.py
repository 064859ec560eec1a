"""見守り contacts: invitation codes, the consent that makes a contact, the
link either side can end, and telling contacts about their person.

A contact is never typed in: the watched person forwards an invitation (a
6-digit code, valid 72 hours, used once); the contact adds the bot, sends
the code and taps 「連絡先になる」.  Wrong codes are counted per sender
(``CodeAttempt``) and refused beyond WRONG_CODE_LIMIT a day, so a code
cannot be found by trying.  Every function runs inside the caller's
transaction and returns the outbox rows it queued, for the caller to send
right after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from peewee import IntegrityError

from domain.kinds import EscalationState, Purpose, RecipientKind
from domain.watch import MAX_CONTACTS, WRONG_CODE_WINDOW, code_locked, invitation_expiry, new_code
from messages import contacts as contact_messages
from messages import watch as watch_messages
from messages.flex import format_local
from messages.i18n import using
from models import CodeAttempt, Contact, Escalation, Invitation, Outbox, Person, Watch, db, naive, utc
from services import clock
from services.outbox import Recipient, push_row


def local(moment: datetime | None, tz, chat: str | None = None) -> str | None:
    """A stored or aware moment as the reader's 「11月28日 9時05分」.
    ``chat``: the watched person's LINE id; in the simulator their chat
    has a clock of its own (services/clock.chat_offset), told here."""
    if moment is None:
        return None
    return format_local((utc(moment) + clock.chat_offset(chat)).astimezone(tz))


def name_of(watch: Watch, person: Person) -> str:
    """The name contacts read for a watched person."""
    return watch_messages.person_name(watch.name or person.display_name)


def person_name(person: Person) -> str:
    return watch_messages.person_name(person.display_name)


def to_person(person_id: int, line_user_id: str) -> Recipient:
    return Recipient(RecipientKind.USER, line_user_id, person_id=person_id)


Messages = list[dict] | Callable[[], list[dict]]


def push(person: Person, messages: Messages, purpose: Purpose, now: datetime, watch_id: int | None) -> Outbox:
    """Queue a push to one person about ``watch_id``'s person.  ``messages``
    is best a builder (``lambda: contact_messages.…(…)``): it is built in the
    reader's language (Person.language)."""
    if callable(messages):
        with using(person.language):
            messages = messages()
    return Outbox.create(
        **push_row(to_person(person.id, person.line_user_id), messages, purpose, now, watch=watch_id)
    )


def contact_people(watch_id: int) -> list[Person]:
    """The watch's contacts, in the order they agreed."""
    return list(
        Person.select(Person)
        .join(Contact, on=(Contact.person == Person.id))
        .where(Contact.watch == watch_id)
        .order_by(Contact.consented_at, Contact.id)
    )


def contact_links(watch_id: int) -> list[tuple[int, Person]]:
    """(contact link id, contact) for each of the watch's contacts."""
    rows = (
        Contact.select(Contact, Person)
        .join(Person)
        .where(Contact.watch == watch_id)
        .order_by(Contact.consented_at, Contact.id)
    )
    return [(c.id, c.person) for c in rows]


def contact_names(watch: Watch) -> list[str]:
    return [person_name(p) for p in contact_people(watch.id)]


def count_contacts(watch_id: int) -> int:
    return Contact.select().where(Contact.watch == watch_id).count()


def tell_contacts(
    watch_id: int, messages: Messages, purpose: Purpose, now: datetime, except_person: int | None = None
) -> list[Outbox]:
    """Push ``messages`` to every contact of the watch (but one), each in
    their own language when ``messages`` is a builder."""
    return [
        push(contact, messages, purpose, now, watch_id)
        for contact in contact_people(watch_id)
        if contact.id != except_person
    ]


@dataclass(frozen=True)
class Watched:
    """Someone the person is a contact for."""

    contact_id: int
    watch: Watch
    person: Person

    @property
    def name(self) -> str:
        return name_of(self.watch, self.person)


def watched_by(person: Person) -> list[Watched]:
    """The people ``person`` is a contact for."""
    rows = (
        Contact.select(Contact, Watch, Person)
        .join(Watch)
        .join(Person)
        .where(Contact.person == person.id)
        .order_by(Contact.consented_at, Contact.id)
    )
    return [Watched(c.id, c.watch, c.watch.person) for c in rows]


# -- invitations ----------------------------------------------------------------
def live_invitation(watch: Watch, now: datetime) -> Invitation:
    """The watch's unused, unexpired invitation, or a new one.  Asking
    again within its 72 hours gives the same code (one code in the world
    per person at a time, fewer codes to guess)."""
    found = (
        Invitation.select()
        .where(
            (Invitation.watch == watch.id)
            & Invitation.used_at.is_null()
            & (Invitation.expires_at > naive(now))
        )
        .order_by(Invitation.created_at.desc())
        .first()
    )
    if found is not None:
        return found
    for _ in range(20):
        try:
            with db.atomic():
                return Invitation.create(
                    watch=watch,
                    code=new_code(),
                    created_at=naive(now),
                    expires_at=naive(invitation_expiry(now)),
                )
        except IntegrityError:
            continue  # the code is taken (one in a million per live code): draw again
    raise RuntimeError("could not find a free invitation code")


def wrong_attempts(person: Person, now: datetime) -> int:
    return (
        CodeAttempt.select()
        .where((CodeAttempt.person == person.id) & (CodeAttempt.at > naive(now - WRONG_CODE_WINDOW)))
        .count()
    )


def _wrong(person: Person, now: datetime) -> None:
    CodeAttempt.create(person=person, at=naive(now))


class CodeResult(StrEnum):
    OFFER = "offer"  # a good code: show whose contact they would become
    LINKED = "linked"  # the tap made them a contact
    UNUSABLE = "unusable"  # no such code, expired, or used (counted as a wrong try)
    LOCKED = "locked"  # too many wrong tries: not even looked up
    OWN = "own"  # the person's own code
    ALREADY = "already"  # already a contact of that person
    FULL = "full"  # the person has MAX_CONTACTS contacts


@dataclass
class CodeOutcome:
    result: CodeResult
    invitation: Invitation | None = None
    name: str = ""
    rows: list[Outbox] = field(default_factory=list)


def _vet(invitation: Invitation | None, person: Person, now: datetime) -> CodeOutcome:
    """The checks a code passes before it is offered, and again at the tap."""
    if invitation is None or invitation.used_at is not None or utc(invitation.expires_at) <= now:
        _wrong(person, now)
        return CodeOutcome(CodeResult.UNUSABLE)
    watch = invitation.watch
    name = name_of(watch, watch.person)
    if watch.person_id == person.id:
        return CodeOutcome(CodeResult.OWN, invitation, name)
    if Contact.select().where((Contact.watch == watch.id) & (Contact.person == person.id)).exists():
        return CodeOutcome(CodeResult.ALREADY, invitation, name)
    if count_contacts(watch.id) >= MAX_CONTACTS:
        return CodeOutcome(CodeResult.FULL, invitation, name)
    return CodeOutcome(CodeResult.OFFER, invitation, name)


def _invitation(where) -> Invitation | None:
    return Invitation.select(Invitation, Watch, Person).join(Watch).join(Person).where(where).first()


def offer_code(code: str, person: Person, now: datetime) -> CodeOutcome:
    """A code someone sent: whose contact they would become, or why not."""
    if code_locked(wrong_attempts(person, now)):
        return CodeOutcome(CodeResult.LOCKED)
    return _vet(_invitation(Invitation.code == code), person, now)


def accept(invitation_id: int, code: str, person: Person, now: datetime) -> CodeOutcome:
    """The tap on 「連絡先になる」: the code is checked again (the button
    carries it), used once, and the link made in a free slot; the watched
    person is told."""
    if code_locked(wrong_attempts(person, now)):
        return CodeOutcome(CodeResult.LOCKED)
    invitation = _invitation((Invitation.id == invitation_id) & (Invitation.code == code))
    outcome = _vet(invitation, person, now)
    if outcome.result is not CodeResult.OFFER:
        return outcome
    used = (
        Invitation.update(used_at=naive(now))
        .where(
            (Invitation.id == invitation.id)
            & Invitation.used_at.is_null()
            & (Invitation.expires_at > naive(now))
        )
        .execute()
    )
    if used != 1:
        _wrong(person, now)
        return CodeOutcome(CodeResult.UNUSABLE)
    watch = invitation.watch
    taken = {slot for (slot,) in Contact.select(Contact.slot).where(Contact.watch == watch.id).tuples()}
    free = [slot for slot in range(1, MAX_CONTACTS + 1) if slot not in taken]
    try:
        if not free:
            raise IntegrityError("no free slot")
        with db.atomic():
            Contact.create(watch=watch, person=person, slot=free[0], consented_at=naive(now))
    except IntegrityError:
        # Another contact took the last slot at the same moment: the code
        # stays usable for nobody else's benefit, so give it back.
        Invitation.update(used_at=None).where(Invitation.id == invitation.id).execute()
        return CodeOutcome(CodeResult.FULL, invitation, outcome.name)
    rows = [
        push(
            watch.person,
            lambda: watch_messages.contact_joined(person_name(person), count_contacts(watch.id)),
            Purpose.CONTACT,
            now,
            watch.id,
        )
    ]
    return CodeOutcome(CodeResult.LINKED, invitation, outcome.name, rows)


# -- ending links ------------------------------------------------------------------
def release_claims(person: Person, now: datetime, watch_id: int | None = None) -> None:
    """A contact who took an escalation and then left it: it is open again
    and the remaining contacts are reminded at the next sweep."""
    where = (Escalation.claimed_by == person.id) & (Escalation.state == EscalationState.CLAIMED)
    if watch_id is not None:
        where &= Escalation.watch == watch_id
    Escalation.update(
        state=EscalationState.OPEN, claimed_by=None, claimed_at=None, followup_due_at=naive(now)
    ).where(where).execute()


class EndResult(StrEnum):
    ENDED = "ended"
    GONE = "gone"  # no such link (ended already, or not the sender's)


@dataclass
class EndOutcome:
    result: EndResult
    other: str = ""
    rows: list[Outbox] = field(default_factory=list)
    watch_id: int | None = None


def end_link(contact_id: int, person: Person, now: datetime) -> EndOutcome:
    """Either side ends a contact link; the other side is told."""
    link = (
        Contact.select(Contact, Watch, Person)
        .join(Watch)
        .join(Person)
        .where(Contact.id == contact_id)
        .first()
    )
    if link is None or person.id not in (link.person_id, link.watch.person_id):
        return EndOutcome(EndResult.GONE)
    watch, watched = link.watch, link.watch.person
    contact = Person.get_by_id(link.person_id)
    if Contact.delete().where(Contact.id == link.id).execute() != 1:
        return EndOutcome(EndResult.GONE)
    release_claims(contact, now, watch.id)
    if person.id == contact.id:
        rows = [
            push(
                watched,
                lambda: watch_messages.contact_left(person_name(contact)),
                Purpose.CONTACT,
                now,
                watch.id,
            )
        ]
        return EndOutcome(EndResult.ENDED, name_of(watch, watched), rows, watch.id)
    rows = [
        push(
            contact,
            lambda: contact_messages.contact_ended(name_of(watch, watched)),
            Purpose.CONTACT,
            now,
            watch.id,
        )
    ]
    return EndOutcome(EndResult.ENDED, person_name(contact), rows, watch.id)


def end_links_of(person: Person, now: datetime) -> list[Outbox]:
    """``person`` stops being anyone's contact (they blocked the bot or
    deleted everything): each person they watched is told."""
    rows = []
    for watched in watched_by(person):
        Contact.delete().where(Contact.id == watched.contact_id).execute()
        rows.append(
            push(
                watched.person,
                lambda: watch_messages.contact_left(person_name(person)),
                Purpose.CONTACT,
                now,
                watched.watch.id,
            )
        )
    release_claims(person, now)
    return rows


def prune(now: datetime) -> int:
    """Forget expired invitations and wrong tries older than the window."""
    invitations = Invitation.delete().where(Invitation.expires_at <= naive(now)).execute()
    attempts = CodeAttempt.delete().where(CodeAttempt.at <= naive(now - WRONG_CODE_WINDOW)).execute()
    return invitations + attempts
