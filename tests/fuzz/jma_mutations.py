"""Hypothesis strategies that turn the real JMA samples (tests/fixtures/jma)
into hostile ones, the way issue 8's attacker did: a field's text replaced
by a date, number or string no telegram carries, the body truncated, bytes
and character references spliced in, a DTD with entities, another encoding
declared or used, NULs and lone surrogates, parts repeated until the body is
large, elements dropped or renamed.  Most results are not telegrams; some are
telegrams with values at or past every limit."""

from __future__ import annotations

import re
from functools import cache
from xml.sax.saxutils import escape

from hypothesis import strategies as st

from domain.jma_feed import FeedEntry, render_feed
from tests.jma.jma_fixtures import ALL_TELEGRAMS, read_fixture

# Values the attack used, and their neighbours at every limit.
HOSTILE_VALUES = [
    "0001-01-01T00:00:00+09:00",
    "9999-12-31T23:59:59-09:00",
    "1999-12-31T23:59:59+09:00",
    "2100-01-01T00:00:00Z",
    "2021-02-18T04:02:00",
    "2021-02-18T04:02:00+24:00",
    "2021-02-30T04:02:00+09:00",
    "2021-W07-4T04:02:00+09:00",
    "99999999999",
    "2147483648",
    "999999999",
    "-1",
    "1e309",
    "-1e309",
    "NaN",
    "inf",
    "-0",
    "10.0001",
    "４．２",
    "١٢",
    "0x10",
    "1_000",
    "5-",
    "5+",
    "7",
    "8",
    "未入電",
    "震度５弱以上未入電",
    "通常",
    "訓練",
    "取消",
    "",
    "　",
    "\u202e",
    "\u0085",
    "\x7f",
    "\u2028",
    "\ufeff",
    "a" * 41,
    "震" * 101,
    "x" * 256,
    "http://[::1/x_VXSE53_1.xml",
    "http://127.0.0.1:99999/x_VXSE53_1.xml",
    "file:///etc/passwd",
    "&#0;",
    "&#xD800;",
    "&#x1F600;",
    "&lt;&amp;&gt;",
    "&lol;",
    "]]>",
    "<![CDATA[x]]>",
    "<",
    "&",
    "\x00",
    "\x01",
]

# Characters XML 1.0 allows in a document (so a value can be escaped into one).
xml_chars = st.one_of(
    st.characters(min_codepoint=0x20, exclude_categories=("Cs",), exclude_characters="\ufffe\uffff"),
    st.sampled_from("\t\n\r"),
)
# Every code point, lone surrogates and NUL included.
any_chars = st.characters(codec=None)

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_VALUES),
    st.text(xml_chars, max_size=40),
    st.text(any_chars, max_size=12),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.datetimes().map(lambda d: d.isoformat() + "+09:00"),
)

ENCODINGS = ["UTF-8", "UTF-16", "Shift_JIS", "EUC-JP", "ISO-2022-JP", "ISO-8859-1", "x-unknown", "cp932"]

_TEXT_NODE = re.compile(rb">([^<>]+)<")
# The fields the parsers read, in telegrams and feeds.
_FIELD = re.compile(
    rb"<((?:jmx_eb:)?(?:Title|Status|EventID|InfoType|Serial|ReportDateTime|OriginTime|Name|Magnitude|MaxInt"
    rb"|Code|Condition|Text|id|updated|title))(?:\s[^>]*)?>([^<]*)</\1>"
)
_ATTRIBUTE = re.compile(rb'="([^"]*)"')
_ELEMENT = re.compile(rb"<([A-Za-z_:][\w:.-]*)(?:\s[^>]*)?>[^<]*</\1>")


@cache
def telegram_bytes(name: str) -> bytes:
    return read_fixture(name)


@cache
def feed_bytes() -> bytes:
    """A feed of every copied telegram, as JMA lists them (newest first)."""
    from domain.jma import parse_telegram

    entries = []
    for name in ALL_TELEGRAMS:
        telegram = parse_telegram(read_fixture(name))
        link = f"https://www.data.jma.go.jp/developer/xml/data/{name}"
        entries.append(FeedEntry(link, telegram.kind, telegram.report_datetime, link))
    entries.sort(key=lambda entry: entry.updated, reverse=True)
    return render_feed(entries, updated=entries[0].updated)


def _splice(data: bytes, start: int, end: int, value: bytes) -> bytes:
    return data[:start] + value + data[end:]


@st.composite
def _replace_text(draw, data: bytes) -> bytes:
    spans = list(_TEXT_NODE.finditer(data))
    if not spans:
        return data
    match = draw(st.sampled_from(spans))
    return _splice(data, match.start(1), match.end(1), draw(hostile_text).encode("utf-8", "surrogatepass"))


@st.composite
def _replace_field(draw, data: bytes) -> bytes:
    """One field the parsers read, given a hostile value (mostly escaped, so
    the document stays well-formed and the field's own checks are tried)."""
    spans = list(_FIELD.finditer(data))
    if not spans:
        return data
    match = draw(st.sampled_from(spans))
    value = draw(hostile_text)
    if draw(st.integers(0, 3)):
        value = escape(value)
    return _splice(data, match.start(2), match.end(2), value.encode("utf-8", "surrogatepass"))


@st.composite
def _replace_attribute(draw, data: bytes) -> bytes:
    spans = list(_ATTRIBUTE.finditer(data))
    if not spans:
        return data
    match = draw(st.sampled_from(spans))
    return _splice(data, match.start(1), match.end(1), draw(hostile_text).encode("utf-8", "surrogatepass"))


@st.composite
def _truncate(draw, data: bytes) -> bytes:
    return data[: draw(st.integers(0, len(data)))]


@st.composite
def _insert_bytes(draw, data: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    junk = draw(
        st.one_of(
            st.binary(max_size=16),
            st.sampled_from([b"\x00", b"\xff\xfe", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\xc0\x80", b"\r\n"]),
        )
    )
    return _splice(data, at, at, junk)


@st.composite
def _flip_byte(draw, data: bytes) -> bytes:
    if not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    return _splice(data, at, at + 1, bytes([data[at] ^ draw(st.integers(1, 255))]))


@st.composite
def _character_reference(draw, data: bytes) -> bytes:
    spans = list(_TEXT_NODE.finditer(data))
    if not spans:
        return data
    match = draw(st.sampled_from(spans))
    code = draw(st.one_of(st.integers(0, 0x10FFFF), st.sampled_from([0, 1, 0x85, 0xD800, 0xFFFE, 0x110000])))
    return _splice(data, match.start(1), match.start(1), f"&#x{code:X};".encode())


@st.composite
def _entities(draw, data: bytes) -> bytes:
    doctype = draw(
        st.sampled_from(
            [
                b'<!DOCTYPE Report [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
                b'<!DOCTYPE Report [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                b'<!DOCTYPE Report SYSTEM "http://127.0.0.1:9/report.dtd">',
                b"<!DOCTYPE Report>",
            ]
        )
    )
    at = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
    data = _splice(data, at, at, b"\n" + doctype + b"\n")
    spans = list(_TEXT_NODE.finditer(data))
    if spans and draw(st.booleans()):
        match = draw(st.sampled_from(spans))
        data = _splice(data, match.start(1), match.end(1), draw(st.sampled_from([b"&b;", b"&x;", b"&a;"])))
    return data


@st.composite
def _encoding(draw, data: bytes) -> bytes:
    declared = draw(st.sampled_from(ENCODINGS))
    codec = draw(st.sampled_from(["utf-8", "utf-16", "shift_jis", "euc_jp", "latin-1"]))
    text = data.decode("utf-8", "replace").replace('encoding="UTF-8"', f'encoding="{declared}"', 1)
    return text.encode(codec, "replace")


@st.composite
def _repeat(draw, data: bytes) -> bytes:
    spans = list(_ELEMENT.finditer(data))
    if not spans:
        return data
    match = draw(st.sampled_from(spans))
    times = draw(st.integers(2, 4000))
    return _splice(data, match.start(), match.end(), match.group() * times)


@st.composite
def _drop_or_rename_element(draw, data: bytes) -> bytes:
    spans = list(_ELEMENT.finditer(data))
    if not spans:
        return data
    match = draw(st.sampled_from(spans))
    if draw(st.booleans()):
        return _splice(data, match.start(), match.end(), b"")
    tag, element = match.group(1), match.group()
    new = draw(st.sampled_from([b"Code", b"MaxInt", b"EventID", b"Serial", b"OriginTime", b"City", b"x"]))
    inner = element[1 + len(tag) : -(len(tag) + 3)]
    closing = new if draw(st.booleans()) else tag  # sometimes no longer well-formed
    return _splice(data, match.start(), match.end(), b"<" + new + inner + b"</" + closing + b">")


MUTATIONS = [
    _replace_field,
    _replace_field,
    _replace_field,  # the field-by-field attack, the likeliest
    _replace_text,
    _replace_attribute,
    _truncate,
    _insert_bytes,
    _flip_byte,
    _character_reference,
    _entities,
    _encoding,
    _repeat,
    _drop_or_rename_element,
]


@st.composite
def mutated(draw, base: bytes) -> bytes | str:
    """``base`` with one to three mutations; sometimes handed over as a str
    (with a lone surrogate spliced in now and then), as a caller might."""
    data = base
    for _ in range(draw(st.integers(1, 3))):
        data = draw(draw(st.sampled_from(MUTATIONS))(data))
    if draw(st.integers(0, 9)) == 0:
        text = data.decode("utf-8", "surrogateescape")
        if draw(st.booleans()):
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(["\ud800", "\udfff", "\x00"])) + text[at:]
        return text
    return data


def mutated_telegrams():
    return st.sampled_from(ALL_TELEGRAMS).map(telegram_bytes).flatmap(mutated)


def mutated_feeds():
    return st.builds(feed_bytes).flatmap(mutated)
