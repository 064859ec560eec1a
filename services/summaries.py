"""Writing the summaries of rounds that just closed, with their follow-ups.

Called by services.rounds.close_rounds inside the transaction that closed the
rounds, for a batch of them at once: a fixed number of queries per batch
(groups, members, 名簿, answers, leaders, live follow-ups, one bulk insert of
new follow-ups, one update of the superseded, one bulk insert of the
messages), whatever the batch size.

For each round:

1. The roll call (domain.rounds.tally): who asked for help, who has not
   answered, who is on the 名簿 without LINE — each becomes a follow-up
   (one per person per round).  A person who already has a live follow-up
   from an older round gets a new one that carries its claim over; the old
   one is done as superseded (``superseded_by``), so buttons from yesterday
   act on today's.  Someone who asked for help during the round already has
   one (created with the alert) and keeps it.
2. Who reads the names: the group (default), or — with /設定 名前
   リーダーだけ — each leader who is the bot's friend, one-to-one, while the
   group gets the counts.  With no leader who can receive them, the names go
   to the group as by default: never lost.
3. The messages: the summary text, the 「○○さんを確認します」 buttons, and an
   invitation to join when members of the LINE group have not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import Case

from config import Settings
from domain.followups import FollowUpView
from domain.kinds import (
    LIVE_FOLLOW_UP_STATES,
    FollowUpKind,
    FollowUpOutcome,
    FollowUpState,
    NamesAudience,
    Purpose,
    RoundKind,
)
from domain.names import clean_name
from domain.quake import ROUTINE_SKIP_WINDOW
from domain.rounds import Tally, tally
from messages import group as group_messages
from messages.flex import format_local
from messages.i18n import using
from models import FollowUp, Group, Member, Outbox, Person, naive, utc
from services import clock
from services.outbox import Recipient, push_row
from services.rollcall import answers_of, leaders_of, member_views, offline_views

INSERT_CHUNK = 500  # rows per INSERT (SQLite's limit on bound variables)


@dataclass(frozen=True)
class ClosedRound:
    id: int
    group_id: int
    kind: str
    opened_at: datetime
    skipped_routine_at: datetime | None


def _key(member_id: int | None, offline_id: int | None) -> tuple[str, int]:
    return ("m", member_id) if member_id is not None else ("o", offline_id)


def _live_and_own(group_ids: list[int], round_ids: list[int]) -> list[FollowUp]:
    """Live follow-ups of these groups, and every follow-up of these rounds."""
    return list(
        FollowUp.select()
        .where(
            (FollowUp.group.in_(group_ids) & FollowUp.state.in_(LIVE_FOLLOW_UP_STATES))
            | FollowUp.round.in_(round_ids)
        )
        .order_by(FollowUp.id)
    )


def _claimer_names(follow_ups: list[FollowUp]) -> dict[int, str]:
    ids = {f.claimed_by_id for f in follow_ups if f.claimed_by_id}
    if not ids:
        return {}
    rows = (
        Member.select(Member.id, Member.nickname, Person.display_name)
        .join(Person)
        .where(Member.id.in_(list(ids)))
        .tuples()
    )
    return {member_id: clean_name(nickname or display_name) for member_id, nickname, display_name in rows}


def _upcoming_skip(group: Group, round_: ClosedRound, now: datetime, settings: Settings) -> str | None:
    """After an emergency round, the routine check within ROUTINE_SKIP_WINDOW
    of it will be skipped (jobs/sweep.py): say so now, at no extra cost."""
    if round_.kind != RoundKind.EMERGENCY or not group.schedule or group.paused or not group.next_round_at:
        return None
    next_at = utc(group.next_round_at)
    if now < next_at and next_at - utc(round_.opened_at) < ROUTINE_SKIP_WINDOW:
        return format_local((next_at + clock.chat_offset(group.line_group_id)).astimezone(settings.tz))
    return None


def write_summaries(closed: list[ClosedRound], now: datetime, settings: Settings) -> int:
    """Queue one summary per closed round (and its follow-ups); returns how
    many summaries were queued.  A group that left, or where nobody is on the
    roll, gets none."""
    if not closed:
        return 0
    group_ids = sorted({r.group_id for r in closed})
    groups = {
        g.id: g
        for g in Group.select(
            Group.id,
            Group.line_group_id,
            Group.active,
            Group.member_count,
            Group.names_to,
            Group.schedule,
            Group.paused,
            Group.next_round_at,
            Group.language,
        ).where(Group.id.in_(group_ids))
    }
    members = member_views(group_ids)
    offline = offline_views(group_ids)
    answers = answers_of([r.id for r in closed])
    leaders = leaders_of(group_ids)
    existing = _live_and_own(group_ids, [r.id for r in closed])
    claimers = _claimer_names(existing)
    remind_at = naive(now + timedelta(seconds=settings.followup_remind_after))

    own: dict[tuple[int, tuple[str, int]], FollowUp] = {}  # (round, person) -> this round's
    older: dict[tuple[int, tuple[str, int]], FollowUp] = {}  # (group, person) -> live, older round
    closed_ids = {r.id for r in closed}
    for f in existing:
        key = _key(f.member_id, f.offline_member_id)
        if f.round_id in closed_ids:
            own[(f.round_id, key)] = f
        elif f.state in LIVE_FOLLOW_UP_STATES:
            older[(f.group_id, key)] = f

    # (round, group, tally, [(kind, person key, name, this round's, older live)], friends, to_leaders)
    plans = []
    new_rows: list[dict] = []
    carried_rows: list[dict] = []
    created_at = naive(now)
    for round_ in closed:
        group = groups[round_.group_id]
        day = utc(round_.opened_at).astimezone(settings.tz).date()
        result = tally(
            members.get(group.id, []),
            answers.get(round_.id, {}),
            offline.get(group.id, []),
            group.member_count,
            day,
        )
        if not group.active or result.roll == 0:
            continue
        friends = [leader for leader in leaders.get(group.id, []) if leader.friend]
        to_leaders = group.names_to == NamesAudience.LEADERS and bool(friends)
        shown_to = NamesAudience.LEADERS if to_leaders else NamesAudience.GROUP
        people = (
            [(FollowUpKind.HELP, ("m", m.member_id), m.name) for m in result.need_help]
            + [(FollowUpKind.UNANSWERED, ("m", m.member_id), m.name) for m in result.unanswered]
            + [(FollowUpKind.OFFLINE, ("o", o.offline_id), o.name) for o in result.offline]
        )
        entries = []
        for kind, key, name in people:
            mine = own.get((round_.id, key))
            before = older.get((group.id, key))
            entries.append((kind, key, name, mine, before))
            if mine is not None:
                continue
            carried = before is not None and before.state != FollowUpState.OPEN
            row = {
                "round": round_.id,
                "group": group.id,
                "member": key[1] if key[0] == "m" else None,
                "offline_member": key[1] if key[0] == "o" else None,
                "name": name[:60],
                "kind": kind,
                "shown_to": shown_to,
                "created_at": created_at,
            }
            if carried:
                row.update(
                    state=before.state,
                    claimed_by=before.claimed_by_id,
                    claimed_at=before.claimed_at,
                    unreachable_at=before.unreachable_at,
                )
                carried_rows.append(row)
            else:
                row["remind_at"] = remind_at
                new_rows.append(row)
        plans.append((round_, group, result, entries, friends, to_leaders))

    created: dict[tuple[int, tuple[str, int]], int] = {}
    # Two shapes, so that the common one (nothing carried over) writes only
    # the columns it has: the insert is most of a summary's cost.
    for shape in (new_rows, carried_rows):
        for start in range(0, len(shape), INSERT_CHUNK):
            rows = (
                FollowUp.insert_many(shape[start : start + INSERT_CHUNK])
                .returning(FollowUp.id, FollowUp.round, FollowUp.member, FollowUp.offline_member)
                .tuples()
                .execute()
            )
            for follow_up_id, round_id, member_id, offline_id in rows:
                created[(round_id, _key(member_id, offline_id))] = follow_up_id

    superseded: dict[int, int] = {}
    raised_again: list[int] = []  # this round's own follow-ups, named to everyone just now
    outbox = []
    for round_, group, result, entries, friends, to_leaders in plans:
        views = []
        for kind, key, name, mine, before in entries:
            if mine is not None:
                if mine.state == FollowUpState.OPEN and mine.reminded_at is None:
                    raised_again.append(mine.id)
                views.append(
                    FollowUpView(
                        mine.id,
                        mine.name,
                        FollowUpKind(mine.kind),
                        FollowUpState(mine.state),
                        claimers.get(mine.claimed_by_id),
                        FollowUpOutcome(mine.outcome) if mine.outcome else None,
                    )
                )
                continue
            follow_up_id = created[(round_.id, key)]
            carried = before is not None and before.state != FollowUpState.OPEN
            if before is not None:
                superseded[before.id] = follow_up_id
            views.append(
                FollowUpView(
                    follow_up_id,
                    name,
                    kind,
                    FollowUpState(before.state) if carried else FollowUpState.OPEN,
                    claimers.get(before.claimed_by_id) if carried else None,
                )
            )
        outbox += _messages(round_, group, result, views, friends, to_leaders, leaders, now, settings)

    if superseded:
        FollowUp.update(
            state=FollowUpState.DONE,
            outcome=FollowUpOutcome.SUPERSEDED,
            outcome_at=naive(now),
            superseded_by=Case(FollowUp.id, list(superseded.items())),
        ).where(FollowUp.id.in_(list(superseded)) & FollowUp.state.in_(LIVE_FOLLOW_UP_STATES)).execute()
    if raised_again:
        # The summary raises them now: the reminder is counted from here.
        FollowUp.update(remind_at=remind_at).where(FollowUp.id.in_(raised_again)).execute()
    for start in range(0, len(outbox), INSERT_CHUNK):
        Outbox.insert_many(outbox[start : start + INSERT_CHUNK]).execute()
    return len(plans)


def _messages(
    round_: ClosedRound,
    group: Group,
    result: Tally,
    views: list[FollowUpView],
    friends: list,
    to_leaders: bool,
    leaders: dict,
    now: datetime,
    settings: Settings,
) -> list[dict]:
    """The outbox rows of one summary: to the group (in its language), and
    to leaders (each in their own)."""
    with using(group.language):
        rows = _group_rows(round_, group, result, views, to_leaders, leaders, now, settings)
    if to_leaders and views:
        for leader in friends:
            with using(leader.language):
                private = group_messages.leader_summary(
                    result, round_.kind, views, _skipped(round_, settings)
                )
            rows.append(push_row(leader.recipient, private, Purpose.LEADER_SUMMARY, now, round_.id))
    return rows


def _skipped(round_: ClosedRound, settings: Settings) -> str | None:
    return (
        format_local(utc(round_.skipped_routine_at).astimezone(settings.tz))
        if round_.skipped_routine_at
        else None
    )


def _group_rows(
    round_: ClosedRound,
    group: Group,
    result: Tally,
    views: list[FollowUpView],
    to_leaders: bool,
    leaders: dict,
    now: datetime,
    settings: Settings,
) -> list[dict]:
    """The summary the group reads (built in its language by the caller)."""
    skipped = (
        # In a simulated group, in the group's own clock (services/clock.chat_offset).
        format_local(
            (utc(round_.skipped_routine_at) + clock.chat_offset(group.line_group_id)).astimezone(settings.tz)
        )
        if round_.skipped_routine_at
        else None
    )
    upcoming = _upcoming_skip(group, round_, now, settings)
    group_recipient = Recipient.of_group(group)
    if not to_leaders:
        extra = []
        if group.names_to == NamesAudience.LEADERS and views:
            extra.append(
                group_messages.names_to_leaders_pending([lv.name for lv in leaders.get(group.id, [])])
            )
        messages = group_messages.summary(result, round_.kind, views, skipped, upcoming, extra)
        return [push_row(group_recipient, messages, Purpose.SUMMARY, now, round_.id)]
    not_friends = [lv.name for lv in leaders.get(group.id, []) if not lv.friend]
    extra = [group_messages.befriend_leaders(not_friends)] if not_friends and views else []
    rows = [
        push_row(
            group_recipient,
            group_messages.counts_only_summary(result, round_.kind, skipped, upcoming, extra),
            Purpose.SUMMARY,
            now,
            round_.id,
        )
    ]
    return rows
