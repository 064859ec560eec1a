"""How long the service keeps what it keeps, and the pruning that enforces it.

| table | what is personal in it | kept |
|---|---|---|
| WebhookEvent | the event as LINE sent it (message text, ids) | body cleared when processed; row deleted after EVENT_RETENTION (7 days): long enough to drop any redelivery |
| Outbox | message text (names of the unanswered, help alerts), reply token | body and token cleared once sent or given up; purpose, cost and times kept for the statistics; row deleted after RECORDS_RETENTION (400 days) |
| Round, Answer | who answered when (by member) | deleted after RECORDS_RETENTION: a year of statistics and a month to report it |
| Member | membership, nickname | while in the group; on /退会 or leaving, marked left and the nickname cleared |
| Person | LINE user id, display name, friendship, absence | while in a group, watched, or someone's 見守り contact; then the id and name are replaced (services.membership.forget_if_unused); at once on /退会 in the one-to-one chat (services/erase.py) |
| WatchCheck, Escalation | when a watched person was asked and answered, who of their contacts checked | deleted after RECORDS_RETENTION once closed; without their watch (anonymous) after /退会 |
| Invitation, CodeAttempt | a 6-digit code; a wrong try's sender | deleted when expired (72 hours), and after a day (services/contacts.prune) |
| JmaTelegram | nothing personal (public JMA data) | deleted after RECORDS_RETENTION |
| Group, Organisation | the LINE group id; no names | while the bot is in the group |

The sweep calls ``prune`` on every tick; each statement deletes at most
PRUNE_BATCH rows so a tick never holds a long transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.kinds import FINAL_OUTBOX_STATES, OPEN_CHECK_STATES, RoundStatus
from models import JmaTelegram, Outbox, Round, WatchCheck, WebhookEvent, naive

EVENT_RETENTION = timedelta(days=7)
RECORDS_RETENTION = timedelta(days=400)
PRUNE_BATCH = 1000


def _delete_some(model, condition) -> int:
    ids = model.select(model.id).where(condition).limit(PRUNE_BATCH)
    return model.delete().where(model.id.in_(ids)).execute()


def prune(now: datetime) -> dict[str, int]:
    """Delete what has outlived its retention.  Returns counts per table."""
    old = naive(now - RECORDS_RETENTION)
    return {
        "events": _delete_some(
            WebhookEvent,
            WebhookEvent.processed_at.is_null(False)
            & (WebhookEvent.processed_at < naive(now - EVENT_RETENTION)),
        ),
        "outbox": _delete_some(Outbox, Outbox.state.in_(FINAL_OUTBOX_STATES) & (Outbox.created_at < old)),
        "rounds": _delete_some(Round, (Round.status == RoundStatus.CLOSED) & (Round.opened_at < old)),
        "telegrams": _delete_some(JmaTelegram, JmaTelegram.created_at < old),
        # An escalation goes with its check.
        "watch_checks": _delete_some(
            WatchCheck, WatchCheck.state.not_in(OPEN_CHECK_STATES) & (WatchCheck.opened_at < old)
        ),
    }
