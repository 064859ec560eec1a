"""Where a group lives: JMA's 市町村等 codes and the resolver for 「/地域 ...」.

Pure: reads data/AreaInformationCity.csv (JMA's code table, see
data/ATTRIBUTION.md) once, on first use, and answers from memory.

The codes are the 7-digit ones earthquake telegrams (VXSE53) use under
Body/Intensity/Observation/Pref/Area/City/Code.  Designated cities
(政令指定都市) are reported ward by ward: the table has a row for the city
itself (1410000 神奈川県横浜市) and one per ward (1410900
「神奈川県横浜市のうち港北区」), and the telegrams only ever carry the ward
codes (tests/jma checks all 72 samples).  A group registered on the city row
would never be triggered, so the city name alone resolves to its wards as
candidates, never to the city row.

The resolver never guesses: a name that fits several areas, or fits none
exactly, comes back as candidates for the leader to pick from.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from domain.jma import Intensity

CSV_PATH = Path(__file__).resolve().parent.parent / "data" / "AreaInformationCity.csv"

MAX_CANDIDATES = 10

# Municipal changes after the table's 2018-10-01 edition that earthquake
# telegrams reflect.  浜松市 reorganised its seven wards into three on
# 2024-01-01: 中区・東区・西区・南区 and part of 北区 became 中央区 (local
# government code 22138), the rest of 北区 and 浜北区 became 浜名区 (22139), and
# 天竜区 kept its area but was renumbered 22137 -> 22140 (総務省
# 全国地方公共団体コード, 2024-01-01).  JMA's 7-digit code is the 5-digit code
# plus "00", as for every other ward in the table.  The old wards stay readable
# by area_by_code (old telegrams use them) but are no longer offered to leaders.
# VERIFY against JMA's current 個別コード表 when the table is next refreshed.
_ADDED_SINCE_EDITION: tuple[tuple[str, str, str, str], ...] = (
    # code, prefecture, city, ward
    ("2213800", "静岡県", "浜松市", "中央区"),
    ("2213900", "静岡県", "浜松市", "浜名区"),
    ("2214000", "静岡県", "浜松市", "天竜区"),
)
_RETIRED_SINCE_EDITION = frozenset(
    {"2213100", "2213200", "2213300", "2213400", "2213500", "2213600", "2213700"}
)

_PREFECTURE = re.compile(r"^(北海道|東京都|京都府|大阪府|[^都道府県]{2,3}県)")
# 「神奈川県横浜市のうち港北区」: one ward of a designated city.  Rows that list
# several wards (「…のうち鶴見区、神奈川区…」) are warning sub-areas whose codes
# do not end in 00, so they never reach this pattern.
_WARD_ROW = re.compile(r"^(?P<city>.+?市)のうち(?P<ward>[^、及]+区)$")
_GUN = re.compile(r"郡")
# Characters written either way in place names (保土ケ谷区 / 保土ヶ谷区).
_KE = str.maketrans({"ヶ": "ケ", "ヵ": "ケ", "ゖ": "ケ"})
_STRIP = " \t\r\n「」『』\"'()（）。、.,"


@dataclass(frozen=True)
class Area:
    """One 市町村 or ward that earthquake telegrams report on.

    ``name`` is the full name with the table's 「のうち」 form made natural
    (神奈川県横浜市港北区); ``label`` is the short form people use
    (横浜市港北区, 厚木市, 益城町)."""

    code: str
    name: str
    label: str
    prefecture: str


@dataclass(frozen=True)
class AreaMatch:
    """The resolver's answer: exactly one ``area``, or ``candidates``, or neither.

    ``reason`` says which: "exact" (``area`` is set), "ambiguous" (several areas
    carry that name), "designated_city" (a 政令指定都市 given without its ward;
    the candidates are its wards), "partial" (no exact match; names that start
    with or contain the text, or are spelt closely) or "unknown" (nothing).
    ``candidates`` holds at most MAX_CANDIDATES, most plausible first;
    ``total`` is how many there were before that cut, so a caller can ask for a
    more specific name when ``total > len(candidates)``."""

    reason: str
    area: Area | None = None
    candidates: tuple[Area, ...] = ()
    total: int = 0

    @property
    def is_exact(self) -> bool:
        return self.area is not None


@dataclass(frozen=True)
class _Index:
    by_code: dict[str, Area]
    # normalised name without prefecture -> areas (several for 北区, 府中市)
    by_key: dict[str, tuple[Area, ...]]
    # normalised designated-city name (横浜市) -> its wards in code order
    wards_of: dict[str, tuple[Area, ...]]
    prefectures: frozenset[str]


def area_by_code(code: str) -> Area | None:
    """The area for a 7-digit 市町村等 code, or None.

    Covers every 市町村-level row of the table (codes ending in 00, including
    designated cities themselves and wards retired since the edition) plus the
    areas added since; the warning-only sub-divisions are not areas."""
    return _index().by_code.get(code.strip())


def resolve_area(text: str) -> AreaMatch:
    """Resolve what a leader typed after 「/地域」 to an area.

    Accepts a 市区町村 with or without its prefecture (厚木市, 神奈川県厚木市),
    a ward with or without its city (横浜市港北区, 港北区, JMA's 横浜港北区),
    a town or village with or without its 郡 (上益城郡益城町), the reading in
    kana (あつぎし), full-width or half-width, with surrounding spaces.  Only an
    exact name that fits one area is "exact"; everything else is candidates or
    "unknown", never a guess."""
    query = _normalise(text)
    if not query:
        return AreaMatch("unknown")
    index = _index()

    exact = _exact_matches(index, query)
    if len(exact) == 1:
        return AreaMatch("exact", area=exact[0])
    if exact:
        return _candidates("ambiguous", _rank(exact, query, by_length=False))

    wards = _designated_city_wards(index, query)
    if wards:
        return _candidates("designated_city", wards)

    partial = _partial_matches(index, query)
    if partial:
        return _candidates("partial", partial)
    return AreaMatch("unknown")


_THRESHOLD = re.compile(r"^(?:震度)?([1-7１-７一二三四五六七])\s*(弱|強|-|\+|−|＋)?(?:以上)?$")
_KANJI_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7"}


def parse_threshold(text: str) -> Intensity | None:
    """The intensity a leader named as the group's threshold, or None.

    Reads 震度4, 震度5弱, 震度５強, 5+, 6-, 5弱以上, 震度五弱.  A bare 5 or 6
    is None: since 1996 there is no plain 震度5, and picking 弱 or 強 for the
    leader would be a guess.  Any level from 1 to 7 is returned; whether a low
    threshold is sensible for a group is the bot's call."""
    folded = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    match = _THRESHOLD.match(folded)
    if not match:
        return None
    digit = _KANJI_DIGITS.get(match.group(1), match.group(1))
    suffix = {"弱": "-", "強": "+", "−": "-", "＋": "+"}.get(match.group(2), match.group(2))
    if digit in "56":
        return Intensity(digit + suffix) if suffix else None
    return None if suffix else Intensity(digit)


def split_threshold(text: str) -> tuple[str, Intensity | None]:
    """Split 「厚木市 震度4」 into the area text and the threshold.

    The threshold is the last whitespace-separated word when it parses as
    one; otherwise the whole text is the area and the threshold is None."""
    words = unicodedata.normalize("NFKC", text).split()
    if len(words) >= 2:
        threshold = parse_threshold(words[-1])
        if threshold is not None:
            return " ".join(words[:-1]), threshold
    return " ".join(words), None


# --- resolution steps ---------------------------------------------------------


def _normalise(text: str) -> str:
    """The form both the index keys and the query are compared in: NFKC, no
    spaces, ヶ written ケ, katakana as hiragana (so アツギシ finds あつぎし)."""
    folded = unicodedata.normalize("NFKC", text).strip(_STRIP)
    return _hiragana("".join(folded.split()).translate(_KE))


def _split_prefecture(index: _Index, query: str) -> list[tuple[str, str]]:
    """(prefecture, rest) for each way ``query`` can start with a prefecture:
    the full name (神奈川県) or, as JMA writes 福島伊達市, without 県/府/都."""
    splits = []
    for prefecture in index.prefectures:
        short = prefecture if prefecture == "北海道" else prefecture[:-1]
        for prefix in {prefecture, short}:
            if query.startswith(prefix) and len(query) > len(prefix):
                splits.append((prefecture, query[len(prefix) :]))
    return splits


def _lookup(index: _Index, key: str, prefecture: str | None = None) -> list[Area]:
    found = list(index.by_key.get(key, ()))
    if not found:
        # 「上益城郡益城町」: the table has no 郡, so try what follows each 郡.
        # The whole text is tried first so that 郡山市 and 大和郡山市 still match.
        for gun in _GUN.finditer(key):
            rest = key[gun.end() :]
            if rest.endswith(("町", "村")):
                found.extend(index.by_key.get(rest, ()))
    if prefecture is not None:
        found = [area for area in found if area.prefecture == prefecture]
    return found


def _exact_matches(index: _Index, query: str) -> list[Area]:
    found = {area.code: area for area in _lookup(index, query)}
    for prefecture, rest in _split_prefecture(index, query):
        found.update((area.code, area) for area in _lookup(index, rest, prefecture))
    return list(found.values())


def _designated_city_wards(index: _Index, query: str) -> tuple[Area, ...]:
    if query in index.wards_of:
        return index.wards_of[query]
    for prefecture, rest in _split_prefecture(index, query):
        wards = index.wards_of.get(rest, ())
        if wards and wards[0].prefecture == prefecture:
            return wards
    return ()


def _partial_matches(index: _Index, query: str) -> list[Area]:
    """Areas whose name starts with, then contains, the query; failing both,
    names spelt closely (one wrong character)."""
    keys = [query] + [rest for _, rest in _split_prefecture(index, query)]
    starts: dict[str, Area] = {}
    contains: dict[str, Area] = {}
    if len(query) >= 2:  # one character matches half the country
        for key, areas in index.by_key.items():
            for probe in keys:
                target = starts if key.startswith(probe) else contains if probe in key else None
                if target is not None:
                    target.update((area.code, area) for area in areas)
    ranked = _rank(list(starts.values()), query) + _rank(
        [area for code, area in contains.items() if code not in starts], query
    )
    if ranked or len(query) < 2:
        return ranked
    # One wrong character in a three-character name (厚来市) scores 0.67.
    close = difflib.get_close_matches(query, index.by_key.keys(), n=MAX_CANDIDATES, cutoff=0.6)
    # Equal scores are common (潮来市, 朝来市, 厚木市 for 厚来市); a shared
    # first character is the better tie-break than the table's order.
    close.sort(key=lambda key: (-difflib.SequenceMatcher(None, query, key).ratio(), key[0] != query[0]))
    found: dict[str, Area] = {}
    for key in close:
        found.update((area.code, area) for area in index.by_key[key])
    return list(found.values())


def _rank(areas: list[Area], query: str, *, by_length: bool = True) -> list[Area]:
    """Most plausible first: an area whose own name is exactly the query
    (東京都北区 for 北区) before wards that merely share it; then, for partial
    matches, shorter names (the query covers more of them); then code order,
    which follows JMA's north-to-south listing."""

    def key(area: Area) -> tuple[int, int, str]:
        own_name = query in (_normalise(area.label), _normalise(area.name))
        return (0 if own_name else 1, len(area.label) if by_length else 0, area.code)

    return sorted(areas, key=key)


def _candidates(reason: str, areas: list[Area] | tuple[Area, ...]) -> AreaMatch:
    return AreaMatch(reason, candidates=tuple(areas[:MAX_CANDIDATES]), total=len(areas))


# --- loading the table --------------------------------------------------------


@functools.cache
def _index() -> _Index:
    by_code: dict[str, Area] = {}
    resolvable: list[Area] = []
    reading_of: dict[str, str] = {}
    designated: dict[str, list[Area]] = {}
    ward_names: dict[str, str] = {}  # code -> bare ward name (港北区)
    city_rows: dict[str, Area] = {}  # full name -> Area, to find designated cities

    with CSV_PATH.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    for row in rows:
        code, full_name, short_name, reading = (cell.strip() for cell in row[:4])
        # Codes not ending in 00 are sub-divisions used by weather warnings
        # (釧路市阿寒, 横浜市北部); earthquake telegrams never use them.
        if not code.endswith("00"):
            continue
        prefecture = _prefecture_of(full_name)
        ward = _WARD_ROW.match(full_name[len(prefecture) :])
        if ward:
            city, ward_name = ward.group("city"), ward.group("ward")
            area = Area(code, prefecture + city + ward_name, city + ward_name, prefecture)
            ward_names[code] = ward_name
            designated.setdefault(prefecture + city, []).append(area)
        else:
            natural = full_name.replace("のうち", "")
            area = Area(code, natural, short_name or natural[len(prefecture) :], prefecture)
            city_rows[natural] = area
        by_code[code] = area
        # Rows without a short name that are not wards are places JMA issues
        # nothing for: 「東京都のうち八丈支庁管内」 (grouping two island towns
        # that have rows of their own) and 北海道色丹村.  Readable by code, but
        # not places to register.
        unlisted = not ward and not short_name
        if code not in _RETIRED_SINCE_EDITION and not unlisted:
            resolvable.append(area)
            if reading:
                reading_of[code] = reading

    for code, prefecture, city, ward_name in _ADDED_SINCE_EDITION:
        area = Area(code, prefecture + city + ward_name, city + ward_name, prefecture)
        by_code[code] = area
        resolvable.append(area)
        ward_names[code] = ward_name
        designated.setdefault(prefecture + city, []).append(area)

    designated_codes = {city_rows[name].code for name in designated if name in city_rows}
    by_key: dict[str, list[Area]] = {}
    for area in resolvable:
        if area.code in designated_codes:
            continue  # telegrams report the wards, never the city row
        local = area.name[len(area.prefecture) :]
        keys = {local}
        if area.code in ward_names:
            ward_name = ward_names[area.code]
            city = local[: -len(ward_name)]
            # 港北区 alone, and JMA's own spelling in telegrams (横浜港北区).
            keys |= {ward_name, city.removesuffix("市") + ward_name}
        if area.code in reading_of:
            keys.add(reading_of[area.code])
        for key in keys:
            by_key.setdefault(_normalise(key), []).append(area)

    wards_of: dict[str, tuple[Area, ...]] = {}
    for full_city, wards in designated.items():
        current = tuple(
            sorted(
                (ward for ward in wards if ward.code not in _RETIRED_SINCE_EDITION),
                key=lambda ward: ward.code,
            )
        )
        city = full_city[len(wards[0].prefecture) :]
        wards_of[_normalise(city)] = current

    return _Index(
        by_code=by_code,
        by_key={key: tuple(areas) for key, areas in by_key.items()},
        wards_of=wards_of,
        prefectures=frozenset(area.prefecture for area in by_code.values()),
    )


def _prefecture_of(full_name: str) -> str:
    match = _PREFECTURE.match(full_name)
    if not match:
        raise ValueError(f"no prefecture at the start of {full_name!r}")
    return match.group(1)


def _hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)
