"""A local fake of JMA's XML feed server, and recent telegrams to publish.

``FakeJma`` serves an Atom feed at /eqvol.xml listing what was published
(newest first, as JMA does) with Last-Modified and If-Modified-Since (304),
and each telegram at /data/<name>; it counts every request so a test can
check each telegram is fetched exactly once.  It can also play a hostile
JMA: list raw entry XML (``publish_raw_entry``), send any Last-Modified
(``last_modified_header``), or trickle an answer a byte at a time
(``trickle``).  Telegrams are the real copies
in tests/fixtures/jma edited in memory (tests/jma/jma_fixtures.py), with
their times moved next to the bot's (demo) clock.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from domain.jma import JST
from domain.jma_feed import FeedEntry, render_feed
from tests.jma.jma_fixtures import AICHI, edit_telegram

# The real VXSE53 of 2021-02-18 03:58 (愛知県西部): 豊田市 and 東海市 felt 震度3.
TOYOTA = "2321100"
TOKAI = "2322200"
ATSUGI = "1421200"  # not in that telegram


def recent_telegram(
    origin: datetime,
    *,
    event_id: str = "20990101000000",
    info_type: str | None = None,
    status: str | None = None,
    city_max_int: dict[str, str] | None = None,
    serial: int | None = None,
) -> bytes:
    """The Aichi telegram as if the quake happened at ``origin`` (aware)."""
    jst = origin.astimezone(JST).replace(microsecond=0)
    body = edit_telegram(
        AICHI,
        event_id=event_id,
        info_type=info_type,
        status=status,
        origin_time=jst.isoformat(),
        city_max_int=city_max_int,
    ).decode("utf-8")
    reported = (jst + timedelta(minutes=5)).isoformat()
    body = re.sub(
        r"<ReportDateTime>[^<]*</ReportDateTime>", f"<ReportDateTime>{reported}</ReportDateTime>", body
    )
    if serial is not None:
        body = re.sub(r"<Serial>[^<]*</Serial>", f"<Serial>{serial}</Serial>", body, count=1)
    return body.encode("utf-8")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Report><Control><Title>&lol3;</Title></Control></Report>"""


class FakeJma:
    """Serves on 127.0.0.1; ``publish`` adds a telegram to the feed."""

    def __init__(self):
        self.entries: list[FeedEntry] = []  # newest first
        self.bodies: dict[str, bytes] = {}
        self.hits: Counter = Counter()  # path -> requests
        self.feed_answers: list[int] = []  # status of every feed request
        self.last_modified = datetime(2000, 1, 1, tzinfo=UTC)
        self.delays: dict[str, float] = {}  # path -> seconds to wait before answering
        # path -> (seconds between bytes, "headers" or "body": where the trickle starts)
        self.trickles: dict[str, tuple[float, str]] = {}
        self.raw_entries: list[tuple[int, bytes]] = []  # (position, <entry>...</entry>)
        self.last_modified_header: str | None = None  # sent instead of the real one
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake._serve(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.feed_url = f"{self.url}/eqvol.xml"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def publish(
        self, name: str, body: bytes, *, link: str | None = None, title: str = "震源・震度に関する情報"
    ):
        """List ``body`` in the feed as /data/<name> (or at ``link``)."""
        with self._lock:
            # Last-Modified has one-second resolution: make each change count.
            self.last_modified = max(
                datetime.now(UTC).replace(microsecond=0), self.last_modified + timedelta(seconds=1)
            )
            path = f"/data/{name}"
            self.bodies[path] = body
            entry = FeedEntry(
                id=f"urn:uuid:fake-{name}",
                title=title,
                updated=self.last_modified,
                link=link or f"{self.url}{path}",
            )
            self.entries.insert(0, entry)
            return entry

    def publish_raw_entry(self, xml: str, *, position: int = 0) -> None:
        """List ``xml`` (an <entry> element, written as it comes) in the feed
        before the ``position``-th published entry (0: first)."""
        with self._lock:
            self.last_modified = max(
                datetime.now(UTC).replace(microsecond=0), self.last_modified + timedelta(seconds=1)
            )
            self.raw_entries.append((position, xml.encode("utf-8")))

    def trickle(self, path: str, *, every: float = 1.0, start: str = "headers") -> None:
        """Answer ``path`` one byte every ``every`` seconds, from the status
        line on (``start="headers"``) or once the headers are sent ("body")."""
        self.trickles[path] = (every, start)

    def telegram_hits(self, name: str) -> int:
        return self.hits[f"/data/{name}"]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path in self.delays:
            time.sleep(self.delays[handler.path])
        with self._lock:
            self.hits[handler.path] += 1
            if handler.path == "/eqvol.xml":
                status, headers, body = self._feed(handler.headers.get("If-Modified-Since"))
                self.feed_answers.append(status)
            elif handler.path in self.bodies:
                status, headers, body = 200, {"Content-Type": "application/xml"}, self.bodies[handler.path]
            else:
                status, headers, body = 404, {}, b"not found"
        if self.last_modified_header is not None and "Last-Modified" in headers:
            headers["Last-Modified"] = self.last_modified_header
        head = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Other'}"]
        head += [f"{key}: {value}" for key, value in {**headers, "Content-Length": len(body)}.items()]
        head_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        handler.close_connection = True
        try:
            if handler.path not in self.trickles:
                handler.wfile.write(head_bytes + body)
                return
            every, start = self.trickles[handler.path]
            if start == "body":
                handler.wfile.write(head_bytes)
                head_bytes = b""
            for byte in head_bytes + body:
                handler.wfile.write(bytes([byte]))
                time.sleep(every)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout and deadline tests make it)

    def _feed(self, since: str | None):
        last_modified = format_datetime(self.last_modified, usegmt=True)
        if since:
            try:
                if parsedate_to_datetime(since) >= self.last_modified:
                    return 304, {"Last-Modified": last_modified}, b""
            except (TypeError, ValueError):
                pass
        body = render_feed(self.entries, updated=self.last_modified, feed_url=self.feed_url)
        for position, xml in sorted(self.raw_entries, key=lambda item: -item[0]):
            # Before the position-th <entry>, or last (before </feed>).
            at = -1
            for _ in range(position + 1):
                at = body.find(b"<entry>", at + 1)
                if at == -1:
                    at = body.rindex(b"</feed>")
                    break
            body = body[:at] + xml + body[at:]
        return 200, {"Content-Type": "application/atom+xml", "Last-Modified": last_modified}, body
