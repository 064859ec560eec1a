"""models.write_first: on SQLite the webhook takes the write lock in the
first gap the workers leave, not after SQLite's busy handler has napped
(tests/test_webhook.py covers the webhook itself)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from peewee import OperationalError

from models import SQLITE_PRAGMAS, WebhookEvent, db, write_first
from models import naive as to_naive
from services import clock


def _event_row(event_id: str) -> dict:
    return {
        "webhook_event_id": event_id,
        "event_type": "message",
        "payload": "{}",
        "received_at": to_naive(clock.real_now()),
    }


@contextmanager
def another_writer(database_url: str, seconds: float) -> Iterator[None]:
    """Another process's worker, as SQLite sees it: a write transaction open
    for ``seconds`` from the moment the block starts."""
    held = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(database_url[len("sqlite:///") :], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        yield
    finally:
        holder.join()


def _busy_timeout() -> int:
    return db.execute_sql("PRAGMA busy_timeout").fetchone()[0]


def test_it_writes_as_soon_as_another_writer_lets_go_and_restores_the_busy_timeout(sqlite_settings):
    with db.connection_context():
        with another_writer(sqlite_settings.database_url, 0.3):
            started = time.monotonic()
            write_first(lambda: WebhookEvent.insert(**_event_row("01A")).execute())
            waited = time.monotonic() - started
        assert WebhookEvent.select().count() == 1
        assert waited >= 0.25  # it did wait for the lock, and took it
        assert _busy_timeout() == SQLITE_PRAGMAS["busy_timeout"]


def test_it_gives_up_after_its_patience_and_restores_the_busy_timeout(sqlite_settings):
    with db.connection_context():
        with (
            another_writer(sqlite_settings.database_url, 1.0),
            pytest.raises(OperationalError, match="locked"),
        ):
            write_first(lambda: WebhookEvent.insert(**_event_row("01B")).execute(), patience=0.2)
        assert _busy_timeout() == SQLITE_PRAGMAS["busy_timeout"]
        assert WebhookEvent.select().count() == 0


def test_it_tries_an_error_other_than_the_lock_only_once(database_url):
    calls = []

    def broken():
        calls.append(1)
        return db.execute_sql("SELECT * FROM no_such_table")

    with db.connection_context(), pytest.raises(Exception, match="no_such_table"):
        write_first(broken)
    assert calls == [1]


def test_it_runs_the_write_once_and_returns_its_result(database_url):
    with db.connection_context():
        assert write_first(lambda: WebhookEvent.insert(**_event_row("01C")).execute()) is not None
        assert WebhookEvent.select().count() == 1
