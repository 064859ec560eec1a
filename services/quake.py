"""Emergency rounds: what a fetched JMA telegram does to the groups.

``handle_telegram`` claims a fetched telegram (fetched -> handled, a
conditional UPDATE) and, in the same transaction, applies domain.quake's
rules to every group it concerns:

- 発表/訂正/遅延: the active groups whose area is one of the telegram's cities,
  found with one query on the indexed area_code.  START closes any open round
  of the group first (its summary still goes out, so members answer one
  prompt at a time) and opens an emergency round whose prompt is pushed at
  once; its summary follows after EMERGENCY_SUMMARY_DELAY.
- 取消: the groups whose last emergency round that event started get a short
  correction by push (there is no reply token); a round still open is closed
  without a summary, since the quake it asked about was withdrawn.

Every write is idempotent on its own as well: the unique index on
Round(group, event_id) makes "at most one emergency round per group per
event" hold even if two telegrams of one event were handled at once, and a
correction carries an outbox dedup_key.  Paused groups still get emergency
rounds: pausing stops the routine check, not the care after a quake.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from peewee import IntegrityError

from domain.jma import Intensity, Telegram
from domain.kinds import Purpose, RoundKind, RoundStatus
from domain.quake import (
    INTENSITY_REPORT,
    Action,
    GroupQuakeState,
    LastEmergency,
    QuakeDecision,
    Reason,
    decide,
    describe_quake,
)
from messages import group as group_messages
from messages import quake as quake_messages
from messages.i18n import built_in, using
from models import Group, JmaTelegram, Outbox, Round, db, insert_rows, naive, utc
from services.groups import threshold as group_threshold
from services.outbox import Recipient, add_push, push_row
from services.rounds import close_round, close_rounds
from services.telegrams import telegram_from_row

log = logging.getLogger(__name__)

HANDLE_BATCH = 50
# A handler that died part-way gives its telegram back after this long.
HANDLING_LEASE = timedelta(minutes=2)
START_BATCH = 500  # groups per statement when a quake starts their rounds


def handle_pending(now: datetime, settings, after_batch: Callable[[], None] | None = None) -> int:
    """Handle every fetched, unhandled telegram in the order JMA issued
    them (a later serial must see the round an earlier one started), and any
    whose handler died (its lease ran out).  ``after_batch()`` is called
    after each committed batch of new rounds, so their prompts can go out
    while the next batch is written."""
    stale = naive(now - HANDLING_LEASE)
    ids = [
        row.id
        for row in JmaTelegram.select(JmaTelegram.id)
        .where(
            (JmaTelegram.state == "fetched")
            | ((JmaTelegram.state == "handling") & (JmaTelegram.claimed_at < stale))
        )
        .order_by(JmaTelegram.entry_updated, JmaTelegram.id)
        .limit(HANDLE_BATCH)
    ]
    handled = 0
    for row_id in ids:
        try:
            handled += handle_telegram(row_id, now, settings, after_batch) is not None
        except Exception as exc:
            # One telegram that cannot be handled must not hold back the
            # quakes after it: it is recorded as failed and the rest go on.
            log.exception("JMA telegram %s could not be handled", row_id)
            JmaTelegram.update(state="failed", error=f"handling: {type(exc).__name__}"[:500]).where(
                (JmaTelegram.id == row_id) & JmaTelegram.state.in_(("fetched", "handling"))
            ).execute()
    return handled


def handle_telegram(
    row_id: int, now: datetime, settings, after_batch: Callable[[], None] | None = None
) -> Counter | None:
    """Apply one telegram to the groups it concerns, exactly once.  Returns
    the decisions taken (by reason), or None when it was not ours.

    The telegram is claimed (fetched -> handling, a lease) and the rounds it
    starts are written START_BATCH groups per transaction, each batch
    committed (and handed to ``after_batch``) before the next: a city of
    thousands of groups gets its first prompts out at once.  A handler that
    dies part-way leaves the telegram "handling"; after HANDLING_LEASE the
    next poll takes it again, and the unique Round(group, event_id) index
    keeps the groups already started from a second round or prompt."""
    stale = naive(now - HANDLING_LEASE)
    claimed = (
        JmaTelegram.update(state="handling", claimed_at=naive(now))
        .where(
            (JmaTelegram.id == row_id)
            & (
                (JmaTelegram.state == "fetched")
                | ((JmaTelegram.state == "handling") & (JmaTelegram.claimed_at < stale))
            )
        )
        .execute()
    )
    if claimed != 1:
        return None
    telegram = telegram_from_row(JmaTelegram.get_by_id(row_id))
    outcomes: Counter = Counter()
    # Drills and tests of JMA's own never reach a group (rule 2), and only
    # VXSE53 names cities (rule 1): no query needed for them.
    if telegram.type_code == INTENSITY_REPORT and telegram.is_real:
        groups = _groups_for(telegram)
        last_rounds = last_emergency_rounds([g.id for g in groups])
        starts: list[tuple[Group, QuakeDecision]] = []
        with db.atomic():
            for group in groups:
                last_round = last_rounds.get(group.id)
                state = GroupQuakeState(group.area_code, group_threshold(group), _last_emergency(last_round))
                decision = decide(telegram, state, now)
                outcomes[decision.reason.value] += 1
                if decision.action is Action.START:
                    starts.append((group, decision))
                elif decision.action is Action.CORRECT:
                    post_correction(group, last_round, now)
                elif decision.reason is Reason.SAME_EVENT:
                    _record_stronger(last_round, decision.intensity)
        if outcomes[Reason.CANCELLED.value] and after_batch is not None:
            after_batch()  # the corrections go out now
        started = 0
        for start in range(0, len(starts), START_BATCH):
            with db.atomic():
                started += start_emergencies(starts[start : start + START_BATCH], telegram, now, settings)
            if after_batch is not None:
                after_batch()
        if started < len(starts):
            outcomes["already_started"] += len(starts) - started
    JmaTelegram.update(state="handled", handled_at=naive(now)).where(
        (JmaTelegram.id == row_id) & (JmaTelegram.state == "handling")
    ).execute()
    log.info(
        "JMA %s %s event %s: %s", telegram.info_type, telegram.type_code, telegram.event_id, dict(outcomes)
    )
    return outcomes


def _groups_for(telegram: Telegram) -> list[Group]:
    if telegram.info_type == "取消":
        started = Round.select(Round.group).where(
            (Round.kind == RoundKind.EMERGENCY) & (Round.event_id == telegram.event_id)
        )
        return list(Group.select().where(Group.active & Group.id.in_(started)))
    if not telegram.cities:
        return []
    # One query for every affected city, on the area_code index.
    return list(Group.select().where(Group.active & Group.area_code.in_(list(telegram.cities))))


def last_emergency_rounds(group_ids: list[int]) -> dict[int, Round]:
    """Each group's most recent emergency round (drills are not emergencies)."""
    if not group_ids:
        return {}
    latest: dict[int, Round] = {}
    rows = (
        Round.select()
        .where(Round.group.in_(group_ids) & (Round.kind == RoundKind.EMERGENCY))
        .order_by(Round.opened_at.desc(), Round.id.desc())
    )
    for round_ in rows:
        latest.setdefault(round_.group_id, round_)
    return latest


def _last_emergency(round_: Round | None) -> LastEmergency | None:
    if round_ is None or not round_.event_id or not round_.intensity:
        return None
    return LastEmergency(round_.event_id, Intensity(round_.intensity), utc(round_.opened_at))


def start_emergencies(
    starts: list[tuple[Group, QuakeDecision]], telegram: Telegram, now: datetime, settings
) -> int:
    """Open an emergency round, with its prompt, in each of the groups,
    START_BATCH groups per handful of statements (a city may have
    thousands).  Each group's open round closes first, with its summary, so
    members answer one prompt at a time.  The unique index on
    Round(group, event_id) drops a group another handler already started:
    it gets no second prompt.  Returns how many rounds this call opened."""
    # One headline per (area, language): the round keeps the Japanese one.
    headlines: dict[tuple[str | None, str | None], str] = {}
    prompt_of: dict[tuple[str | None, str | None], Callable[[int], str]] = {}  # round id -> JSON
    opened = 0
    for start in range(0, len(starts), START_BATCH):
        batch = starts[start : start + START_BATCH]
        group_ids = [group.id for group, _ in batch]
        stale = Round.select(Round.id).where(
            Round.group.in_(group_ids)
            & (Round.status == RoundStatus.OPEN)
            & (Round.event_id.is_null() | (Round.event_id != telegram.event_id))
        )
        close_rounds([r.id for r in stale], now, settings)
        for group, _ in batch:
            for language in {None, group.language}:
                if (group.area_code, language) not in headlines:
                    with using(language):
                        headline = quake_messages.quake_headline(describe_quake(telegram, group.area_code))
                        headlines[(group.area_code, language)] = headline
                        prompt_of[(group.area_code, language)] = group_messages.prompt_json(
                            RoundKind.EMERGENCY, headline
                        )
        due = naive(now + timedelta(seconds=settings.emergency_summary_delay))
        created = insert_rows(
            Round,
            [
                {
                    "group": group.id,
                    "kind": RoundKind.EMERGENCY,
                    "opened_at": naive(now),
                    "summary_due_at": due,
                    "event_id": telegram.event_id,
                    "intensity": decision.intensity.value,
                    "title": headlines[(group.area_code, None)],
                }
                for group, decision in batch
            ],
            ignore_conflicts=True,
            returning=(Round.id, Round.group),
        )
        round_of = dict((group_id, round_id) for round_id, group_id in created)
        prompts = [
            push_row(
                Recipient.of_group(group),
                prompt_of[(group.area_code, group.language)](round_of[group.id]),
                Purpose.PROMPT,
                now,
                round_of[group.id],
            )
            for group, _ in batch
            if group.id in round_of
        ]
        insert_rows(Outbox, prompts)
        opened += len(prompts)
    return opened


def post_correction(group: Group, round_: Round, now: datetime) -> None:
    """Tell the group JMA withdrew the report behind its round; once per round."""
    was_open = round_.status == RoundStatus.OPEN
    try:
        with db.atomic():
            if was_open:
                close_round(round_.id, now, send_summary=False)
            add_push(
                group,
                built_in(group.language, quake_messages.quake_withdrawn, was_open),
                Purpose.CORRECTION,
                now,
                round=round_,
                dedup_key=f"quake-withdrawn:{round_.id}",
            )
    except IntegrityError:
        pass  # already corrected (a second 取消 of the same event)


def _record_stronger(round_: Round | None, intensity: Intensity | None) -> None:
    """A later serial of the same event reports stronger shaking: aftershocks
    are compared with the strongest known (domain.quake.QuakeDecision)."""
    if round_ is None or intensity is None:
        return
    if intensity > Intensity(round_.intensity):
        Round.update(intensity=intensity.value).where(Round.id == round_.id).execute()
