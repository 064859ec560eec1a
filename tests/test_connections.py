"""Database connections kept between units of work — the worker's between
jobs, the dispatcher's between passes — and dropped when something failed,
so that whatever a failure left open is gone and a database that went away
is connected to afresh.  Also: a storm of wake-ups costs few dispatcher
passes."""

from __future__ import annotations

import threading
import time

import pytest
from peewee import PeeweeException
from rq import Queue

from jobs import runtime
from jobs.dispatch import run_dispatcher
from jobs.embedded import ThreadWorker
from jobs.scheduler import dispatch_on_held_connection
from jobs.worker import Worker
from models import WebhookEvent, connected, db
from services import wakeup


class QuietWorker(Worker, ThreadWorker):
    """The production worker class (its perform_job), without the signal
    handlers and remote commands a worker inside pytest must not install
    (ThreadWorker's)."""


def count_events() -> int:
    with connected():  # as every job does (jobs/tasks.py)
        return WebhookEvent.select().count()


def count_events_in_a_transaction() -> int:
    # On SQLite this takes the write lock (BEGIN IMMEDIATE): it would wait,
    # then fail, if a failed job's transaction were still holding it.
    with connected(), db.atomic():
        return WebhookEvent.select().count()


def leave_a_transaction_open_and_fail() -> None:
    with connected():
        db.atomic().__enter__()  # never left: as if stopped by its timeout
        WebhookEvent.select().count()
    raise RuntimeError("a job that fails mid-transaction")


@pytest.fixture
def configured(settings, redis_conn):
    runtime.configure(settings)
    db.close()
    yield redis_conn
    db.close()


def run(redis_conn, function: str):
    queue = Queue("background", connection=redis_conn)
    job = queue.enqueue(function)
    QuietWorker([queue], connection=redis_conn).work(burst=True, logging_level="WARNING")
    return job.get_status(refresh=True)


def test_it_keeps_the_workers_connection_between_jobs(configured):
    assert run(configured, "tests.test_connections.count_events") == "finished"
    assert not db.is_closed()
    held = db.connection()
    assert run(configured, "tests.test_connections.count_events") == "finished"
    assert not db.is_closed() and db.connection() is held


def test_it_drops_what_a_failed_job_left_open_and_the_next_job_starts_clean(configured):
    assert run(configured, "tests.test_connections.count_events") == "finished"
    assert run(configured, "tests.test_connections.leave_a_transaction_open_and_fail") == "failed"
    assert db.is_closed() and not db.in_transaction()
    assert run(configured, "tests.test_connections.count_events_in_a_transaction") == "finished"
    assert not db.in_transaction()


def test_it_reconnects_the_dispatcher_after_its_connection_broke(configured):
    assert dispatch_on_held_connection() == 0
    held = db.connection()
    held.close()  # as if the database had gone away under it
    with pytest.raises(PeeweeException):
        dispatch_on_held_connection()
    assert db.is_closed()
    assert dispatch_on_held_connection() == 0  # a fresh connection
    assert db.connection() is not held


def test_it_coalesces_a_storm_of_wake_ups_into_a_few_passes():
    passes = []
    stop = threading.Event()
    thread = threading.Thread(
        target=run_dispatcher, args=(stop, lambda: passes.append(1) and 0, 5.0, 0.05), daemon=True
    )
    thread.start()
    started = time.monotonic()
    while time.monotonic() - started < 0.5:  # 500 webhooks in half a second
        wakeup.notify()
        time.sleep(0.001)
    stop.set()
    wakeup.notify()
    thread.join(timeout=5)
    # At most one pass per 50 ms gap (plus the first and the last), where a
    # pass per wake-up would have been hundreds.
    assert 2 <= len(passes) <= 0.5 / 0.05 + 2
