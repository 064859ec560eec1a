"""The shared pace of paced jobs: however many jobs send at once, their
pushes are spaced at the one rate (on a real Redis), and a job paces itself
when Redis is gone."""

from __future__ import annotations

from redis import Redis

from jobs.paced import CATCH_UP_SECONDS, PACE_KEY, SharedPace


def test_two_jobs_share_one_pace(redis_conn):
    waits: list[float] = []
    first, second = (SharedPace(redis_conn, rate=10, sleep=waits.append) for _ in range(2))
    assert first.shared and second.shared
    for _ in range(4):
        first.take()
        second.take()
    # Eight sends at 10 a second, starting idle: the first CATCH_UP_SECONDS
    # worth go at once, then each waits for its own slot, 0.1 s apart.
    at_once = int(10 * CATCH_UP_SECONDS) + 1
    assert len(waits) == 8 - at_once
    for k, wait in enumerate(waits, start=at_once):
        assert abs(wait - (k * 0.1 - CATCH_UP_SECONDS)) < 0.03, waits
    assert redis_conn.pttl(PACE_KEY) > 0  # the pace forgets itself when idle


def test_a_flushed_pace_starts_again_without_a_burst_of_old_slots(redis_conn):
    waits: list[float] = []
    pace = SharedPace(redis_conn, rate=10, sleep=waits.append)
    for _ in range(5):
        pace.take()
    assert waits  # the pace was holding sends back
    redis_conn.flushdb()
    waits.clear()
    pace.take()
    assert waits == []  # after the flush, the next slot is simply now


def test_without_redis_a_job_paces_itself():
    slept: list[float] = []
    gone = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    pace = SharedPace(gone, rate=1000, sleep=slept.append)
    pace.take()
    pace.take()
    assert not pace.shared  # fell back to its own bucket, and stays there
