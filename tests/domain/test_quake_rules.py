"""domain.quake: the trigger rules, table-tested on edited copies of a real
VXSE53 (2021-02-18 03:58 愛知県西部, group city 豊田市 2321100)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.jma import JST, Intensity, Telegram, parse_telegram
from domain.quake import (
    AFTERSHOCK_WINDOW,
    DEFAULT_THRESHOLD,
    MAX_TELEGRAM_AGE,
    ROUTINE_SKIP_WINDOW,
    Action,
    GroupQuakeState,
    LastEmergency,
    Reason,
    decide,
    describe_quake,
    should_skip_routine,
)
from tests.jma.jma_fixtures import AICHI, edit_telegram, read_fixture

TOYOTA = "2321100"
ATSUGI = "1421200"  # not in the telegram
EVENT = "20210218035836"
ORIGIN = datetime(2021, 2, 18, 3, 58, tzinfo=JST)
NOW = ORIGIN + timedelta(minutes=7)

I4, I5L, I5U, I6L, I6U = (
    Intensity.FOUR,
    Intensity.FIVE_LOWER,
    Intensity.FIVE_UPPER,
    Intensity.SIX_LOWER,
    Intensity.SIX_UPPER,
)


def telegram(toyota: str | None = None, **edits: str) -> Telegram:
    """The real telegram with 豊田市's MaxInt (or 「未入電」) and other fields edited."""
    cities = {TOYOTA: toyota} if toyota is not None else None
    return parse_telegram(edit_telegram(AICHI, city_max_int=cities, **edits))


def group(
    threshold: Intensity = DEFAULT_THRESHOLD, last: LastEmergency | None = None, area: str = TOYOTA
) -> GroupQuakeState:
    return GroupQuakeState(area_code=area, threshold=threshold, last_emergency=last)


def last_round(event_id: str = EVENT, intensity: Intensity = I5L, started: datetime = NOW) -> LastEmergency:
    return LastEmergency(event_id=event_id, intensity=intensity, started_at=started)


# --- thresholds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "threshold", "action", "reason"),
    [
        ("3", I4, Action.SKIP, Reason.BELOW_THRESHOLD),  # the real value
        ("4", I4, Action.START, Reason.NEW_EVENT),
        ("4", I5L, Action.SKIP, Reason.BELOW_THRESHOLD),
        ("5-", I4, Action.START, Reason.NEW_EVENT),
        ("5-", I5L, Action.START, Reason.NEW_EVENT),
        ("5-", I5U, Action.SKIP, Reason.BELOW_THRESHOLD),
        ("5+", I5U, Action.START, Reason.NEW_EVENT),
        ("7", I5L, Action.START, Reason.NEW_EVENT),
        ("未入電", I4, Action.START, Reason.NEW_EVENT),
        ("未入電", I5L, Action.START, Reason.NEW_EVENT),
        ("未入電", I5U, Action.SKIP, Reason.BELOW_THRESHOLD),  # only 5弱 is known
    ],
)
def test_it_triggers_at_or_above_the_groups_threshold(
    city: str, threshold: Intensity, action: Action, reason: Reason
) -> None:
    decision = decide(telegram(city), group(threshold), NOW)
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.event_id == EVENT
    assert decision.unreceived is (city == "未入電")
    expected = I5L if city == "未入電" else Intensity(city)
    assert decision.intensity is expected


def test_it_defaults_to_5_lower() -> None:
    assert GroupQuakeState(area_code=TOYOTA).threshold is Intensity.FIVE_LOWER
    assert decide(telegram("5-"), GroupQuakeState(area_code=TOYOTA), NOW).action is Action.START
    assert decide(telegram("4"), GroupQuakeState(area_code=TOYOTA), NOW).action is Action.SKIP


def test_it_skips_a_group_whose_city_is_not_in_the_telegram() -> None:
    decision = decide(telegram("7"), group(I4, area=ATSUGI), NOW)
    assert (decision.action, decision.reason, decision.intensity) == (Action.SKIP, Reason.NOT_OBSERVED, None)


# --- kinds, statuses, info types ---------------------------------------------


@pytest.mark.parametrize(
    ("edits", "reason"),
    [({"status": "訓練"}, Reason.DRILL), ({"status": "試験"}, Reason.TEST)],
)
def test_it_never_starts_a_round_for_drills_or_tests(edits: dict[str, str], reason: Reason) -> None:
    for last in (None, last_round(event_id="20210101000000")):
        decision = decide(telegram("7", **edits), group(I4, last), NOW)
        assert (decision.action, decision.reason) == (Action.SKIP, reason)


@pytest.mark.parametrize(
    "name",
    [
        "20210217190009_0_VXSE51_010000.xml",  # 震度速報 of the same quake
        "20210217190122_0_VXSE52_010000.xml",  # 震源に関する情報
        "32-39_11_06_120615_VTSE41.xml",
        "20240116184225_02245216_VXSE43.xml",
    ],
)
def test_it_reads_only_intensity_reports(name: str) -> None:
    other = parse_telegram(read_fixture(name))
    now = (other.origin_time or other.report_datetime) + timedelta(minutes=5)
    decision = decide(other, group(Intensity.ONE), now)
    assert (decision.action, decision.reason) == (Action.SKIP, Reason.NOT_INTENSITY_REPORT)


def test_it_skips_a_distant_quake_report_with_no_cities() -> None:
    distant = parse_telegram(read_fixture("20231203181616_04485779_VXSE53.xml"))
    decision = decide(distant, group(Intensity.ONE), distant.report_datetime)
    assert (decision.action, decision.reason) == (Action.SKIP, Reason.NOT_OBSERVED)


@pytest.mark.parametrize(
    ("last", "action", "reason"),
    [
        (last_round(), Action.CORRECT, Reason.CANCELLED),
        (last_round(event_id="20210101000000"), Action.SKIP, Reason.CANCELLED_NOT_OURS),
        (None, Action.SKIP, Reason.CANCELLED_NOT_OURS),
    ],
)
def test_it_corrects_only_rounds_started_by_the_cancelled_event(
    last: LastEmergency | None, action: Action, reason: Reason
) -> None:
    cancelled = telegram("7", info_type="取消")
    decision = decide(cancelled, group(I4, last), NOW)
    assert (decision.action, decision.reason, decision.event_id) == (action, reason, EVENT)


def test_it_corrects_even_when_the_cancellation_arrives_late() -> None:
    decision = decide(telegram(info_type="取消"), group(I4, last_round()), NOW + timedelta(days=2))
    assert decision.action is Action.CORRECT


def test_it_ignores_a_drill_cancellation() -> None:
    decision = decide(telegram(info_type="取消", status="訓練"), group(I4, last_round()), NOW)
    assert (decision.action, decision.reason) == (Action.SKIP, Reason.DRILL)


def test_it_never_starts_a_second_round_for_a_corrected_event() -> None:
    corrected = telegram("6+", info_type="訂正")
    decision = decide(corrected, group(I5L, last_round(intensity=I5L)), NOW)
    assert (decision.action, decision.reason) == (Action.SKIP, Reason.SAME_EVENT)
    assert decision.intensity is I6U  # the caller may record the stronger shaking


def test_it_starts_a_round_when_a_correction_newly_crosses_the_threshold() -> None:
    decision = decide(telegram("5+", info_type="訂正"), group(I5L), NOW)
    assert (decision.action, decision.reason) == (Action.START, Reason.NEW_EVENT)


def test_it_does_not_withdraw_a_round_when_a_correction_lowers_the_city() -> None:
    decision = decide(telegram("4", info_type="訂正"), group(I5L, last_round(intensity=I5U)), NOW)
    assert (decision.action, decision.reason, decision.intensity) == (Action.SKIP, Reason.BELOW_THRESHOLD, I4)


def test_it_reads_a_late_publication_like_a_normal_one() -> None:
    decision = decide(telegram("5+", info_type="遅延"), group(I5L), NOW)
    assert decision.action is Action.START


def test_it_skips_later_serials_of_the_same_event() -> None:
    decision = decide(telegram("5+"), group(I5L, last_round(intensity=I5L)), NOW)
    assert (decision.action, decision.reason) == (Action.SKIP, Reason.SAME_EVENT)


# --- aftershocks -------------------------------------------------------------


def aftershock(city: str, after_round: timedelta) -> Telegram:
    origin = (NOW + after_round).isoformat()
    return telegram(city, event_id="20210218100000", origin_time=origin)


@pytest.mark.parametrize(
    ("city", "after_round", "action", "reason"),
    [
        ("5-", timedelta(hours=2), Action.SKIP, Reason.WEAKER_AFTERSHOCK),  # as strong, not stronger
        ("4", timedelta(hours=2), Action.SKIP, Reason.BELOW_THRESHOLD),
        ("未入電", timedelta(hours=2), Action.SKIP, Reason.WEAKER_AFTERSHOCK),  # 5弱 at least
        ("5+", timedelta(hours=2), Action.START, Reason.STRONGER_AFTERSHOCK),
        ("5+", timedelta(hours=5, minutes=59), Action.START, Reason.STRONGER_AFTERSHOCK),
        ("5-", timedelta(hours=5, minutes=59), Action.SKIP, Reason.WEAKER_AFTERSHOCK),
        ("5-", AFTERSHOCK_WINDOW, Action.START, Reason.NEW_EVENT),  # "within" is strictly less
        ("5-", timedelta(hours=7), Action.START, Reason.NEW_EVENT),
        ("5-", -timedelta(minutes=1), Action.SKIP, Reason.WEAKER_AFTERSHOCK),  # read out of order
    ],
)
def test_it_limits_rounds_for_aftershocks(
    city: str, after_round: timedelta, action: Action, reason: Reason
) -> None:
    state = group(I5L, last_round(intensity=I5L, started=NOW))
    now = NOW + max(after_round, timedelta(0)) + timedelta(minutes=5)
    decision = decide(aftershock(city, after_round), state, now)
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.event_id == "20210218100000"


def test_it_follows_a_sequence_of_telegrams_for_one_group() -> None:
    """未入電 starts the round; a later serial raises the recorded intensity;
    an aftershock is then compared with the raised value."""
    state = group(I5L)
    first = decide(telegram("未入電"), state, NOW)
    assert first.action is Action.START and first.unreceived
    state = replace(state, last_emergency=last_round(intensity=first.intensity, started=NOW))

    update = decide(telegram("6+"), state, NOW + timedelta(minutes=20))
    assert (update.action, update.reason, update.intensity) == (Action.SKIP, Reason.SAME_EVENT, I6U)
    assert update.intensity > state.last_emergency.intensity
    state = replace(state, last_emergency=replace(state.last_emergency, intensity=update.intensity))

    later = decide(aftershock("6-", timedelta(hours=1)), state, NOW + timedelta(hours=1, minutes=5))
    assert (later.action, later.reason) == (Action.SKIP, Reason.WEAKER_AFTERSHOCK)


# --- staleness and inputs ----------------------------------------------------


@pytest.mark.parametrize(
    ("age", "action"),
    [(MAX_TELEGRAM_AGE, Action.START), (MAX_TELEGRAM_AGE + timedelta(seconds=1), Action.SKIP)],
)
def test_it_ignores_telegrams_about_old_quakes(age: timedelta, action: Action) -> None:
    decision = decide(telegram("6-"), group(I5L), ORIGIN + age)
    assert decision.action is action
    if action is Action.SKIP:
        assert decision.reason is Reason.STALE


def test_it_requires_aware_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(telegram("6-"), group(I5L), NOW.replace(tzinfo=None))
    naive_last = last_round(event_id="20210101000000", started=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="aware"):
        decide(telegram("6-"), group(I5L, naive_last), NOW)


# --- the routine round -------------------------------------------------------


@pytest.mark.parametrize(
    ("since_emergency", "skip"),
    [
        (None, False),
        (timedelta(hours=1), True),
        (timedelta(hours=11, minutes=59), True),
        (ROUTINE_SKIP_WINDOW, False),
        (timedelta(hours=13), False),
        (timedelta(days=3), False),
        (-timedelta(minutes=5), True),  # clock skew: counts as recent
    ],
)
def test_it_skips_the_routine_round_after_a_recent_emergency(
    since_emergency: timedelta | None, skip: bool
) -> None:
    routine_at = datetime(2025, 11, 28, 9, 0, tzinfo=JST)
    last = None if since_emergency is None else routine_at - since_emergency
    assert should_skip_routine(last, routine_at) is skip


def test_it_compares_routine_times_across_time_zones() -> None:
    routine_at = datetime(2025, 11, 28, 9, 0, tzinfo=JST)
    # 23:30 UTC on the 27th is 08:30 JST on the 28th; 12:00 UTC is 21:00 JST, 12 h before.
    assert should_skip_routine(datetime(2025, 11, 27, 23, 30, tzinfo=UTC), routine_at)
    assert not should_skip_routine(datetime(2025, 11, 27, 12, 0, tzinfo=UTC), routine_at)
    with pytest.raises(ValueError, match="aware"):
        should_skip_routine(datetime(2025, 11, 28, 8, 0), routine_at)


# --- what a message needs ----------------------------------------------------


def test_it_describes_the_quake_for_a_message() -> None:
    facts = describe_quake(telegram("5+"), TOYOTA)
    assert facts == {
        "month": 2,
        "day": 18,
        "hour": 3,
        "minute": 58,
        "time_is_origin": True,
        "city_code": TOYOTA,
        "city_name": "豊田市",
        "intensity": I5U,
        "intensity_label": "震度5強",
        "unreceived": False,
        "hypocenter_name": "愛知県西部",
        "magnitude": 4.2,
        "event_id": EVENT,
        "status": "通常",
    }
    line = "{month}月{day}日 {hour}時{minute}分ごろ、{city_name}で{intensity_label}の地震がありました。"
    assert line.format(**facts) == "2月18日 3時58分ごろ、豊田市で震度5強の地震がありました。"


def test_it_names_wards_the_way_people_write_them() -> None:
    facts = describe_quake(telegram(), "2310100")  # JMA writes 名古屋千種区
    assert (facts["city_name"], facts["intensity_label"]) == ("名古屋市千種区", "震度2")


def test_it_describes_an_unreceived_city_as_5_lower_or_more() -> None:
    facts = describe_quake(telegram("未入電"), TOYOTA)
    assert facts["unreceived"] is True
    assert facts["intensity_label"] == "震度5弱以上"


def test_it_refuses_to_describe_a_city_the_telegram_does_not_list() -> None:
    with pytest.raises(KeyError):
        describe_quake(telegram(), ATSUGI)
