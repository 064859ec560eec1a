"""Listening to JMA: the sweep polls the feed once a minute, with
If-Modified-Since, and every telegram is fetched exactly once — across polls,
restarts and pollers — while hostile or foreign entries are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import urllib3

from config import load_settings
from jobs import clock, jma_poll
from jobs.jma_poll import claim_poll, fetch_one, record_entries
from models import JmaFeedState, JmaTelegram
from tests.conftest import REDIS_URL
from tests.fake_jma import BILLION_LAUGHS, FakeJma, recent_telegram
from tests.jma.jma_fixtures import AICHI, IWATE, read_fixture

ROOT = Path(__file__).resolve().parents[2]
MINUTE = 61


def states() -> dict[str, str]:
    return {row.link.rsplit("/", 1)[-1]: row.state for row in JmaTelegram.select()}


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
    settings = quake_world.settings
    env = {
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
    monkeypatch.setattr(
        jma_poll, "_pool", urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(0.2, 0.2))
    )
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
    from jobs.jma_poll import telegram_from_row

    telegram = telegram_from_row(JmaTelegram.get())
    assert telegram.event_id == "20990101000000" and telegram.is_real
    assert telegram.cities["2321100"].value == "5-" and "2321100" in telegram.unreceived_cities
    assert telegram.city_names["2321100"] == "豊田市"
