"""The sweep: find work that is due in the database and hand it out.

Run every TICK_SECONDS by exactly one scheduler process (running two is
wasteful, not harmful).  Like healthchecks' sendalerts, every piece of work is
claimed with a conditional UPDATE before anything is done, so concurrent
sweeps, retries and restarts neither lose nor double anything; Redis can be
flushed at any moment because every job is found again here.

1. webhook events stored but not yet enqueued, or whose job was lost
   (the dispatcher usually takes them first: see jobs/dispatch.py),
2. rounds whose summary is due: close them (state + summary + follow-ups,
   one transaction) — before opening new ones, so a round that ends as the
   next one is due never swallows it,
3. routine rounds that are due: open them (state + prompt, one transaction),
4. follow-ups nobody has claimed in FOLLOWUP_REMIND_AFTER: raise them once
   more, to the leaders,
5. outbox rows that are due (new, retrying, or abandoned by a dead worker),
6. JMA's earthquake feed, once a minute (jobs/jma_poll.py does the polling),
7. 見守り: checks that went unanswered (tell the contacts), escalations
   nobody took (tell them again), checks to send again, checks that are due
   (services/watch.py, services/escalations.py; each batch's pushes go to a
   paced job as soon as it commits, jobs/paced.py), the bot's LINE account
   once an hour, and expired invitation codes,
8. the console's statistics, once a night per organisation (jobs/statistics.py),
9. what has outlived its retention (services/retention.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from domain.absence import is_away
from domain.kinds import CheckState, EscalationState, FollowUpState, RoundStatus, WatchState
from domain.quake import ROUTINE_SKIP_WINDOW, should_skip_routine
from domain.schedule import Schedule
from jobs import runtime
from jobs.delivery import enqueue_outbox
from jobs.dispatch import dispatch_events
from jobs.jma_poll import claim_poll
from jobs.line_account import claim_refresh
from jobs.paced import hand_over
from jobs.queue import Job, QueueName, enqueue
from jobs.statistics import claim_nightly
from models import Escalation, FollowUp, Group, Person, Round, Watch, WatchCheck, db, naive, utc
from services import contacts as watch_contacts
from services.escalations import escalate, remind
from services.reminders import write_reminders
from services.retention import prune
from services.rounds import absorb_routine, close_rounds, open_routine_rounds, recent_emergencies
from services.watch import open_checks, resend_checks
from services.watch_budget import Budget

log = logging.getLogger(__name__)

# Rows per transaction in the sweep: big enough to amortise statements, small
# enough that a transaction holds its locks only briefly.
BATCH = 500


def sweep(now: datetime) -> dict:
    """One pass.  Returns counts of what it did (for logs and tests)."""
    settings = runtime.settings()
    conn = runtime.connection()
    # Summaries first: a round whose summary is due closes before the next
    # one of its group opens at the same tick, instead of swallowing it.
    counts = {
        "events": dispatch_events(now, conn),
        "summaries": close_due_rounds(now, settings),
        "rounds": open_due_rounds(now, settings),
        "reminders": remind_due_follow_ups(now, settings),
    }
    counts["watch_escalations"] = escalate_due_watch_checks(now, settings, conn)
    counts["watch_reminders"] = remind_unclaimed_escalations(now, settings, conn)
    counts["watch_resends"] = resend_due_watch_checks(now, settings, conn)
    counts["watch_checks"] = open_due_watch_checks(now, settings, conn)
    counts["line_account"] = enqueue_line_account_refresh(now, conn)
    counts["statistics"] = enqueue_statistics_refresh(now, settings, conn)
    counts["watch_codes_pruned"] = watch_contacts.prune(now)
    counts["outbox"] = enqueue_outbox(now, conn)
    counts["jma"] = enqueue_jma_poll(now, settings, conn)
    counts["pruned"] = sum(prune(now).values())
    return counts


def enqueue_jma_poll(now: datetime, settings, conn) -> int:
    """Enqueue the feed poll when a minute has passed (claimed in the
    database, so several schedulers still poll JMA once a minute)."""
    if not settings.jma_feed_url or not claim_poll(now, settings.jma_feed_url):
        return 0
    return 1 if enqueue(conn, QueueName.BACKGROUND, Job.POLL_JMA, settings.jma_feed_url) else 0


def _chunks(items: list, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# A 見守り fan-out's first batch is small, so that sending starts at once.
FIRST_BATCH = 50


def _watch_batches(items: list):
    yield from _chunks(items[:FIRST_BATCH])
    yield from _chunks(items[FIRST_BATCH:])


def open_due_rounds(now: datetime, settings) -> int:
    """Open every routine round that is due, a batch of groups per
    transaction: claim the batch with conditional UPDATEs (RETURNING tells
    exactly which groups this sweep won), then insert their rounds and
    prompts in bulk.

    An occurrence is never lost without a word: when a round is still open
    in the group (a leader's /確認, a drill, an emergency round), this one is
    not opened — members are being asked already — and that round's summary
    says so (services.rounds.absorb_routine).  Within 12 hours after an
    emergency round it is skipped too, as that round's summary said in
    advance."""
    n = naive(now)
    due = list(
        Group.select(Group.id, Group.line_group_id, Group.schedule, Group.next_round_at, Group.language)
        .where(Group.active & ~Group.paused & Group.schedule.is_null(False) & (Group.next_round_at <= n))
        .order_by(Group.next_round_at)
    )
    opened = 0
    for batch in _chunks(due):
        # Groups sharing a schedule and a due time move to the same next time.
        moves: dict[tuple, list[int]] = defaultdict(list)
        for group in batch:
            following = Schedule.from_spec(group.schedule).next_after(now, settings.tz)
            moves[(group.next_round_at, naive(following))].append(group.id)
        with db.atomic():
            won: set[int] = set()
            for (old, new), ids in moves.items():
                won.update(
                    row_id
                    for (row_id,) in Group.update(next_round_at=new)
                    .where(Group.id.in_(ids) & (Group.next_round_at == old))
                    .returning(Group.id)
                    .tuples()
                    .execute()
                )
            open_now: dict[int, list[int]] = defaultdict(list)
            for round_id, group_id in (
                Round.select(Round.id, Round.group)
                .where(Round.group.in_(list(won)) & (Round.status == RoundStatus.OPEN))
                .tuples()
            ):
                open_now[group_id].append(round_id)
            recent = recent_emergencies([g.id for g in batch if g.id in won], now - ROUTINE_SKIP_WINDOW)
            to_open = []
            for group in batch:
                if group.id not in won:
                    continue
                if open_now.get(group.id):
                    absorb_routine(open_now[group.id], utc(group.next_round_at))
                elif not should_skip_routine(recent.get(group.id), now):
                    to_open.append(group)
            opened += open_routine_rounds(to_open, now, settings.checkin_summary_delay)
    return opened


def close_due_rounds(now: datetime, settings) -> int:
    """Close every round whose summary is due, a batch per transaction."""
    due = [
        r.id
        for r in Round.select(Round.id)
        .where((Round.status == RoundStatus.OPEN) & (Round.summary_due_at <= naive(now)))
        .order_by(Round.summary_due_at)
    ]
    closed = 0
    for batch in _chunks(due):
        with db.atomic():
            closed += len(close_rounds(batch, now, settings))
    return closed


def remind_due_follow_ups(now: datetime, settings) -> int:
    """Raise, once, each follow-up nobody has claimed by its remind_at: claim
    a batch with a conditional UPDATE (reminded_at set only where still
    NULL and the follow-up still open), then queue the reminders."""
    n = naive(now)
    due = [
        f.id
        for f in FollowUp.select(FollowUp.id)
        .where(
            (FollowUp.state == FollowUpState.OPEN)
            & FollowUp.reminded_at.is_null()
            & (FollowUp.remind_at <= n)
        )
        .order_by(FollowUp.remind_at)
    ]
    reminded = 0
    for batch in _chunks(due):
        with db.atomic():
            won = [
                row_id
                for (row_id,) in FollowUp.update(reminded_at=n)
                .where(
                    FollowUp.id.in_(batch)
                    & (FollowUp.state == FollowUpState.OPEN)
                    & FollowUp.reminded_at.is_null()
                )
                .returning(FollowUp.id)
                .tuples()
                .execute()
            ]
            reminded += write_reminders(won, now)
    return reminded


# -- 見守り ---------------------------------------------------------------------------
def open_due_watch_checks(now: datetime, settings, conn) -> int:
    """Open every 見守り check that is due, a batch of watches per
    transaction: claim the batch (compare-and-set on next_check_at, as
    open_due_rounds), then write their checks and pushes in bulk; each
    batch's pushes go to a paced job as soon as it commits."""
    n = naive(now)
    due = list(
        Watch.select(
            Watch.id,
            Watch.person,
            Watch.name,
            Watch.schedule,
            Watch.next_check_at,
            Person.line_user_id,
            Person.display_name,
            Person.away_until,
            Person.language,
        )
        .join(Person)
        .where(
            (Watch.state == WatchState.ACTIVE) & Watch.schedule.is_null(False) & (Watch.next_check_at <= n)
        )
        .order_by(Watch.next_check_at, Watch.id)
        .objects()
    )
    if not due:
        return 0
    budget = Budget.measure(now, settings)
    opened = 0
    for batch in _watch_batches(due):
        moves: dict[tuple, list[int]] = defaultdict(list)
        for watch in batch:
            following = Schedule.from_spec(watch.schedule).next_after(now, settings.tz)
            moves[(watch.next_check_at, naive(following))].append(watch.id)
        with db.atomic():
            won: set[int] = set()
            for (old, new), ids in moves.items():
                won.update(
                    row_id
                    for (row_id,) in Watch.update(next_check_at=new)
                    .where(
                        Watch.id.in_(ids) & (Watch.next_check_at == old) & (Watch.state == WatchState.ACTIVE)
                    )
                    .returning(Watch.id)
                    .tuples()
                    .execute()
                )
            count, pushes = open_checks([w for w in batch if w.id in won], now, settings, budget)
        hand_over(conn, pushes)  # committed: sending starts while the next batch is written
        opened += count
    return opened


def resend_due_watch_checks(now: datetime, settings, conn) -> int:
    """Send once more every check still unanswered WATCH_RESEND_AFTER after it went out."""
    n = naive(now)
    due = [
        row_id
        for (row_id,) in WatchCheck.select(WatchCheck.id)
        .where((WatchCheck.state == CheckState.OPEN) & (WatchCheck.resend_due_at <= n))
        .order_by(WatchCheck.resend_due_at)
        .tuples()
    ]
    if not due:
        return 0
    budget = Budget.measure(now, settings)
    resent = 0
    for batch in _watch_batches(due):
        with db.atomic():
            won = (
                WatchCheck.update(resend_due_at=None, resent_at=n)
                .where(
                    WatchCheck.id.in_(batch)
                    & (WatchCheck.state == CheckState.OPEN)
                    & WatchCheck.resend_due_at.is_null(False)
                )
                .returning(WatchCheck.id)
                .tuples()
                .execute()
            )
            pushes = resend_checks(sorted(row_id for (row_id,) in won), now, settings, budget)
        hand_over(conn, pushes)
        resent += len(pushes)
    return resent


def escalate_due_watch_checks(now: datetime, settings, conn) -> int:
    """Tell the contacts of every check still unanswered WATCH_ESCALATE_AFTER
    after it went out: claim each check (open -> escalated, compare-and-set),
    then write its Escalation and pushes.  Someone away today is excused
    instead: no escalation during an absence."""
    n = naive(now)
    due = list(
        WatchCheck.select(WatchCheck.id, Person.away_until)
        .join(Watch)
        .join(Person)
        .where((WatchCheck.state == CheckState.OPEN) & (WatchCheck.escalate_due_at <= n))
        .order_by(WatchCheck.escalate_due_at)
        .tuples()
    )
    if not due:
        return 0
    today = now.astimezone(settings.tz).date()
    escalated = 0
    for batch in _watch_batches(due):
        away = [check_id for check_id, until in batch if is_away(until, today)]
        present = [check_id for check_id, until in batch if not is_away(until, today)]
        with db.atomic():
            if away:
                WatchCheck.update(
                    state=CheckState.EXCUSED, closed_at=n, resend_due_at=None, escalate_due_at=None
                ).where(WatchCheck.id.in_(away) & (WatchCheck.state == CheckState.OPEN)).execute()
            won = sorted(
                row_id
                for (row_id,) in WatchCheck.update(
                    state=CheckState.ESCALATED, escalate_due_at=None, resend_due_at=None
                )
                .where(WatchCheck.id.in_(present) & (WatchCheck.state == CheckState.OPEN))
                .returning(WatchCheck.id)
                .tuples()
                .execute()
            )
            pushes = escalate(won, now, settings)
        hand_over(conn, pushes)
        escalated += len(won)
    return escalated


def remind_unclaimed_escalations(now: datetime, settings, conn) -> int:
    """Tell the contacts again when nobody has taken an escalation within
    WATCH_FOLLOWUP_AFTER (once: the deadline is cleared as it is claimed)."""
    n = naive(now)
    due = [
        row_id
        for (row_id,) in Escalation.select(Escalation.id)
        .where((Escalation.state == EscalationState.OPEN) & (Escalation.followup_due_at <= n))
        .order_by(Escalation.followup_due_at)
        .tuples()
    ]
    reminded = 0
    for batch in _watch_batches(due):
        with db.atomic():
            won = sorted(
                row_id
                for (row_id,) in Escalation.update(followup_due_at=None, reminded_at=n)
                .where(
                    Escalation.id.in_(batch)
                    & (Escalation.state == EscalationState.OPEN)
                    & Escalation.followup_due_at.is_null(False)
                )
                .returning(Escalation.id)
                .tuples()
                .execute()
            )
            pushes = remind(won, now, settings)
        hand_over(conn, pushes)
        reminded += len(won)
    return reminded


def enqueue_statistics_refresh(now: datetime, settings, conn) -> int:
    """Each organisation's console statistics, once a night (jobs/statistics.py
    claims it with a conditional UPDATE)."""
    won = claim_nightly(now, settings.tz)
    for org_id in won:
        enqueue(conn, QueueName.BACKGROUND, Job.REFRESH_STATISTICS, org_id)
    return len(won)


def enqueue_line_account_refresh(now: datetime, conn) -> int:
    """Read the bot's basic ID and the month's limit about once an hour."""
    if not claim_refresh(now):
        return 0
    enqueue(conn, QueueName.BACKGROUND, Job.REFRESH_LINE_ACCOUNT)
    return 1
