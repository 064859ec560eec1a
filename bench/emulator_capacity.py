"""Emulator capacity: can the LINE emulator take LINE's 2,000 pushes a second?

The quake fan-out benchmark needs an emulator that accepts >= 2,000 push
requests/s (LINE's rate limit) with 100 ms latency per call from ~200
concurrent kept-alive connections, on this 2-core machine, while the bot
runs too. This measures it, against two baselines served in the same run
by the same kind of process:

- ``bare-keepalive``: a bare Flask app on the emulator's own keep-alive
  server (emulator.server.serve), whose push route only parses the body and
  sleeps the latency: the cost of HTTP in Python alone.
- ``bare-werkzeug``: the same bare app on werkzeug's stock threaded server
  (HTTP/1.0 behaviour, ``Connection: close``), which the emulator used before.
- ``emulator``: EmulatorServer(LinePlatform(latency, rate_limit_per_second))
  answering real pushes (a Flex prompt like the bot's, a retry key each) to
  groups the bot is in.

Each server runs in a child process; the load comes from another process
with one thread per connection (http.client, kept alive). ``--busy N`` adds
N processes spinning on the CPU, a crude stand-in for the bot's processes.
Reported: requests/s answered 200 after the first second (the token bucket
starts full), 429s, latency p50/p99, server CPU per request, and the
emulator's rate as a ratio of each baseline's.

Run:  .venv/bin/python bench/emulator_capacity.py [--connections 200] [--seconds 6] [--busy 1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness

TARGET_ACCEPTED_PER_S = 2000
GROUPS = 2000
PUSH = "/v2/bot/message/push"


def prompt(round_id: int) -> dict:
    """A Flex prompt shaped like the bot's emergency check (two postback buttons)."""
    text = "11月28日 9時41分ごろ、二戸市で震度4の地震がありました。無事な方はOKを押してください。"
    buttons = [
        ("primary", "OK（無事）", f"a=ok&r={round_id}", "OK"),
        ("secondary", "助けが必要", f"a=help&r={round_id}", "助けが必要"),
    ]
    return {
        "type": "flex",
        "altText": "【安否確認】" + text,
        "contents": {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [{"type": "text", "text": text, "wrap": True, "size": "lg", "scaling": True}],
            },
            "footer": {
                "type": "box",
                "layout": "vertical",
                "spacing": "md",
                "contents": [
                    {
                        "type": "button",
                        "style": style,
                        "height": "md",
                        "action": {"type": "postback", "label": label, "data": data, "displayText": shown},
                    }
                    for style, label, data, shown in buttons
                ],
            },
        },
    }


def serve(kind: str, latency: float, rate_limit: float, ready) -> None:
    """Child process: one of the three servers; sends (url, group ids, pid)."""
    from flask import Flask, request
    from werkzeug.serving import make_server

    from emulator import EmulatorServer, LinePlatform
    from emulator.server import serve as keepalive_serve

    groups: list[str] = []
    if kind == "emulator":
        platform = LinePlatform(
            harness.SECRET, harness.TOKEN, rate_limit_per_second=rate_limit, latency=latency
        )
        people = [platform.add_user(f"住民{n}") for n in range(3)]
        groups = [platform.create_group(f"町内会{n}", members=people, bot=True) for n in range(GROUPS)]
        server = EmulatorServer(platform).start()
        ready.send((server.url, groups, os.getpid()))
        threading.Event().wait()
    app = Flask("bare")

    @app.post(PUSH)
    def push():
        json.loads(request.get_data())
        time.sleep(latency)
        return {"sentMessages": [{"id": "1"}]}

    if kind == "bare-keepalive":
        httpd = keepalive_serve(app)
    else:
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        httpd.RequestHandlerClass.log_request = lambda *a, **k: None
    ready.send((f"http://127.0.0.1:{httpd.server_port}", ["C" + "0" * 32] * GROUPS, os.getpid()))
    httpd.serve_forever()


def spin() -> None:
    while True:
        pass


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(url: str, groups: list[str], connections: int, seconds: float, result) -> None:
    """Child process: ``connections`` threads, each on one kept-alive
    connection, pushing until the time is up; sends the answers."""
    host, port = url[len("http://") :].split(":")
    bodies = [json.dumps({"to": g, "messages": [prompt(n)]}).encode() for n, g in enumerate(groups)]
    answers: list[tuple[float, float, int | str]] = []
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    stop = start + seconds

    def run(k: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        n = k
        time.sleep(max(0.0, start - time.monotonic()))
        mine = []
        while (sent := time.monotonic()) < stop:
            headers = {
                "Authorization": f"Bearer {harness.TOKEN}",
                "Content-Type": "application/json",
                "X-Line-Retry-Key": str(uuid.uuid4()),
            }
            try:
                conn.request("POST", PUSH, bodies[n % len(bodies)], headers)
                response = conn.getresponse()
                response.read()
                status: int | str = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
            mine.append((sent - start, time.monotonic() - sent, status))
            n += connections
        conn.close()
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.send(answers)


def measure(kind: str, args) -> dict:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(kind, args.latency, args.rate_limit, child), daemon=True)
    server.start()
    try:
        url, groups, pid = parent.recv()
        cpu_before = cpu_seconds(pid)
        load_parent, load_child = ctx.Pipe()
        client = ctx.Process(
            target=load, args=(url, groups, args.connections, args.seconds, load_child), daemon=True
        )
        client.start()
        answers = load_parent.recv()
        client.join()
        cpu = cpu_seconds(pid) - cpu_before
    finally:
        server.kill()
        server.join()
    window = [a for a in answers if a[0] >= 1.0]  # after the first second
    span = max(1e-9, args.seconds - 1.0)
    ok = [a for a in window if a[2] == 200]
    latencies = [a[1] for a in ok]
    statuses: dict[str, int] = {}
    for a in answers:
        statuses[str(a[2])] = statuses.get(str(a[2]), 0) + 1
    figures = {
        "accepted_per_s": round(len(ok) / span, 1),
        "answered_per_s": round(len(window) / span, 1),
        "statuses": statuses,
        "latency_p50_s": harness.rounded(harness.percentile(latencies, 50)),
        "latency_p99_s": harness.rounded(harness.percentile(latencies, 99)),
        "server_cpu_us_per_request": round(cpu / max(1, len(answers)) * 1e6),
    }
    print(
        f"{kind:15} {figures['accepted_per_s']:7.0f} accepted/s  {figures['answered_per_s']:7.0f} answered/s  "
        f"p50 {figures['latency_p50_s']}s p99 {figures['latency_p99_s']}s  "
        f"server CPU {figures['server_cpu_us_per_request']} us/request  {statuses}",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rate-limit", type=float, default=2000.0)
    parser.add_argument("--busy", type=int, default=0, help="CPU-spinning processes standing in for the bot")
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    spinners = [ctx.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for proc in spinners:
        proc.start()
    bound = args.connections / args.latency if args.latency > 0 else None
    print(
        f"{args.connections} kept-alive connections, latency {args.latency}s, rate limit {args.rate_limit}/s, "
        f"{args.busy} busy process(es); at most {bound and round(bound)} requests/s can be answered "
        f"(connections / latency)",
        flush=True,
    )
    try:
        runs = {kind: measure(kind, args) for kind in ("bare-werkzeug", "bare-keepalive", "emulator")}
    finally:
        for proc in spinners:
            proc.kill()
    emulator = runs["emulator"]["accepted_per_s"]
    ratios = {
        f"emulator_vs_{kind}": round(emulator / max(1e-9, runs[kind]["answered_per_s"]), 2)
        for kind in ("bare-werkzeug", "bare-keepalive")
    }
    print(
        f"emulator accepts {emulator:.0f} pushes/s: {ratios['emulator_vs_bare-keepalive']}x the bare app on the same "
        f"server, {ratios['emulator_vs_bare-werkzeug']}x the bare app on werkzeug's stock server; "
        f"target >= {TARGET_ACCEPTED_PER_S}/s: {'met' if emulator >= TARGET_ACCEPTED_PER_S else 'NOT met'}"
    )
    harness.write_results(
        "emulator_capacity",
        {
            "benchmark": "emulator_capacity",
            "params": vars(args),
            "targets": {"accepted_per_s": TARGET_ACCEPTED_PER_S},
            "machine": harness.machine(),
            "upper_bound_per_s": bound,
            "runs": runs,
            "ratios": ratios,
            "target_met": emulator >= TARGET_ACCEPTED_PER_S,
        },
    )


if __name__ == "__main__":
    main()
