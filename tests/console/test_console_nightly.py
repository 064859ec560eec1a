"""The sweep refreshes each organisation's statistics once a night, claimed
with a conditional UPDATE so that two sweeps never both do it."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import fakeredis

from jobs.queue import Job, QueueName, get_queue
from jobs.statistics import claim_nightly
from jobs.sweep import enqueue_statistics_refresh
from models import Organisation, connected, db
from tests.console import seed

JST = ZoneInfo("Asia/Tokyo")


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=JST)


def test_it_claims_each_organisation_once_a_night(database_url):
    midori, kita = seed.org(now=jst(2026, 11, 1)), seed.org("kita", "北区自治会連合会", now=jst(2026, 11, 1))
    # Never refreshed: claimed at the next sweep, whatever the hour.
    assert claim_nightly(jst(2026, 11, 30, 14), JST) == [midori.id, kita.id]
    assert claim_nightly(jst(2026, 11, 30, 14, 1), JST) == []
    assert claim_nightly(jst(2026, 12, 1, 2, 59), JST) == []  # before tonight's 3:00
    assert claim_nightly(jst(2026, 12, 1, 3, 0), JST) == [midori.id, kita.id]
    assert claim_nightly(jst(2026, 12, 1, 23, 0), JST) == []
    assert Organisation.get_by_id(midori.id).stats_refreshed_at is not None


def test_two_sweeps_at_the_same_moment_claim_it_once(database_url):
    orgs = [seed.org(f"org{n}", f"団体{n}", now=jst(2026, 11, 1)).id for n in range(5)]
    barrier = threading.Barrier(2)
    won: list[list[int]] = []

    def sweep():
        with connected():
            barrier.wait()
            with db.atomic():
                won.append(claim_nightly(jst(2026, 12, 1, 3, 0), JST))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won[0] + won[1]) == sorted(orgs)


def test_the_sweep_enqueues_one_refresh_job_per_organisation_claimed(database_url, settings):
    midori = seed.org(now=jst(2026, 11, 1))
    conn = fakeredis.FakeRedis()
    assert enqueue_statistics_refresh(jst(2026, 12, 1, 3, 5), settings, conn) == 1
    assert enqueue_statistics_refresh(jst(2026, 12, 1, 3, 6), settings, conn) == 0
    [job] = get_queue(conn, QueueName.BACKGROUND).get_jobs()
    assert (job.func_name, job.args) == (Job.REFRESH_STATISTICS.value, (midori.id,))
