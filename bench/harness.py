"""Shared machinery of the end-to-end benchmarks (tap_storm, quake_fanout,
idle_latency): the Procfile's processes, the LINE emulator in a process of
its own, a fake JMA feed, seeding, RSS and the results file.

Black-box on purpose: the bot is reached only as production runs it (the
Procfile's commands, configured by the environment) and observed only
through its database (``models.py``) and the LINE emulator's introspection
(``/_sim/reply-tokens``, ``/_sim/pushes``). Nothing here imports the bot's
own modules (``bot/``, ``jobs/``), so a rewrite of them is measured by the
same instruments.

Every process started here is killed when the benchmark ends, however it
ends (success, failure, Ctrl-C, SIGTERM): each runs in its own session and
the whole group is signalled.

Also the emulator's process: ``python bench/harness.py emulator CONFIG READY``
(started by ``start_emulator``) seeds a world and serves it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import platform as py_platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
sys.path.insert(0, str(ROOT))

SECRET = "bench-channel-secret-0000000000000"
TOKEN = "bench-channel-access-token"
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
MAX_WORKERS = 2  # the setting: at most 2 `worker` processes


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def rss_kib(pid: int) -> int | None:
    """Resident set size of one process (KiB), None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its descendants have used."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children(current))
    return total


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used between ``start`` and ``stop`` by each named process
    (with its children) and by the whole machine (the database server, Redis
    and everything else included)."""

    def __init__(self, processes: Processes, names: list[str]) -> None:
        self.processes, self.names = processes, names

    def _read(self) -> dict[str, float]:
        found = {name: cpu_seconds(self.processes.pid(name)) for name in self.names}
        found["machine"] = machine_busy_seconds()
        return found

    def start(self) -> None:
        self._started, self._at = self._read(), time.monotonic()

    def stop(self) -> dict:
        ended, wall = self._read(), time.monotonic() - self._at
        used = {name: round(ended[name] - self._started[name], 2) for name in ended}
        return {"wall_s": round(wall, 2), "cores": os.cpu_count(), "cpu_s": used}


def tree_rss_kib(pid: int) -> int:
    """RSS of a process and its descendants (an rq worker and its work horse)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss_kib(current) or 0
        stack.extend(children(current))
    return total


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------- #
# Processes: always killed, whatever happens
# --------------------------------------------------------------------------- #


class Processes:
    """Starts commands in their own sessions and kills every one of them
    (the whole process group: gunicorn's and rq's children too) on
    ``close()``, which runs at exit, on Ctrl-C and on SIGTERM."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}
        self._closed = False
        atexit.register(self.close)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._interrupted)

    def _interrupted(self, signum, frame) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def start(self, name: str, command: str | list[str], env: dict[str, str]) -> subprocess.Popen:
        out = open(self.logs / f"{name}.log", "a")  # noqa: SIM115 - closed with the process; "a": restarted processes keep the log
        args = ["bash", "-c", f"exec {command}"] if isinstance(command, str) else command
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self.running[name] = proc
        return proc

    def pid(self, name: str) -> int:
        return self.running[name].pid

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.running.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"processes died: {dead} (logs in {self.logs})")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for proc in self.running.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        for proc in self.running.values():
            _signal_group(proc, signal.SIGKILL)  # stragglers and orphaned children
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


# --------------------------------------------------------------------------- #
# The database and Redis
# --------------------------------------------------------------------------- #


def prepare_database(workdir: Path) -> str:
    """A fresh, empty database: ``BENCH_DATABASE_URL`` (PostgreSQL; its
    database is dropped and created again, so its name must contain
    "bench") or a SQLite file in ``workdir``."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(
            f"BENCH_DATABASE_URL names database {name!r}: it is dropped, so its name must contain 'bench'"
        )
    import psycopg2

    maintenance = parts._replace(path="/postgres").geturl()
    conn = psycopg2.connect(maintenance)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return url


def database_version(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg2

    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    conn.close()
    return f"PostgreSQL {version}"


def flush_redis(url: str = BENCH_REDIS_URL) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def open_models(url: str):
    """Bind models.py to the bench database (after ``release``)."""
    import models

    models.init_db(url)
    models.db.connect(reuse_if_open=True)
    return models


def insert_many(model, rows: list[dict], batch: int = 500) -> None:
    from models import db

    with db.atomic():
        for start in range(0, len(rows), batch):
            model.insert_many(rows[start : start + batch]).execute()


def now_naive() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def seed_groups(
    groups: list[dict[str, Any]],
    *,
    register_members: bool,
    area_code: str | None = None,
    quake_threshold: str | None = None,
) -> dict[str, int]:
    """The emulator's groups as the bot would know them (through models.py
    only): a Group row each, and with ``register_members`` every member as
    registered (tapped 参加する). Returns {LINE group id: Group.id}."""
    from models import Group, Member, Person

    now = now_naive()
    rows = []
    for g in groups:
        row = {
            "line_group_id": g["group_id"],
            "joined_at": now,
            "member_count": len(g["members"]),
            "active": True,
        }
        if area_code is not None:
            row["area_code"] = area_code
        if quake_threshold is not None:
            row["quake_threshold"] = quake_threshold
        rows.append(row)
    insert_many(Group, rows)
    group_pk = {g.line_group_id: g.id for g in Group.select(Group.id, Group.line_group_id)}
    if register_members:
        users = sorted({u for g in groups for u in g["members"]})
        insert_many(
            Person,
            [{"line_user_id": u, "display_name": f"住民{n}", "created_at": now} for n, u in enumerate(users)],
        )
        person_pk = {p.line_user_id: p.id for p in Person.select(Person.id, Person.line_user_id)}
        insert_many(
            Member,
            [
                {"group": group_pk[g["group_id"]], "person": person_pk[u], "registered_at": now}
                for g in groups
                for u in g["members"]
            ],
        )
    return group_pk


def open_rounds(group_pks: list[int], summary_in: timedelta = timedelta(hours=2)) -> dict[int, int]:
    """A manual round open in each group (as a leader's /確認 opens one),
    whose summary is far enough away not to interfere. Returns
    {Group.id: Round.id}; members answer with postback ``a=ok&r=<id>``."""
    from models import Round

    now = now_naive()
    first = (Round.select(Round.id).order_by(Round.id.desc()).scalar() or 0) + 1
    insert_many(
        Round,
        [
            {
                "group": pk,
                "kind": "manual",
                "status": "open",
                "opened_at": now,
                "summary_due_at": now + summary_in,
            }
            for pk in group_pks
        ],
    )
    return {r.group_id: r.id for r in Round.select(Round.id, Round.group).where(Round.id >= first)}


def answers_stored(round_ids: list[int]) -> int:
    from models import Answer

    total = 0
    for start in range(0, len(round_ids), 500):
        total += Answer.select().where(Answer.round.in_(round_ids[start : start + 500])).count()
    return total


# --------------------------------------------------------------------------- #
# The Procfile's processes
# --------------------------------------------------------------------------- #


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def bot_env(database_url: str, line_url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment production sets (README "Configuration"); anything
    else keeps its default unless the caller or the shell sets it."""
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": database_url,
        "REDIS_URL": BENCH_REDIS_URL,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "SECRET_KEY": "bench-secret-key-" + "0" * 32,
        "LINE_API_BASE_URL": line_url,
        "JMA_FEED_URL": "",
    }
    env.pop("EMULATOR", None)
    env.update(extra)
    return env


@dataclass
class Stack:
    """The bot as the Procfile runs it."""

    processes: Processes
    env: dict[str, str]
    base_url: str
    workers: list[str] = field(default_factory=list)

    def worker_rss(self) -> dict[str, int]:
        return {name: tree_rss_kib(self.processes.pid(name)) for name in self.workers}

    def rss(self) -> dict[str, int]:
        return {name: tree_rss_kib(proc.pid) for name, proc in self.processes.running.items()}


def release(env: dict[str, str]) -> None:
    """The Procfile's release command (creates the schema)."""
    subprocess.run(["bash", "-c", procfile()["release"]], cwd=ROOT, env=env, check=True, timeout=300)


def start_stack(processes: Processes, env: dict[str, str], workers: int = 2, scheduler: bool = True) -> Stack:
    """web, ``workers`` (at most 2) workers and the scheduler, as the
    Procfile says; returns once /healthz answers 200."""
    commands = procfile()
    stack = Stack(processes, env, f"http://127.0.0.1:{env['PORT']}")
    processes.start("web", commands["web"], env)
    for n in range(1, min(workers, MAX_WORKERS) + 1):
        processes.start(f"worker-{n}", commands["worker"], env)
        stack.workers.append(f"worker-{n}")
    if scheduler:
        processes.start("scheduler", commands["scheduler"], env)
    wait_until(lambda: _healthy(stack.base_url) or processes.check_alive(), 60, "the web process")
    return stack


def wait_for_workers(count: int, url: str = BENCH_REDIS_URL, timeout: float = 120) -> None:
    """Until ``count`` RQ workers have registered in Redis (they have imported
    everything and listen): what a production machine has long before an
    earthquake."""
    from redis import Redis
    from rq import Worker

    conn = Redis.from_url(url)
    wait_until(lambda: Worker.count(connection=conn) >= count, timeout, f"{count} worker(s) listening")


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


# --------------------------------------------------------------------------- #
# The LINE emulator, in its own process
# --------------------------------------------------------------------------- #


@dataclass
class Emulator:
    url: str
    groups: list[dict[str, Any]]  # [{"group_id", "members": [user ids]}]
    pid: int

    def call(self, method: str, path: str, body: Any = None, timeout: float = 600) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def taps(self, taps: list[dict], rate: float | None, concurrency: int) -> dict:
        return self.call("POST", "/_sim/taps", {"taps": taps, "rate": rate, "concurrency": concurrency})

    def reply_tokens(self) -> list[dict]:
        return self.call("GET", "/_sim/reply-tokens")["tokens"]

    def pushes(self, after: int = 0) -> list[dict]:
        return self.call("GET", f"/_sim/pushes?after={after}")["pushes"]


def start_emulator(
    processes: Processes,
    workdir: Path,
    *,
    groups: int,
    members: int,
    shared_members: bool,
    webhook_url: str,
    latency: float,
    rate_limit: float | None,
) -> Emulator:
    """Start ``python bench/harness.py emulator`` with a seeded world: the
    bot in ``groups`` groups of ``members`` users each (the same users in
    every group when ``shared_members``), seeded without webhooks."""
    config = workdir / "emulator-config.json"
    ready = workdir / "emulator-ready.json"
    config.write_text(
        json.dumps(
            {
                "groups": groups,
                "members": members,
                "shared_members": shared_members,
                "webhook_url": webhook_url,
                "latency": latency,
                "rate_limit": rate_limit,
            }
        )
    )
    proc = processes.start(
        "emulator", [PYTHON, str(BENCH / "harness.py"), "emulator", str(config), str(ready)], dict(os.environ)
    )
    wait_until(lambda: ready.exists() or processes.check_alive(), 300, "the LINE emulator")
    world = json.loads(ready.read_text())
    return Emulator(world["url"], world["groups"], proc.pid)


def _emulator_main(config_path: str, ready_path: str) -> None:
    from emulator import EmulatorServer, LinePlatform

    config = json.loads(Path(config_path).read_text())
    platform = LinePlatform(
        SECRET,
        TOKEN,
        webhook_url=config["webhook_url"],
        rate_limit_per_second=config["rate_limit"],
        latency=config["latency"],
    )
    shared = (
        [platform.add_user(f"住民{m}") for m in range(config["members"])]
        if config["shared_members"]
        else None
    )
    groups = []
    for g in range(config["groups"]):
        people = shared or [platform.add_user(f"住民{g}-{m}") for m in range(config["members"])]
        group_id = platform.create_group(f"町内会{g}", members=people, bot=True)
        groups.append({"group_id": group_id, "members": people})
    server = EmulatorServer(platform).start()
    tmp = ready_path + ".tmp"
    Path(tmp).write_text(json.dumps({"url": server.url, "groups": groups}))
    os.replace(tmp, ready_path)
    threading.Event().wait()


# --------------------------------------------------------------------------- #
# A fake JMA feed (the scheduler polls JMA_FEED_URL)
# --------------------------------------------------------------------------- #


class FakeJmaFeed:
    """Serves an Atom feed shaped like JMA's eqvol.xml (Last-Modified,
    If-Modified-Since) and the telegrams it lists; remembers when each
    telegram was fetched."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, datetime]] = []  # (name, title, updated), newest first
        self.bodies: dict[str, bytes] = {}
        self.fetched: dict[str, list[float]] = {}
        self.last_modified = datetime(2000, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                feed._serve(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.feed_url = self.url + "/eqvol.xml"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def publish(self, name: str, body: bytes, title: str = "震源・震度に関する情報") -> None:
        with self._lock:
            self.last_modified = max(
                datetime.now(UTC).replace(microsecond=0), self.last_modified + timedelta(seconds=1)
            )
            self.bodies[f"/data/{name}"] = body
            self.entries.insert(0, (name, title, self.last_modified))

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            if handler.path == "/eqvol.xml":
                status, headers, body = self._feed(handler.headers.get("If-Modified-Since"))
            elif handler.path in self.bodies:
                self.fetched.setdefault(handler.path, []).append(time.time())
                status, headers, body = 200, {"Content-Type": "application/xml"}, self.bodies[handler.path]
            else:
                status, headers, body = 404, {}, b"not found"
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _feed(self, since: str | None):
        last_modified = format_datetime(self.last_modified, usegmt=True)
        if since:
            try:
                if parsedate_to_datetime(since) >= self.last_modified:
                    return 304, {"Last-Modified": last_modified}, b""
            except (TypeError, ValueError):
                pass
        entries = "".join(
            f"<entry><title>{title}</title><id>{self.url}/data/{name}</id>"
            f"<updated>{updated.isoformat()}</updated><author><name>気象庁</name></author>"
            f'<link type="application/xml" href="{self.url}/data/{name}"/>'
            f'<content type="text">【{title}】</content></entry>'
            for name, title, updated in self.entries
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom" lang="ja"><title>高頻度（地震火山）</title>'
            f"<subtitle>JMAXML publishing feed</subtitle><updated>{self.last_modified.isoformat()}</updated>"
            f'<id>{self.feed_url}</id><link rel="self" href="{self.feed_url}"/>{entries}</feed>'
        ).encode()
        return 200, {"Content-Type": "application/atom+xml", "Last-Modified": last_modified}, body


_ISO = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(Z|[+-]\d\d:\d\d)")


def telegram_moved_to_now(path: Path, now: datetime | None = None) -> tuple[bytes, str]:
    """A real telegram with every time in it moved by the same amount, so
    that its earthquake happened a minute before ``now`` (default: the real
    time; the soak passes the bot's demo clock); also a fresh EventID (the
    new origin time, as JMA forms it). Returns (body, event id)."""
    text = path.read_text(encoding="utf-8")
    origin = re.search(r"<OriginTime>([^<]+)</OriginTime>", text).group(1)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    delta = now - timedelta(minutes=1) - datetime.fromisoformat(origin)

    def shift(match: re.Match) -> str:
        moved = (
            datetime.fromisoformat(match.group(1) + ("+00:00" if match.group(2) == "Z" else match.group(2)))
            + delta
        )
        return moved.strftime("%Y-%m-%dT%H:%M:%S") + match.group(2)

    text = _ISO.sub(shift, text)
    new_origin = datetime.fromisoformat(re.search(r"<OriginTime>([^<]+)</OriginTime>", text).group(1))
    event_id = new_origin.strftime("%Y%m%d%H%M%S")
    text = re.sub(r"<EventID>[^<]*</EventID>", f"<EventID>{event_id}</EventID>", text)
    return text.encode("utf-8"), event_id


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


def machine(database_url: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "python": py_platform.python_version(),
        "platform": py_platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if database_url:
        info["database"] = database_version(database_url)
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    return info


def write_results(script: str, data: dict[str, Any]) -> Path:
    """bench/results/<script>-<YYYYmmdd-HHMMSS>.json (committed: the record of runs)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{script}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"results: {path.relative_to(ROOT)}", flush=True)
    return path


def workdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"tsunagari-{prefix}-"))
    (path / "logs").mkdir()
    return path


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "emulator":
        _emulator_main(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("usage: harness.py emulator CONFIG.json READY.json")
