"""JMA's Atom feeds (eqvol.xml and the others): reading their entries,
choosing the ones not handled yet, and writing a feed in the same shape so a
local fake can serve saved telegrams.

Pure: bytes in, entries out (and back).  Fetching is the caller's job; JMA
asks that each entry's telegram be fetched only once (it blocks addresses that
re-download), which is what ``select_new_entries`` is for.  Feed bodies are
untrusted and parsed with the same hardening as telegrams
(``domain.jma.parse_xml_safely``), and every entry is validated field by
field: an entry that cannot be used is skipped with the reason
(``parse_feed_entries``), never the whole feed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from domain.jma import TIME_RANGE, JmaXmlError, clean_text, parse_time, parse_xml_safely

ATOM_NS = "http://www.w3.org/2005/Atom"
EQVOL_FEED_URL = "https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml"
EQVOL_FEED_TITLE = "高頻度（地震火山）"
# The high-frequency feed lists about ten minutes of telegrams (tens of KB);
# the long variants (*_l.xml) cover days.  2 MB bounds both; a caller reading
# a larger long feed can pass max_bytes.
MAX_FEED_BYTES = 2 * 1024 * 1024
# What an entry's fields may hold: the id is the database key (255), links to
# JMA's telegrams are under 100 characters.
MAX_ENTRY_ID = 255
MAX_LINK = 2048
MAX_ENTRY_TITLE = 100
MAX_ENTRY_TEXT = 1000
# An HTTP date is 29 characters (Sun, 06 Nov 1994 08:49:37 GMT).
MAX_HTTP_DATE = 64
# The one format HTTP servers must send (RFC 9110's IMF-fixdate).
_HTTP_DATE = re.compile(
    r"[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} (?P<year>[0-9]{4}) [0-9]{2}:[0-9]{2}:[0-9]{2} GMT", re.ASCII
)
# A Last-Modified more than this far ahead of our clock is not believed: sent
# back as If-Modified-Since it would make every later answer a 304.
LAST_MODIFIED_SKEW = timedelta(days=1)

# 20231203181616_0_VXSE53_010000.xml (JMA) or 20231203181616_04485779_VXSE53.xml
_TYPE_CODE = re.compile(r"(?:^|_)([A-Z]{4}\d{2})(?=_|\.xml$)")


class FeedError(JmaXmlError):
    """Well-formed XML that is not an Atom feed."""


@dataclass(frozen=True)
class FeedEntry:
    """One telegram listed in a feed.  ``id`` is JMA's entry id (the telegram
    URL in practice); ``link`` is where to fetch the telegram; ``title`` is the
    telegram's Control/Title (震源・震度に関する情報); ``updated`` is aware.

    Entries read by ``parse_feed`` guarantee: ``id`` is 1 to MAX_ENTRY_ID
    characters and ``link`` an ASCII http(s) URL with a host (and a valid
    port, if any) of at most MAX_LINK characters, both without control,
    format or surrogate characters; ``updated`` lies in
    domain.jma.TIME_RANGE; the other strings are clean and short (or empty)."""

    id: str
    title: str
    updated: datetime
    link: str
    author: str = ""
    content: str = ""

    @property
    def type_code(self) -> str | None:
        """The type code in the telegram's file name (VXSE53), or None."""
        name = urlsplit(self.link).path.rsplit("/", 1)[-1]
        match = _TYPE_CODE.search(name)
        return match.group(1) if match else None


@dataclass(frozen=True)
class SkippedEntry:
    """An entry left out of a feed: its position (1 for the first entry) and
    why.  The reason is this module's own wording, never the entry's text,
    so it can be logged and stored as it is."""

    position: int
    reason: str


@dataclass(frozen=True)
class FeedReading:
    entries: list[FeedEntry] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)


def parse_feed_entries(body: bytes | str, *, max_bytes: int = MAX_FEED_BYTES) -> FeedReading:
    """The usable entries of an Atom feed in document order, and the skipped
    ones with the reason.

    Raises XmlRefusedError for oversized or DTD/entity-bearing bodies,
    JmaXmlError when not well-formed, FeedError when the root is not an Atom
    feed, and nothing else.  An entry whose id, link or ``updated`` is
    missing or unusable (see FeedEntry) is skipped: one odd entry must not
    hide an earthquake listed next to it."""
    root = parse_xml_safely(body, max_bytes=max_bytes)
    if root.tag != "feed":
        raise FeedError(f"root element is {str(root.tag)[:40]!r}, not an Atom feed")
    reading = FeedReading()
    for position, element in enumerate(root.iterfind("entry"), start=1):
        entry = _entry(element)
        if isinstance(entry, FeedEntry):
            reading.entries.append(entry)
        else:
            reading.skipped.append(SkippedEntry(position, entry))
    return reading


def parse_feed(body: bytes | str, *, max_bytes: int = MAX_FEED_BYTES) -> list[FeedEntry]:
    """The usable entries of an Atom feed, in document order (see
    ``parse_feed_entries``, which also says what was skipped)."""
    return parse_feed_entries(body, max_bytes=max_bytes).entries


def clean_last_modified(value: str | None, now: datetime) -> str | None:
    """A Last-Modified header worth sending back as If-Modified-Since: an
    IMF-fixdate (Sun, 06 Nov 1994 08:49:37 GMT) in TIME_RANGE and not more
    than LAST_MODIFIED_SKEW after ``now`` (aware); None otherwise (the next
    request is then unconditional).  Total: never raises."""
    if not value or len(value) > MAX_HTTP_DATE:
        return None
    match = _HTTP_DATE.fullmatch(value)
    if match is None:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # email.utils reads year 0001 as 2001 (two-digit years): check it was read as written.
    if when.year != int(match.group("year")) or not TIME_RANGE[0] <= when < TIME_RANGE[1]:
        return None
    if when > now + LAST_MODIFIED_SKEW:
        return None
    return value


def select_new_entries(
    entries: Iterable[FeedEntry],
    seen_ids: Collection[str],
    *,
    type_codes: Collection[str] | None = None,
) -> list[FeedEntry]:
    """The entries whose id is not in ``seen_ids``, each id once, oldest
    ``updated`` first (JMA lists newest first; telegrams of one event must be
    handled in the order they were issued).  With ``type_codes`` (e.g.
    {"VXSE53"}), only entries of those types."""
    chosen: dict[str, FeedEntry] = {}
    for entry in entries:
        if entry.id in seen_ids or entry.id in chosen:
            continue
        if type_codes is not None and entry.type_code not in type_codes:
            continue
        chosen[entry.id] = entry
    return sorted(chosen.values(), key=lambda entry: entry.updated)


def render_feed(
    entries: Iterable[FeedEntry],
    *,
    updated: datetime,
    feed_url: str = EQVOL_FEED_URL,
    title: str = EQVOL_FEED_TITLE,
) -> bytes:
    """An Atom feed shaped like JMA's, listing ``entries`` in the order given
    (JMA lists newest first).  For local fakes and tests; ``parse_feed``
    reads it back."""
    # The namespace is written as a plain xmlns attribute: ElementTree's
    # default_namespace option cannot coexist with the unqualified lang=.
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "lang": "ja"})
    _child(feed, "title", title)
    _child(feed, "subtitle", "JMAXML publishing feed")
    _child(feed, "updated", updated.isoformat())
    _child(feed, "id", feed_url)
    ET.SubElement(feed, "link", {"rel": "self", "href": feed_url})
    for entry in entries:
        element = ET.SubElement(feed, "entry")
        _child(element, "title", entry.title)
        _child(element, "id", entry.id)
        _child(element, "updated", entry.updated.isoformat())
        author = ET.SubElement(element, "author")
        _child(author, "name", entry.author or "気象庁")
        ET.SubElement(element, "link", {"type": "application/xml", "href": entry.link})
        _child(element, "content", entry.content or f"【{entry.title}】", {"type": "text"})
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(element: ET.Element) -> FeedEntry | str:
    """The entry, or the reason it cannot be used."""
    entry_id = _text(element, "id")
    if not entry_id:
        return "no id"
    if clean_text(entry_id, MAX_ENTRY_ID) is None:
        return "the id is too long or holds control characters"
    link = _link(element)
    if not link:
        return "no link"
    if not _usable_link(link):
        return "the link is not a short http(s) URL"
    updated_text = _text(element, "updated")
    if not updated_text:
        return "no updated time"
    updated = parse_time(updated_text)
    if updated is None:
        return "the updated time is not an ISO 8601 time with an offset in range"
    return FeedEntry(
        id=entry_id,
        title=clean_text(_text(element, "title"), MAX_ENTRY_TITLE) or "",
        updated=updated,
        link=link,
        author=clean_text(_text(element, "author/name"), MAX_ENTRY_TITLE) or "",
        content=clean_text(_text(element, "content"), MAX_ENTRY_TEXT, multiline=True) or "",
    )


def _usable_link(link: str) -> bool:
    if clean_text(link, MAX_LINK) is None or not link.isascii() or " " in link:
        return False
    try:
        parts = urlsplit(link)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _link(element: ET.Element) -> str:
    # JMA's entries carry one <link type="application/xml" href="..."/>; in
    # Atom a link without rel is rel="alternate".
    for link in element.iterfind("link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href", "").strip()
    return ""


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _child(parent: ET.Element, tag: str, text: str, attrib: dict[str, str] | None = None) -> None:
    ET.SubElement(parent, tag, attrib or {}).text = text
