"""Listening to JMA: poll the earthquake Atom feed, fetch each telegram once.

JMA asks clients to fetch each telegram only once and blocks those that
download again, so every step is recorded in the database before the next:

1. ``claim_poll`` (called by the sweep): a conditional UPDATE of the feed's
   ``JmaFeedState`` lets exactly one poll through per minute, on every tick of
   every scheduler, and never while another poll holds the feed's lease; the
   winner enqueues ``poll_job``, which takes the lease for itself (another
   compare-and-set) and gives it back when it ends.  A poller that died frees
   the feed once POLL_LEASE has passed.
2. ``poll``: GET the feed with If-Modified-Since (304: nothing new), record
   each new VXSE53 entry as a ``JmaTelegram`` row (a unique insert on the
   entry id: the row is the promise to fetch it once), then
3. fetch the rows not fetched yet: each is claimed with a conditional UPDATE
   (new -> fetching), fetched with a timeout, parsed with the hardened
   parser and stored (fetched), or recorded as refused or failed.  A link
   off the feed's host is refused without being fetched.
4. hand the fetched telegrams to ``services.quake`` and enqueue what they queued.

Slow peers: every HTTP call has a total deadline (HTTP_DEADLINE) besides its
per-read timeout, so a server that trickles a byte at a time is cut off and
recorded as an error; the HTTP calls of one poll share POLL_BUDGET, after
which the rest waits for the next poll.  Hostile input: the domain parsers
validate every field (domain.jma), so one bad entry or telegram is recorded
with its reason and the poll goes on with the others.

A restart loses nothing and fetches nothing twice: the rows say what was
fetched.  Only a poller that died between claiming a row and storing what it
fetched can cause a second download, after FETCH_LEASE, at most
MAX_FETCH_ATTEMPTS times in all.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from domain.jma import MAX_TELEGRAM_BYTES, JmaXmlError, XmlRefusedError, parse_telegram
from domain.jma_feed import MAX_FEED_BYTES, clean_last_modified, parse_feed_entries, select_new_entries
from jobs import runtime
from jobs.delivery import enqueue_outbox
from models import JmaFeedState, JmaTelegram, connected, naive
from services import clock
from services.quake import handle_pending
from services.telegrams import telegram_fields, telegram_from_row  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

# A minute between polls, less a little: a tick that comes a moment early
# (TICK_SECONDS=30) must not turn a minute into a minute and a half.
POLL_INTERVAL = timedelta(seconds=58)
# How long a poll holds the feed: longer than a poll can last (POLL_BUDGET
# of HTTP plus the database work), far shorter than RQ's 300 s job timeout.
POLL_LEASE = timedelta(minutes=2)
FETCH_LEASE = timedelta(minutes=5)
# How far ahead of our clock a telegram's report time may be (clocks drift;
# JMA's does not run hours ahead).
MAX_CLOCK_SKEW = timedelta(hours=1)
MAX_FETCH_ATTEMPTS = 3
# The only telegram that reports intensity by city (domain.quake rule 1).
WANTED_TYPES = frozenset({"VXSE53"})
# Per connect and per read (no total: HTTP_DEADLINE is the total).
HTTP_TIMEOUT = urllib3.Timeout(connect=3.0, read=10.0)
# Seconds one HTTP call may take in all, connecting, TLS and every read
# included: the per-read timeout never fires on a server that sends a byte
# every few seconds.  JMA answers in well under a second.
HTTP_DEADLINE = 15.0
# Seconds of HTTP one poll may spend (the feed and its telegrams); once spent,
# the telegrams not started wait for the next poll.
POLL_BUDGET = 45.0
USER_AGENT = "tsunagari-safety-bot/1.0"
FETCH_BATCH = 50
# Rows per statement when recording a feed's entries (bound parameters stay
# far below SQLite's limit whatever the feed lists).
RECORD_CHUNK = 100
# Network failures of a call, as the poll records them (by class name).
NETWORK_ERRORS = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)


class DeadlineExceeded(TimeoutError):
    """The peer was still connecting or sending when the call's total
    deadline passed; whatever it had sent is discarded."""


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes = b""
    last_modified: str | None = None


class _Watchdog:
    """Shuts a connection's socket down at the deadline.

    That wakes a read blocked on a trickling peer in any phase (connect, TLS
    handshake, status line, headers, body), which then fails; ``fired`` says
    why.  It acts on a duplicate of the socket's descriptor, its own until
    ``disarm``, so it can never touch a descriptor the system has reused."""

    def __init__(self, seconds: float):
        self.fired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._done = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self._done:
                return
            self._sock = sock.dup()
            if self.fired:
                self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            # OSError: not connected yet, or already closed by the peer.
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def disarm(self) -> bool:
        """Stop watching; True when the deadline had passed."""
        self._timer.cancel()
        with self._lock:
            self._done = True
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            return self.fired


class _Watched:
    """A urllib3 connection whose socket a _Watchdog watches from the moment
    it exists (before the TLS handshake)."""

    watchdog: _Watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        self.watchdog.watch(sock)
        return sock


class _WatchedHTTP(_Watched, HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, HTTPSConnection):
    pass


_CONNECTIONS = {"http": _WatchedHTTP, "https": _WatchedHTTPS}


def http_get(url: str, headers: dict[str, str], max_bytes: int, *, deadline: float | None = None) -> Fetched:
    """GET ``url`` reading at most ``max_bytes`` of body, within HTTP_TIMEOUT
    per read and ``deadline`` seconds in all (default HTTP_DEADLINE).

    No retries, no redirects (a retry is a second download, a redirect could
    lead off JMA's host), no content decoding (we ask for identity; a
    compressed answer fails to parse rather than inflating).  Raises
    XmlRefusedError for a larger body (without reading the rest),
    DeadlineExceeded when the deadline passes, and one of NETWORK_ERRORS for
    any other network or protocol failure."""
    try:
        parts = urlsplit(url)
        port = parts.port
        if not url.isascii() or parts.scheme not in _CONNECTIONS or not parts.hostname:
            raise ValueError("not an ASCII http(s) URL with a host")
    except ValueError as exc:
        raise urllib3.exceptions.LocationValueError(f"unusable URL: {exc}") from exc
    connection_class = _CONNECTIONS[parts.scheme]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    seconds = HTTP_DEADLINE if deadline is None else deadline
    watchdog = _Watchdog(seconds)
    connection = connection_class(parts.hostname, port, timeout=HTTP_TIMEOUT.connect_timeout)
    connection.watchdog = watchdog
    response = None
    try:
        try:
            connection.request(
                "GET",
                target,
                headers={"User-Agent": USER_AGENT, **headers},
                preload_content=False,
                decode_content=False,
            )
            connection.timeout = HTTP_TIMEOUT.read_timeout
            try:
                response = connection.getresponse()
            except TimeoutError as exc:
                # Name it as urllib3 names a slow body, whatever the phase.
                raise urllib3.exceptions.ReadTimeoutError(None, url, "read timed out") from exc
            if response.status != 200:
                result = Fetched(response.status, last_modified=response.headers.get("Last-Modified"))
            else:
                body = response.read(max_bytes + 1, decode_content=False)
                if len(body) > max_bytes:
                    raise XmlRefusedError(f"body is over the {max_bytes}-byte limit")
                result = Fetched(200, body, response.headers.get("Last-Modified"))
        except Exception as exc:
            if watchdog.disarm():
                raise DeadlineExceeded(f"no complete answer within {seconds:.1f} s") from exc
            raise
        if watchdog.disarm():
            # A body that ended when the socket was shut down may be cut short.
            raise DeadlineExceeded(f"no complete answer within {seconds:.1f} s")
        return result
    finally:
        watchdog.disarm()
        if response is not None:
            response.close()
        connection.close()


def same_host(link: str, feed_url: str) -> bool:
    """True when ``link`` is on the feed's own scheme and host."""
    try:
        a, b = urlsplit(link), urlsplit(feed_url)
    except ValueError:
        return False
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


# -- 1. the once-a-minute claim (sweep) and the lease --------------------------------


def _lease_free(now: datetime):
    return JmaFeedState.poll_lease_until.is_null() | (JmaFeedState.poll_lease_until <= naive(now))


def claim_poll(now: datetime, feed_url: str) -> bool:
    """True for exactly one caller per POLL_INTERVAL, whatever the number of
    schedulers, and never while a poll holds the feed's lease: the
    conditional UPDATE is the claim.  The winner holds the lease (for the
    job it enqueues, which has not started yet) until POLL_LEASE from now."""
    JmaFeedState.insert(feed_url=feed_url).on_conflict_ignore().execute()
    due = naive(now - POLL_INTERVAL)
    return (
        JmaFeedState.update(polled_at=naive(now), poll_lease_until=naive(now + POLL_LEASE), poll_holder=None)
        .where(
            (JmaFeedState.feed_url == feed_url)
            & (JmaFeedState.polled_at.is_null() | (JmaFeedState.polled_at <= due))
            & _lease_free(now)
        )
        .execute()
        == 1
    )


def take_lease(now: datetime, feed_url: str) -> str | None:
    """Make this poll the feed's only one: a compare-and-set that wins when
    the lease is free, expired, or claimed by the sweep for a job that has not
    started (no holder yet).  Returns the holder token to give back with
    ``release_lease``, or None when another poll is running."""
    JmaFeedState.insert(feed_url=feed_url).on_conflict_ignore().execute()
    holder = str(uuid.uuid4())
    taken = (
        JmaFeedState.update(poll_holder=holder, poll_lease_until=naive(now + POLL_LEASE))
        .where((JmaFeedState.feed_url == feed_url) & (JmaFeedState.poll_holder.is_null() | _lease_free(now)))
        .execute()
    )
    return holder if taken == 1 else None


def release_lease(feed_url: str, holder: str) -> None:
    """Free the feed, unless the lease expired and another poll took it."""
    JmaFeedState.update(poll_holder=None, poll_lease_until=None).where(
        (JmaFeedState.feed_url == feed_url) & (JmaFeedState.poll_holder == holder)
    ).execute()


def poll_job(feed_url: str) -> dict:
    """The RQ job the sweep enqueues once a minute.  Does nothing when
    another poll of the feed is running (two jobs can be queued when the
    first waited longer than POLL_LEASE)."""
    runtime.ensure_configured()
    with connected():
        now = clock.now()
        holder = take_lease(now, feed_url)
        if holder is None:
            log.info("JMA poll skipped: another poll holds the feed")
            return {"skipped": 1}
        try:
            return poll(now, feed_url)
        finally:
            release_lease(feed_url, holder)


# -- 2-4. one poll ---------------------------------------------------------------


def poll(now: datetime, feed_url: str) -> dict:
    """Read the feed, fetch what is new, handle it.  Returns counts.  The
    HTTP calls share POLL_BUDGET seconds; a failed feed read still lets the
    telegrams recorded earlier be fetched and handled."""
    budget_ends = time.monotonic() + POLL_BUDGET
    counts = {"feed": read_feed(now, feed_url)}
    counts.update(fetch_pending(now, feed_url, budget_ends=budget_ends))
    # Emergency prompts go out as each batch of rounds is written, not at
    # the next tick.
    counts["handled"] = handle_pending(
        now, runtime.settings(), after_batch=lambda: enqueue_outbox(now, runtime.connection())
    )
    log.info("JMA poll: %s", counts)
    return counts


def read_feed(now: datetime, feed_url: str) -> str:
    """GET the feed and record its new entries; returns what happened
    ("200 (n new)", "304", an HTTP status, or an error name).  Entries the
    parser skipped are counted, with their reasons, in
    ``JmaFeedState.last_skipped``."""
    state = JmaFeedState.get(JmaFeedState.feed_url == feed_url)
    last_modified = clean_last_modified(state.last_modified, now)
    headers = {"If-Modified-Since": last_modified} if last_modified else {}
    try:
        fetched = http_get(feed_url, headers, MAX_FEED_BYTES)
        if fetched.status == 200:
            reading = parse_feed_entries(fetched.body)
            new = record_entries(reading.entries, feed_url, now)
            skipped = _describe_skipped(reading.skipped)
            if skipped:
                log.warning("JMA feed: %s", skipped)
            # Saved only once the entries are: a crash before this reads the
            # feed again, never skips it.
            _feed_state(
                feed_url,
                status=200,
                error=None,
                last_modified=clean_last_modified(fetched.last_modified, now),
                skipped=skipped,
            )
            return f"200 ({new} new)"
        _feed_state(
            feed_url, status=fetched.status, error=None if fetched.status == 304 else f"HTTP {fetched.status}"
        )
        return str(fetched.status)
    except (JmaXmlError, *NETWORK_ERRORS) as exc:
        _feed_state(feed_url, status=None, error=_error_text(exc))
        log.warning("JMA feed could not be read: %s", type(exc).__name__)
        return type(exc).__name__


def _error_text(exc: BaseException) -> str:
    """What is stored of an error: its class and message, printable and short
    (a message may quote what the peer sent)."""
    text = f"{type(exc).__name__}: {exc}"
    return "".join(char if char.isprintable() else "?" for char in text)[:500]


def _describe_skipped(skipped) -> str | None:
    if not skipped:
        return None
    reasons = "; ".join(f"#{item.position} {item.reason}" for item in skipped[:10])
    more = f"; and {len(skipped) - 10} more" if len(skipped) > 10 else ""
    return f"{len(skipped)} entries skipped: {reasons}{more}"[:1000]


_KEEP = object()


def _feed_state(
    feed_url: str, *, status: int | None, error: str | None, last_modified=_KEEP, skipped=_KEEP
) -> None:
    values = {"last_status": status, "last_error": error}
    if last_modified is not _KEEP:
        # A full answer without a usable Last-Modified clears it: a stale
        # date would make the next If-Modified-Since hide what changed.
        values["last_modified"] = last_modified
    if skipped is not _KEEP:
        values["last_skipped"] = skipped
    JmaFeedState.update(**values).where(JmaFeedState.feed_url == feed_url).execute()


def record_entries(entries, feed_url: str, now: datetime) -> int:
    """Insert a row per new wanted entry (unique on the entry id, so two
    pollers insert it once).  ``entries`` are parsed FeedEntry values (their
    fields fit the columns).  Links off the feed's host are recorded as
    refused and never fetched.  Returns how many entries were new."""
    wanted = [e for e in entries if 0 < len(e.id) <= 255 and e.type_code in WANTED_TYPES]
    seen: set[str] = set()
    ids = list(dict.fromkeys(e.id for e in wanted))
    for start in range(0, len(ids), RECORD_CHUNK):
        chunk = ids[start : start + RECORD_CHUNK]
        seen.update(
            entry_id
            for (entry_id,) in JmaTelegram.select(JmaTelegram.entry_id)
            .where(JmaTelegram.entry_id.in_(chunk))
            .tuples()
        )
    new = select_new_entries(wanted, seen, type_codes=WANTED_TYPES)
    rows = []
    for entry in new:
        on_host = same_host(entry.link, feed_url)
        rows.append(
            {
                "entry_id": entry.id,
                "link": entry.link,
                "type_code": entry.type_code,
                "entry_updated": naive(entry.updated),
                "state": "new" if on_host else "refused",
                "error": None if on_host else "the link is not on the feed's host",
                "created_at": naive(now),
            }
        )
        if not on_host:
            log.warning("JMA feed entry with a link off the feed's host refused")
    for start in range(0, len(rows), RECORD_CHUNK):
        JmaTelegram.insert_many(rows[start : start + RECORD_CHUNK]).on_conflict_ignore().execute()
    return len(rows)


def fetch_pending(now: datetime, feed_url: str, *, budget_ends: float | None = None) -> dict:
    """Fetch every telegram recorded but not fetched yet (or whose poller
    died): never tried first, then oldest first.  With ``budget_ends`` (a
    time.monotonic() value), no fetch starts after it and none runs past it;
    the rest waits for the next poll.  A row that fails unexpectedly is
    recorded as failed and the others are still fetched.  Returns counts by
    outcome."""
    stale = naive(now - FETCH_LEASE)
    waiting = (JmaTelegram.state == "new") | (
        (JmaTelegram.state == "fetching") & (JmaTelegram.claimed_at < stale)
    )
    # Rows that have used up their attempts are given up, not retried forever.
    JmaTelegram.update(state="failed", error="gave up after repeated attempts").where(
        waiting & (JmaTelegram.attempts >= MAX_FETCH_ATTEMPTS)
    ).execute()
    # A telegram never tried goes before one that failed before: a peer that
    # keeps timing out must not hold back the next quake's telegram.
    ids = [
        row.id
        for row in JmaTelegram.select(JmaTelegram.id)
        .where(waiting)
        .order_by(JmaTelegram.attempts, JmaTelegram.entry_updated, JmaTelegram.id)
        .limit(FETCH_BATCH)
    ]
    counts = {"fetched": 0, "refused": 0, "failed": 0, "retry": 0, "deferred": 0}
    for row_id in ids:
        remaining = None if budget_ends is None else budget_ends - time.monotonic()
        if remaining is not None and remaining <= 0:
            counts["deferred"] += 1
            continue
        try:
            outcome = fetch_one(row_id, now, feed_url, deadline=remaining)
        except Exception as exc:
            # A bug or an answer nobody foresaw: this row fails, the poll goes on.
            log.error("JMA telegram %s could not be stored: %s", row_id, type(exc).__name__)
            JmaTelegram.update(state="failed", error=_error_text(exc)).where(
                (JmaTelegram.id == row_id) & (JmaTelegram.state == "fetching")
            ).execute()
            outcome = "failed"
        if outcome in counts:
            counts[outcome] += 1
    return counts


def _claim_fetch(row_id: int, now: datetime) -> JmaTelegram | None:
    stale = naive(now - FETCH_LEASE)
    claimed = (
        JmaTelegram.update(state="fetching", claimed_at=naive(now), attempts=JmaTelegram.attempts + 1)
        .where(
            (JmaTelegram.id == row_id)
            & (JmaTelegram.attempts < MAX_FETCH_ATTEMPTS)
            & (
                (JmaTelegram.state == "new")
                | ((JmaTelegram.state == "fetching") & (JmaTelegram.claimed_at < stale))
            )
        )
        .execute()
    )
    return JmaTelegram.get_by_id(row_id) if claimed == 1 else None


def _finish(row: JmaTelegram, **fields) -> None:
    """Record the outcome unless another poller has taken the row since."""
    JmaTelegram.update(**fields).where(
        (JmaTelegram.id == row.id)
        & (JmaTelegram.state == "fetching")
        & (JmaTelegram.attempts == row.attempts)
    ).execute()


def fetch_one(row_id: int, now: datetime, feed_url: str, *, deadline: float | None = None) -> str:
    """Claim, fetch, parse and store one telegram, the fetch taking at most
    ``deadline`` seconds (at most HTTP_DEADLINE).  Returns the outcome:
    fetched, refused, failed, retry, or skipped (not ours)."""
    row = _claim_fetch(row_id, now)
    if row is None:
        return "skipped"
    if not same_host(row.link, feed_url):
        _finish(row, state="refused", error="the link is not on the feed's host")
        return "refused"
    seconds = HTTP_DEADLINE if deadline is None else min(deadline, HTTP_DEADLINE)
    try:
        fetched = http_get(row.link, {}, MAX_TELEGRAM_BYTES, deadline=seconds)
    except XmlRefusedError as exc:
        _finish(row, state="refused", fetched_at=naive(now), error=_error_text(exc))
        return "refused"
    except NETWORK_ERRORS as exc:
        # Nothing (complete) was downloaded: trying again is not a re-download.
        retry = row.attempts < MAX_FETCH_ATTEMPTS
        _finish(row, state="new" if retry else "failed", error=type(exc).__name__)
        log.warning("JMA telegram %s not fetched: %s", row.id, type(exc).__name__)
        return "retry" if retry else "failed"
    if fetched.status != 200:
        retry = fetched.status >= 500 and row.attempts < MAX_FETCH_ATTEMPTS
        _finish(row, state="new" if retry else "failed", error=f"HTTP {fetched.status}")
        return "retry" if retry else "failed"
    try:
        telegram = parse_telegram(fetched.body)
    except JmaXmlError as exc:
        # Hostile (entities, DTD, oversized) or unreadable: recorded, never
        # fetched again, and the poll goes on with the other entries.
        _finish(row, state="refused", fetched_at=naive(now), error=_error_text(exc))
        log.warning("JMA telegram refused: %s", type(exc).__name__)
        return "refused"
    future = [
        path
        for path, value in (
            ("Head/ReportDateTime", telegram.report_datetime),
            ("Body/Earthquake/OriginTime", telegram.origin_time),
        )
        if value is not None and value > now + MAX_CLOCK_SKEW
    ]
    if future:
        # Broken or hostile: a quake dated ahead never grows too old to start
        # a round (domain.quake rule 4).
        _finish(row, state="refused", fetched_at=naive(now), error=f"{future[0]} is in the future")
        log.warning("JMA telegram refused: dated in the future")
        return "refused"
    # Optional fields the parser dropped as unusable are named in ``error``.
    dropped = f"dropped: {', '.join(telegram.dropped)}"[:500] if telegram.dropped else None
    _finish(row, state="fetched", fetched_at=naive(now), error=dropped, **telegram_fields(telegram))
    return "fetched"
