"""domain.jma_feed: reading JMA's Atom feed, choosing new entries, and a local
fake feed that serves the copied telegrams."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jma_fixtures import ALL_TELEGRAMS, FIXTURES, read_fixture

from domain.areas import parse_threshold
from domain.jma import JST, XmlRefusedError, parse_telegram
from domain.jma_feed import (
    MAX_FEED_BYTES,
    FeedEntry,
    FeedError,
    parse_feed,
    render_feed,
    select_new_entries,
)
from domain.quake import Action, GroupQuakeState, decide

# The shape of JMA's eqvol.xml (documented on xml.kishou.go.jp; newest first).
JMA_SHAPED_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" lang="ja">
  <title>高頻度（地震火山）</title>
  <subtitle>JMAXML publishing feed</subtitle>
  <updated>2021-02-18T04:02:30+09:00</updated>
  <id>https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml#short_1613588550</id>
  <link rel="related" href="https://www.jma.go.jp/"/>
  <link rel="self" href="https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml"/>
  <link rel="hub" href="http://alert-hub.appspot.com/"/>
  <rights type="html"><![CDATA[<a href="https://www.jma.go.jp/jma/kishou/info/coment.html">利用規約</a>]]></rights>
  <entry>
    <title>震源・震度に関する情報</title>
    <id>https://www.data.jma.go.jp/developer/xml/data/20210217190220_0_VXSE53_010000.xml</id>
    <updated>2021-02-17T19:02:20Z</updated>
    <author><name>気象庁</name></author>
    <link type="application/xml" href="https://www.data.jma.go.jp/developer/xml/data/20210217190220_0_VXSE53_010000.xml"/>
    <content type="text">【震源・震度に関する情報】１８日０３時５８分ころ、地震がありました。</content>
  </entry>
  <entry>
    <title>震源に関する情報</title>
    <id>https://www.data.jma.go.jp/developer/xml/data/20210217190122_0_VXSE52_010000.xml</id>
    <updated>2021-02-17T19:01:22Z</updated>
    <author><name>気象庁</name></author>
    <link type="application/xml" href="https://www.data.jma.go.jp/developer/xml/data/20210217190122_0_VXSE52_010000.xml"/>
    <content type="text">【震源に関する情報】</content>
  </entry>
  <entry>
    <title>震度速報</title>
    <id>https://www.data.jma.go.jp/developer/xml/data/20210217190009_0_VXSE51_010000.xml</id>
    <updated>2021-02-17T19:00:09Z</updated>
    <author><name>気象庁</name></author>
    <link type="application/xml" href="https://www.data.jma.go.jp/developer/xml/data/20210217190009_0_VXSE51_010000.xml"/>
    <content type="text">【震度速報】</content>
  </entry>
</feed>
"""


def fixture_entries(base_url: str) -> list[FeedEntry]:
    """One entry per copied telegram, newest first as JMA lists them."""
    entries = []
    for name in ALL_TELEGRAMS:
        telegram = parse_telegram(read_fixture(name))
        link = f"{base_url}/{name}"
        entries.append(FeedEntry(link, telegram.kind, telegram.report_datetime, link))
    return sorted(entries, key=lambda entry: entry.updated, reverse=True)


def test_it_reads_a_jma_shaped_feed() -> None:
    entries = parse_feed(JMA_SHAPED_FEED)
    assert [entry.type_code for entry in entries] == ["VXSE53", "VXSE52", "VXSE51"]
    first = entries[0]
    assert first.title == "震源・震度に関する情報"
    assert first.id == first.link
    assert first.link.endswith("/20210217190220_0_VXSE53_010000.xml")
    assert first.updated == datetime(2021, 2, 17, 19, 2, 20, tzinfo=UTC)
    assert first.author == "気象庁"
    assert first.content.startswith("【震源・震度に関する情報】")


@pytest.mark.parametrize(
    ("link", "code"),
    [
        ("https://www.data.jma.go.jp/developer/xml/data/20210217190220_0_VXSE53_010000.xml", "VXSE53"),
        ("http://127.0.0.1:8000/data/20231203181616_04485779_VXSE53.xml", "VXSE53"),
        ("http://127.0.0.1:8000/32-39_11_06_120615_VTSE41.xml", "VTSE41"),
        ("https://www.data.jma.go.jp/developer/xml/data/20210515141010_0_VPRN50_010000.xml", "VPRN50"),
        ("https://example.invalid/VXSE53/telegram.xml", None),
    ],
)
def test_it_reads_the_type_code_from_the_telegram_file_name(link: str, code: str | None) -> None:
    now = datetime(2021, 1, 1, tzinfo=JST)
    assert FeedEntry(link, "", now, link).type_code == code


def test_it_round_trips_a_generated_feed_of_every_copied_telegram() -> None:
    entries = fixture_entries("http://127.0.0.1:8000/jma")
    body = render_feed(entries, updated=entries[0].updated)
    assert body.startswith(b"<?xml")
    parsed = parse_feed(body)
    assert [(e.id, e.title, e.updated, e.link) for e in parsed] == [
        (e.id, e.title, e.updated, e.link) for e in entries
    ]
    assert len(parsed) == 72
    assert all(entry.author == "気象庁" for entry in parsed)


def test_it_selects_unseen_entries_oldest_first() -> None:
    entries = parse_feed(JMA_SHAPED_FEED)
    new = select_new_entries(entries, seen_ids=set())
    assert [entry.type_code for entry in new] == ["VXSE51", "VXSE52", "VXSE53"]
    seen = {entries[2].id}
    assert [entry.type_code for entry in select_new_entries(entries, seen)] == ["VXSE52", "VXSE53"]
    assert select_new_entries(entries, {entry.id for entry in entries}) == []


def test_it_selects_each_entry_once_even_when_listed_twice() -> None:
    entries = parse_feed(JMA_SHAPED_FEED)
    twice = entries + [entries[0]]
    assert len(select_new_entries(twice, seen_ids=())) == 3


def test_it_filters_new_entries_by_type_code() -> None:
    entries = parse_feed(JMA_SHAPED_FEED)
    chosen = select_new_entries(entries, seen_ids=(), type_codes={"VXSE53"})
    assert [entry.type_code for entry in chosen] == ["VXSE53"]


def test_it_leaves_out_entries_it_cannot_use_and_keeps_the_rest() -> None:
    broken = JMA_SHAPED_FEED.replace(
        "<updated>2021-02-17T19:01:22Z</updated>", "<updated>yesterday</updated>"
    ).replace(
        '<link type="application/xml" href="https://www.data.jma.go.jp/developer/xml/data/20210217190009_0_VXSE51_010000.xml"/>',
        "",
    )
    entries = parse_feed(broken)
    assert [entry.type_code for entry in entries] == ["VXSE53"]


def test_it_refuses_what_is_not_an_atom_feed() -> None:
    with pytest.raises(FeedError):
        parse_feed(read_fixture(ALL_TELEGRAMS[0]))


def test_it_refuses_a_feed_with_entities() -> None:
    hostile = JMA_SHAPED_FEED.replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    ).replace("<title>震度速報</title>", "<title>&b;</title>")
    with pytest.raises(XmlRefusedError):
        parse_feed(hostile)


def test_it_refuses_an_oversized_feed_before_parsing() -> None:
    with pytest.raises(XmlRefusedError, match="limit"):
        parse_feed(b"<" * (MAX_FEED_BYTES + 1))


# --- a local fake feed, end to end -------------------------------------------


@pytest.fixture
def fake_jma() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving the copied telegrams and a feed
    listing them at /eqvol.xml; yields its base URL."""

    class FeedHandler(SimpleHTTPRequestHandler):
        feed = b""  # set once the port, which the entries' links carry, is known

        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(FIXTURES), **kwargs)

        def do_GET(self) -> None:
            if self.path != "/eqvol.xml":
                super().do_GET()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml")
            self.send_header("Content-Length", str(len(self.feed)))
            self.end_headers()
            self.wfile.write(self.feed)

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    entries = fixture_entries(base_url)
    FeedHandler.feed = render_feed(entries, updated=entries[0].updated, feed_url=f"{base_url}/eqvol.xml")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def test_it_polls_a_local_fake_feed_and_reads_each_new_telegram_once(fake_jma: str) -> None:
    entries = parse_feed(fetch(f"{fake_jma}/eqvol.xml"))
    assert len(entries) == 72
    new = select_new_entries(entries, seen_ids=set(), type_codes={"VXSE53"})
    assert len(new) == 50
    telegrams = [parse_telegram(fetch(entry.link)) for entry in new]
    assert all(telegram.type_code == "VXSE53" for telegram in telegrams)
    assert [t.report_datetime for t in telegrams] == sorted(t.report_datetime for t in telegrams)

    # The Aichi quake reached 震度3 in 豊田市: a group with threshold 3 starts a round.
    aichi = next(t for t in telegrams if t.event_id == "20210218035836")
    group = GroupQuakeState(area_code="2321100", threshold=parse_threshold("震度3"))
    assert decide(aichi, group, aichi.report_datetime + timedelta(minutes=1)).action is Action.START

    # The next poll finds nothing new.
    seen = {entry.id for entry in new}
    again = parse_feed(fetch(f"{fake_jma}/eqvol.xml"))
    assert select_new_entries(again, seen, type_codes={"VXSE53"}) == []
