"""Run a command with a Redis and a PostgreSQL for the tests: ``make test``'s wrapper.

    python -m tests.testenv -- pytest [args...]

The tests connect to TEST_REDIS_URL and TEST_POSTGRES_URL (defaults in
tests/conftest.py).  For each of the two:

- when a server answers at the configured URL, the command uses it and
  nothing is started (``.ci/run`` starts the machine's services first);
- otherwise a throwaway server is started on a free 127.0.0.1 port with its
  files in a temporary directory, and its URL is exported to the command
  (and so to everything the command spawns, e.g. the Procfile's processes
  in tests/test_processes.py).

Throwaway servers are stopped and their directories removed when the
command ends: on success, on failure, on Ctrl-C and on SIGTERM/SIGHUP.
When a server is needed but its programs are not installed, one line says
what to install and the wrapper exits with status 1 without running the
command.  The wrapper exits with the command's status (128 + signal number
when the command was killed by a signal).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from redis import Redis
from redis.exceptions import RedisError

from tests.conftest import POSTGRES_URL, REDIS_URL

# Where the programs live when PATH does not have them.  Globs are tried
# newest version first.
REDIS_DIRS = (
    "/opt/homebrew/bin",  # Homebrew, Apple silicon
    "/usr/local/bin",  # Homebrew, Intel
)
POSTGRES_DIRS = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu: initdb and pg_ctl are not on PATH
    "/usr/pgsql-*/bin",  # RHEL, Fedora (PGDG packages)
    "/opt/homebrew/opt/postgresql@*/bin",  # Homebrew's versioned formulae are keg-only
    "/usr/local/opt/postgresql@*/bin",
    "/opt/homebrew/bin",
    "/usr/local/bin",
    "/Applications/Postgres.app/Contents/Versions/latest/bin",
)

SAY_PREFIX = "tests.testenv:"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class ServiceError(Exception):
    """A throwaway server could not be set up; the message says why, in one line."""


def say(message: str) -> None:
    print(SAY_PREFIX, message, file=sys.stderr, flush=True)


# -- probing what is configured ---------------------------------------------------


def redis_problem(url: str) -> str | None:
    """None when a Redis answers PING at ``url``, else why not."""
    try:
        with Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as conn:
            conn.ping()
    except (RedisError, OSError) as exc:
        return first_line(str(exc)) or type(exc).__name__
    return None


def postgres_problem(url: str) -> str | None:
    """None when PostgreSQL accepts ``url``'s user on its ``postgres`` database, else why not.

    That database, not the test one, because tests/conftest.py creates the
    test database itself through it.
    """
    try:
        psycopg2.connect(admin_url(url), connect_timeout=2).close()
    except psycopg2.Error as exc:
        return first_line(str(exc)) or type(exc).__name__
    return None


def admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def masked(url: str) -> str:
    """``url`` without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def on_port(url: str, port: int, user: str = "") -> str:
    """``url`` pointed at 127.0.0.1:``port`` (same scheme, database and path)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"))


# -- finding programs ---------------------------------------------------------------


def find_dir(programs: tuple[str, ...], fallbacks: tuple[str, ...]) -> Path | None:
    """The first directory holding all of ``programs``: PATH's, then ``fallbacks``' (globs)."""
    candidates = os.environ.get("PATH", "").split(os.pathsep)
    for pattern in fallbacks:
        candidates += sorted(glob.glob(pattern), key=natural_key, reverse=True)
    for directory in candidates:
        if directory and all(is_program(Path(directory, name)) for name in programs):
            return Path(directory)
    return None


def is_program(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def natural_key(text: str) -> list:
    """Sort key where ``9.6`` < ``15``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


# -- starting and stopping throwaway servers ---------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def temporary_directory(stack: ExitStack, kind: str, owner: pwd.struct_passwd | None = None) -> Path:
    """A fresh directory, removed when ``stack`` closes (after the server using it stopped)."""
    path = Path(tempfile.mkdtemp(prefix=f"tsunagari-{kind}-"))
    stack.callback(shutil.rmtree, path, ignore_errors=True)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def tail(path: Path, lines: int = 3) -> str:
    with suppress(OSError):
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    return ""


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_redis(stack: ExitStack, bindir: Path, url: str) -> str:
    """A redis-server on a free port that keeps nothing on disk; returns ``url`` pointed at it."""
    directory = temporary_directory(stack, "redis")
    port = free_port()
    log = directory / "redis.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [bindir / "redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
            + ["--appendonly", "no", "--dir", str(directory)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C at the terminal is for the command; we stop it after
        )
    stack.callback(stop_process, process)
    new_url = on_port(url, port)
    deadline = time.monotonic() + 15
    while redis_problem(new_url) is not None:
        if process.poll() is not None or time.monotonic() > deadline:
            raise ServiceError(f"redis-server did not start: {tail(log)}")
        time.sleep(0.05)
    return new_url


def postgres_runner() -> tuple[Callable[[list], list], pwd.struct_passwd | None]:
    """How to run initdb and pg_ctl, and the user who will own the cluster.

    initdb refuses to run as root, so root runs them as the ``postgres``
    user (or ``nobody``) via runuser or su.
    """
    if os.geteuid() != 0:
        return (lambda argv: argv), None
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin:/usr/bin:/bin"
    runuser, su = shutil.which("runuser", path=path), shutil.which("su", path=path)
    users = {entry.pw_name: entry for entry in pwd.getpwall()}
    user = users.get("postgres") or users.get("nobody")
    if user is not None and runuser:
        return (lambda argv: [runuser, "-u", user.pw_name, "--", *map(str, argv)]), user
    if user is not None and su:
        return (lambda argv: [su, "-s", "/bin/sh", user.pw_name, "-c", shlex.join(map(str, argv))]), user
    raise ServiceError(
        "initdb refuses to run as root and there is no postgres or nobody user (with runuser or su) "
        "to run it as: run the tests as an ordinary user, or set TEST_POSTGRES_URL to a running PostgreSQL"
    )


def start_postgres(stack: ExitStack, bindir: Path, url: str) -> str:
    """A fresh cluster (trust auth, fsync off) on a free port; returns ``url`` pointed at it.

    Its Unix socket lives in the temporary directory too, so nothing
    outside that directory is touched.
    """
    as_owner, owner = postgres_runner()
    directory = temporary_directory(stack, "pg", owner)
    data, log = directory / "data", directory / "postgres.log"
    initdb = subprocess.run(
        as_owner(
            [
                bindir / "initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        ),
        cwd=directory,
        capture_output=True,
        text=True,
    )
    if initdb.returncode != 0:
        raise ServiceError(f"initdb failed: {first_line(initdb.stderr) or initdb.returncode}")
    port = free_port()
    options = (
        f"-h 127.0.0.1 -p {port} -k {shlex.quote(str(directory))} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    pg_ctl = bindir / "pg_ctl"
    stack.callback(stop_postgres, as_owner, pg_ctl, data)
    started = subprocess.run(
        as_owner([pg_ctl, "-D", data, "-l", log, "-w", "-t", "30", "-o", options, "start"]),
        cwd=directory,
        capture_output=True,
        text=True,
    )
    if started.returncode != 0:
        raise ServiceError(f"PostgreSQL did not start: {tail(log) or first_line(started.stderr)}")
    return on_port(url, port, user="postgres")


def stop_postgres(as_owner: Callable[[list], list], pg_ctl: Path, data: Path) -> None:
    pidfile = data / "postmaster.pid"
    if not pidfile.exists():
        return
    stopped = subprocess.run(
        as_owner([pg_ctl, "-D", data, "-m", "immediate", "-w", "-t", "15", "stop"]),
        cwd=data.parent,
        capture_output=True,
    )
    if stopped.returncode != 0:  # the postmaster must not outlive its removed directory
        with suppress(OSError, ValueError, IndexError):
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)


# -- the two services -------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str
    variable: str
    default: str  # tests/conftest.py's value when the variable is unset
    programs: tuple[str, ...]
    fallbacks: tuple[str, ...]
    debian: str  # package names, for the install hint
    homebrew: str
    problem: Callable[[str], str | None]
    start: Callable[[ExitStack, Path, str], str]

    def configured_url(self) -> str:
        return os.environ.get(self.variable, self.default)

    def find(self) -> Path | None:
        return find_dir(self.programs, self.fallbacks)


SERVICES = (
    Service(
        "Redis", "TEST_REDIS_URL", REDIS_URL, ("redis-server",), REDIS_DIRS,
        "redis-server", "redis", redis_problem, start_redis,
    ),
    Service(
        "PostgreSQL", "TEST_POSTGRES_URL", POSTGRES_URL, ("initdb", "pg_ctl"), POSTGRES_DIRS,
        "postgresql", "postgresql@17", postgres_problem, start_postgres,
    ),
)  # fmt: skip


def install_hint(missing: list[tuple[Service, str]]) -> str:
    """One line: what is missing and how to install it (Debian/Ubuntu, macOS)."""
    names = " and ".join(service.name for service, _ in missing)
    where = ", ".join(f"{service.variable}={masked(url)}" for service, url in missing)
    programs = ", ".join("/".join(service.programs) for service, _ in missing)
    debian = " ".join(service.debian for service, _ in missing)
    homebrew = " ".join(service.homebrew for service, _ in missing)
    return (
        f"the tests need {names}: nothing answers at {where} and {programs} not found to start one; "
        f"install with `sudo apt-get install {debian}` (Debian/Ubuntu) or `brew install {homebrew}` (macOS), "
        f"or set {' and '.join(service.variable for service, _ in missing)} to a running server"
    )


# -- running the command --------------------------------------------------------------------


def provide(stack: ExitStack) -> dict[str, str]:
    """The command's environment: configured URLs that answer, throwaway servers for the others."""
    env = dict(os.environ)
    down = []
    for service in SERVICES:
        url = service.configured_url()
        problem = service.problem(url)
        if problem is None:
            say(f"{service.name} answers at {masked(url)}; using it")
        else:
            down.append((service, url, problem))
    bindirs = {service.name: service.find() for service, _, _ in down}
    missing = [(service, url) for service, url, _ in down if bindirs[service.name] is None]
    if missing:
        raise ServiceError(install_hint(missing))
    for service, url, problem in down:
        began = time.monotonic()
        new_url = service.start(stack, bindirs[service.name], url)
        say(
            f"nothing answers at {service.variable}={masked(url)} ({problem}); started a throwaway "
            f"{service.name} at {new_url} in {time.monotonic() - began:.1f} s"
        )
        env[service.variable] = new_url
    return env


def run(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` to its end and return its exit status.

    Ctrl-C at the terminal reaches the command too (same process group), so
    the first one here only waits for the command to wind down (pytest
    prints its summary and runs its teardowns); a second one terminates it.
    SIGTERM and SIGHUP are passed on to the command.
    """
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as exc:
        say(f"cannot run {command[0]}: {exc.strerror}")
        return 127

    def pass_on(signum, frame):
        if child.poll() is None:
            child.send_signal(signum)

    previous = {signum: signal.signal(signum, pass_on) for signum in (signal.SIGTERM, signal.SIGHUP)}
    interrupted = False
    try:
        while True:
            try:
                status = child.wait()
                break
            except KeyboardInterrupt:
                if interrupted:
                    stop_process(child)
                interrupted = True
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - status if status < 0 else status


def exit_on(signum, frame):
    """SIGTERM or SIGHUP while servers start or stop: leave through the cleanups."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    command = list(sys.argv[1:] if argv is None else argv)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        say("usage: python -m tests.testenv -- COMMAND [ARGS...]")
        return 2
    stack = ExitStack()
    try:
        return run(command, provide(stack))
    except ServiceError as exc:
        say(str(exc))
        return 1
    finally:
        with signals_ignored():  # a second Ctrl-C must not leave servers or directories behind
            stack.close()


@contextmanager
def signals_ignored():
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    for _signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(_signum, exit_on)
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while the servers were starting; they are stopped by now
        sys.exit(130)
