"""Raising, once more, the follow-ups nobody has claimed.

FOLLOWUP_REMIND_AFTER after a summary (or a call for help), each person
nobody has said they will check on is raised to the leaders: one message per
group and round, with the 「○○さんを確認します」 buttons, pushed to each leader
who is the bot's friend (one message each).  When no leader can receive it
(none is a friend, or the group has no leader) it goes to the group,
addressed to the leaders, so it is never lost.  The sweep claims the rows
(jobs/sweep.py); this writes the messages in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from domain.followups import FollowUpView
from domain.kinds import FollowUpKind, FollowUpState, Purpose
from messages import followups as followup_messages
from messages.i18n import built_in
from models import FollowUp, Group, Outbox, Round
from services.console_queue import queue_overdue
from services.outbox import Recipient, push_row
from services.rollcall import leaders_of


def write_reminders(follow_up_ids: list[int], now: datetime) -> int:
    """Queue the reminders for these (just claimed) follow-ups; returns how
    many follow-ups were raised.  A fixed number of queries per batch."""
    if not follow_up_ids:
        return 0
    rows = list(
        FollowUp.select(FollowUp, Round.kind)
        .join(Round)
        .where(FollowUp.id.in_(follow_up_ids))
        .order_by(FollowUp.round, FollowUp.id)
    )
    by_round: dict[tuple[int, int], list[FollowUp]] = defaultdict(list)
    for row in rows:
        by_round[(row.group_id, row.round_id)].append(row)
    group_ids = sorted({group_id for group_id, _ in by_round})
    groups = {g.id: g for g in Group.select().where(Group.id.in_(group_ids))}
    leaders = leaders_of(group_ids)
    outbox = []
    raised = 0
    for (group_id, round_id), follow_ups in by_round.items():
        group = groups[group_id]
        if not group.active:
            continue
        kind = follow_ups[0].round.kind
        views = [FollowUpView(f.id, f.name, FollowUpKind(f.kind), FollowUpState(f.state)) for f in follow_ups]
        friends = [leader for leader in leaders.get(group_id, []) if leader.friend]
        if friends:
            outbox += [
                push_row(
                    leader.recipient,
                    built_in(leader.language, followup_messages.reminder, views, kind, None),
                    Purpose.REMINDER,
                    now,
                    round_id,
                )
                for leader in friends
            ]
        else:
            names = [leader.name for leader in leaders.get(group_id, [])]
            messages = built_in(group.language, followup_messages.reminder, views, kind, names)
            outbox.append(push_row(Recipient.of_group(group), messages, Purpose.REMINDER, now, round_id))
        raised += len(follow_ups)
    if outbox:
        Outbox.insert_many(outbox).execute()
    # Still unclaimed past the reminder: the organisation's operators see it
    # (groups linked to one), in the same transaction as the reminder.
    queue_overdue(follow_up_ids, now)
    return raised
