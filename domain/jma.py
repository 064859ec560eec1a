"""JMA disaster telegrams (気象庁防災情報XML): the seismic intensity scale and a
hardened reader for earthquake and tsunami telegrams.

Pure: takes the telegram's bytes, returns a ``Telegram``; no network, no
database.  Every body is untrusted input: ``parse_xml_safely`` refuses bodies
over a size limit before parsing, and refuses DTDs, entity declarations and
external references (billion laughs, XXE) through defusedxml.

Only the fields the safety-check feature needs are read.  The structure is JMA's
(Control / Head / Body); see tests/fixtures/jma for real examples.

Validation is total: every field is checked here, at the boundary, against
what the database and the trigger rules can hold (times in TIME_RANGE, serials
and magnitudes in range, strings without control characters and not too
long), so nothing downstream can raise on a value read from JMA.  A required
field that fails refuses the telegram (TelegramError); an optional one is
dropped (None or empty) and named in ``Telegram.dropped``.  The parsers raise
nothing but JmaXmlError and its subclasses (tests/fuzz holds them to it).
"""

from __future__ import annotations

import enum
import functools
import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

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

# Times a telegram or a feed may carry.  JMA's XML service began in 2011 and
# the samples start there; the bounds keep every time convertible to the naive
# UTC the database stores (year 1 in +09:00 is not) and far from both ends.
TIME_RANGE = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
# JMA's serials count the telegrams of one event (a few dozen at most); nine
# digits stays inside a 32-bit INTEGER column.
MAX_SERIAL = 999_999_999
# The magnitudes JMA can report (its scale runs from about -1 to 9.x).
MAGNITUDE_RANGE = (-3.0, 10.0)
# The longest values kept, in characters (the database columns are this long
# or longer): titles and kinds are under 30, place names under 40.
MAX_KIND = 40
MAX_EVENT_ID = 40
MAX_NAME = 100
MAX_TITLE = 100
MAX_HEADLINE = 1000
# 市町村等 codes are seven ASCII digits (wards of designated cities too).
CITY_CODE = re.compile(r"[0-9]{7}", re.ASCII)
# An EventID is a 14-digit time for earthquakes; any short ASCII token is kept.
EVENT_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_EVENT_ID}}}", re.ASCII)
# ISO 8601 as JMA writes it (2021-02-18T04:02:00+09:00, or ...Z); stricter
# than datetime.fromisoformat, which also takes week dates and spaces.
_ISO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_SERIAL = re.compile(r"[0-9]{1,9}", re.ASCII)
_MAGNITUDE = re.compile(r"[+-]?[0-9]{1,2}(?:\.[0-9]{1,3})?", re.ASCII)
# Unicode categories refused in a one-line value: controls (C0, C1, DEL),
# format characters (bidi overrides that could disguise a message, zero
# widths), lone surrogates, and line or paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


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
    gives none or writes NaN (Ｍ不明), with its wording in ``magnitude_text``.

    What a parsed telegram guarantees: ``kind`` is 1 to MAX_KIND characters and
    ``event_id`` 1 to MAX_EVENT_ID printable ASCII characters; every time lies
    in TIME_RANGE; ``serial`` is None or 0 to MAX_SERIAL; ``magnitude`` is None
    or finite in MAGNITUDE_RANGE; every string is free of control, format and
    surrogate characters (``headline`` may hold line breaks and tabs) and no
    longer than its MAX_*; every city code is seven ASCII digits.  An optional
    field that broke these rules was dropped and is named in ``dropped``."""

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
    # The optional fields left out as unusable (e.g. "Body/Earthquake/OriginTime").
    dropped: tuple[str, ...] = ()

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
    if isinstance(body, str):
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise JmaXmlError(f"not encodable as UTF-8: {exc.reason}") from exc
    else:
        data = bytes(body)
    if len(data) > max_bytes:
        raise XmlRefusedError(f"body is {len(data)} bytes, over the {max_bytes}-byte limit")
    try:
        root = _defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlRefusedError(f"refused: {exc!r}") from exc
    except ET.ParseError as exc:
        raise JmaXmlError(f"not well-formed XML: {exc}") from exc
    except (ValueError, LookupError) as exc:
        # pyexpat's answer to an encoding it cannot read (Shift_JIS and other
        # multi-byte ones, or a made-up name); JMA writes UTF-8.
        raise JmaXmlError(f"unsupported encoding: {type(exc).__name__}") from exc
    for element in root.iter():
        # JMA uses three default namespaces in one document (Report, Head,
        # Body); matching on local names keeps the lookups readable.
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    return root


def parse_telegram(body: bytes | str, *, max_bytes: int = MAX_TELEGRAM_BYTES) -> Telegram:
    """Read one JMA telegram (any kind) into a ``Telegram``.

    Raises XmlRefusedError for oversized or DTD/entity-bearing bodies,
    JmaXmlError for bodies that are not well-formed or not UTF-8/UTF-16, and
    TelegramError when a required field (Control/Title, Control/Status,
    Head/EventID, Head/InfoType, Head/ReportDateTime) is missing or holds a
    value outside JMA's vocabulary or the ranges above, or when a City's
    intensity is not on the scale.  Optional parts that are absent become None
    or empty; optional parts that are unusable are dropped the same way and
    named in ``Telegram.dropped``.  Nothing else is raised."""
    root = parse_xml_safely(body, max_bytes=max_bytes)
    if root.tag != "Report":
        raise TelegramError(f"root element is {root.tag!r}, not Report")
    dropped: list[str] = []

    def optional(path: str, value, check):
        """``value`` if absent or good, else None (recorded as dropped)."""
        if value is None:
            return None
        checked = check(value)
        if checked is None:
            dropped.append(path)
        return checked

    kind = _required_text(root, "Control/Title")
    if _clean(kind, MAX_KIND) is None:
        raise TelegramError("Control/Title is too long or holds control characters")
    status = _required_text(root, "Control/Status")
    if status not in STATUSES:
        raise TelegramError(f"unknown Control/Status {status!r}")
    info_type = _required_text(root, "Head/InfoType")
    if info_type not in INFO_TYPES:
        raise TelegramError(f"unknown Head/InfoType {info_type!r}")
    event_id = _required_text(root, "Head/EventID")
    if not EVENT_ID.fullmatch(event_id):
        raise TelegramError(f"Head/EventID is not a short ASCII token: {event_id[:60]!r}")
    report_datetime = _datetime(_required_text(root, "Head/ReportDateTime"))
    if report_datetime is None:
        raise TelegramError("Head/ReportDateTime is not an ISO 8601 time with an offset in range")

    earthquake = root.find("Body/Earthquake")
    observation = root.find("Body/Intensity/Observation")
    cities, unreceived, names = _cities(observation, dropped)
    magnitude, magnitude_text = _magnitude(earthquake, dropped)
    max_int = _text(observation, "MaxInt")

    return Telegram(
        kind=kind,
        type_code=TYPE_CODES.get(kind),
        title=optional("Head/Title", _text(root, "Head/Title"), lambda v: _clean(v, MAX_TITLE)) or "",
        status=status,
        info_type=info_type,
        event_id=event_id,
        serial=optional("Head/Serial", _text(root, "Head/Serial"), _serial),
        report_datetime=report_datetime,
        origin_time=optional("Body/Earthquake/OriginTime", _text(earthquake, "OriginTime"), _datetime),
        hypocenter_name=optional(
            "Body/Earthquake/Hypocenter/Area/Name",
            _text(earthquake, "Hypocenter/Area/Name"),
            lambda v: _clean(v, MAX_NAME),
        ),
        magnitude=magnitude,
        magnitude_text=magnitude_text,
        max_intensity=_intensity(max_int) if max_int else None,
        headline=optional(
            "Head/Headline/Text",
            _text(root, "Head/Headline/Text"),
            lambda v: _clean(v, MAX_HEADLINE, multiline=True),
        )
        or "",
        cities=cities,
        unreceived_cities=frozenset(unreceived),
        city_names=names,
        dropped=tuple(dropped),
    )


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time with a UTC offset, as JMA writes it, inside
    TIME_RANGE; None for anything else.  Total: never raises."""
    if len(text) > 40 or not _ISO_TIME.fullmatch(text):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:  # month 13, hour 25, offset 24:00 ...
        return None
    if value.tzinfo is None or not TIME_RANGE[0] <= value < TIME_RANGE[1]:
        return None
    return value


def clean_text(text: str, max_length: int, *, multiline: bool = False) -> str | None:
    """``text`` when it is at most ``max_length`` characters of printable text
    (with ``multiline``, line feeds, carriage returns and tabs are allowed
    too); None otherwise.  Total: never raises."""
    if len(text) > max_length:
        return None
    for char in text:
        if multiline and char in "\n\r\t":
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return None
    return text


_clean = clean_text


def _cities(
    observation: ET.Element | None, dropped: list[str]
) -> tuple[dict[str, Intensity], set[str], dict[str, str]]:
    cities: dict[str, Intensity] = {}
    unreceived: set[str] = set()
    names: dict[str, str] = {}
    if observation is None:
        return cities, unreceived, names
    for city in observation.iterfind("Pref/Area/City"):
        code = _text(city, "Code")
        if code is None or not CITY_CODE.fullmatch(code):
            # No group can be in a city without a proper code: leaving it out
            # changes no decision, refusing the telegram would hide the rest.
            dropped.append("City/Code")
            continue
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
        name = _text(city, "Name") or ""
        if _clean(name, MAX_NAME) is None:
            dropped.append(f"City {code} Name")
            name = ""
        names[code] = name
        if is_unreceived:
            unreceived.add(code)
        else:
            unreceived.discard(code)
    return cities, unreceived, names


def _magnitude(earthquake: ET.Element | None, dropped: list[str]) -> tuple[float | None, str | None]:
    if earthquake is None:
        return None, None
    element = earthquake.find("Magnitude")
    if element is None:
        return None, None
    description = element.get("description")
    if description is not None and _clean(description.strip(), MAX_TITLE) is None:
        dropped.append("Body/Earthquake/Magnitude@description")
        description = None
    raw = (element.text or "").strip()
    # JMA writes NaN with condition="不明" when the magnitude is unknown.
    if raw in ("", "NaN"):
        return None, description
    value = float(raw) if _MAGNITUDE.fullmatch(raw) else math.nan
    if not MAGNITUDE_RANGE[0] <= value <= MAGNITUDE_RANGE[1]:  # NaN fails too
        dropped.append("Body/Earthquake/Magnitude")
        return None, description
    return value, description


def _intensity(code: str) -> Intensity:
    try:
        return Intensity.from_code(code)
    except ValueError as exc:
        raise TelegramError(f"unknown intensity {code[:20]!r}") from exc


def _serial(text: str) -> int | None:
    return int(text) if _SERIAL.fullmatch(text) else None


def _datetime(text: str) -> datetime | None:
    value = parse_time(text)
    return value.astimezone(JST) if value is not None else None


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
