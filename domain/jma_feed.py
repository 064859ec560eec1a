"""JMA's Atom feeds (eqvol.xml and the others): reading their entries,
choosing the ones not handled yet, and writing a feed in the same shape so a
local fake can serve saved telegrams.

Pure: bytes in, entries out (and back).  Fetching is the caller's job; JMA
asks that each entry's telegram be fetched only once (it blocks addresses that
re-download), which is what ``select_new_entries`` is for.  Feed bodies are
untrusted and parsed with the same hardening as telegrams
(``domain.jma.parse_xml_safely``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from domain.jma import JmaXmlError, parse_xml_safely

ATOM_NS = "http://www.w3.org/2005/Atom"
EQVOL_FEED_URL = "https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml"
EQVOL_FEED_TITLE = "高頻度（地震火山）"
# The high-frequency feed lists about ten minutes of telegrams (tens of KB);
# the long variants (*_l.xml) cover days.  2 MB bounds both; a caller reading
# a larger long feed can pass max_bytes.
MAX_FEED_BYTES = 2 * 1024 * 1024

# 20231203181616_0_VXSE53_010000.xml (JMA) or 20231203181616_04485779_VXSE53.xml
_TYPE_CODE = re.compile(r"(?:^|_)([A-Z]{4}\d{2})(?=_|\.xml$)")


class FeedError(JmaXmlError):
    """Well-formed XML that is not an Atom feed."""


@dataclass(frozen=True)
class FeedEntry:
    """One telegram listed in a feed.  ``id`` is JMA's entry id (the telegram
    URL in practice); ``link`` is where to fetch the telegram; ``title`` is the
    telegram's Control/Title (震源・震度に関する情報); ``updated`` is aware."""

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


def parse_feed(body: bytes | str, *, max_bytes: int = MAX_FEED_BYTES) -> list[FeedEntry]:
    """The entries of an Atom feed, in document order.

    Raises XmlRefusedError for oversized or DTD/entity-bearing bodies,
    JmaXmlError when not well-formed, FeedError when the root is not an Atom
    feed.  An entry without an id or a link, or whose ``updated`` is not an
    ISO 8601 time with an offset, is left out: one odd entry must not hide an
    earthquake listed next to it."""
    root = parse_xml_safely(body, max_bytes=max_bytes)
    if root.tag != "feed":
        raise FeedError(f"root element is {root.tag!r}, not an Atom feed")
    entries = []
    for element in root.iterfind("entry"):
        entry = _entry(element)
        if entry is not None:
            entries.append(entry)
    return entries


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


def _entry(element: ET.Element) -> FeedEntry | None:
    entry_id = _text(element, "id")
    link = _link(element)
    updated_text = _text(element, "updated")
    if not entry_id or not link or not updated_text:
        return None
    try:
        updated = datetime.fromisoformat(updated_text)
    except ValueError:
        return None
    if updated.tzinfo is None:
        return None
    return FeedEntry(
        id=entry_id,
        title=_text(element, "title"),
        updated=updated,
        link=link,
        author=_text(element, "author/name"),
        content=_text(element, "content"),
    )


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
