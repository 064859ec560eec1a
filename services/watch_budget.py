"""Money for 見守り: what the month's LINE messages still allow, and the
rule that escalations go first.

Every push to a person costs one message (the free plan allows 200 a
month).  Before the sweep sends checks or resends it measures what is left
(the month's limit, less what was sent and what is queued) and keeps a
reserve for every escalation that may still follow (domain.watch's
ESCALATION_RESERVE_PER_CONTACT per contact of each check that is still
open).  When the rest cannot pay for everything, resends are dropped first,
then checks (a check that is never sent cannot escalate); escalations are
always written.  Each time something is dropped the operator is warned: a
log line at WARNING (ids and counts only) and ``LineAccount.budget_warning``,
shown by ``flask usage``.

The limit is LINE's own (read about once an hour by jobs/line_account.py),
or NOTICE_MONTHLY_BUDGET when LINE sets none or has not told us yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import JOIN, fn

from domain.kinds import (
    UNRESOLVED_ESCALATION_STATES,
    CheckKind,
    CheckState,
    OutboxKind,
    OutboxState,
    RecipientKind,
    WatchState,
)
from domain.watch import escalation_reserve
from models import Contact, Escalation, Group, LineAccount, Outbox, Watch, WatchCheck, db, naive
from services.usage import month_usage

log = logging.getLogger(__name__)


def line_account() -> LineAccount:
    """The one LineAccount row, created on first use."""
    row = LineAccount.select().order_by(LineAccount.id).first()
    if row is None:
        with db.atomic():
            row = LineAccount.select().order_by(LineAccount.id).first() or LineAccount.create()
    return row


def monthly_limit(settings) -> tuple[int, str]:
    """The month's message limit as last read from LINE, else the budget."""
    row = LineAccount.select(LineAccount.quota_limit).order_by(LineAccount.id).first()
    if row is not None and row.quota_limit is not None:
        return row.quota_limit, "LINE's monthly limit"
    return settings.notice_monthly_budget, "NOTICE_MONTHLY_BUDGET"


def queued_cost() -> int:
    """What the pushes not yet sent will cost: one per person, one per member of a group."""
    waiting = (Outbox.kind == OutboxKind.PUSH) & Outbox.state.in_((OutboxState.PENDING, OutboxState.SENDING))
    people = Outbox.select().where(waiting & (Outbox.recipient == RecipientKind.USER)).count()
    groups = (
        Outbox.select(fn.COALESCE(fn.SUM(Group.member_count), 0))
        .join(Group, on=(Outbox.group == Group.id))
        .where(waiting & (Outbox.recipient == RecipientKind.GROUP))
        .scalar()
    )
    return people + int(groups or 0)


def open_check_contacts() -> int:
    """Contacts of every routine check still waiting for an OK: each may
    escalate (the reserve kept for them)."""
    return (
        Contact.select()
        .join(WatchCheck, on=(WatchCheck.watch == Contact.watch))
        .where((WatchCheck.state == CheckState.OPEN) & (WatchCheck.kind == CheckKind.ROUTINE))
        .count()
    )


@dataclass
class Budget:
    """Messages left this month (after what is queued) and the reserve kept
    for escalations.  Spent as the sweep writes."""

    remaining: int
    reserve: int

    @classmethod
    def measure(cls, now: datetime, settings) -> Budget:
        limit, _ = monthly_limit(settings)
        left = limit - month_usage(now, settings.tz) - queued_cost()
        return cls(left, escalation_reserve(open_check_contacts()))

    def checks(self, contacts_each: list[int]) -> int:
        """How many of these checks (in order; their watches have these
        many contacts) may be sent: each costs one now and adds its own
        escalation reserve."""
        sent = 0
        for contacts in contacts_each:
            reserve = self.reserve + escalation_reserve(contacts)
            if self.remaining - 1 < reserve:
                break
            self.remaining -= 1
            self.reserve = reserve
            sent += 1
        return sent

    def resends(self, wanted: int) -> int:
        """How many resends fit while the reserve is kept."""
        allowed = max(0, min(wanted, self.remaining - self.reserve))
        self.remaining -= allowed
        return allowed

    def spend(self, messages: int) -> None:
        """Escalations: always written, whatever is left."""
        self.remaining -= messages


def warn(now: datetime, what: str, dropped: int, remaining: int) -> None:
    """Tell the operator that messages ran short and what was dropped."""
    message = f"{now:%Y-%m-%d %H:%M} UTC: {dropped} {what} not sent to keep messages for escalations ({remaining} left this month)"
    log.warning("見守り budget: %s", message)
    row = line_account()
    LineAccount.update(budget_warning=message, budget_warned_at=naive(now)).where(
        LineAccount.id == row.id
    ).execute()


@dataclass(frozen=True)
class Projection:
    """The next day's 見守り messages against what the month has left."""

    limit: int
    source: str
    used: int
    queued: int
    checks: int  # checks due in the next 24 hours (and as many resends at most)
    reserve: int  # kept for the escalations those checks may bring
    unresolved: int  # contacts of escalations still open (their outcomes will be told)

    @property
    def remaining(self) -> int:
        return self.limit - self.used - self.queued

    @property
    def needed(self) -> int:
        return 2 * self.checks + self.reserve + self.unresolved

    @property
    def short(self) -> bool:
        return self.remaining < self.needed


def project(now: datetime, settings) -> Projection:
    """What the next 24 hours of 見守り will cost at most, against the
    month's remaining messages (for ``flask usage`` and the hourly check)."""
    limit, source = monthly_limit(settings)
    horizon = naive(now + timedelta(hours=24))
    due = (
        Watch.select(Watch.id, fn.COUNT(Contact.id).alias("contacts"))
        .join(Contact, JOIN.LEFT_OUTER, on=(Contact.watch == Watch.id))
        .where(
            (Watch.state == WatchState.ACTIVE)
            & Watch.next_check_at.is_null(False)
            & (Watch.next_check_at <= horizon)
        )
        .group_by(Watch.id)
        .tuples()
    )
    checks, contacts = 0, 0
    for _, count in due:
        checks += 1
        contacts += count
    unresolved = (
        Contact.select()
        .join(Escalation, on=(Escalation.watch == Contact.watch))
        .where(Escalation.state.in_(UNRESOLVED_ESCALATION_STATES))
        .count()
    )
    return Projection(
        limit=limit,
        source=source,
        used=month_usage(now, settings.tz),
        queued=queued_cost(),
        checks=checks,
        reserve=escalation_reserve(contacts + open_check_contacts()),
        unresolved=unresolved,
    )


def check_projection(now: datetime, settings) -> Projection:
    """Warn the operator when the next day's 見守り may not be paid for."""
    projection = project(now, settings)
    if projection.short:
        message = (
            f"{now:%Y-%m-%d %H:%M} UTC: the next 24 hours of 見守り may need {projection.needed} messages "
            f"but {projection.remaining} are left this month ({projection.source} {projection.limit}); "
            "checks and resends will be dropped before any escalation"
        )
        log.warning("見守り budget: %s", message)
        row = line_account()
        LineAccount.update(budget_warning=message, budget_warned_at=naive(now)).where(
            LineAccount.id == row.id
        ).execute()
    return projection
