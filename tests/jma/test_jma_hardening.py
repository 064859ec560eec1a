"""domain.jma and domain.jma_feed at the boundary: values the database or the
rules cannot hold are refused or dropped field by field, one bad entry never
hides the others, and nothing but the JmaXmlError family is raised.

Every hostile body is a real copied telegram (or the JMA-shaped feed) with one
field edited, as the attack on issue 8 did."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from jma_fixtures import AICHI, ALL_TELEGRAMS, read_fixture
from test_jma_feed import JMA_SHAPED_FEED

from domain.jma import (
    MAX_SERIAL,
    TIME_RANGE,
    Intensity,
    JmaXmlError,
    TelegramError,
    clean_text,
    parse_telegram,
    parse_time,
)
from domain.jma_feed import clean_last_modified, parse_feed, parse_feed_entries

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def edited(pattern: str, replacement: str, name: str = AICHI) -> bytes:
    text, count = re.subn(pattern, replacement, read_fixture(name).decode("utf-8"), count=1)
    assert count == 1, pattern
    return text.encode("utf-8")


# --- times --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+09:00",  # OverflowError in models.naive before
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "9999-12-31T23:59:59-09:00",
        "2021-02-18T04:02:00",  # no offset
        "2021-02-18T04:02:00+24:00",
        "2021-13-01T00:00:00+09:00",
        "2021-W07-4T04:02:00+09:00",  # fromisoformat takes week dates
        "２０２１-02-18T04:02:00+09:00",
        "2021-02-18 04:02:00+09:00",
        "",
        "2021-02-18T04:02:00+09:00" + "0" * 100,
    ],
)
def test_it_refuses_times_outside_the_range_or_the_format(text: str) -> None:
    assert parse_time(text) is None


def test_it_reads_times_as_jma_writes_them() -> None:
    assert parse_time("2021-02-18T04:02:00+09:00") == datetime(2021, 2, 17, 19, 2, tzinfo=UTC)
    assert parse_time("2021-02-17T19:02:20Z") == datetime(2021, 2, 17, 19, 2, 20, tzinfo=UTC)
    assert parse_time("2099-12-31T23:59:59+00:00") < TIME_RANGE[1]


def test_it_drops_an_origin_time_in_year_one_and_keeps_the_telegram() -> None:
    body = edited(r"<OriginTime>[^<]*</OriginTime>", "<OriginTime>0001-01-01T00:00:00+09:00</OriginTime>")
    telegram = parse_telegram(body)
    assert telegram.origin_time is None
    assert telegram.dropped == ("Body/Earthquake/OriginTime",)
    assert telegram.cities["2321100"] is Intensity.THREE  # the quake itself is still read


def test_it_refuses_a_report_time_in_year_one() -> None:
    body = edited(
        r"<ReportDateTime>[^<]*</ReportDateTime>",
        "<ReportDateTime>0001-01-01T00:00:00+09:00</ReportDateTime>",
    )
    with pytest.raises(TelegramError, match="ReportDateTime"):
        parse_telegram(body)


# --- numbers ------------------------------------------------------------------


@pytest.mark.parametrize("serial", ["99999999999", "-1", "1.5", "١٢", "1_000", "0x10"])
def test_it_drops_a_serial_out_of_range(serial: str) -> None:
    telegram = parse_telegram(edited(r"<Serial>[^<]*</Serial>", f"<Serial>{serial}</Serial>"))
    assert telegram.serial is None and telegram.dropped == ("Head/Serial",)
    assert telegram.event_id == "20210218035836"


def test_it_keeps_the_largest_serial_a_column_holds() -> None:
    telegram = parse_telegram(edited(r"<Serial>[^<]*</Serial>", f"<Serial>{MAX_SERIAL}</Serial>"))
    assert telegram.serial == MAX_SERIAL < 2**31


@pytest.mark.parametrize("magnitude", ["1e309", "99", "-5.0", "inf", "４．２", "4.2.1", "0x4"])
def test_it_drops_a_magnitude_out_of_range(magnitude: str) -> None:
    body = edited(r"(<jmx_eb:Magnitude [^>]*>)[^<]*<", rf"\g<1>{magnitude}<")
    telegram = parse_telegram(body)
    assert telegram.magnitude is None and telegram.dropped == ("Body/Earthquake/Magnitude",)
    assert telegram.magnitude_text == "Ｍ４．２"


# --- identifiers and strings -----------------------------------------------------


@pytest.mark.parametrize("event_id", ["2" * 41, "2021 0218", "2021\u00850218", "２０２１"])
def test_it_refuses_an_event_id_the_database_cannot_key_on(event_id: str) -> None:
    with pytest.raises(TelegramError, match="EventID"):
        parse_telegram(edited(r"<EventID>[^<]*</EventID>", f"<EventID>{event_id}</EventID>"))


def test_it_refuses_an_over_long_title() -> None:
    with pytest.raises(TelegramError, match="Control/Title"):
        parse_telegram(edited(r"<Title>[^<]*</Title>", "<Title>" + "震" * 41 + "</Title>"))


@pytest.mark.parametrize(
    "name",
    [
        "愛知県\u202e西部",  # a bidi override could disguise the message
        "愛知県\u0085西部",  # C1 control: legal in XML 1.0
        "愛知県\x7f西部",
        "愛" * 101,
    ],
)
def test_it_drops_a_place_name_with_control_characters_or_too_long(name: str) -> None:
    body = edited(r"(<Hypocenter>\s*<Area>\s*<Name>)[^<]*", rf"\g<1>{name}")
    telegram = parse_telegram(body)
    assert telegram.hypocenter_name is None
    assert telegram.dropped == ("Body/Earthquake/Hypocenter/Area/Name",)


def test_it_drops_a_city_whose_code_no_group_can_have_and_keeps_the_others() -> None:
    body = edited(r"(<City><Name>豊田市</Name>)<Code>2321100</Code>", r"\g<1><Code>23211000</Code>")
    telegram = parse_telegram(body)
    assert "23211000" not in telegram.cities and "2321100" not in telegram.cities
    assert telegram.cities["2322200"] is Intensity.THREE and len(telegram.cities) == 161
    assert telegram.dropped == ("City/Code",)


def test_it_allows_line_breaks_only_where_text_runs_over_lines() -> None:
    assert clean_text("１８日０３時５８分ころ、\n地震がありました。", 100, multiline=True)
    assert clean_text("一行\n二行", 100) is None
    assert clean_text("a\x00b", 100, multiline=True) is None
    assert clean_text("\ud800", 100) is None


def test_no_real_telegram_has_a_field_dropped() -> None:
    assert all(parse_telegram(read_fixture(name)).dropped == () for name in ALL_TELEGRAMS)


# --- encodings ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["Shift_JIS", "EUC-JP", "x-unknown"])
def test_it_refuses_encodings_it_cannot_read_as_its_own_error(encoding: str) -> None:
    # pyexpat raises ValueError or LookupError for these; the poll only
    # catches JmaXmlError.
    text = read_fixture(AICHI).decode("utf-8").replace('encoding="UTF-8"', f'encoding="{encoding}"')
    body = text.encode("shift_jis") if encoding == "Shift_JIS" else text.encode("utf-8")
    with pytest.raises(JmaXmlError, match="encoding"):
        parse_telegram(body)


def test_it_reads_a_utf16_telegram() -> None:
    text = read_fixture(AICHI).decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert parse_telegram(text.encode("utf-16")).event_id == "20210218035836"


def test_it_refuses_a_lone_surrogate_in_a_str_body_as_its_own_error() -> None:
    text = read_fixture(AICHI).decode("utf-8").replace("愛知県西部", "愛知\ud800県西部")
    with pytest.raises(JmaXmlError, match="UTF-8"):
        parse_telegram(text)
    with pytest.raises(JmaXmlError):
        parse_feed(JMA_SHAPED_FEED.replace("気象庁", "\udfff"))


# --- the feed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            "<updated>2021-02-17T19:01:22Z</updated>",
            "<updated>0001-01-01T00:00:00+09:00</updated>",
            "updated",
        ),
        (
            "<updated>2021-02-17T19:01:22Z</updated>",
            "<updated>9999-12-31T23:59:59-09:00</updated>",
            "updated",
        ),
        ("<updated>2021-02-17T19:01:22Z</updated>", "", "no updated"),
        (
            "<id>https://www.data.jma.go.jp/developer/xml/data/20210217190122_0_VXSE52_010000.xml</id>",
            "<id>" + "x" * 256 + "</id>",
            "id",
        ),
        (
            'href="https://www.data.jma.go.jp/developer/xml/data/20210217190122_0_VXSE52_010000.xml"',
            'href="http://[::1/20210217190122_0_VXSE52_010000.xml"',  # urlsplit raises ValueError
            "link",
        ),
        (
            'href="https://www.data.jma.go.jp/developer/xml/data/20210217190122_0_VXSE52_010000.xml"',
            'href="https://www.data.jma.go.jp:99999/developer/xml/data/20210217190122_0_VXSE52_010000.xml"',
            "link",
        ),
        (
            'href="https://www.data.jma.go.jp/developer/xml/data/20210217190122_0_VXSE52_010000.xml"',
            'href="file:///etc/passwd"',
            "link",
        ),
        (
            'href="https://www.data.jma.go.jp/developer/xml/data/20210217190122_0_VXSE52_010000.xml"',
            'href="https://www.data.jma.go.jp/データ/20210217190122_0_VXSE52_010000.xml"',
            "link",
        ),
    ],
)
def test_it_skips_an_unusable_entry_with_the_reason_and_keeps_its_neighbours(
    old: str, new: str, reason: str
) -> None:
    assert old in JMA_SHAPED_FEED
    reading = parse_feed_entries(JMA_SHAPED_FEED.replace(old, new, 1))
    assert [entry.type_code for entry in reading.entries] == ["VXSE53", "VXSE51"]
    [skipped] = reading.skipped
    assert skipped.position == 2 and reason in skipped.reason


def test_it_keeps_an_entry_whose_decorations_are_odd_without_them() -> None:
    odd = JMA_SHAPED_FEED.replace("<name>気象庁</name>", "<name>気象庁\u202e</name>", 1).replace(
        "<title>震源・震度に関する情報</title>", "<title>" + "震" * 200 + "</title>", 1
    )
    first = parse_feed(odd)[0]
    assert first.type_code == "VXSE53" and first.title == "" and first.author == ""


@pytest.mark.parametrize(
    "value",
    [
        "Thu, 18 Feb 2021 04:02:00 GMT\x00",  # ValueError in If-Modified-Since before
        "Thu, 18 Feb 2021 04:02:00\r\nX-Evil: 1",
        "Mon, 01 Jan 0001 00:00:00 GMT",  # email.utils alone reads 2001
        "Thu, 18 Feb 21 04:02:00 GMT",
        "Thursday, 18-Feb-21 04:02:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Wed, 03 Jan 2024 12:00:00 GMT",  # two days ahead of NOW: every answer would be 304
        "yesterday",
        "Thu, 18 Feb 2021 04:02:00 GMT" + " " * 64,
        "",
        None,
    ],
)
def test_it_forgets_a_last_modified_it_cannot_send_back(value: str | None) -> None:
    assert clean_last_modified(value, NOW) is None


def test_it_keeps_a_proper_last_modified_as_sent() -> None:
    assert clean_last_modified("Thu, 18 Feb 2021 04:02:00 GMT", NOW) == "Thu, 18 Feb 2021 04:02:00 GMT"
