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
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

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

# pytest imports this file as ``conftest`` and the tests as ``tests.conftest``
# (a second module object): the worker's share is taken once per process, or
# the second import would move gw1's Redis database again, away from the
# one its fixtures use.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if os.environ.get("TSUNAGARI_TEST_SHARE_OF") != _WORKER:
    POSTGRES_URL, REDIS_URL = _per_worker(POSTGRES_URL, REDIS_URL, _WORKER)
    # What this process's tests spawn (the Procfile's processes, tests.testenv) uses the same ones.
    os.environ["TEST_POSTGRES_URL"], os.environ["TEST_REDIS_URL"] = POSTGRES_URL, REDIS_URL
    os.environ["TSUNAGARI_TEST_SHARE_OF"] = _WORKER
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


def _build_schema(url: str) -> None:
    """Drop and recreate every table from the models, and record the
    migrations as applied (test_migrations.py checks that they build the
    same schema), so a release run by a test applies nothing."""
    from playhouse.migrations import Runner

    from models import ALL_MODELS, MIGRATIONS_DIR, db, init_db

    init_db(url)
    with db.connection_context():
        db.drop_tables(ALL_MODELS, safe=True, cascade=url.startswith("postgresql"))
        db.execute_sql('DROP TABLE IF EXISTS "schema_migration"')
        db.create_tables(ALL_MODELS)
        Runner(db.obj, str(MIGRATIONS_DIR)).fake()


# The schema each database was last built with, to empty it rather than
# rebuild it (rebuilding took a quarter of a second a test on PostgreSQL).
_PG_SCHEMA_QUERY = """
SELECT (SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
                          || ' ' || coalesce(column_default, ''), ',' ORDER BY table_name, column_name)
          FROM information_schema.columns WHERE table_schema = current_schema()),
       (SELECT string_agg(indexdef, ';' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = current_schema()),
       (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ';' ORDER BY conname)
          FROM pg_constraint WHERE connamespace = current_schema()::regnamespace),
       (SELECT string_agg(name, ',' ORDER BY name) FROM schema_migration)
"""
_pg_schemas: dict[str, tuple] = {}
_sqlite_template: dict[str, Path] = {}


def _pg_schema(db) -> tuple | None:
    try:
        return tuple(db.execute_sql(_PG_SCHEMA_QUERY).fetchone())
    except Exception:  # schema_migration dropped, say: rebuild
        db.rollback()
        return None


def _pg_emptying_script(db, models) -> str:
    """Delete every row, children before parents, and restart every id
    sequence, in one transaction: a few milliseconds where TRUNCATE of every
    table took 65."""
    from peewee import sort_models

    sequences = [
        name
        for (name,) in db.execute_sql(
            "SELECT pg_get_serial_sequence(quote_ident(table_name), column_name)"
            " FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_default LIKE 'nextval%%'"
        ).fetchall()
    ]
    deletes = "".join(f'DELETE FROM "{m._meta.table_name}";' for m in reversed(sort_models(models)))
    restarts = "".join(f"ALTER SEQUENCE {name} RESTART;" for name in sequences)
    return f"BEGIN;{deletes}{restarts}COMMIT;"


def reset_database(url: str) -> None:
    """An empty database with the models' schema at ``url``, as if built
    afresh (ids start at 1).

    PostgreSQL: the tables are emptied (rows deleted, sequences restarted)
    when the schema is exactly the one built last time; a test that changed
    it (the migration tests drop tables) gets a rebuild.  SQLite: each test
    has its own file, copied from one built once per process."""
    from models import ALL_MODELS, db, init_db

    if url.startswith("postgresql"):
        init_db(url)
        with db.connection_context():
            built = _pg_schemas.get(url)
            if built is not None and _pg_schema(db) == built[0]:
                try:
                    db.execute_sql(built[1])
                    return
                except Exception:  # rows a test left that the order cannot delete: rebuild
                    db.rollback()
        _build_schema(url)
        with db.connection_context():
            _pg_schemas[url] = (_pg_schema(db), _pg_emptying_script(db, ALL_MODELS))
        return
    path = url[len("sqlite:///") :]
    if not path or path == ":memory:" or Path(path).exists():
        # A file already in use is rebuilt in place: never copied over under
        # an open connection (or beside its WAL).
        _build_schema(url)
        return
    template = _sqlite_template.get("built")
    if template is None:
        import tempfile

        template = Path(tempfile.mkdtemp(prefix="tsunagari-schema-")) / "template.sqlite3"
        _build_schema(f"sqlite:///{template}")
        with db.connection_context():
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        _sqlite_template["built"] = template
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    init_db(url)


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
