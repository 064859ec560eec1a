"""Earthquake trigger rules: when a JMA telegram starts an emergency safety
round for a group, and what a message about it needs.

Pure: the caller passes the parsed ``Telegram``, the group's state and ``now``;
nothing here reads a clock, a database or the network.

The rules, in the order ``decide`` applies them:

1. Only 震源・震度に関する情報 (VXSE53) is read: it is the telegram that
   reports intensity by 市町村.  Anything else is skipped.
2. Only Status 通常 is real.  訓練 (drill) and 試験 (test) never start, and
   never correct, a round.
3. InfoType 取消 starts nothing.  It yields CORRECT for a group whose last
   emergency round was started by that EventID (so the bot can say the
   information was withdrawn), whatever its age, and SKIP for everyone else.
   Only the last round is known: a round from an earlier event that has since
   been followed by another is not corrected.
4. InfoType 発表, 訂正 and 遅延 are read alike.  A telegram whose quake is more
   than MAX_TELEGRAM_AGE old is skipped (a first poll of JMA's long feed lists
   days of telegrams; replaying them must not start rounds).
5. The group is triggered when its city's intensity is at or above its
   threshold.  A city reported 「震度５弱以上未入電」 counts as 5弱.
6. At most one emergency round per group per EventID: later serials and
   訂正 of the same event never start a second one.  A 訂正 can still start the
   first one for a group it newly puts at or above the threshold.  A 訂正 that
   lowers a city below the threshold does not withdraw a round already run:
   the quake happened, only 取消 says it did not.
7. Aftershocks: a different event within AFTERSHOCK_WINDOW of the group's last
   emergency round starts another only when it is stronger in that group's
   city than the shaking that started the last one.  After the window, any
   event at or above the threshold starts one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.areas import area_by_code
from domain.jma import JST, Intensity, Telegram

DEFAULT_THRESHOLD = Intensity.FIVE_LOWER
AFTERSHOCK_WINDOW = timedelta(hours=6)
ROUTINE_SKIP_WINDOW = timedelta(hours=12)
MAX_TELEGRAM_AGE = timedelta(hours=6)

INTENSITY_REPORT = "VXSE53"


class Action(enum.StrEnum):
    START = "start"  # open an emergency safety round
    SKIP = "skip"  # do nothing for this group
    CORRECT = "correct"  # tell the group the information behind its round was withdrawn


class Reason(enum.StrEnum):
    # START
    NEW_EVENT = "new_event"  # no emergency round within AFTERSHOCK_WINDOW
    STRONGER_AFTERSHOCK = "stronger_aftershock"
    # CORRECT
    CANCELLED = "cancelled"  # 取消 of the event that started the group's round
    # SKIP
    NOT_INTENSITY_REPORT = "not_intensity_report"  # not VXSE53
    DRILL = "drill"  # Status 訓練
    TEST = "test"  # Status 試験
    CANCELLED_NOT_OURS = "cancelled_not_ours"  # 取消 of an event that started nothing here
    STALE = "stale"  # quake older than MAX_TELEGRAM_AGE
    NOT_OBSERVED = "not_observed"  # the group's city is not in the telegram
    BELOW_THRESHOLD = "below_threshold"
    SAME_EVENT = "same_event"  # a round already ran for this EventID
    WEAKER_AFTERSHOCK = "weaker_aftershock"  # within the window, not stronger


@dataclass(frozen=True)
class LastEmergency:
    """The group's most recent emergency round: the EventID that started it,
    the intensity in the group's city that did, and when it started (aware)."""

    event_id: str
    intensity: Intensity
    started_at: datetime


@dataclass(frozen=True)
class GroupQuakeState:
    """What ``decide`` needs to know about one group."""

    area_code: str  # 7-digit 市町村等 code (a ward for designated cities)
    threshold: Intensity = DEFAULT_THRESHOLD
    last_emergency: LastEmergency | None = None


@dataclass(frozen=True)
class QuakeDecision:
    """What to do for one group about one telegram.

    ``intensity`` is the intensity in the group's city in this telegram (None
    when the city is not listed); ``unreceived`` is True when that is the
    「震度５弱以上未入電」 lower bound.  On START, record ``event_id``,
    ``intensity`` and the round's start time as the group's LastEmergency.  On
    SKIP with SAME_EVENT, if ``intensity`` is above the recorded one, record
    it: a later serial can report stronger shaking than the one that started
    the round, and aftershocks must be compared with the strongest known."""

    action: Action
    reason: Reason
    event_id: str
    intensity: Intensity | None = None
    unreceived: bool = False


def decide(telegram: Telegram, group: GroupQuakeState, now: datetime) -> QuakeDecision:
    """Apply the module's rules to one group; ``now`` must be aware."""
    _require_aware(now, "now")
    event_id = telegram.event_id
    last = group.last_emergency

    def skip(reason: Reason, intensity: Intensity | None = None, unreceived: bool = False) -> QuakeDecision:
        return QuakeDecision(Action.SKIP, reason, event_id, intensity, unreceived)

    if telegram.type_code != INTENSITY_REPORT:
        return skip(Reason.NOT_INTENSITY_REPORT)
    if not telegram.is_real:
        return skip(Reason.DRILL if telegram.status == "訓練" else Reason.TEST)
    if telegram.info_type == "取消":
        if last is not None and last.event_id == event_id:
            return QuakeDecision(Action.CORRECT, Reason.CANCELLED, event_id)
        return skip(Reason.CANCELLED_NOT_OURS)

    quake_time = telegram.origin_time or telegram.report_datetime
    if now - quake_time > MAX_TELEGRAM_AGE:
        return skip(Reason.STALE)

    intensity = telegram.cities.get(group.area_code)
    if intensity is None:
        return skip(Reason.NOT_OBSERVED)
    unreceived = group.area_code in telegram.unreceived_cities
    if intensity < group.threshold:
        return skip(Reason.BELOW_THRESHOLD, intensity, unreceived)

    if last is None:
        return QuakeDecision(Action.START, Reason.NEW_EVENT, event_id, intensity, unreceived)
    _require_aware(last.started_at, "last_emergency.started_at")
    if last.event_id == event_id:
        return skip(Reason.SAME_EVENT, intensity, unreceived)
    # Measured from the round, not the previous quake, as the rule is worded;
    # a quake that happened before the round started (telegrams read out of
    # order) is inside the window too.
    if quake_time - last.started_at < AFTERSHOCK_WINDOW:
        if intensity > last.intensity:
            return QuakeDecision(Action.START, Reason.STRONGER_AFTERSHOCK, event_id, intensity, unreceived)
        return skip(Reason.WEAKER_AFTERSHOCK, intensity, unreceived)
    return QuakeDecision(Action.START, Reason.NEW_EVENT, event_id, intensity, unreceived)


def should_skip_routine(last_emergency_at: datetime | None, now: datetime) -> bool:
    """True when the routine round due at ``now`` should not run because an
    emergency round started within ROUTINE_SKIP_WINDOW before it (members
    have just answered one).  A start time after ``now`` (clock skew) counts
    as recent.  Both datetimes must be aware."""
    _require_aware(now, "now")
    if last_emergency_at is None:
        return False
    _require_aware(last_emergency_at, "last_emergency_at")
    return now - last_emergency_at < ROUTINE_SKIP_WINDOW


def describe_quake(telegram: Telegram, city_code: str) -> dict:
    """The facts a message about this quake in this city needs, so the bot can
    write 「11月28日 9時41分ごろ、厚木市で震度5強の地震がありました。」.

    Keys: ``month``, ``day``, ``hour``, ``minute`` (of the origin time in JST,
    or of the report time when the telegram has none — ``time_is_origin``
    says which), ``city_code``, ``city_name`` (the short name from JMA's table,
    e.g. 厚木市 or 横浜市港北区, else the telegram's), ``intensity`` (an
    Intensity), ``intensity_label`` (震度5強; 震度5弱以上 for a 未入電 city),
    ``unreceived``, ``hypocenter_name`` and ``magnitude`` (either may be None),
    ``event_id`` and ``status`` (通常/訓練/試験).  Raises KeyError when the city
    is not in the telegram."""
    intensity = telegram.cities[city_code]
    unreceived = city_code in telegram.unreceived_cities
    when = (telegram.origin_time or telegram.report_datetime).astimezone(JST)
    area = area_by_code(city_code)
    return {
        "month": when.month,
        "day": when.day,
        "hour": when.hour,
        "minute": when.minute,
        "time_is_origin": telegram.origin_time is not None,
        "city_code": city_code,
        "city_name": area.label if area else telegram.city_names.get(city_code, ""),
        "intensity": intensity,
        "intensity_label": intensity.label + ("以上" if unreceived else ""),
        "unreceived": unreceived,
        "hypocenter_name": telegram.hypocenter_name,
        "magnitude": telegram.magnitude,
        "event_id": telegram.event_id,
        "status": telegram.status,
    }


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")
