"""/退会 in the one-to-one chat: delete everything the service holds about
a person.

- their watch, its contacts and invitations (rows deleted); its checks and
  escalations stay without the watch (anonymous, for the statistics);
- their links as someone else's contact (deleted; each person told);
- what the bot said about them or to them: the outbox rows keep their cost
  (the month's usage is derived from them) but lose their text and LINE id,
  and pushes not yet sent are cancelled;
- their name and LINE id: the Person row becomes an anonymous tombstone, so
  that their past answers in groups stay counted but belong to nobody; their
  group memberships end and lose their nicknames.

The contacts are told that the watch ended.  Runs in the caller's
transaction and returns the outbox rows it queued.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from domain.kinds import FINAL_OUTBOX_STATES, OutboxState, Purpose
from messages import contacts as contact_messages
from models import CodeAttempt, Escalation, Member, Outbox, Person, naive
from services.contacts import end_links_of, name_of, tell_contacts
from services.watch import end_everything, find_watch

ERASED_PREFIX = "erased:"


def _blank(where, keep: list[int]) -> None:
    """Forget what was said (and to whom) without forgetting what it cost;
    what is still waiting is not sent, except the rows in ``keep``."""
    Outbox.update(messages="[]", to=None).where(where & Outbox.state.in_(FINAL_OUTBOX_STATES)).execute()
    Outbox.update(state=OutboxState.CANCELLED, last_error="erased", messages="[]", to=None).where(
        where & (Outbox.state == OutboxState.PENDING) & Outbox.id.not_in(keep or [0])
    ).execute()


def erase_person(person: Person, now: datetime, keep: list[int] = ()) -> list[Outbox]:
    """Delete everything about ``person`` (see the module docstring).  The
    rows in ``keep`` (the answer to /退会, queued just before) are still
    sent, without the LINE id: a reply needs only its token."""
    keep = list(keep)
    rows: list[Outbox] = []
    watch = find_watch(person)
    if watch is not None:
        name = name_of(watch, person)
        end_everything(watch, now)
        _blank(Outbox.watch == watch.id, keep)
        rows += tell_contacts(
            watch.id, lambda: contact_messages.watch_deleted(name), Purpose.WATCH_ENDED, now
        )
        # The farewell names them, but it is what the contacts must hear;
        # it belongs to no watch once the watch is gone.
        Outbox.update(watch=None).where(Outbox.id.in_([r.id for r in rows])).execute()
        watch.delete_instance()  # contacts and invitations go with it; checks stay, anonymous
    rows += end_links_of(person, now)
    Escalation.update(claimed_by=None).where(Escalation.claimed_by == person.id).execute()
    CodeAttempt.delete().where(CodeAttempt.person == person.id).execute()
    Member.update(active=False, is_leader=False, left_at=naive(now)).where(
        (Member.person == person.id) & Member.active
    ).execute()
    Member.update(nickname=None).where(Member.person == person.id).execute()
    _blank(Outbox.person == person.id, keep)
    Outbox.update(to=None).where(Outbox.person == person.id).execute()
    Person.update(
        line_user_id=ERASED_PREFIX + uuid.uuid4().hex,
        display_name="",
        friend=False,
        friend_changed_at=None,
        away_until=None,
        age_band=None,
        sex=None,
    ).where(Person.id == person.id).execute()
    return rows
