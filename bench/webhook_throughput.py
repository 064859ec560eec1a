"""Webhook throughput: the Procfile's web process against a bare Flask app.

Target: signed single-event bodies at 16 concurrent connections;
the bot reaches >= 0.5x the bare app's throughput on the same gunicorn
settings, with p99 <= 50 ms, and every event answered 200 is stored.

Both servers run in this one run, the load alternating between them for
ROUNDS rounds, each started with the Procfile's web line (gunicorn with
gunicorn.conf.py, WEB_CONCURRENCY=2) on 127.0.0.1; the load
comes from 16 client threads split over 2 processes, each with its own
pre-signed bodies.  The bot stores into SQLite and enqueues on the local
Redis (db 14, flushed before and after).
Run:  .venv/bin/python bench/webhook_throughput.py [REQUESTS]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "bench-channel-secret-000000000000"
CONCURRENCY = 16
ROUNDS = 3
PROCESSES = 2
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def body_for(i: int) -> tuple[bytes, str]:
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),  # the webhook refuses stale events
        "source": {"type": "group", "groupId": "C" + "0" * 32, "userId": "U" + f"{i:032x}"},
        "webhookEventId": "01BENCH" + uuid.uuid4().hex[:19].upper(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": {"id": str(10**17 + i), "type": "text", "text": "OK", "quoteToken": "q"},
    }
    body = json.dumps({"destination": "U" + "f" * 32, "events": [event]}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, signature


def client_process(port: int, start: int, count: int, threads: int, out) -> None:
    bodies = [body_for(start + i) for i in range(count)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    cursor = iter(range(count))

    def worker():
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            body, signature = bodies[i]
            t0 = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "POST",
                "/callback",
                body,
                {"Content-Type": "application/json", "X-Line-Signature": signature},
            )
            status = conn.getresponse().status
            conn.close()
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put({"latencies": latencies, "statuses": statuses, "wall": time.perf_counter() - t0})


def wait_ready(port: int, timeout: float = 60) -> None:
    """Until the app answers (any status): an open port only means that
    gunicorn's master is up, and its workers may still be importing."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def load(port: int, requests: int) -> dict:
    queue = multiprocessing.Queue()
    per = requests // PROCESSES
    procs = [
        multiprocessing.Process(
            target=client_process, args=(port, p * per, per, CONCURRENCY // PROCESSES, queue)
        )
        for p in range(PROCESSES)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: dict[int, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    # Throughput over the client-side wall time of the slowest process, which
    # excludes the time to pre-sign the bodies.
    busy = max(r["wall"] for r in results)
    return {
        "rps": len(latencies) / busy,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "statuses": statuses,
        "wall": wall,
    }


def web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError("no web line in the Procfile")


def serve(target: str, env: dict, port: int) -> subprocess.Popen:
    # The Procfile's web command (gunicorn.conf.py and all), with the port
    # and target swapped in: both apps run on exactly the same settings.
    command = web_command()
    assert "'app:create_app()'" in command, command
    command = command.replace("'app:create_app()'", shlex.quote(target))
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {command} --log-level warning"],
        cwd=ROOT,
        env={**env, "PATH": f"{ROOT / '.venv/bin'}:{env['PATH']}", "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_ready(port)
    return proc


def dispatch_all(url: str) -> tuple[int, float]:
    """The other half of ingestion: the scheduler's dispatcher enqueueing
    the stored events for the workers (timed, for the record)."""
    from config import Settings
    from jobs import runtime
    from jobs.scheduler import dispatch_once

    runtime.configure(Settings(database_url=url, redis_url=REDIS_URL))
    total, t0 = 0, time.perf_counter()
    while n := dispatch_once():
        total += n
    return total, time.perf_counter() - t0


def median_run(runs: list[dict]) -> dict:
    middle = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    statuses: dict[int, int] = {}
    for r in runs:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    return {**middle, "statuses": statuses, "p99_ms": max(r["p99_ms"] for r in runs)}


def count_events(url: str) -> int:
    from models import WebhookEvent, init_db

    init_db(url)
    return WebhookEvent.select().count()


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    from redis import Redis

    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.sqlite3"
        env = {
            **os.environ,
            "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{db_path}",
            "REDIS_URL": REDIS_URL,
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": "bench-token",
            "SECRET_KEY": "bench-secret-key-" + "0" * 32,
            "LINE_API_BASE_URL": "http://127.0.0.1:9",
            "WEB_CONCURRENCY": "2",
            "PYTHONPATH": str(ROOT),
        }
        subprocess.run(
            [str(ROOT / ".venv/bin/flask"), "--app", "app", "init-db"], cwd=ROOT, env=env, check=True
        )
        if env["DATABASE_URL"].startswith("postgresql"):
            from models import WebhookEvent, init_db

            init_db(env["DATABASE_URL"])
            WebhookEvent.delete().execute()

        # Both servers up at once; the load alternates between them, ROUNDS
        # times, so that a noisy neighbour hurts both alike.  Medians reported.
        servers, ports = {}, {}
        for name, target in (
            ("bare Flask", "bench.bare_app:create_app()"),
            ("つながり web", "app:create_app()"),
        ):
            ports[name] = free_port()
            servers[name] = serve(target, env, ports[name])
        runs: dict[str, list[dict]] = {name: [] for name in servers}
        try:
            for port in ports.values():
                load(port, 200)  # warm-up: imports, first connections
            for _ in range(ROUNDS):
                for name, port in ports.items():
                    runs[name].append(load(port, requests))
        finally:
            for server in servers.values():
                server.terminate()
                server.wait(10)
        figures = {name: median_run(r) for name, r in runs.items()}
        ratios = [b["rps"] / a["rps"] for a, b in zip(runs["bare Flask"], runs["つながり web"], strict=True)]

        stored = count_events(env["DATABASE_URL"])
        dispatched, dispatch_s = dispatch_all(env["DATABASE_URL"])
        queued = redis.llen("rq:queue:tsunagari")
    redis.flushdb()

    bot = figures["つながり web"]
    for name, f in figures.items():
        print(
            f"{name:<14} median {f['rps']:7.0f} req/s   p50 {f['p50_ms']:5.1f} ms   p99 {f['p99_ms']:5.1f} ms   "
            f"statuses {f['statuses']}"
        )
    ok = bot["statuses"].get(200, 0)
    # The warm-up's 200 events are stored too.
    print(
        f"ratio bot/bare per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}x "
        f"(target >= 0.5x)   bot p99 (worst round) {bot['p99_ms']:.1f} ms "
        f"(target <= 50 ms)   stored {stored} of {ok + 200} answered 200"
    )
    print(
        f"dispatcher: {dispatched} stored events enqueued for the workers in {dispatch_s:.2f} s "
        f"({dispatched / dispatch_s:.0f} events/s); {queued} jobs on the queue"
    )


if __name__ == "__main__":
    main()
