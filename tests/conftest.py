"""Shared fixtures: real SQLite and PostgreSQL, a real Redis, the real SDK.

Every database test runs twice, once per backend (the ``database_url``
fixture is parametrized).  PostgreSQL and Redis are the ones at
TEST_POSTGRES_URL and TEST_REDIS_URL; ``make test`` starts throwaway ones
when those do not answer (tests/testenv.py).  A test that needs one fails
loudly when it is missing rather than skipping.
"""

from __future__ import annotations

import ast
import os
import threading
from datetime import UTC, datetime

import pytest
from redis import Redis

from config import Settings

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/tsunagari_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _per_worker(postgres_url: str, redis_url: str, worker: str) -> tuple[str, str]:
    """Under ``pytest -n`` (``make test``), each worker process has its own
    PostgreSQL database (the name plus ``_gw1``…) and Redis database (the
    number minus the worker's index, wrapping at 16), so that workers never
    reset each other's data.  Worker gw0 and a run without -n use the
    configured ones."""
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    if index == 0:
        return postgres_url, redis_url
    base, _, number = redis_url.rpartition("/")
    redis = f"{base}/{(int(number or 0) - index) % 16}" if number.isdigit() else redis_url
    return f"{postgres_url}_gw{index}", redis


# CPython 3.11.7's ast module keeps one recursion counter for all threads
# (python/cpython#106905, fixed in 3.11.8): two threads in ast.parse at once
# can fail with "SystemError: AST constructor recursion depth mismatch".
# werkzeug compiles every URL rule with ast.parse, and these tests build apps
# while other apps' server threads run, so the tests take turns.
_ast_parse = ast.parse
_ast_lock = threading.Lock()


def _parse_in_turn(*args, **kwargs):
    with _ast_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _parse_in_turn

POSTGRES_URL, REDIS_URL = _per_worker(POSTGRES_URL, REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER", ""))
# What this process's tests spawn (the Procfile's processes, tests.testenv) uses the same ones.
os.environ["TEST_POSTGRES_URL"], os.environ["TEST_REDIS_URL"] = POSTGRES_URL, REDIS_URL
SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"  # LINE's own test-vector secret
TOKEN = "test-access-token"
BACKENDS = ("sqlite", "postgresql")


def _ensure_postgres_database(url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


_pg_ready = False


def _postgres_url() -> str:
    global _pg_ready
    if not _pg_ready:
        _ensure_postgres_database(POSTGRES_URL)
        _pg_ready = True
    return POSTGRES_URL


def reset_database(url: str) -> None:
    """Fresh schema: drop and recreate every table from the models, and
    record the migrations as applied (test_migrations.py checks that they
    build the same schema), so a release run by a test applies nothing."""
    from playhouse.migrations import Runner

    from models import ALL_MODELS, MIGRATIONS_DIR, db, init_db

    init_db(url)
    with db.connection_context():
        db.drop_tables(ALL_MODELS, safe=True, cascade=url.startswith("postgresql"))
        db.execute_sql('DROP TABLE IF EXISTS "schema_migration"')
        db.create_tables(ALL_MODELS)
        Runner(db.obj, str(MIGRATIONS_DIR)).fake()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'test.sqlite3'}" if request.param == "sqlite" else _postgres_url()
    reset_database(url)
    return url


@pytest.fixture
def redis_conn() -> Redis:
    conn = Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(
        channel_secret=SECRET,
        access_token=TOKEN,
        line_api_base_url="http://127.0.0.1:9",  # replaced by the emulator fixture
        database_url=database_url,
        redis_url=REDIS_URL,
        line_timeout=2.0,
        demo_clock=True,
    )


class ServerThread:
    """Serve a WSGI app on 127.0.0.1 in a daemon thread."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def sqlite_settings(tmp_path) -> Settings:
    """Settings for tests that need only a database: SQLite, no Redis."""
    url = f"sqlite:///{tmp_path / 'fast.sqlite3'}"
    reset_database(url)
    return Settings(channel_secret=SECRET, access_token=TOKEN, database_url=url, demo_clock=True)


@pytest.fixture
def bot(sqlite_settings):
    """The bot's handlers without transport (tests/support.py's Bot), at
    9:00 JST on a Monday."""
    from services import clock
    from tests.support import Bot

    clock.configure(sqlite_settings.demo_clock)
    return Bot(sqlite_settings, utc(2026, 11, 30, 0, 0))


@pytest.fixture
def world(settings, redis_conn):
    from tests.support import World

    w = World(settings, redis_conn)
    yield w
    w.close()
