"""Who is in a group: registering (参加する), names, leaving, leadership."""

from __future__ import annotations

import uuid
from datetime import datetime

from peewee import IntegrityError

from domain.names import clean_name
from models import Contact, Group, Member, Person, Watch, db, naive


def find_person(line_user_id: str) -> Person | None:
    return Person.get_or_none(Person.line_user_id == line_user_id)


def find_member(group: Group, person: Person | None) -> Member | None:
    if person is None:
        return None
    return Member.get_or_none((Member.group == group) & (Member.person == person))


def find_sender(group: Group, line_user_id: str) -> tuple[Person | None, Member | None]:
    """The person and their membership of ``group`` (either may be None),
    in one query when they are a member."""
    member = (
        Member.select(Member, Person)
        .join(Person)
        .where((Member.group == group) & (Person.line_user_id == line_user_id))
        .first()
    )
    if member is not None:
        return member.person, member
    return find_person(line_user_id), None


def ensure_person(
    line_user_id: str, display_name: str | None, now: datetime, from_line: bool = False
) -> Person:
    """The Person for a LINE user, created on first sight.  A display name
    LINE gave us replaces the stored one (people rename themselves);
    ``from_line`` says it was read from LINE just now, which keeps the next
    reads away for a day."""
    # What LINE gives may hold anything (a NUL, an RLO, 500 characters): it is
    # stored as it will be shown, so the person can always register.
    display_name = clean_name(display_name, limit=100)
    fetched = {"name_fetched_at": naive(now)} if from_line and display_name else {}
    person = find_person(line_user_id)
    if person is None:
        try:
            with db.atomic():
                return Person.create(
                    line_user_id=line_user_id,
                    display_name=display_name or "",
                    created_at=naive(now),
                    **fetched,
                )
        except IntegrityError:
            person = Person.get(Person.line_user_id == line_user_id)
    if (display_name and person.display_name != display_name) or fetched:
        Person.update(display_name=display_name or person.display_name, **fetched).where(
            Person.id == person.id
        ).execute()
        person.display_name = display_name or person.display_name
    return person


def register(
    group: Group, person: Person, member: Member | None, now: datetime, nickname: str | None = None
) -> tuple[Member, bool]:
    """Register ``person`` in ``group`` (idempotent).  Returns the member and
    whether they were newly registered (or re-registered after leaving)."""
    if member is None:
        try:
            with db.atomic():
                return (
                    Member.create(group=group, person=person, nickname=nickname, registered_at=naive(now)),
                    True,
                )
        except IntegrityError:
            member = Member.get((Member.group == group) & (Member.person == person))
    fresh = not member.active
    if fresh or nickname:
        member.active = True
        member.left_at = None
        if fresh:
            member.registered_at = naive(now)
        if nickname:
            member.nickname = nickname
        member.save()
    return member, fresh


def leave(group: Group, person_ids: list[int], now: datetime) -> int:
    """Members stop being registered (they left the group or sent /退会);
    a leader who leaves stops being a leader.  Rows are kept so past rounds
    still read correctly.  Returns how many were registered."""
    if not person_ids:
        return 0
    return (
        Member.update(active=False, is_leader=False, left_at=naive(now))
        .where((Member.group == group) & Member.person.in_(person_ids) & Member.active)
        .execute()
    )


def leave_by_line_ids(group: Group, line_user_ids: list[str], now: datetime) -> list[Person]:
    """The people among ``line_user_ids`` stop being registered in ``group``;
    returns those people."""
    people = list(Person.select().where(Person.line_user_id.in_(line_user_ids))) if line_user_ids else []
    leave(group, [p.id for p in people], now)
    return people


def leaders(group: Group) -> list[Member]:
    return list(
        Member.select(Member, Person)
        .join(Person)
        .where((Member.group == group) & Member.active & Member.is_leader)
        .order_by(Member.registered_at)
    )


def leader_names(group: Group) -> list[str]:
    return [m.name for m in leaders(group)]


def active_members(group: Group) -> list[Member]:
    return list(Member.select(Member, Person).join(Person).where((Member.group == group) & Member.active))


def count_active(group: Group) -> int:
    return Member.select().where((Member.group == group) & Member.active).count()


def make_leader(member: Member) -> None:
    Member.update(is_leader=True).where(Member.id == member.id).execute()
    member.is_leader = True


def set_friend(person: Person, friend: bool, now: datetime) -> None:
    """Record a follow (friend) or an unfollow (blocked)."""
    Person.update(friend=friend, friend_changed_at=naive(now)).where(Person.id == person.id).execute()
    person.friend = friend


def stop_leading(member: Member) -> None:
    Member.update(is_leader=False).where(Member.id == member.id).execute()
    member.is_leader = False


def forget_if_unused(person: Person) -> bool:
    """After someone leaves a group: if nothing else needs to know who they
    are (no group they are still in), keep no trace of them — the LINE user
    id and name are replaced, while their past answers stay, anonymous, in
    the counts.  Returns whether they were forgotten.  (The one-to-one
    見守り adds its own rows to "what needs them".)"""
    still_in = Member.select().where((Member.person == person) & Member.active).exists()
    if still_in or _needed_elsewhere(person):
        return False
    Member.update(nickname=None).where(Member.person == person).execute()
    Person.update(
        line_user_id=f"forgotten-{uuid.uuid4().hex}",
        display_name="",
        friend=False,
        friend_changed_at=None,
        away_until=None,
        name_fetched_at=None,
        age_band=None,
        sex=None,
    ).where(Person.id == person.id).execute()
    return True


def _needed_elsewhere(person: Person) -> bool:
    """Rows other than group memberships that keep a person: their own
    見守り, or being someone's 見守り contact."""
    return (
        Watch.select().where(Watch.person == person.id).exists()
        or Contact.select().where(Contact.person == person.id).exists()
    )


def set_language(person: Person, language: str | None) -> None:
    """What the person reads one-to-one (messages.i18n): NULL is 日本語."""
    person.language = language
    person.save(only=[Person.language])
