"""JMA disaster telegrams (気象庁防災情報XML): the seismic intensity scale and a
hardened reader for earthquake and tsunami telegrams.

Pure: takes the telegram's bytes, returns a ``Telegram``; no network, no
database.  Every body is untrusted input: ``parse_xml_safely`` refuses bodies
over a size limit before parsing, and refuses DTDs, entity declarations and
external references (billion laughs, XXE) through defusedxml.

Only the fields the safety-check feature needs are read.  The structure is JMA's
(Control / Head / Body); see tests/fixtures/jma for real examples.
"""

from __future__ import annotations

import enum
import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _defused_fromstring

# Japan has no daylight saving time, so a fixed offset is exact and needs no
# tz database.
JST = timezone(timedelta(hours=9), "JST")

# JMA telegrams are tens of kilobytes (the largest of our 72 samples is 46 KB);
# 2 MB leaves room for a nationwide quake and still bounds memory per request.
MAX_TELEGRAM_BYTES = 2 * 1024 * 1024

STATUSES = ("通常", "訓練", "試験")
# JMA's schema also allows 遅延 (a late publication of a normal telegram).
INFO_TYPES = ("発表", "訂正", "遅延", "取消")

# Control/Title -> the type code JMA uses in file names.  The code itself is not
# inside the telegram, only in its URL, so the title is what identifies it.
TYPE_CODES: dict[str, str] = {
    "震度速報": "VXSE51",
    "震源に関する情報": "VXSE52",
    "震源・震度に関する情報": "VXSE53",
    "長周期地震動に関する観測情報": "VXSE62",
    "緊急地震速報（警報）": "VXSE43",
    "緊急地震速報（予報）": "VXSE44",
    "津波警報・注意報・予報a": "VTSE41",
    "津波情報a": "VTSE51",
}

# What a City carries instead of MaxInt when its stations have not reported yet
# but the surrounding area already shows 5弱 or more (full text:
# 「震度５弱以上未入電」).
UNRECEIVED_MARK = "未入電"


class JmaXmlError(ValueError):
    """A JMA XML body (telegram or feed) that cannot be used."""


class XmlRefusedError(JmaXmlError):
    """The body was refused before or while parsing: too large, or it declares
    a DTD, entities or external references."""


class TelegramError(JmaXmlError):
    """Well-formed XML that is not a telegram this module can read."""


@functools.total_ordering
class Intensity(enum.Enum):
    """JMA's seismic intensity scale (震度階級), ordered from 1 to 7.

    The value is JMA's own code as written in telegrams (``"5-"`` is 5弱);
    store ``.value`` and read it back with ``Intensity(value)``.  Members
    compare by strength: ``Intensity.FIVE_LOWER < Intensity.FIVE_UPPER``."""

    ONE = "1"
    TWO = "2"
    THREE = "3"
    FOUR = "4"
    FIVE_LOWER = "5-"
    FIVE_UPPER = "5+"
    SIX_LOWER = "6-"
    SIX_UPPER = "6+"
    SEVEN = "7"

    @property
    def rank(self) -> int:
        """0 for 震度1 up to 8 for 震度7."""
        return _RANK[self]

    @property
    def label(self) -> str:
        """The Japanese name with ASCII digits, e.g. 「震度5強」."""
        return _LABELS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Intensity):
            return NotImplemented
        return self.rank < other.rank

    @classmethod
    def from_code(cls, code: str) -> Intensity:
        """The member for a telegram's MaxInt/Int text (``"5-"``); ValueError
        for anything else (including the 未入電 text, which callers handle)."""
        return cls(code.strip())


_RANK = {member: rank for rank, member in enumerate(Intensity)}
_LABELS = {member: "震度" + member.value.replace("-", "弱").replace("+", "強") for member in Intensity}


@dataclass(frozen=True)
class Telegram:
    """What the safety-check feature reads from one JMA telegram.

    ``cities`` maps a 7-digit 市町村等 code (wards of designated cities have
    their own) to the city's maximum intensity; it is filled from
    Body/Intensity/Observation/Pref/Area/City, so only VXSE53 telegrams have
    entries.  A City reported as 「震度５弱以上未入電」 (no MaxInt yet) appears
    with ``Intensity.FIVE_LOWER`` — the lower bound JMA states — and its code is
    also in ``unreceived_cities``.

    Times are aware datetimes in JST.  ``origin_time`` is None when the telegram
    has no Earthquake (震度速報, cancellations); ``magnitude`` is None when JMA
    gives none or writes NaN (Ｍ不明), with its wording in ``magnitude_text``."""

    kind: str  # Control/Title, e.g. 震源・震度に関する情報
    type_code: str | None  # e.g. "VXSE53"; None for titles not in TYPE_CODES
    title: str  # Head/Title, e.g. 震源・震度情報 or 遠地地震に関する情報
    status: str  # 通常 | 訓練 | 試験
    info_type: str  # 発表 | 訂正 | 遅延 | 取消
    event_id: str
    serial: int | None
    report_datetime: datetime
    origin_time: datetime | None
    hypocenter_name: str | None
    magnitude: float | None
    magnitude_text: str | None
    max_intensity: Intensity | None
    headline: str
    cities: dict[str, Intensity] = field(default_factory=dict)
    unreceived_cities: frozenset[str] = frozenset()
    city_names: dict[str, str] = field(default_factory=dict)

    @property
    def is_real(self) -> bool:
        """True for 通常 telegrams; 訓練 (drill) and 試験 (test) are not real."""
        return self.status == "通常"


def parse_xml_safely(body: bytes | str, *, max_bytes: int) -> ET.Element:
    """Parse untrusted XML and return its root with namespaces stripped from
    tag names (``{ns}City`` becomes ``City``).

    Raises XmlRefusedError when ``body`` is over ``max_bytes`` (checked before
    any parsing) or declares a DTD, entities or external references, and
    JmaXmlError when it is not well-formed."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(data) > max_bytes:
        raise XmlRefusedError(f"body is {len(data)} bytes, over the {max_bytes}-byte limit")
    try:
        root = _defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlRefusedError(f"refused: {exc!r}") from exc
    except ET.ParseError as exc:
        raise JmaXmlError(f"not well-formed XML: {exc}") from exc
    for element in root.iter():
        # JMA uses three default namespaces in one document (Report, Head,
        # Body); matching on local names keeps the lookups readable.
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    return root


def parse_telegram(body: bytes | str, *, max_bytes: int = MAX_TELEGRAM_BYTES) -> Telegram:
    """Read one JMA telegram (any kind) into a ``Telegram``.

    Raises XmlRefusedError for oversized or DTD/entity-bearing bodies and
    TelegramError when a required field (Control/Title, Control/Status,
    Head/EventID, Head/InfoType, Head/ReportDateTime) is missing or holds a
    value outside JMA's vocabulary.  Optional parts that are absent become
    None or empty."""
    root = parse_xml_safely(body, max_bytes=max_bytes)
    if root.tag != "Report":
        raise TelegramError(f"root element is {root.tag!r}, not Report")

    kind = _required_text(root, "Control/Title")
    status = _required_text(root, "Control/Status")
    if status not in STATUSES:
        raise TelegramError(f"unknown Control/Status {status!r}")
    info_type = _required_text(root, "Head/InfoType")
    if info_type not in INFO_TYPES:
        raise TelegramError(f"unknown Head/InfoType {info_type!r}")

    earthquake = root.find("Body/Earthquake")
    observation = root.find("Body/Intensity/Observation")
    cities, unreceived, names = _cities(observation)
    magnitude, magnitude_text = _magnitude(earthquake)
    max_int = _text(observation, "MaxInt") if observation is not None else None

    return Telegram(
        kind=kind,
        type_code=TYPE_CODES.get(kind),
        title=_text(root, "Head/Title") or "",
        status=status,
        info_type=info_type,
        event_id=_required_text(root, "Head/EventID"),
        serial=_serial(_text(root, "Head/Serial")),
        report_datetime=_datetime(_required_text(root, "Head/ReportDateTime")),
        origin_time=_optional_datetime(_text(earthquake, "OriginTime")),
        hypocenter_name=_text(earthquake, "Hypocenter/Area/Name"),
        magnitude=magnitude,
        magnitude_text=magnitude_text,
        max_intensity=_intensity(max_int) if max_int else None,
        headline=_text(root, "Head/Headline/Text") or "",
        cities=cities,
        unreceived_cities=frozenset(unreceived),
        city_names=names,
    )


def _cities(
    observation: ET.Element | None,
) -> tuple[dict[str, Intensity], set[str], dict[str, str]]:
    cities: dict[str, Intensity] = {}
    unreceived: set[str] = set()
    names: dict[str, str] = {}
    if observation is None:
        return cities, unreceived, names
    for city in observation.iterfind("Pref/Area/City"):
        code = _text(city, "Code")
        if not code:
            raise TelegramError("a City without a Code")
        max_int = _text(city, "MaxInt")
        condition = _text(city, "Condition") or ""
        if max_int:
            intensity, is_unreceived = _intensity(max_int), False
        elif UNRECEIVED_MARK in condition:
            intensity, is_unreceived = Intensity.FIVE_LOWER, True
        else:
            raise TelegramError(f"City {code} has neither MaxInt nor a 未入電 Condition")
        # A city is listed once per telegram; should JMA ever repeat one, the
        # stronger reading is the one that matters for safety.
        if code in cities and cities[code] >= intensity:
            continue
        cities[code] = intensity
        names[code] = _text(city, "Name") or ""
        if is_unreceived:
            unreceived.add(code)
        else:
            unreceived.discard(code)
    return cities, unreceived, names


def _magnitude(earthquake: ET.Element | None) -> tuple[float | None, str | None]:
    if earthquake is None:
        return None, None
    element = earthquake.find("Magnitude")
    if element is None:
        return None, None
    description = element.get("description")
    raw = (element.text or "").strip()
    try:
        value = float(raw)
    except ValueError:
        return None, description
    # JMA writes NaN with condition="不明" when the magnitude is unknown.
    return (None if value != value else value), description


def _intensity(code: str) -> Intensity:
    try:
        return Intensity.from_code(code)
    except ValueError as exc:
        raise TelegramError(f"unknown intensity {code!r}") from exc


def _serial(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise TelegramError(f"Head/Serial is not a number: {text!r}") from exc


def _datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TelegramError(f"not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise TelegramError(f"time without a UTC offset: {text!r}")
    return value.astimezone(JST)


def _optional_datetime(text: str | None) -> datetime | None:
    return _datetime(text) if text else None


def _text(parent: ET.Element | None, path: str) -> str | None:
    if parent is None:
        return None
    element = parent.find(path)
    if element is None or element.text is None:
        return None
    # str.strip also removes the full-width spaces JMA puts before headlines.
    text = element.text.strip()
    return text or None


def _required_text(root: ET.Element, path: str) -> str:
    text = _text(root, path)
    if text is None:
        raise TelegramError(f"missing {path}")
    return text
