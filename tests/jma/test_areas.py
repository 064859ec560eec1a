"""domain.areas: JMA's 市町村等 table, checked against the real telegrams, and
the resolver for 「/地域 ...」."""

from __future__ import annotations

import pytest
from jma_fixtures import ALL_TELEGRAMS, PROJECT_ROOT, read_fixture

from domain import areas
from domain.areas import (
    CSV_PATH,
    MAX_CANDIDATES,
    area_by_code,
    parse_threshold,
    resolve_area,
    split_threshold,
)
from domain.jma import Intensity, parse_telegram

INTENSITY_REPORTS = [
    telegram
    for telegram in (parse_telegram(read_fixture(name)) for name in ALL_TELEGRAMS)
    if telegram.type_code == "VXSE53"
]
TELEGRAM_CITIES = {
    code: telegram.city_names[code] for telegram in INTENSITY_REPORTS for code in telegram.cities
}

# City codes found in the sample telegrams that the 2018 table lacks because of
# municipal changes since.  None: every code in the 72 samples (2021-2024) is in
# the table.  Should a new sample add one, list it here with the change's name.
MISSING_SINCE_2018: dict[str, str] = {}

# The 20 designated cities: the table's city rows that have ward rows.
DESIGNATED_CITY_CODES = {
    "0110000", "0410000", "1110000", "1210000", "1410000", "1413000", "1415000",
    "1510000", "2210000", "2213000", "2310000", "2610000", "2710000", "2714000",
    "2810000", "3310000", "3410000", "4010000", "4013000", "4310000",
}  # fmt: skip


# --- the table ---------------------------------------------------------------


def test_it_reads_the_table_copied_into_the_project() -> None:
    assert CSV_PATH.is_relative_to(PROJECT_ROOT)
    assert CSV_PATH.is_file()
    assert (PROJECT_ROOT / "data" / "ATTRIBUTION.md").is_file()


def test_it_loads_the_table_once() -> None:
    assert areas._index() is areas._index()


def test_it_samples_enough_cities_to_matter() -> None:
    assert len(INTENSITY_REPORTS) == 50
    assert len(TELEGRAM_CITIES) == 338


def test_it_knows_every_city_code_in_every_intensity_report() -> None:
    unknown = {code: name for code, name in TELEGRAM_CITIES.items() if area_by_code(code) is None}
    assert unknown == MISSING_SINCE_2018


def test_it_resolves_each_telegram_city_name_back_to_its_code() -> None:
    # JMA writes 名古屋千種区, 福島伊達市, 宮城美里町 in telegrams; a leader who
    # copies that name must land on the same code.  浜松's old wards are retired.
    for code, name in TELEGRAM_CITIES.items():
        match = resolve_area(name)
        if code in areas._RETIRED_SINCE_EDITION:
            assert match.area is None or match.area.code != code, name
        else:
            assert match.area is not None and match.area.code == code, (name, match)


def test_it_sees_designated_cities_reported_ward_by_ward_only() -> None:
    # Why 「横浜市」 alone must not resolve to the city row: no telegram uses it.
    assert DESIGNATED_CITY_CODES.isdisjoint(TELEGRAM_CITIES)
    ward_codes = {code for code in TELEGRAM_CITIES if code[:4] + "000" in DESIGNATED_CITY_CODES}
    assert {"2310100", "0410100", "4310300", "3410600"} <= ward_codes
    for code in DESIGNATED_CITY_CODES:
        assert area_by_code(code) is not None  # still readable by code


def test_it_writes_wards_as_natural_names() -> None:
    ward = area_by_code("1410900")
    assert ward is not None
    assert (ward.name, ward.label, ward.prefecture) == ("神奈川県横浜市港北区", "横浜市港北区", "神奈川県")
    town = area_by_code("4344300")
    assert town is not None and (town.name, town.label) == ("熊本県益城町", "益城町")


def test_it_has_no_area_for_warning_subdivisions_or_unknown_codes() -> None:
    assert area_by_code("1410011") is None  # 横浜市北部: warnings only
    assert area_by_code("9999900") is None
    assert area_by_code(" 1421200 ") is not None  # spaces around a stored code


def test_it_applies_the_2024_hamamatsu_reorganisation() -> None:
    for code, label in [
        ("2213800", "浜松市中央区"),
        ("2213900", "浜松市浜名区"),
        ("2214000", "浜松市天竜区"),
    ]:
        area = area_by_code(code)
        assert area is not None and area.label == label
    old = area_by_code("2213100")
    assert old is not None and old.label == "浜松市中区"  # old telegrams still read
    match = resolve_area("浜松市")
    assert [area.code for area in match.candidates] == ["2213800", "2213900", "2214000"]
    assert resolve_area("浜松市中区").area is None


# --- the resolver ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("横浜市港北区", "1410900"),
        ("神奈川県横浜市港北区", "1410900"),
        ("港北区", "1410900"),  # one city has a 港北区
        ("横浜港北区", "1410900"),  # JMA's spelling in telegrams
        ("神奈川県港北区", "1410900"),
        ("厚木市", "1421200"),
        ("神奈川県厚木市", "1421200"),
        ("熊本県益城町", "4344300"),
        ("益城町", "4344300"),
        ("上益城郡益城町", "4344300"),
        ("熊本県上益城郡益城町", "4344300"),
        ("　厚木市　", "1421200"),  # full-width spaces
        ("  神奈川県 厚木市 ", "1421200"),
        ("ｱﾂｷﾞｼ", "1421200"),  # half-width kana reading
        ("あつぎし", "1421200"),
        ("「厚木市」", "1421200"),
        ("保土ヶ谷区", "1410600"),  # the table writes 保土ケ谷区
        ("東京都北区", "1311700"),
        ("福島県伊達市", "0721300"),
        ("福島伊達市", "0721300"),
        ("郡山市", "0720300"),  # 郡 inside a name is not a 郡
        ("大和郡山市", "2920300"),
        ("赤穂郡上郡町", "2848100"),
        ("熊本市東区", "4310200"),
    ],
)
def test_it_resolves_exact_names(text: str, code: str) -> None:
    match = resolve_area(text)
    assert match.reason == "exact"
    assert match.is_exact and match.area is not None and match.area.code == code
    assert match.candidates == ()


def test_it_lists_every_kita_ku_instead_of_guessing() -> None:
    match = resolve_area("北区")
    assert match.reason == "ambiguous" and match.area is None
    assert match.total == 11 and len(match.candidates) == MAX_CANDIDATES
    # 東京都北区 is a municipality called exactly that; the wards only share it.
    assert match.candidates[0].name == "東京都北区"
    assert {area.label for area in match.candidates[1:4]} == {"札幌市北区", "さいたま市北区", "新潟市北区"}
    assert all(area.name.endswith("北区") for area in match.candidates)


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("府中市", ["府中市", "府中市"]),
        ("伊達市", ["伊達市", "伊達市"]),
        ("港区", ["港区", "名古屋市港区", "大阪市港区"]),
    ],
)
def test_it_lists_homonyms_instead_of_guessing(text: str, labels: list[str]) -> None:
    match = resolve_area(text)
    assert match.reason == "ambiguous" and match.area is None
    assert [area.label for area in match.candidates] == labels
    assert len({area.prefecture for area in match.candidates}) == len(labels)


@pytest.mark.parametrize("text", ["横浜市", "神奈川県横浜市", "神奈川県 横浜市"])
def test_it_offers_the_wards_for_a_designated_city(text: str) -> None:
    match = resolve_area(text)
    assert match.reason == "designated_city" and match.area is None
    assert match.total == 18
    assert len(match.candidates) == MAX_CANDIDATES
    assert all(area.label.startswith("横浜市") and area.label.endswith("区") for area in match.candidates)
    assert "1410000" not in {area.code for area in match.candidates}


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("厚木", "神奈川県厚木市"),
        ("新宿", "東京都新宿区"),
        ("厚来市", "神奈川県厚木市"),
        ("横浜市港北", "神奈川県横浜市港北区"),
    ],
)
def test_it_offers_candidates_for_partial_or_misspelt_names(text: str, first: str) -> None:
    match = resolve_area(text)
    assert match.reason == "partial" and match.area is None
    assert match.candidates[0].name == first
    assert 1 <= len(match.candidates) <= MAX_CANDIDATES


def test_it_keeps_a_bare_yokohama_open_between_the_city_and_the_town() -> None:
    # 「横浜」 is also 青森県横浜町; only 「横浜市」 means the designated city.
    match = resolve_area("横浜")
    assert match.reason == "partial"
    assert match.candidates[0].name == "青森県横浜町"
    assert all(area.label.startswith("横浜市") for area in match.candidates[1:])
    assert match.total == 19  # the town and the 18 wards


@pytest.mark.parametrize("text", ["", "   ", "アトランティス", "ニューヨーク", "x", "あ", "色丹村"])
def test_it_finds_nothing_for_unknown_names(text: str) -> None:
    match = resolve_area(text)
    assert match.reason == "unknown"
    assert match.area is None and match.candidates == () and match.total == 0


# --- thresholds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("震度4", Intensity.FOUR),
        ("震度5弱", Intensity.FIVE_LOWER),
        ("震度５強", Intensity.FIVE_UPPER),
        ("5+", Intensity.FIVE_UPPER),
        ("5-", Intensity.FIVE_LOWER),
        ("６弱", Intensity.SIX_LOWER),
        ("震度6強", Intensity.SIX_UPPER),
        ("震度7", Intensity.SEVEN),
        ("震度五弱", Intensity.FIVE_LOWER),
        ("5弱以上", Intensity.FIVE_LOWER),
        ("震度 5 弱", Intensity.FIVE_LOWER),
        ("3", Intensity.THREE),
        ("5", None),  # 弱 or 強? not ours to guess
        ("震度6", None),
        ("4弱", None),
        ("8", None),
        ("震度", None),
        ("厚木市", None),
    ],
)
def test_it_parses_thresholds(text: str, expected: Intensity | None) -> None:
    assert parse_threshold(text) is expected


@pytest.mark.parametrize(
    ("text", "area_text", "threshold"),
    [
        ("厚木市 震度4", "厚木市", Intensity.FOUR),
        ("熊本県益城町　震度５強", "熊本県益城町", Intensity.FIVE_UPPER),
        ("厚木市", "厚木市", None),
        ("熊本県 益城町", "熊本県 益城町", None),
        ("震度4", "震度4", None),  # a threshold alone is not an area + threshold
    ],
)
def test_it_splits_the_threshold_off_the_area(text: str, area_text: str, threshold: Intensity | None) -> None:
    assert split_threshold(text) == (area_text, threshold)
