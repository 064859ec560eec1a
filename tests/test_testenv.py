"""tests/testenv.py, the wrapper ``make test`` runs pytest under: it uses the
Redis and PostgreSQL that answer, starts throwaway ones that leave nothing
behind when none does, and names what to install when it cannot.

The machine's own services are never stopped here: "nothing running" is a
URL pointing at a closed port.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests import testenv
from tests.conftest import POSTGRES_URL, REDIS_URL

ROOT = Path(__file__).resolve().parent.parent

# The command run under the wrapper: it uses both servers, then writes what
# it saw (URLs, the servers' process ids and directories) to argv[1] and
# exits with argv[2], or waits to be interrupted when argv[2] is "wait".
REPORT = r"""
import json, os, sys, time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
from redis import Redis

redis = Redis.from_url(os.environ["TEST_REDIS_URL"])
redis.set("tsunagari:probe", "ok")
postgres = psycopg2.connect(os.environ["TEST_POSTGRES_URL"].rsplit("/", 1)[0] + "/postgres")
with postgres.cursor() as cur:
    cur.execute("SHOW data_directory")
    data = Path(cur.fetchone()[0])
report = {
    "redis_url": os.environ["TEST_REDIS_URL"],
    "postgres_url": os.environ["TEST_POSTGRES_URL"],
    "redis_answer": redis.get("tsunagari:probe").decode(),
    "redis_pid": redis.info("server")["process_id"],
    "redis_dir": redis.config_get("dir")["dir"],
    "postgres_pid": int((data / "postmaster.pid").read_text().split()[0]),
    "postgres_dir": str(data.parent),
}
postgres.close()
Path(sys.argv[1]).write_text(json.dumps(report))
if sys.argv[2] == "wait":
    time.sleep(60)
sys.exit(int(sys.argv[2]))
"""


def closed_port_url(url: str) -> str:
    """``url`` pointed at a port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return testenv.on_port(url, port, user=urlsplit(url).username or "")


def wrapper(*command: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.testenv", "--", *command],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def nothing_running_env() -> dict[str, str]:
    return {
        **os.environ,
        "TEST_REDIS_URL": closed_port_url(REDIS_URL),
        "TEST_POSTGRES_URL": closed_port_url(POSTGRES_URL),
    }


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")  # a zombie nobody reaped yet is gone too
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    except OSError:
        return False
    return True


def assert_left_nothing(report: dict) -> None:
    assert not alive(report["redis_pid"])
    assert not alive(report["postgres_pid"])
    assert not Path(report["redis_dir"]).exists()
    assert not Path(report["postgres_dir"]).exists()
    assert not answers(report["redis_url"])
    assert not answers(report["postgres_url"])


def test_it_starts_throwaway_servers_when_nothing_answers_and_removes_them(tmp_path):
    env = nothing_running_env()
    out = tmp_path / "report.json"

    process = wrapper(sys.executable, "-c", REPORT, str(out), "3", env=env)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 3, stderr  # the command's own status, failure included
    report = json.loads(out.read_text())
    assert report["redis_answer"] == "ok"
    assert report["redis_url"].endswith("/" + REDIS_URL.rsplit("/", 1)[1])  # same Redis db number
    assert report["postgres_url"].endswith("/" + POSTGRES_URL.rsplit("/", 1)[1])  # same database name
    assert stderr.count("started a throwaway") == 2, stderr
    assert_left_nothing(report)


def test_it_removes_the_throwaway_servers_on_ctrl_c(tmp_path):
    out = tmp_path / "report.json"
    # Its own process group, like a terminal's foreground job, so Ctrl-C can
    # be sent the way a terminal sends it: to the wrapper and the command alike.
    process = wrapper(
        sys.executable, "-c", REPORT, str(out), "wait", env=nothing_running_env(), start_new_session=True
    )
    deadline = time.monotonic() + 60
    while not out.exists() or not out.read_text():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the command never reported"
        time.sleep(0.1)

    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 128 + signal.SIGINT, stderr
    assert_left_nothing(json.loads(out.read_text()))


def test_it_uses_the_servers_that_answer_and_starts_nothing(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TEST_REDIS_URL": REDIS_URL, "TEST_POSTGRES_URL": POSTGRES_URL, "TMPDIR": str(temp)}
    out = tmp_path / "report.json"
    check = (
        "import json, os, sys; from pathlib import Path; "
        "Path(sys.argv[1]).write_text(json.dumps([os.environ['TEST_REDIS_URL'], "
        "os.environ['TEST_POSTGRES_URL'], os.listdir(os.environ['TMPDIR'])]))"
    )

    process = wrapper(sys.executable, "-c", check, str(out), env=env)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    # Unchanged URLs, and no temporary directory: a started server would have made one.
    assert json.loads(out.read_text()) == [REDIS_URL, POSTGRES_URL, []]
    assert stderr.count("; using it") == 2, stderr
    assert "throwaway" not in stderr


@pytest.mark.parametrize(
    ("present", "named", "debian", "homebrew"),
    [
        (("initdb", "pg_ctl"), "redis-server", "redis-server", "redis"),
        (("redis-server",), "initdb/pg_ctl", "postgresql", "postgresql@17"),
        ((), "redis-server, initdb/pg_ctl", "redis-server postgresql", "redis postgresql@17"),
    ],
)
def test_it_names_what_to_install_when_a_program_is_missing(
    tmp_path, monkeypatch, capsys, present, named, debian, homebrew
):
    bin_dir, temp = tmp_path / "bin", tmp_path / "tmp"
    bin_dir.mkdir()
    temp.mkdir()
    for name in present:  # never run: the wrapper stops before starting anything
        (bin_dir / name).write_text("#!/bin/sh\nexit 1\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("TEST_REDIS_URL", closed_port_url(REDIS_URL))
    monkeypatch.setenv("TEST_POSTGRES_URL", closed_port_url(POSTGRES_URL))
    # This machine has PostgreSQL in /usr/lib/postgresql: look nowhere but PATH.
    monkeypatch.setattr(
        testenv, "SERVICES", tuple(dataclasses.replace(s, fallbacks=()) for s in testenv.SERVICES)
    )
    monkeypatch.setattr(testenv.tempfile, "tempdir", None)  # re-read TMPDIR

    status = testenv.main(["--", "true"])

    assert status == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert f"{named} not found" in lines[0]
    assert f"`sudo apt-get install {debian}` (Debian/Ubuntu)" in lines[0]
    assert f"`brew install {homebrew}` (macOS)" in lines[0]
    assert list(temp.iterdir()) == []


def test_it_finds_postgresql_outside_path_newest_version_first(tmp_path, monkeypatch):
    for version in ("9.6", "15", "13"):
        bindir = tmp_path / "postgresql" / version / "bin"
        bindir.mkdir(parents=True)
        for name in ("initdb", "pg_ctl"):
            (bindir / name).write_text("#!/bin/sh\n")
            (bindir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    found = testenv.find_dir(("initdb", "pg_ctl"), (str(tmp_path / "postgresql/*/bin"),))

    assert found == tmp_path / "postgresql/15/bin"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://postgres:postgres@127.0.0.1:5432/t", "postgresql://postgres:***@127.0.0.1:5432/t"),
        ("postgresql://postgres@127.0.0.1:5432/t", "postgresql://postgres@127.0.0.1:5432/t"),
        ("redis://:s3cret@127.0.0.1:6379/15", "redis://:***@127.0.0.1:6379/15"),
    ],
)
def test_it_never_prints_passwords(url, shown):
    assert testenv.masked(url) == shown
