"""Notice fan-out: one notice to 2,000 groups at LINE's rate limit.

Target: the CLI's sending code (jobs.notice_sender.send_notice) limited
to 200 requests/s against the project's LINE emulator
(EmulatorServer(LinePlatform(..., rate_limit_per_second=200))) finishes in
<= 1.1 x the 10 s that limit allows, with zero duplicate pushes (counted per
group in the emulator) and flat memory: the same send to 500 groups first,
and the sender's peak (tracemalloc) must not grow with the number of groups.

The emulator runs in a child process so that the memory measured is the
sender's alone; the database is a temporary SQLite file.  The figures are
printed, never asserted in tests.
Run:  .venv/bin/python bench/notice_fanout.py [GROUPS] [RATE]
"""

from __future__ import annotations

import multiprocessing
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECRET = "bench-secret-00000000000000000000"
TOKEN = "bench-access-token"
MEMBERS = 3
SMALL = 500
TEXT = "明日10時から、公民館で防災訓練があります。"


def run_emulator(conn, groups: int, rate: float) -> None:
    """Child process: the emulator with ``groups`` groups the bot is in."""
    from emulator import EmulatorServer, LinePlatform

    platform = LinePlatform(SECRET, TOKEN, rate_limit_per_second=rate)
    people = [platform.add_user(f"住民{i}") for i in range(MEMBERS)]
    ids = []
    for i in range(groups):
        group_id = platform.create_group(f"町内会{i}")
        for user_id in people:
            platform.add_member(group_id, user_id)
        platform.invite_bot(group_id)  # no webhook URL: recorded only
        ids.append(group_id)
    with EmulatorServer(platform) as server:
        conn.send((server.url, ids))
        while (text := conn.recv()) is not None:
            pushes = Counter()
            for group_id in ids:
                for item in platform.timeline(group_id):
                    if item["via"] == "push" and item["message"].get("text", "").endswith("\n" + text):
                        pushes[group_id] += 1
            # Cumulative over the runs: every push request the emulator answered.
            statuses = Counter(
                r["status"] for r in platform.requests_log() if r["path"] == "/v2/bot/message/push"
            )
            conn.send((dict(pushes), dict(statuses)))


def rss_kib() -> tuple[int, int]:
    """(current RSS, peak RSS) of this process in KiB."""
    fields = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def main(groups: int = 2000, rate: float = 200.0) -> None:
    parent, child = multiprocessing.Pipe()
    emulator = multiprocessing.get_context("spawn").Process(target=run_emulator, args=(child, groups, rate))
    emulator.start()
    url, line_ids = parent.recv()

    from bot.line_client import LineClient
    from config import Settings
    from jobs import runtime
    from jobs.notice_sender import send_notice
    from models import Group, Organisation, create_schema, db, naive
    from services import clock
    from services.notices import plan_notice, write_notice

    workdir = tempfile.mkdtemp(prefix="tsunagari-bench-")
    settings = Settings(
        channel_secret=SECRET,
        access_token=TOKEN,
        line_api_base_url=url,
        database_url=f"sqlite:///{workdir}/bench.sqlite3",
    )
    runtime.configure(settings)
    create_schema()
    db.connect(reuse_if_open=True)
    now = clock.now()
    org = Organisation.create(slug="bench", name="ベンチ市社会福祉協議会", created_at=naive(now))
    with db.atomic():
        rows = [
            {
                "line_group_id": line_id,
                "organisation": org.id,
                "joined_at": naive(now),
                "member_count": MEMBERS,
                # The first SMALL groups also have an area: the small run's target.
                "area_code": "1421200" if i < SMALL else None,
            }
            for i, line_id in enumerate(line_ids)
        ]
        for start in range(0, len(rows), 500):
            Group.insert_many(rows[start : start + 500]).execute()

    workers = 8
    client = LineClient(TOKEN, url, 10.0, pool_size=workers)
    # The timed run is not traced: tracemalloc slows every allocation and
    # would measure itself.  Memory is compared in two traced runs instead.
    runs = (
        ("timed", (), "一斉送信の" + TEXT, False),
        ("mem500", ("1421200",), "五百の" + TEXT, True),
        ("mem2000", (), "二千の" + TEXT, True),
    )
    print(
        f"notice fan-out: {groups} groups x {MEMBERS} members, {rate:g} requests/s, {workers} threads, SQLite"
    )
    results = {}
    for label, areas, text, trace in runs:
        plan = plan_notice("bench", areas, text, clock.now(), settings.tz)
        write_started = time.perf_counter()
        write_notice(plan, clock.now())
        write_elapsed = time.perf_counter() - write_started
        time.sleep(1.5)  # let the emulator's bucket refill between runs
        rss_before, _ = rss_kib()
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        report = send_notice(plan.digest, client, rate=rate, workers=workers)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 1024 if trace else None
        tracemalloc.stop()
        rss_after, rss_peak = rss_kib()
        parent.send(text)
        pushes, statuses = parent.recv()
        results[label] = r = {
            "groups": plan.groups,
            "elapsed": elapsed,
            "ideal": plan.groups / rate,
            "duplicates": sum(count - 1 for count in pushes.values() if count > 1),
            "missing": plan.groups - len(pushes),
            "peak_kib": peak,
        }
        print(
            f"  {label:7} {plan.groups:5} groups: write {write_elapsed:.2f} s, send {elapsed:.2f} s "
            f"(ideal {r['ideal']:.2f} s, ratio {elapsed / r['ideal']:.3f}{', traced' if trace else ''}), "
            f"sent {report.states['sent']}, duplicates {r['duplicates']}, missing {r['missing']}"
            + (f", tracemalloc peak {peak:.0f} KiB" if trace else "")
            + f"; RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB (process peak {rss_peak / 1024:.1f})",
            flush=True,
        )
    parent.send(None)
    emulator.join(timeout=10)
    client.close()
    db.close()
    shutil.rmtree(workdir, ignore_errors=True)

    timed, small, big = results["timed"], results["mem500"], results["mem2000"]
    allowed = groups / rate
    ratio = timed["elapsed"] / allowed
    print(f"emulator push statuses over all runs: {statuses}")
    print(
        f"target: {groups} groups in <= 1.1 x {allowed:.0f} s -> {timed['elapsed']:.2f} s, ratio {ratio:.3f} "
        f"{'OK' if ratio <= 1.1 else 'MISSED'}; duplicates {timed['duplicates']}, missing {timed['missing']} "
        f"{'OK' if timed['duplicates'] == 0 and timed['missing'] == 0 else 'MISSED'}; "
        f"sender memory peak {small['peak_kib']:.0f} KiB at {small['groups']} groups vs "
        f"{big['peak_kib']:.0f} KiB at {big['groups']} ({big['peak_kib'] / small['peak_kib']:.2f}x for "
        f"{big['groups'] / small['groups']:.0f}x the groups)"
    )


if __name__ == "__main__":
    main(*(int(a) if i == 0 else float(a) for i, a in enumerate(sys.argv[1:3])))
