"""Listening to JMA: poll the earthquake Atom feed, fetch each telegram once.

JMA asks clients to fetch each telegram only once and blocks those that
download again, so every step is recorded in the database before the next:

1. ``claim_poll`` (called by the sweep): a conditional UPDATE of the feed's
   ``JmaFeedState.polled_at`` lets exactly one poll through per minute, on
   every tick of every scheduler; the winner enqueues ``poll_job``.
2. ``poll``: GET the feed with If-Modified-Since (304: nothing new), record
   each new VXSE53 entry as a ``JmaTelegram`` row (a unique insert on the
   entry id: the row is the promise to fetch it once), then
3. fetch the rows not fetched yet: each is claimed with a conditional UPDATE
   (new -> fetching), fetched with a timeout, parsed with the hardened
   parser and stored (fetched), or recorded as refused or failed.  A link
   off the feed's host is refused without being fetched.
4. hand the fetched telegrams to ``jobs.quake`` and enqueue what they queued.

A restart loses nothing and fetches nothing twice: the rows say what was
fetched.  Only a poller that died between claiming a row and storing what it
fetched can cause a second download, after FETCH_LEASE, at most
MAX_FETCH_ATTEMPTS times in all.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import urllib3

from domain.jma import MAX_TELEGRAM_BYTES, JmaXmlError, XmlRefusedError, parse_telegram
from domain.jma_feed import MAX_FEED_BYTES, parse_feed, select_new_entries
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
FETCH_LEASE = timedelta(minutes=5)
MAX_FETCH_ATTEMPTS = 3
# The only telegram that reports intensity by city (domain.quake rule 1).
WANTED_TYPES = frozenset({"VXSE53"})
HTTP_TIMEOUT = urllib3.Timeout(connect=3.0, read=10.0)
USER_AGENT = "tsunagari-safety-bot/1.0"
FETCH_BATCH = 50

_pool_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None


def _http() -> urllib3.PoolManager:
    global _pool
    with _pool_lock:
        if _pool is None:
            # No urllib3 retries or redirects: a retry is a second download,
            # and a redirect could lead off JMA's host.
            _pool = urllib3.PoolManager(
                retries=False, timeout=HTTP_TIMEOUT, headers={"User-Agent": USER_AGENT}
            )
        return _pool


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes = b""
    last_modified: str | None = None


def http_get(url: str, headers: dict[str, str], max_bytes: int) -> Fetched:
    """GET ``url`` with a timeout, reading at most ``max_bytes`` of body.

    Raises XmlRefusedError for a larger body (without reading the rest), and
    urllib3's HTTPError or OSError for network failures."""
    response = _http().request("GET", url, headers=headers, preload_content=False, redirect=False)
    try:
        if response.status != 200:
            return Fetched(response.status, last_modified=response.headers.get("Last-Modified"))
        body = response.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise XmlRefusedError(f"body is over the {max_bytes}-byte limit")
        return Fetched(200, body, response.headers.get("Last-Modified"))
    finally:
        response.close()


def same_host(link: str, feed_url: str) -> bool:
    """True when ``link`` is on the feed's own scheme and host."""
    a, b = urlsplit(link), urlsplit(feed_url)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


# -- 1. the once-a-minute claim (sweep) -------------------------------------------


def claim_poll(now: datetime, feed_url: str) -> bool:
    """True for exactly one caller per POLL_INTERVAL, whatever the number of
    schedulers: the conditional UPDATE is the claim."""
    JmaFeedState.insert(feed_url=feed_url).on_conflict_ignore().execute()
    due = naive(now - POLL_INTERVAL)
    return (
        JmaFeedState.update(polled_at=naive(now))
        .where(
            (JmaFeedState.feed_url == feed_url)
            & (JmaFeedState.polled_at.is_null() | (JmaFeedState.polled_at <= due))
        )
        .execute()
        == 1
    )


def poll_job(feed_url: str) -> dict:
    """The RQ job the sweep enqueues once a minute."""
    runtime.ensure_configured()
    with connected():
        return poll(clock.now(), feed_url)


# -- 2-4. one poll ---------------------------------------------------------------


def poll(now: datetime, feed_url: str) -> dict:
    """Read the feed, fetch what is new, handle it.  Returns counts."""
    counts = {"feed": read_feed(now, feed_url)}
    counts.update(fetch_pending(now, feed_url))
    counts["handled"] = handle_pending(now, runtime.settings())
    if counts["handled"]:
        # Emergency prompts go out now, not at the next tick.
        enqueue_outbox(now, runtime.connection())
    log.info("JMA poll: %s", counts)
    return counts


def read_feed(now: datetime, feed_url: str) -> str:
    """GET the feed and record its new entries; returns what happened
    ("200", "304", an HTTP status, or an error name)."""
    state = JmaFeedState.get(JmaFeedState.feed_url == feed_url)
    headers = {"If-Modified-Since": state.last_modified} if state.last_modified else {}
    try:
        fetched = http_get(feed_url, headers, MAX_FEED_BYTES)
        if fetched.status == 200:
            new = record_entries(parse_feed(fetched.body), feed_url, now)
            # Saved only once the entries are: a crash before this reads the
            # feed again, never skips it.
            _feed_state(feed_url, status=200, error=None, last_modified=fetched.last_modified)
            return f"200 ({new} new)"
        _feed_state(
            feed_url, status=fetched.status, error=None if fetched.status == 304 else f"HTTP {fetched.status}"
        )
        return str(fetched.status)
    except (JmaXmlError, urllib3.exceptions.HTTPError, OSError) as exc:
        _feed_state(feed_url, status=None, error=f"{type(exc).__name__}: {exc}"[:500])
        log.warning("JMA feed could not be read: %s", type(exc).__name__)
        return type(exc).__name__


_KEEP = object()


def _feed_state(feed_url: str, *, status: int | None, error: str | None, last_modified=_KEEP) -> None:
    values = {"last_status": status, "last_error": error}
    if last_modified is not _KEEP:
        # A full answer without Last-Modified clears it: a stale date would
        # make the next If-Modified-Since hide what changed.
        values["last_modified"] = last_modified[:64] if last_modified else None
    JmaFeedState.update(**values).where(JmaFeedState.feed_url == feed_url).execute()


def record_entries(entries, feed_url: str, now: datetime) -> int:
    """Insert a row per new wanted entry (unique on the entry id, so two
    pollers insert it once).  Links off the feed's host are recorded as
    refused and never fetched.  Returns how many entries were new."""
    usable = [e for e in entries if 0 < len(e.id) <= 255]
    ids = [e.id for e in usable]
    seen = (
        {
            entry_id
            for (entry_id,) in JmaTelegram.select(JmaTelegram.entry_id)
            .where(JmaTelegram.entry_id.in_(ids))
            .tuples()
        }
        if ids
        else set()
    )
    new = select_new_entries(usable, seen, type_codes=WANTED_TYPES)
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
    if rows:
        JmaTelegram.insert_many(rows).on_conflict_ignore().execute()
    return len(rows)


def fetch_pending(now: datetime, feed_url: str) -> dict:
    """Fetch every telegram recorded but not fetched yet (or whose poller
    died), oldest first.  Returns counts by outcome."""
    stale = naive(now - FETCH_LEASE)
    waiting = (JmaTelegram.state == "new") | (
        (JmaTelegram.state == "fetching") & (JmaTelegram.claimed_at < stale)
    )
    # Rows that have used up their attempts are given up, not retried forever.
    JmaTelegram.update(state="failed", error="gave up after repeated attempts").where(
        waiting & (JmaTelegram.attempts >= MAX_FETCH_ATTEMPTS)
    ).execute()
    ids = [
        row.id
        for row in JmaTelegram.select(JmaTelegram.id)
        .where(waiting)
        .order_by(JmaTelegram.entry_updated, JmaTelegram.id)
        .limit(FETCH_BATCH)
    ]
    counts = {"fetched": 0, "refused": 0, "failed": 0, "retry": 0}
    for row_id in ids:
        outcome = fetch_one(row_id, now, feed_url)
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


def fetch_one(row_id: int, now: datetime, feed_url: str) -> str:
    """Claim, fetch, parse and store one telegram.  Returns the outcome:
    fetched, refused, failed, retry, or skipped (not ours)."""
    row = _claim_fetch(row_id, now)
    if row is None:
        return "skipped"
    if not same_host(row.link, feed_url):
        _finish(row, state="refused", error="the link is not on the feed's host")
        return "refused"
    try:
        fetched = http_get(row.link, {}, MAX_TELEGRAM_BYTES)
    except XmlRefusedError as exc:
        _finish(row, state="refused", fetched_at=naive(now), error=str(exc)[:500])
        return "refused"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # Nothing (complete) was downloaded: trying again is not a re-download.
        retry = row.attempts < MAX_FETCH_ATTEMPTS
        _finish(row, state="new" if retry else "failed", error=type(exc).__name__)
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
        _finish(row, state="refused", fetched_at=naive(now), error=f"{type(exc).__name__}: {exc}"[:500])
        log.warning("JMA telegram refused: %s", type(exc).__name__)
        return "refused"
    _finish(row, state="fetched", fetched_at=naive(now), error=None, **telegram_fields(telegram))
    return "fetched"
