"""見守り: a person's watch and its checks — each a state change plus its
outbox rows, in the caller's transaction.

The deadlines live on rows and are claimed by the sweep with
compare-and-set (jobs/sweep.py): ``Watch.next_check_at`` opens a check,
``WatchCheck.resend_due_at`` sends it again, ``WatchCheck.escalate_due_at``
tells the contacts (services/escalations.py).  The batch functions the sweep
calls run a fixed number of queries per batch of watches, whatever its size.
Functions used by handlers return the outbox rows they queued (for the
caller to send right after the commit).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from peewee import IntegrityError, fn

from domain.absence import is_away
from domain.kinds import (
    OPEN_CHECK_STATES,
    UNRESOLVED_ESCALATION_STATES,
    CheckKind,
    CheckState,
    EscalationState,
    OutboxKind,
    OutboxState,
    Purpose,
    WatchState,
)
from domain.schedule import Schedule
from domain.watch import check_deadlines
from messages import contacts as contact_messages
from messages import watch as watch_messages
from messages.i18n import built_in
from models import Contact, Escalation, Outbox, Person, Watch, WatchCheck, db, naive
from services.contacts import local, name_of, tell_contacts, to_person
from services.outbox import push_row
from services.watch_budget import Budget, warn


def find_watch(person: Person | None) -> Watch | None:
    if person is None:
        return None
    return Watch.get_or_none(Watch.person == person.id)


def ensure_watch(person: Person, now: datetime) -> Watch:
    """The person's watch, created (checking nobody until a time is
    chosen) on first use."""
    watch = find_watch(person)
    if watch is not None:
        return watch
    try:
        with db.atomic():
            return Watch.create(person=person, created_at=naive(now))
    except IntegrityError:
        return Watch.get(Watch.person == person.id)


def _reload(watch: Watch) -> Watch:
    fresh = Watch.get_by_id(watch.id)
    watch.__data__.update(fresh.__data__)
    return watch


def set_name(watch: Watch, name: str) -> None:
    Watch.update(name=name).where(Watch.id == watch.id).execute()
    watch.name = name


def _end_checks(watch_ids: list[int], now: datetime, states, to: CheckState) -> int:
    return (
        WatchCheck.update(state=to, closed_at=naive(now), resend_due_at=None, escalate_due_at=None)
        .where(WatchCheck.watch.in_(watch_ids) & WatchCheck.state.in_(states))
        .execute()
    )


def set_schedule(
    watch: Watch, schedule: Schedule, now: datetime, tz, ahead: timedelta = timedelta(0)
) -> tuple[datetime, list[Outbox]]:
    """Check at ``schedule`` from now on (starting or resuming the watch).
    Returns the next check and what was queued (contacts told that a
    stopped watch runs again).
    ``ahead``: how far the chat's own clock is ahead (a simulated chat,
    services/clock.chat_offset): the time is on the schedule in its clock."""
    was_stopped = watch.state == WatchState.STOPPED
    next_at = schedule.next_after(now + ahead, tz) - ahead
    Watch.update(
        schedule=schedule.to_spec(), state=WatchState.ACTIVE, next_check_at=naive(next_at), stopped_at=None
    ).where(Watch.id == watch.id).execute()
    _reload(watch)
    rows = _tell_resumed(watch, now) if was_stopped else []
    return next_at, rows


def pause(watch: Watch, now: datetime) -> bool:
    """/見守り 停止: no more checks; a check still waiting is ended (the
    person is here and said so), so it neither resends nor escalates."""
    changed = (
        Watch.update(state=WatchState.PAUSED, next_check_at=None)
        .where((Watch.id == watch.id) & (Watch.state == WatchState.ACTIVE))
        .execute()
    )
    if changed:
        _end_checks([watch.id], now, (CheckState.OPEN,), CheckState.ENDED)
    _reload(watch)
    return bool(changed)


def resume(
    watch: Watch, now: datetime, tz, ahead: timedelta = timedelta(0)
) -> tuple[datetime | None, list[Outbox]]:
    """/見守り 再開 (or the button after coming back): checks again from the
    next occurrence.  None when the watch has no schedule or was running.
    ``ahead``: how far the chat's own clock is ahead (a simulated chat,
    services/clock.chat_offset): the time is on the schedule in its clock."""
    if not watch.schedule or watch.state == WatchState.ACTIVE:
        return None, []
    was_stopped = watch.state == WatchState.STOPPED
    next_at = Schedule.from_spec(watch.schedule).next_after(now + ahead, tz) - ahead
    changed = (
        Watch.update(state=WatchState.ACTIVE, next_check_at=naive(next_at), stopped_at=None)
        .where((Watch.id == watch.id) & Watch.state.in_((WatchState.PAUSED, WatchState.STOPPED)))
        .execute()
    )
    _reload(watch)
    if not changed:
        return None, []
    return next_at, (_tell_resumed(watch, now) if was_stopped else [])


def _tell_resumed(watch: Watch, now: datetime) -> list[Outbox]:
    person = Person.get_by_id(watch.person_id)
    return tell_contacts(
        watch.id, lambda: contact_messages.watch_resumed(name_of(watch, person)), Purpose.WATCH_ENDED, now
    )


def stop(watch: Watch, now: datetime) -> list[Outbox]:
    """The person blocked the bot: the watch stops, whatever was waiting
    ends, and the contacts are told once, kindly."""
    changed = (
        Watch.update(state=WatchState.STOPPED, next_check_at=None, stopped_at=naive(now))
        .where((Watch.id == watch.id) & Watch.state.in_((WatchState.ACTIVE, WatchState.PAUSED)))
        .execute()
    )
    _reload(watch)
    if not changed:
        return []
    end_everything(watch, now)
    person = Person.get_by_id(watch.person_id)
    return tell_contacts(
        watch.id, lambda: contact_messages.watch_stopped(name_of(watch, person)), Purpose.WATCH_ENDED, now
    )


def end_everything(watch: Watch, now: datetime) -> None:
    """Every check and escalation of the watch ends (stopped or deleted)."""
    _end_checks([watch.id], now, OPEN_CHECK_STATES, CheckState.ENDED)
    Escalation.update(state=EscalationState.ENDED, closed_at=naive(now), followup_due_at=None).where(
        (Escalation.watch == watch.id) & Escalation.state.in_(UNRESOLVED_ESCALATION_STATES)
    ).execute()


def excuse_open_checks(watch: Watch, now: datetime) -> int:
    """/お休み from today: a check still waiting will neither be sent again
    nor escalate (the person is here, and away)."""
    return _end_checks([watch.id], now, (CheckState.OPEN,), CheckState.EXCUSED)


def open_trial_check(watch: Watch, now: datetime) -> WatchCheck:
    """/確認: a check to try, never resent nor escalated."""
    return WatchCheck.create(watch=watch, kind=CheckKind.TRIAL, state=CheckState.OPEN, opened_at=naive(now))


# -- answers ----------------------------------------------------------------------
class OkOutcome(StrEnum):
    ON_TIME = "on-time"  # a routine check was waiting
    LATE = "late"  # the contacts had been told: now they are told it is all right
    TRIAL = "trial"  # only the /確認 try was waiting
    UNASKED = "unasked"  # nothing was waiting


@dataclass
class OkResult:
    outcome: OkOutcome
    rows: list[Outbox] = field(default_factory=list)


def record_ok(watch: Watch, now: datetime, tz) -> OkResult:
    """The person said OK: every check still waiting is answered, every
    escalation not yet resolved is closed, and if the contacts had been
    told they are told at once that all is well.  Any OK counts, however
    late and from whichever check's button."""
    Watch.update(last_ok_at=naive(now)).where(Watch.id == watch.id).execute()
    watch.last_ok_at = naive(now)
    answered = list(
        WatchCheck.update(
            state=CheckState.ANSWERED,
            answered_at=naive(now),
            closed_at=naive(now),
            resend_due_at=None,
            escalate_due_at=None,
        )
        .where((WatchCheck.watch == watch.id) & WatchCheck.state.in_(OPEN_CHECK_STATES))
        .returning(WatchCheck.kind)
        .tuples()
        .execute()
    )
    closed = (
        Escalation.update(state=EscalationState.ANSWERED, closed_at=naive(now), followup_due_at=None)
        .where((Escalation.watch == watch.id) & Escalation.state.in_(UNRESOLVED_ESCALATION_STATES))
        .execute()
    )
    if closed:
        person = Person.get_by_id(watch.person_id)
        rows = tell_contacts(
            watch.id,
            lambda: contact_messages.all_clear(name_of(watch, person), local(now, tz, person.line_user_id)),
            Purpose.WATCH_ALL_CLEAR,
            now,
        )
        return OkResult(OkOutcome.LATE, rows)
    kinds = {kind for (kind,) in answered}
    if CheckKind.ROUTINE in kinds:
        return OkResult(OkOutcome.ON_TIME)
    if kinds:
        return OkResult(OkOutcome.TRIAL)
    return OkResult(OkOutcome.UNASKED)


# -- the sweep's batches -------------------------------------------------------------
def _contacts_per_watch(watch_ids: list[int]) -> Counter:
    return Counter(
        dict(
            Contact.select(Contact.watch, fn.COUNT(Contact.id))
            .where(Contact.watch.in_(watch_ids))
            .group_by(Contact.watch)
            .tuples()
        )
    )


def open_checks(watches: list, now: datetime, settings, budget: Budget) -> tuple[int, list[int]]:
    """Open a check for each of ``watches`` (claimed by the caller; each has
    ``id``, ``name``, ``person_id``, ``line_user_id``, ``display_name`` and
    ``away_until``).  Someone away today gets none; what the month's
    messages cannot pay for while keeping the escalation reserve is dropped
    (and the operator warned).  A check still waiting from before is
    missed: the new one replaces it.  Returns (checks opened, their push
    ids); the pushes are written leased (``enqueued_at``) for the paced
    sender.  Five queries per batch."""
    today = now.astimezone(settings.tz).date()
    present = [w for w in watches if not is_away(w.away_until, today)]
    if not present:
        return 0, []
    contacts = _contacts_per_watch([w.id for w in present])
    allowed = budget.checks([contacts[w.id] for w in present])
    send, dropped = present[:allowed], present[allowed:]
    if dropped:
        warn(now, "checks", len(dropped), budget.remaining)
    if not send:
        return 0, []
    ids = [w.id for w in send]
    WatchCheck.update(
        state=CheckState.MISSED, closed_at=naive(now), resend_due_at=None, escalate_due_at=None
    ).where(WatchCheck.watch.in_(ids) & WatchCheck.state.in_(OPEN_CHECK_STATES)).execute()
    due = check_deadlines(now, settings.watch_resend_after, settings.watch_escalate_after)
    created = (
        WatchCheck.insert_many(
            [
                {
                    "watch": w.id,
                    "kind": CheckKind.ROUTINE,
                    "state": CheckState.OPEN,
                    "opened_at": naive(now),
                    "resend_due_at": naive(due.resend_at),
                    "escalate_due_at": naive(due.escalate_at),
                }
                for w in send
            ]
        )
        .returning(WatchCheck.id, WatchCheck.watch)
        .tuples()
        .execute()
    )
    check_of = {watch_id: check_id for check_id, watch_id in created}
    rows = [
        push_row(
            to_person(w.person_id, w.line_user_id),
            built_in(
                getattr(w, "language", None),
                watch_messages.check,
                check_of[w.id],
                watch_messages.person_name(w.name or w.display_name),
            ),
            Purpose.WATCH_CHECK,
            now,
            watch=w.id,
            enqueued_at=naive(now),
        )
        for w in send
    ]
    outbox_ids = [row_id for (row_id,) in Outbox.insert_many(rows).returning(Outbox.id).tuples().execute()]
    return len(send), outbox_ids


def check_rows(check_ids: list[int]) -> list:
    return list(
        WatchCheck.select(
            WatchCheck.id,
            WatchCheck.watch,
            WatchCheck.opened_at,
            WatchCheck.escalate_due_at,
            Watch.name,
            Watch.last_ok_at,
            Person.id.alias("person_id"),
            Person.line_user_id,
            Person.display_name,
            Person.away_until,
            Person.language,
        )
        .join(Watch)
        .join(Person)
        .where(WatchCheck.id.in_(check_ids))
        .order_by(WatchCheck.id)
        .objects()
    )


def resend_checks(check_ids: list[int], now: datetime, settings, budget: Budget) -> list[int]:
    """Send each of these checks (claimed by the caller) once more, worded
    differently.  Someone away today is
    left alone; resends the month cannot pay for are dropped first.
    Returns the push ids (leased for the paced sender).  Three queries per
    batch."""
    if not check_ids:
        return []
    today = now.astimezone(settings.tz).date()
    checks = [c for c in check_rows(check_ids) if not is_away(c.away_until, today)]
    if not checks:
        return []
    allowed = budget.resends(len(checks))
    if allowed < len(checks):
        warn(now, "resends", len(checks) - allowed, budget.remaining)
    checks = checks[:allowed]
    contacts = _contacts_per_watch([c.watch_id for c in checks])
    rows = [
        push_row(
            to_person(c.person_id, c.line_user_id),
            built_in(
                c.language,
                watch_messages.resend,
                c.id,
                watch_messages.person_name(c.name or c.display_name),
                local(c.escalate_due_at, settings.tz, c.line_user_id) if contacts[c.watch_id] else None,
            ),
            Purpose.WATCH_RESEND,
            now,
            watch=c.watch_id,
            enqueued_at=naive(now),
        )
        for c in checks
    ]
    if not rows:
        return []
    return [row_id for (row_id,) in Outbox.insert_many(rows).returning(Outbox.id).tuples().execute()]


def messages_this_month(person: Person, start: datetime) -> int:
    """Pushes the person's own chat got since ``start`` (what they cost)."""
    return (
        Outbox.select()
        .where(
            (Outbox.person == person.id)
            & (Outbox.kind == OutboxKind.PUSH)
            & (Outbox.state == OutboxState.SENT)
            & (Outbox.sent_at >= naive(start))
        )
        .count()
    )
