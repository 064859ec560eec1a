"""The JMA parsers against mutated real samples: parsing returns a value that
keeps every promise its docstring makes — so the database and the trigger
rules can take it without raising — or raises the module's own error (the
JmaXmlError family), never anything else."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

from hypothesis import event, example, given
from hypothesis import strategies as st
from jma_mutations import feed_bytes, hostile_text, mutated_feeds, mutated_telegrams, telegram_bytes

from domain.jma import (
    CITY_CODE,
    EVENT_ID,
    INFO_TYPES,
    MAGNITUDE_RANGE,
    MAX_HEADLINE,
    MAX_KIND,
    MAX_NAME,
    MAX_SERIAL,
    MAX_TITLE,
    STATUSES,
    TIME_RANGE,
    Intensity,
    JmaXmlError,
    Telegram,
    clean_text,
    parse_telegram,
    parse_time,
)
from domain.jma_feed import MAX_ENTRY_ID, clean_last_modified, parse_feed_entries, select_new_entries
from domain.quake import GroupQuakeState, decide, describe_quake
from jobs.jma_poll import same_host, telegram_fields
from models import JmaTelegram, naive
from tests.jma.jma_fixtures import AICHI

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def assert_time(value: datetime) -> None:
    assert value.tzinfo is not None and TIME_RANGE[0] <= value < TIME_RANGE[1]
    naive(value)  # what the database stores: OverflowError for year 1 before


def assert_clean(text: str, limit: int, *, multiline: bool = False) -> None:
    assert isinstance(text, str) and clean_text(text, limit, multiline=multiline) == text


def assert_usable(telegram: Telegram) -> None:
    """Every promise of Telegram's docstring, and what the poller and the
    rules do with a telegram."""
    assert 1 <= len(telegram.kind) <= MAX_KIND
    assert_clean(telegram.kind, MAX_KIND)
    assert telegram.status in STATUSES and telegram.info_type in INFO_TYPES
    assert EVENT_ID.fullmatch(telegram.event_id)
    assert telegram.serial is None or 0 <= telegram.serial <= MAX_SERIAL
    assert_time(telegram.report_datetime)
    if telegram.origin_time is not None:
        assert_time(telegram.origin_time)
    if telegram.magnitude is not None:
        assert math.isfinite(telegram.magnitude)
        assert MAGNITUDE_RANGE[0] <= telegram.magnitude <= MAGNITUDE_RANGE[1]
    for text, limit in ((telegram.title, MAX_TITLE), (telegram.hypocenter_name or "", MAX_NAME)):
        assert_clean(text, limit)
    if telegram.magnitude_text is not None:
        assert_clean(telegram.magnitude_text.strip(), MAX_TITLE)
    assert_clean(telegram.headline, MAX_HEADLINE, multiline=True)
    assert telegram.max_intensity is None or isinstance(telegram.max_intensity, Intensity)
    assert all(CITY_CODE.fullmatch(code) for code in telegram.cities)
    assert all(isinstance(value, Intensity) for value in telegram.cities.values())
    assert telegram.unreceived_cities <= set(telegram.cities) == set(telegram.city_names)
    for name in telegram.city_names.values():
        assert_clean(name, MAX_NAME)
    assert all(isinstance(path, str) for path in telegram.dropped)

    # The poller stores it: every value fits its column.
    fields = telegram_fields(telegram)
    for column, value in fields.items():
        limit = getattr(JmaTelegram._meta.fields[column], "max_length", None)
        if isinstance(value, str) and limit:
            assert len(value) <= limit, column
    json.loads(fields["cities"])
    # The rules read it: a group in each city (and one elsewhere) gets a decision.
    for code in [*list(telegram.cities)[:3], "1421200"]:
        state = GroupQuakeState(area_code=code, threshold=Intensity.ONE)
        decide(telegram, state, telegram.report_datetime + timedelta(minutes=1))
        if code in telegram.cities:
            describe_quake(telegram, code)


@given(mutated_telegrams())
@example(telegram_bytes(AICHI).replace(b"<Serial>1</Serial>", b"<Serial>99999999999</Serial>"))
@example(telegram_bytes(AICHI).replace(b"2021-02-18T03:58:00+09:00", b"0001-01-01T00:00:00+09:00"))
@example(telegram_bytes(AICHI).replace(b'encoding="UTF-8"', b'encoding="Shift_JIS"'))
@example(telegram_bytes(AICHI).decode("utf-8").replace("愛知県西部", "\ud800"))
def test_a_telegram_parses_to_a_usable_value_or_raises_its_own_error(body) -> None:
    try:
        telegram = parse_telegram(body)
    except JmaXmlError as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event(f"parsed, {len(telegram.dropped)} fields dropped" if telegram.dropped else "parsed")
    assert_usable(telegram)


@given(mutated_feeds())
@example(feed_bytes().replace(b"<updated>2023", b"<updated>0001", 1))
def test_a_feed_parses_to_usable_entries_or_raises_its_own_error(body) -> None:
    try:
        reading = parse_feed_entries(body)
    except JmaXmlError as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event("parsed, entries skipped" if reading.skipped else "parsed")
    for entry in reading.entries:
        assert 1 <= len(entry.id) <= MAX_ENTRY_ID
        assert_clean(entry.id, MAX_ENTRY_ID)
        assert_time(entry.updated)
        assert entry.type_code is None or entry.type_code.isascii()
        same_host(entry.link, "https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml")
        for text in (entry.title, entry.author):
            assert_clean(text, 100)
    for skipped in reading.skipped:
        assert skipped.position >= 1 and skipped.reason.isascii()
    select_new_entries(reading.entries, set(), type_codes={"VXSE53"})


@given(hostile_text)
def test_a_time_is_in_range_or_none(text: str) -> None:
    value = parse_time(text)
    if value is not None:
        assert_time(value)


@given(st.one_of(hostile_text, st.text(st.characters(max_codepoint=255), max_size=70)), st.datetimes())
def test_a_last_modified_is_kept_only_when_it_can_be_sent_back(value: str, now: datetime) -> None:
    kept = clean_last_modified(value, now.replace(tzinfo=UTC))
    assert kept is None or (kept == value and kept.isascii() and kept.isprintable() and len(kept) <= 64)
