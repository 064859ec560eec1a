"""Notices to many groups: plan them and write them once.

``flask notice send`` (cli.py) runs these in order:

- ``plan_notice``: the organisation's active groups (in the given areas),
  what the send costs (LINE counts one message per member), and which groups
  already have this notice.  A notice is identified by organisation, areas,
  text and month: ``notice_digest``.
- ``write_notice``: one outbox row per group in one transaction, with
  ``dedup_key = notice:{digest}:{group id}`` (unique), so running the same
  send again writes nothing new.

Sending them at LINE's rate is jobs/notice_sender.py's work.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from peewee import fn

from domain.kinds import OutboxState, Purpose, RecipientKind
from messages import operators as operator_messages
from messages.flex import TEXT_LIMIT, utf16_len
from messages.i18n import LANGUAGE_CODES, ByLanguage, built_in
from models import Group, Organisation, Outbox, db, naive
from services.outbox import Recipient, push_row

BATCH = 1000
FAILED = (OutboxState.FAILED, OutboxState.EXPIRED)


class NoticeError(ValueError):
    """The notice cannot be planned (unknown organisation, text too long)."""


def notice_digest(org_slug: str, areas: tuple[str, ...], text: str, month: str) -> str:
    """sha256 of what makes two sends the same notice."""
    key = json.dumps([org_slug, sorted(areas), text, month], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NoticePlan:
    org_id: int
    org_name: str
    areas: tuple[str, ...]
    text: str
    digest: str
    groups: int  # active groups the notice is for
    to_write: int  # of those, groups without a row for this notice yet
    cost: int  # LINE messages the new rows will cost (sum of member_count)
    unknown_cost: int  # new rows whose group's member count is unknown
    already_sent: int  # rows of this notice already sent
    unfinished: int  # rows of this notice written but not sent yet (pending)
    unfinished_cost: int = 0  # what those will cost: not in this month's usage yet

    @property
    def total_cost(self) -> int:
        return self.cost + self.unfinished_cost

    @property
    def prefix(self) -> str:
        return notice_prefix(self.digest)

    def messages(self) -> list[dict]:
        return operator_messages.org_notice(self.org_name, self.text)


def notice_prefix(digest: str) -> str:
    return f"notice:{digest}:"


def states_of(prefix: str) -> Counter:
    """How many of a notice's outbox rows are in each state."""
    return Counter(
        dict(
            Outbox.select(Outbox.state, fn.COUNT(Outbox.id))
            .where(rows_of(prefix))
            .group_by(Outbox.state)
            .tuples()
        )
    )


def rows_of(prefix: str):
    # The prefix is hex digits and colons: no LIKE wildcard inside it, and
    # nothing that case folding (ILIKE on PostgreSQL) could confuse.
    return (Outbox.purpose == Purpose.NOTICE) & Outbox.dedup_key.startswith(prefix)


def _target_groups(
    org_id: int, areas: tuple[str, ...]
) -> Iterator[list[tuple[int, str, int | None, str | None]]]:
    """(id, line group id, member count, language) of the target groups, in batches
    by id (keyset), so memory does not grow with the number of groups."""
    where = (Group.organisation == org_id) & Group.active
    if areas:
        where &= Group.area_code.in_(list(areas))
    after = 0
    while True:
        batch = list(
            Group.select(Group.id, Group.line_group_id, Group.member_count, Group.language)
            .where(where & (Group.id > after))
            .order_by(Group.id)
            .limit(BATCH)
            .tuples()
        )
        if not batch:
            return
        yield batch
        after = batch[-1][0]


def plan_notice(org_slug: str, areas: tuple[str, ...], text: str, now: datetime, tz: ZoneInfo) -> NoticePlan:
    org = Organisation.get_or_none(Organisation.slug == org_slug)
    if org is None:
        raise NoticeError(f"no organisation with slug {org_slug!r} (see: flask --app app org list)")
    # The heading is translated, the operator's text is not: the longest must fit.
    longest = max(
        utf16_len(built_in(language, operator_messages.org_notice, org.name, text)[0]["text"])
        for language in LANGUAGE_CODES
    )
    if not text.strip():
        raise NoticeError("the notice text is empty")
    if longest > TEXT_LIMIT:
        raise NoticeError(f"the notice is too long for one LINE message ({TEXT_LIMIT} characters)")
    areas = tuple(sorted(set(areas)))
    digest = notice_digest(org.slug, areas, text, now.astimezone(tz).strftime("%Y-%m"))
    prefix = notice_prefix(digest)
    groups = to_write = cost = unknown = 0
    for batch in _target_groups(org.id, areas):
        keys = [f"{prefix}{group_id}" for group_id, *_ in batch]
        written = {k for (k,) in Outbox.select(Outbox.dedup_key).where(Outbox.dedup_key.in_(keys)).tuples()}
        for group_id, _, members, _ in batch:
            groups += 1
            if f"{prefix}{group_id}" in written:
                continue
            to_write += 1
            if members is None:
                unknown += 1
            else:
                cost += members
    states = states_of(prefix)
    unfinished_cost = (
        Outbox.select(fn.COALESCE(fn.SUM(Group.member_count), 0))
        .join(Group)
        .where(rows_of(prefix) & Outbox.state.in_((OutboxState.PENDING, OutboxState.SENDING)))
        .scalar()
    )
    return NoticePlan(
        org_id=org.id,
        org_name=org.name,
        areas=areas,
        text=text,
        digest=digest,
        groups=groups,
        to_write=to_write,
        cost=cost,
        unknown_cost=unknown,
        already_sent=states["sent"],
        unfinished=states["pending"] + states["sending"],
        unfinished_cost=int(unfinished_cost or 0),
    )


def write_notice(plan: NoticePlan, now: datetime) -> int:
    """One outbox row per target group not written yet, all in one
    transaction; returns how many were written.  The rows start leased to
    the caller (enqueued_at=now): the sender is about to send them."""
    body = ByLanguage(plan.messages)  # built once per language, not per group
    n = naive(now)
    before = Outbox.select().where(rows_of(plan.prefix)).count()
    with db.atomic():
        for batch in _target_groups(plan.org_id, plan.areas):
            rows = [
                push_row(
                    Recipient(RecipientKind.GROUP, line_group_id, group_id=group_id),
                    body(language),
                    Purpose.NOTICE,
                    now,
                    enqueued_at=n,
                    dedup_key=f"{plan.prefix}{group_id}",
                )
                for group_id, line_group_id, _, language in batch
            ]
            Outbox.insert_many(rows).on_conflict_ignore().execute()
    return Outbox.select().where(rows_of(plan.prefix)).count() - before
