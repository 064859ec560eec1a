"""Consent from the LINE side: a group's leader, or a watched person in
their one-to-one chat, links to the organisation (municipality,
社会福祉協議会) whose code its console shows (/団体 CODE), and unlinks
(/団体 解除).  A group's leader also decides whether the organisation's
operators see names (/設定 名前 団体にも | 団体に見せない; default not).

Consent is to one organisation: linking to another, or unlinking, takes the
names back (``names_shared`` false) until the leader says so again.  A wrong
code changes nothing and counts as a wrong try (``CodeAttempt``, the same
limit as 見守り invitation codes), so codes cannot be guessed.

Also the optional self-declared 年代 and 性別 on Person.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.demographics import AGE_BANDS, Sex
from domain.watch import code_locked
from models import CodeAttempt, Group, Organisation, Person, Watch, naive
from services.contacts import wrong_attempts

# Codes the console issues: web/console/admin.py LINK_ALPHABET, 8 characters.
_CODE = re.compile(r"^[A-Z0-9]{4,16}$")


def normalise_code(text: str) -> str:
    """「ａｂｃｄ－２３４５」 -> "ABCD2345": full width, case, spaces and dashes forgiven."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return re.sub(r"[\s\-ー‐−_]", "", folded)


class LinkResult(StrEnum):
    LINKED = "linked"
    ALREADY = "already"  # already linked to that organisation: nothing changed
    WRONG = "wrong"  # no organisation has that code (counted as a wrong try)
    LOCKED = "locked"  # too many wrong tries: not even looked up


@dataclass(frozen=True)
class Link:
    result: LinkResult
    organisation: Organisation | None = None
    previous: str | None = None  # the organisation it was linked to before, by name


def _find(code: str, person: Person, now: datetime) -> tuple[LinkResult | None, Organisation | None]:
    if code_locked(wrong_attempts(person, now)):
        return LinkResult.LOCKED, None
    normalised = normalise_code(code)
    org = Organisation.get_or_none(Organisation.link_code == normalised) if _CODE.match(normalised) else None
    if org is None:
        CodeAttempt.create(person=person, at=naive(now))
        return LinkResult.WRONG, None
    return None, org


def organisation_name(org_id: int | None) -> str | None:
    if org_id is None:
        return None
    org = Organisation.get_or_none(Organisation.id == org_id)
    return org.name if org else None


def link_group(group: Group, code: str, person: Person, now: datetime) -> Link:
    """/団体 CODE from a leader (the caller checks the role)."""
    refused, org = _find(code, person, now)
    if refused:
        return Link(refused)
    if group.organisation_id == org.id:
        return Link(LinkResult.ALREADY, org)
    previous = organisation_name(group.organisation_id)
    Group.update(organisation=org.id, names_shared=False).where(Group.id == group.id).execute()
    group.organisation, group.names_shared = org, False
    return Link(LinkResult.LINKED, org, previous)


def unlink_group(group: Group) -> str | None:
    """/団体 解除: the organisation's name, or None if it was not linked."""
    previous = organisation_name(group.organisation_id)
    Group.update(organisation=None, names_shared=False).where(Group.id == group.id).execute()
    group.organisation, group.names_shared = None, False
    return previous


def share_names(group: Group, shared: bool) -> None:
    """/設定 名前 団体にも (True) | 団体に見せない (False)."""
    Group.update(names_shared=shared).where(Group.id == group.id).execute()
    group.names_shared = shared


def link_watch(watch: Watch, code: str, person: Person, now: datetime) -> Link:
    """/団体 CODE in the one-to-one chat: the person's own 見守り."""
    refused, org = _find(code, person, now)
    if refused:
        return Link(refused)
    if watch.organisation_id == org.id:
        return Link(LinkResult.ALREADY, org)
    previous = organisation_name(watch.organisation_id)
    Watch.update(organisation=org.id).where(Watch.id == watch.id).execute()
    watch.organisation = org
    return Link(LinkResult.LINKED, org, previous)


def unlink_watch(watch: Watch | None) -> str | None:
    if watch is None:
        return None
    previous = organisation_name(watch.organisation_id)
    Watch.update(organisation=None).where(Watch.id == watch.id).execute()
    watch.organisation = None
    return previous


# -- 年代, 性別 ----------------------------------------------------------------------
def set_age_band(person: Person, band: str | None) -> str | None:
    """Store (or with None, remove) the person's 年代; returns what it was."""
    if band is not None and band not in AGE_BANDS:
        raise ValueError(f"unknown age band {band!r}")
    before = person.age_band
    Person.update(age_band=band).where(Person.id == person.id).execute()
    person.age_band = band
    return before


def set_sex(person: Person, sex: Sex | None) -> str | None:
    before = person.sex
    value = str(sex) if sex is not None else None
    Person.update(sex=value).where(Person.id == person.id).execute()
    person.sex = value
    return before
