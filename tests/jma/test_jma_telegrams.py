"""domain.jma: the intensity scale, the 72 real telegrams, edited variants and
the hardening against hostile XML."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
from jma_fixtures import AICHI, ALL_TELEGRAMS, IWATE, edit_telegram, read_fixture

from domain.jma import (
    JST,
    MAX_TELEGRAM_BYTES,
    Intensity,
    JmaXmlError,
    TelegramError,
    XmlRefusedError,
    parse_telegram,
)

# --- the scale ---------------------------------------------------------------


def test_it_orders_the_scale_as_jma_does() -> None:
    codes = ["1", "2", "3", "4", "5-", "5+", "6-", "6+", "7"]
    scale = [Intensity.from_code(code) for code in codes]
    assert scale == sorted(scale, key=lambda intensity: intensity.rank)
    assert all(a < b for a, b in zip(scale, scale[1:], strict=False))
    assert Intensity.FIVE_LOWER >= Intensity.FOUR
    assert Intensity.FIVE_UPPER > Intensity.FIVE_LOWER
    assert max(scale) is Intensity.SEVEN


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("1", "震度1"),
        ("4", "震度4"),
        ("5-", "震度5弱"),
        ("5+", "震度5強"),
        ("6-", "震度6弱"),
        ("6+", "震度6強"),
        ("7", "震度7"),
    ],
)
def test_it_labels_intensities_in_japanese(code: str, label: str) -> None:
    intensity = Intensity.from_code(code)
    assert intensity.label == label
    assert Intensity(intensity.value) is intensity  # what the database stores


def test_it_rejects_codes_outside_the_scale() -> None:
    for code in ("0", "5", "8", "震度５弱以上未入電", ""):
        with pytest.raises(ValueError):
            Intensity.from_code(code)


def test_it_does_not_compare_intensities_with_other_types() -> None:
    with pytest.raises(TypeError):
        assert Intensity.FOUR < 5  # type: ignore[operator]


# --- the real telegrams ------------------------------------------------------


def test_it_has_the_72_copied_telegrams() -> None:
    assert len(ALL_TELEGRAMS) == 72


@pytest.mark.parametrize("name", ALL_TELEGRAMS)
def test_it_parses_every_real_telegram(name: str) -> None:
    telegram = parse_telegram(read_fixture(name))
    # The type code is only in the file name; the parser derives it from the title.
    assert telegram.type_code is not None and telegram.type_code in name
    assert telegram.status == "通常" and telegram.info_type == "発表"
    assert telegram.event_id.isdigit() and len(telegram.event_id) == 14
    assert telegram.report_datetime.utcoffset() == JST.utcoffset(None)
    if telegram.origin_time is not None:
        assert telegram.origin_time.tzinfo is not None
        assert telegram.origin_time <= telegram.report_datetime
    if telegram.type_code != "VXSE53":
        assert telegram.cities == {}
    assert set(telegram.cities) == set(telegram.city_names)
    assert all(len(code) == 7 and code.isdigit() for code in telegram.cities)


def test_it_identifies_every_kind_in_the_sample() -> None:
    kinds = Counter(parse_telegram(read_fixture(name)).type_code for name in ALL_TELEGRAMS)
    assert kinds == {"VXSE53": 50, "VXSE51": 6, "VXSE52": 6, "VTSE41": 9, "VXSE43": 1}


def test_it_reads_an_intensity_report_field_by_field() -> None:
    telegram = parse_telegram(read_fixture(AICHI))
    assert telegram.kind == "震源・震度に関する情報"
    assert telegram.title == "震源・震度情報"
    assert telegram.event_id == "20210218035836"
    assert telegram.serial == 1
    assert telegram.report_datetime == datetime(2021, 2, 18, 4, 2, tzinfo=JST)
    assert telegram.origin_time == datetime(2021, 2, 18, 3, 58, tzinfo=JST)
    assert telegram.hypocenter_name == "愛知県西部"
    assert telegram.magnitude == 4.2
    assert telegram.magnitude_text == "Ｍ４．２"
    assert telegram.max_intensity is Intensity.THREE
    assert telegram.headline == "１８日０３時５８分ころ、地震がありました。"
    assert len(telegram.cities) == 162
    assert telegram.cities["2321100"] is Intensity.THREE  # 豊田市
    assert telegram.cities["2310100"] is Intensity.TWO  # 名古屋千種区 (a ward code)
    assert telegram.city_names["2310100"] == "名古屋千種区"
    assert telegram.unreceived_cities == frozenset()
    assert telegram.is_real


def test_it_takes_the_max_intensity_of_every_city_from_the_telegram() -> None:
    telegram = parse_telegram(read_fixture(IWATE))
    assert telegram.max_intensity is Intensity.FOUR
    assert telegram.cities["0321300"] is Intensity.FOUR  # 二戸市
    assert max(telegram.cities.values()) is telegram.max_intensity


def test_it_reads_an_unknown_magnitude_as_none() -> None:
    # 遠地地震に関する情報: a VXSE53 with Ｍ不明 (NaN) and no intensities.
    telegram = parse_telegram(read_fixture("20231203181616_04485779_VXSE53.xml"))
    assert telegram.type_code == "VXSE53"
    assert telegram.title == "遠地地震に関する情報"
    assert telegram.magnitude is None
    assert telegram.magnitude_text == "Ｍ不明"
    assert telegram.cities == {} and telegram.max_intensity is None


def test_it_reads_a_flash_report_without_cities() -> None:
    # 震度速報 reports by area (細分区域), not by city.
    telegram = parse_telegram(read_fixture("20210219091253_0_VXSE51_010000.xml"))
    assert telegram.type_code == "VXSE51"
    assert telegram.max_intensity is Intensity.FOUR
    assert telegram.origin_time is None and telegram.serial is None
    assert telegram.cities == {}


def test_it_reads_tsunami_and_eew_telegrams_without_cities() -> None:
    tsunami = parse_telegram(read_fixture("32-39_11_06_120615_VTSE41.xml"))
    assert tsunami.kind == "津波警報・注意報・予報a" and tsunami.type_code == "VTSE41"
    assert tsunami.hypocenter_name == "三陸沖" and tsunami.cities == {}
    eew = parse_telegram(read_fixture("20240116184225_02245216_VXSE43.xml"))
    assert eew.type_code == "VXSE43" and eew.hypocenter_name == "能登半島沖"
    assert eew.magnitude == 5.7 and eew.max_intensity is None and eew.cities == {}


# --- edited variants ---------------------------------------------------------


@pytest.mark.parametrize("status", ["訓練", "試験"])
def test_it_reads_drill_and_test_status(status: str) -> None:
    telegram = parse_telegram(edit_telegram(AICHI, status=status))
    assert telegram.status == status
    assert not telegram.is_real
    assert telegram.cities["2321100"] is Intensity.THREE  # the body is still read


@pytest.mark.parametrize("info_type", ["訂正", "取消", "遅延"])
def test_it_reads_corrections_and_cancellations(info_type: str) -> None:
    telegram = parse_telegram(edit_telegram(AICHI, info_type=info_type))
    assert telegram.info_type == info_type
    assert telegram.event_id == "20210218035836"


def test_it_reads_an_unreceived_city_as_at_least_5_lower() -> None:
    body = edit_telegram(AICHI, city_max_int={"2321100": "未入電", "2322200": "6+"})
    assert "<Condition>震度５弱以上未入電</Condition>" in body.decode("utf-8")
    telegram = parse_telegram(body)
    assert telegram.cities["2321100"] is Intensity.FIVE_LOWER
    assert telegram.unreceived_cities == frozenset({"2321100"})
    assert telegram.cities["2322200"] is Intensity.SIX_UPPER
    assert "2322200" not in telegram.unreceived_cities


def test_it_refuses_a_city_with_neither_intensity_nor_condition() -> None:
    body = read_fixture(AICHI).replace(b"<Code>2321100</Code><MaxInt>3</MaxInt>", b"<Code>2321100</Code>")
    with pytest.raises(TelegramError, match="2321100"):
        parse_telegram(body)


def test_it_refuses_an_unknown_intensity_value() -> None:
    with pytest.raises(TelegramError, match="unknown intensity"):
        parse_telegram(edit_telegram(AICHI, city_max_int={"2321100": "8"}))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"<Status>\xe9\x80\x9a\xe5\xb8\xb8</Status>", "<Status>本番</Status>".encode(), "Status"),
        (b"<InfoType>\xe7\x99\xba\xe8\xa1\xa8</InfoType>", "<InfoType>更新</InfoType>".encode(), "InfoType"),
        (b"<EventID>20210218035836</EventID>", b"", "EventID"),
        (b"2021-02-18T04:02:00+09:00</ReportDateTime>", b"2021-02-18T04:02:00</ReportDateTime>", "offset"),
    ],
)
def test_it_refuses_telegrams_missing_or_misstating_required_fields(
    old: bytes, new: bytes, message: str
) -> None:
    body = read_fixture(AICHI)
    assert old in body
    with pytest.raises(TelegramError, match=message):
        parse_telegram(body.replace(old, new, 1))


def test_it_refuses_xml_that_is_not_a_report() -> None:
    with pytest.raises(TelegramError, match="Report"):
        parse_telegram(b"<feed/>")
    with pytest.raises(JmaXmlError, match="well-formed"):
        parse_telegram(b"<Report><Control>")


# --- hardening ---------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Report [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Report><Control><Title>&lol9;</Title></Control></Report>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Report [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Report><Control><Title>&secret;</Title></Control></Report>"""

DTD_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE Report SYSTEM "http://example.invalid/report.dtd">
<Report/>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, DTD_ONLY])
def test_it_refuses_dtds_and_entities(body: bytes) -> None:
    with pytest.raises(XmlRefusedError):
        parse_telegram(body)


def test_it_refuses_a_real_telegram_with_an_entity_spliced_in() -> None:
    real = read_fixture(AICHI).decode("utf-8")
    hostile = real.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Report [<!ENTITY x "y">]>',
    )
    with pytest.raises(XmlRefusedError):
        parse_telegram(hostile)


def test_it_refuses_an_oversized_body_before_parsing() -> None:
    # Not even XML: if the size check did not come first, this would be a
    # parse error rather than a refusal.
    body = b"<" * (MAX_TELEGRAM_BYTES + 1)
    with pytest.raises(XmlRefusedError, match="limit"):
        parse_telegram(body)


def test_it_measures_the_limit_in_bytes_and_accepts_a_body_at_the_limit() -> None:
    real = read_fixture(AICHI)
    padded = real + b" " * (MAX_TELEGRAM_BYTES - len(real))
    assert len(padded) == MAX_TELEGRAM_BYTES
    assert parse_telegram(padded).event_id == "20210218035836"
    with pytest.raises(XmlRefusedError):
        parse_telegram(real, max_bytes=len(real) - 1)
