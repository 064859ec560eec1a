"""Absence (/お休み) of a person: set, end, and whether they are away.

The rules (what the text means, when it ends) are domain/absence.py's; an
absence belongs to the person, so a group member who is in hospital is away
in every group and in their one-to-one 見守り alike."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.absence import is_away
from models import Person


def set_away(person: Person, until: date | None) -> None:
    """Away through ``until`` (None: not away any more)."""
    Person.update(away_until=until).where(Person.id == person.id).execute()
    person.away_until = until


def away_now(person: Person, now: datetime, tz: ZoneInfo) -> bool:
    return is_away(person.away_until, now.astimezone(tz).date())
