"""Listening to JMA: the sweep polls the feed once a minute, with
If-Modified-Since, and every telegram is fetched exactly once — across polls,
restarts and pollers — while hostile or foreign entries are refused.

Issue 8, against a hostile JMA: a peer that trickles a byte a second is cut
off at the deadline and one poll runs at a time (a poller that dies frees the
feed after the lease); an entry or telegram with values the database or the
rules cannot hold is skipped or trimmed with the reason, and the 震度7
telegram listed beside it is still recorded and handled."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest
import urllib3

from config import load_settings
from jobs import jma_poll
from jobs.jma_poll import claim_poll, fetch_one, record_entries
from models import JmaFeedState, JmaTelegram, Round, utc
from services import clock
from tests.conftest import REDIS_URL
from tests.fake_jma import BILLION_LAUGHS, TOYOTA, FakeJma, recent_telegram
from tests.jma.jma_fixtures import AICHI, IWATE, read_fixture
from tests.support import HANAKO, ICHIRO

ROOT = Path(__file__).resolve().parents[2]
MINUTE = 61
# How long past its deadline a cut-off poll may still take on a loaded
# machine (a worker run included): without the deadline, the trickles below
# would take hours.
SLACK = 8.0
_names = count()


def states() -> dict[str, str]:
    return {row.link.rsplit("/", 1)[-1]: row.state for row in JmaTelegram.select()}


def poller_env(world, fake_jma) -> dict[str, str]:
    """The environment of a separate poller process on the test's database."""
    settings = world.settings
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": REDIS_URL,
        "LINE_CHANNEL_SECRET": settings.channel_secret,
        "LINE_CHANNEL_ACCESS_TOKEN": settings.access_token,
        "SECRET_KEY": "test-secret-key-" + "0" * 32,
        "LINE_API_BASE_URL": settings.line_api_base_url,
        "JMA_FEED_URL": fake_jma.feed_url,
        "DEMO_CLOCK": "1",
    }


def wait_for(condition, seconds: float = 30.0) -> None:
    ends = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends, "timed out waiting"
        time.sleep(0.05)


def test_it_polls_once_a_minute_and_asks_only_for_what_changed(quake_world, fake_jma):
    fake_jma.publish(AICHI, read_fixture(AICHI))
    quake_world.tick()
    quake_world.tick()  # the same minute: no second request
    assert fake_jma.feed_answers == [200]
    assert fake_jma.telegram_hits(AICHI) == 1

    quake_world.advance(MINUTE)
    quake_world.tick()
    assert fake_jma.feed_answers == [200, 304]  # If-Modified-Since: nothing new

    fake_jma.publish(IWATE, read_fixture(IWATE))
    quake_world.advance(MINUTE)
    quake_world.tick()
    assert fake_jma.feed_answers == [200, 304, 200]
    assert (fake_jma.telegram_hits(AICHI), fake_jma.telegram_hits(IWATE)) == (1, 1)
    # Both were read and handled (the 2021 quakes are too old to start anything).
    assert states() == {AICHI: "handled", IWATE: "handled"}
    assert JmaTelegram.get(JmaTelegram.link.endswith(IWATE)).event_id == "20210219181113"
    assert JmaFeedState.get().last_modified.endswith("GMT")


def test_it_fetches_each_telegram_once_across_polls_and_a_restart(quake_world, fake_jma):
    fake_jma.publish(AICHI, read_fixture(AICHI))
    quake_world.tick()
    # Make the next answers full feeds again (as when JMA adds an entry), so
    # the poller sees AICHI listed again and must remember it fetched it.
    JmaFeedState.update(last_modified=None).execute()
    quake_world.advance(MINUTE)
    quake_world.tick()
    assert fake_jma.feed_answers == [200, 200]

    # A restart: a fresh process with nothing in memory polls the same feed.
    fake_jma.publish(IWATE, read_fixture(IWATE))
    JmaFeedState.update(last_modified=None).execute()
    env = poller_env(quake_world, fake_jma)
    code = "from jobs.jma_poll import poll_job; import sys; print(poll_job(sys.argv[1]))"
    result = subprocess.run(
        [sys.executable, "-c", code, fake_jma.feed_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "'fetched': 1" in result.stdout
    assert fake_jma.feed_answers == [200, 200, 200]
    assert (fake_jma.telegram_hits(AICHI), fake_jma.telegram_hits(IWATE)) == (1, 1)
    assert states() == {AICHI: "handled", IWATE: "handled"}


def test_it_lets_one_poller_through_a_minute_and_one_fetcher_per_entry(quake_world, fake_jma):
    now = clock.now()
    url = fake_jma.feed_url
    assert claim_poll(now, url) and not claim_poll(now, url)  # two schedulers, one poll
    fake_jma.publish(AICHI, read_fixture(AICHI))
    from domain.jma_feed import parse_feed

    entries = parse_feed(jma_poll.http_get(url, {}, 10**6).body)
    assert record_entries(entries, url, now) == 1
    assert record_entries(entries, url, now) == 0  # the unique insert: recorded once
    row_id = JmaTelegram.get().id
    assert fetch_one(row_id, now, url) == "fetched"
    assert fetch_one(row_id, now, url) == "skipped"  # a second poller finds it taken
    assert fake_jma.telegram_hits(AICHI) == 1


def test_it_refuses_a_hostile_telegram_records_it_and_goes_on(quake_world, fake_jma):
    hostile = "20990101000000_0_VXSE53_666666.xml"
    fake_jma.publish(hostile, BILLION_LAUGHS)
    fake_jma.publish(AICHI, read_fixture(AICHI))
    counts = quake_world.tick()  # the sweep itself does not fail
    assert counts["jma"] == 1
    row = JmaTelegram.get(JmaTelegram.link.endswith(hostile))
    assert row.state == "refused" and "XmlRefusedError" in row.error
    assert states()[AICHI] == "handled"  # the next entry was still read

    JmaFeedState.update(last_modified=None).execute()
    quake_world.advance(MINUTE)
    quake_world.tick()
    assert fake_jma.telegram_hits(hostile) == 1  # refused once, never fetched again


def test_it_never_fetches_a_link_off_the_feeds_host(quake_world, fake_jma):
    elsewhere = FakeJma()
    try:
        name = "20990101000000_0_VXSE53_777777.xml"
        elsewhere.publish(name, read_fixture(AICHI))
        fake_jma.publish(name, b"", link=f"{elsewhere.url}/data/{name}")
        quake_world.tick()
        assert elsewhere.telegram_hits(name) == 0
        row = JmaTelegram.get()
        assert row.state == "refused" and "host" in row.error
    finally:
        elsewhere.close()


def test_it_records_a_missing_or_slow_telegram_without_failing_the_poll(quake_world, fake_jma, monkeypatch):
    missing = "20990101000000_0_VXSE53_404404.xml"
    slow = "20990101000001_0_VXSE53_303303.xml"
    fake_jma.publish(missing, b"", link=f"{fake_jma.url}/nowhere/{missing}")
    fake_jma.publish(slow, read_fixture(AICHI))
    fake_jma.delays[f"/data/{slow}"] = 1.0
    # Every call has a timeout; make it short for the test.
    monkeypatch.setattr(jma_poll, "HTTP_TIMEOUT", urllib3.Timeout(connect=0.2, read=0.2))
    quake_world.tick()
    missing_row = JmaTelegram.get(JmaTelegram.link.endswith(missing))
    slow_row = JmaTelegram.get(JmaTelegram.link.endswith(slow))
    assert (missing_row.state, missing_row.error) == ("failed", "HTTP 404")
    assert (slow_row.state, slow_row.error, slow_row.attempts) == ("new", "ReadTimeoutError", 1)


def test_it_does_not_poll_when_the_feed_is_turned_off(world):
    line = {"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t", "SECRET_KEY": "k" * 32}
    assert load_settings(line).jma_feed_url == "https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml"
    assert load_settings({**line, "JMA_FEED_URL": ""}).jma_feed_url == ""
    assert load_settings({}).jma_feed_url == ""  # the local demo does not poll JMA
    counts = world.tick()
    assert counts["jma"] == 0 and JmaFeedState.select().count() == 0


def test_it_reads_a_recent_edited_telegram_back_from_the_database(quake_world, fake_jma):
    body = recent_telegram(clock.now(), city_max_int={"2321100": "未入電"})
    fake_jma.publish("20990101000000_0_VXSE53_010000.xml", body)
    quake_world.tick()
    from services.telegrams import telegram_from_row

    telegram = telegram_from_row(JmaTelegram.get())
    assert telegram.event_id == "20990101000000" and telegram.is_real
    assert telegram.cities["2321100"].value == "5-" and "2321100" in telegram.unreceived_cities
    assert telegram.city_names["2321100"] == "豊田市"


# --- issue 8: slow peers ----------------------------------------------------------


@pytest.mark.parametrize("start", ["headers", "body"])
def test_it_cuts_a_trickling_jma_off_at_the_deadline_and_goes_on(quake_world, fake_jma, monkeypatch, start):
    monkeypatch.setattr(jma_poll, "HTTP_DEADLINE", 1.5)
    fake_jma.publish(AICHI, read_fixture(AICHI))
    fake_jma.trickle(f"/data/{AICHI}", every=1.0, start=start)
    started = time.monotonic()
    quake_world.tick()
    assert time.monotonic() - started < 1.5 + SLACK
    row = JmaTelegram.get()
    # Nothing complete was downloaded: the row waits for the next poll.
    assert (row.state, row.error, row.attempts) == ("new", "DeadlineExceeded", 1)
    assert JmaFeedState.get().last_status == 200

    # Now the feed trickles and the telegram does not: the feed read is cut
    # off and recorded, and the telegram listed a minute ago is still fetched
    # and handled in the same poll.
    fake_jma.trickles.clear()
    fake_jma.trickle("/eqvol.xml", every=1.0, start=start)
    JmaFeedState.update(last_modified=None).execute()  # a full answer, trickled
    quake_world.advance(MINUTE)
    started = time.monotonic()
    assert quake_world.tick()["jma"] == 1
    assert time.monotonic() - started < 1.5 + SLACK
    state = JmaFeedState.get()
    assert state.last_status is None and state.last_error.startswith("DeadlineExceeded")
    assert states() == {AICHI: "handled"}
    # The poll gave the feed back when it ended: the next minute polls again.
    assert (state.poll_holder, state.poll_lease_until) == (None, None)
    fake_jma.trickles.clear()
    quake_world.advance(MINUTE)
    assert quake_world.tick()["jma"] == 1
    assert JmaFeedState.get().last_status == 200


def test_it_spends_at_most_the_poll_budget_and_fetches_new_telegrams_first(
    quake_world, fake_jma, monkeypatch
):
    monkeypatch.setattr(jma_poll, "HTTP_DEADLINE", 1.0)
    monkeypatch.setattr(jma_poll, "POLL_BUDGET", 2.5)
    slow = [f"20990101000000_0_VXSE53_80000{n}.xml" for n in range(3)]
    for name in slow:
        fake_jma.publish(name, read_fixture(AICHI))
        fake_jma.trickle(f"/data/{name}")
    fake_jma.publish(AICHI, read_fixture(AICHI))  # listed last: the newest
    assert claim_poll(clock.now(), fake_jma.feed_url)
    started = time.monotonic()
    counts = jma_poll.poll_job(fake_jma.feed_url)
    assert time.monotonic() - started < 2.5 + SLACK
    # 1.0 s + 1.0 s + the 0.5 s left; AICHI waits, not even claimed.
    assert (counts["retry"], counts["deferred"], counts["fetched"]) == (3, 1, 0)
    assert JmaTelegram.get(JmaTelegram.link.endswith(AICHI)).attempts == 0

    # Next poll: the telegram never tried goes before those that timed out.
    quake_world.advance(MINUTE)
    assert claim_poll(clock.now(), fake_jma.feed_url)
    counts = jma_poll.poll_job(fake_jma.feed_url)
    assert counts["fetched"] == 1 and states()[AICHI] == "handled"


def test_it_runs_one_poll_at_a_time_and_the_sweep_waits_for_it(quake_world, fake_jma, monkeypatch):
    monkeypatch.setattr(jma_poll, "HTTP_DEADLINE", 4.0)
    fake_jma.publish(AICHI, read_fixture(AICHI))
    fake_jma.trickle("/eqvol.xml")
    assert quake_world.sweep()["jma"] == 1
    quake_world.redis.flushdb()  # the job it queued runs here, in a thread, as a worker would
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(jma_poll.poll_job(fake_jma.feed_url)))
    worker.start()
    wait_for(lambda: JmaFeedState.get().poll_holder is not None)

    quake_world.advance(MINUTE)
    assert quake_world.sweep()["jma"] == 0  # a minute on, the poll still runs: no second one
    assert jma_poll.poll_job(fake_jma.feed_url) == {"skipped": 1}  # nor from a job queued twice
    worker.join(timeout=4.0 + SLACK)
    assert not worker.is_alive() and result["feed"] == "DeadlineExceeded"

    fake_jma.trickles.clear()
    quake_world.advance(MINUTE)
    assert quake_world.tick()["jma"] == 1
    assert states() == {AICHI: "handled"}


def test_it_frees_the_feed_a_dead_poller_held_when_its_lease_ends(quake_world, fake_jma):
    fake_jma.publish(AICHI, read_fixture(AICHI))
    fake_jma.trickle("/eqvol.xml")  # keeps the poller busy until it is killed
    assert quake_world.sweep()["jma"] == 1
    quake_world.redis.flushdb()  # the queued job is played by the process below
    code = "from jobs.jma_poll import poll_job; import sys; poll_job(sys.argv[1])"
    poller = subprocess.Popen(
        [sys.executable, "-c", code, fake_jma.feed_url], cwd=ROOT, env=poller_env(quake_world, fake_jma)
    )
    try:
        wait_for(lambda: JmaFeedState.get().poll_holder is not None)
    finally:
        poller.kill()
        poller.wait(timeout=30)
    fake_jma.trickles.clear()

    lease_ends = utc(JmaFeedState.get().poll_lease_until)
    quake_world.advance((lease_ends - clock.now()).total_seconds() - 5)
    assert quake_world.tick()["jma"] == 0  # past the minute, but the lease still holds
    assert states() == {}
    quake_world.advance(10)
    assert quake_world.tick()["jma"] == 1  # no longer than the lease
    assert states() == {AICHI: "handled"}


# --- issue 8: hostile values beside a real quake ------------------------------------


def toyota_group(world) -> str:
    group_id = world.group(HANAKO, ICHIRO, name="豊田みどり会")
    world.join(group_id, HANAKO, ICHIRO)
    world.lead(group_id, HANAKO)
    world.say(group_id, HANAKO, "/地域 豊田市")
    return group_id


def publish_shindo_7(fake_jma) -> str:
    """A real VXSE53 telegram, edited so 豊田市 felt 震度7 two minutes ago."""
    name = f"2099{next(_names):010d}_0_VXSE53_010000.xml"
    origin = clock.now() - timedelta(minutes=2)
    fake_jma.publish(name, recent_telegram(origin, event_id="20990101000007", city_max_int={TOYOTA: "7"}))
    return name


def assert_shindo_7_handled(name: str) -> None:
    assert states()[name] == "handled"
    [round_] = Round.select().where(Round.kind == "emergency")
    assert (round_.event_id, round_.intensity) == ("20990101000007", "7")


@pytest.mark.parametrize(
    ("updated", "id_", "link"),
    [
        ("0001-01-01T00:00:00+09:00", None, None),  # OverflowError in models.naive before
        ("9999-12-31T23:59:59-09:00", None, None),
        ("not a time", None, None),
        (None, "urn:uuid:" + "x" * 300, None),
        (None, None, "http://[::1/data/20990101000000_0_VXSE53_999999.xml"),
        (None, None, "http://127.0.0.1:99999/data/20990101000000_0_VXSE53_999999.xml"),
    ],
)
def test_it_skips_an_entry_it_cannot_use_and_records_the_quake_beside_it(
    quake_world, fake_jma, updated, id_, link
):
    toyota_group(quake_world)
    name = publish_shindo_7(fake_jma)
    bad_name = "20990101000000_0_VXSE53_999999.xml"
    fake_jma.bodies[f"/data/{bad_name}"] = read_fixture(AICHI)
    fake_jma.publish_raw_entry(
        "<entry><title>震源・震度に関する情報</title>"
        f"<id>{id_ or 'urn:uuid:bad-entry'}</id>"
        f"<updated>{updated or '2099-01-01T00:00:00+09:00'}</updated>"
        f'<link type="application/xml" href="{link or fake_jma.url + "/data/" + bad_name}"/></entry>'
    )
    quake_world.advance(MINUTE)
    quake_world.tick()
    assert_shindo_7_handled(name)
    state = JmaFeedState.get()
    assert (state.last_status, state.last_error) == (200, None)
    assert state.last_skipped.startswith("1 entries skipped: #1 ")
    assert fake_jma.telegram_hits(bad_name) == 0 and len(states()) == 1


def _edit(pattern: str, replacement: str):
    def edit(body: bytes) -> bytes:
        text, n = re.subn(pattern, replacement, body.decode("utf-8"), count=1)
        assert n == 1, pattern
        return text.encode("utf-8")

    return edit


@pytest.mark.parametrize(
    ("edit", "state", "error"),
    [
        (_edit(r"<Serial>[^<]*</Serial>", "<Serial>99999999999</Serial>"), "handled", "dropped: Head/Serial"),
        (
            _edit(r"<OriginTime>[^<]*</OriginTime>", "<OriginTime>0001-01-01T00:00:00+09:00</OriginTime>"),
            "handled",
            "dropped: Body/Earthquake/OriginTime",
        ),
        (
            _edit(r"(<jmx_eb:Magnitude [^>]*>)[^<]*<", r"\g<1>1e309<"),
            "handled",
            "dropped: Body/Earthquake/Magnitude",
        ),
        (
            _edit(r"<ReportDateTime>[^<]*<", "<ReportDateTime>0001-01-01T00:00:00+09:00<"),
            "refused",
            "TelegramError: Head/ReportDateTime",
        ),
        (_edit(r"<EventID>[^<]*<", "<EventID>" + "9" * 41 + "<"), "refused", "TelegramError: Head/EventID"),
        (
            _edit(r"<ReportDateTime>[^<]*<", "<ReportDateTime>2099-12-31T00:00:00+09:00<"),
            "refused",
            "Head/ReportDateTime is in the future",
        ),
        (
            _edit(r"<OriginTime>[^<]*<", "<OriginTime>2099-12-31T00:00:00+09:00<"),
            "refused",
            "Body/Earthquake/OriginTime is in the future",
        ),
        (lambda body: body.replace(b'encoding="UTF-8"', b'encoding="Shift_JIS"'), "refused", "JmaXmlError"),
        (lambda body: body[: len(body) // 2], "refused", "JmaXmlError: not well-formed"),
    ],
)
def test_it_stores_what_it_can_of_a_bad_telegram_and_handles_the_quake_beside_it(
    quake_world, fake_jma, edit, state, error
):
    toyota_group(quake_world)
    bad_name = f"2099{next(_names):010d}_0_VXSE53_020000.xml"
    bad = edit(recent_telegram(clock.now() - timedelta(minutes=3), event_id="20990101000003"))
    fake_jma.publish(bad_name, bad)  # listed first: fetched and handled first
    name = publish_shindo_7(fake_jma)
    quake_world.advance(MINUTE)
    quake_world.tick()
    assert_shindo_7_handled(name)
    row = JmaTelegram.get(JmaTelegram.link.endswith(bad_name))
    assert row.state == state and row.error.startswith(error)


def test_it_forgets_a_last_modified_with_a_nul_and_polls_on(quake_world, fake_jma):
    fake_jma.last_modified_header = "Thu, 18 Feb 2021 04:02:00 GMT\x00"  # ValueError before
    fake_jma.publish(AICHI, read_fixture(AICHI))
    quake_world.tick()
    state = JmaFeedState.get()
    assert (state.last_status, state.last_modified) == (200, None)
    quake_world.advance(MINUTE)
    quake_world.tick()
    assert fake_jma.feed_answers == [200, 200]  # asked without If-Modified-Since, no crash
    assert JmaFeedState.get().last_error is None and states() == {AICHI: "handled"}


@pytest.mark.parametrize(
    "stored",
    [
        "Thu, 18 Feb 2021 04:02:00 GMT\r\nX-Injected: 1",  # http.client's ValueError, every minute
        "Fri, 31 Dec 9999 23:59:59 GMT",  # every answer a 304: no quake would ever be read
    ],
)
def test_it_does_not_send_back_a_bad_last_modified_stored_before(quake_world, fake_jma, stored):
    fake_jma.publish(AICHI, read_fixture(AICHI))
    quake_world.tick()
    JmaFeedState.update(last_modified=stored).execute()  # as an older version could have kept it
    fake_jma.publish(IWATE, read_fixture(IWATE))
    quake_world.advance(MINUTE)
    quake_world.tick()
    assert fake_jma.feed_answers == [200, 200]
    assert states() == {AICHI: "handled", IWATE: "handled"}
    assert JmaFeedState.get().last_modified.endswith("GMT")


def test_it_fails_one_telegram_on_an_unforeseen_error_and_fetches_the_others(
    quake_world, fake_jma, monkeypatch
):
    broken = "20990101000000_0_VXSE53_500500.xml"
    fake_jma.publish(broken, read_fixture(IWATE))
    fake_jma.publish(AICHI, read_fixture(AICHI))
    real_parse = jma_poll.parse_telegram

    def parse(body):
        if b"20210219181113" in body:  # IWATE's EventID
            raise RuntimeError("a bug nobody foresaw")
        return real_parse(body)

    monkeypatch.setattr(jma_poll, "parse_telegram", parse)
    quake_world.tick()
    row = JmaTelegram.get(JmaTelegram.link.endswith(broken))
    assert (row.state, row.error) == ("failed", "RuntimeError: a bug nobody foresaw")
    assert states()[AICHI] == "handled"
    assert JmaFeedState.get().poll_holder is None
