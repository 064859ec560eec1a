"""Notices sent from the console: the record that lets the console list
them and follow their progress.  Planning, writing and sending are
services/notices.py's (the same path as ``flask notice send``)."""

from __future__ import annotations

from datetime import datetime

from peewee import fn

from models import NoticeRecord, Operator, Outbox, naive
from services.notices import notice_prefix, rows_of  # the rows `flask notice send` writes

PAGE = 20


def record(org_id: int, plan, operator: Operator, now: datetime) -> NoticeRecord:
    """The record of ``plan`` (one per notice digest: sending the same
    notice again finds the first record)."""
    NoticeRecord.insert(
        organisation=org_id,
        digest=plan.digest,
        text=plan.text,
        areas=" ".join(plan.areas),
        groups=plan.groups,
        cost=plan.total_cost,
        operator=operator.id,
        created_at=naive(now),
    ).on_conflict_ignore().execute()
    return NoticeRecord.get(NoticeRecord.digest == plan.digest)


def of_organisation(org_id: int, notice_id: int) -> NoticeRecord | None:
    return NoticeRecord.get_or_none((NoticeRecord.id == notice_id) & (NoticeRecord.organisation == org_id))


def recent(org_id: int, limit: int = PAGE) -> list[NoticeRecord]:
    return list(
        NoticeRecord.select()
        .where(NoticeRecord.organisation == org_id)
        .order_by(NoticeRecord.created_at.desc())
        .limit(limit)
    )


def progress(notice: NoticeRecord) -> dict[str, int]:
    """How many of the notice's outbox rows are in each state."""

    counts = dict.fromkeys(("pending", "sending", "sent", "failed", "expired", "cancelled"), 0)
    for state, n in (
        Outbox.select(Outbox.state, fn.COUNT(Outbox.id))
        .where(rows_of(notice_prefix(notice.digest)))
        .group_by(Outbox.state)
        .tuples()
    ):
        counts[state] = int(n)
    return counts
