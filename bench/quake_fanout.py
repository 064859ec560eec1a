"""Quake fan-out (issue 7): one earthquake, 10,000 groups, every prompt out within the rate-limit bound.

One real VXSE53 telegram (tests/fixtures/jma/20210219091451_0_VXSE53_010000.xml:
震度4 in 二戸市, JMA code 0321300), its times moved to a minute ago, is served
by a fake JMA feed; 10,000 groups registered in 二戸市 (threshold 震度4, as
``/地域 二戸市 震度4`` sets) each get an emergency round, whose prompt is a
push. The Procfile's processes poll the feed (JMA_FEED_URL) as in
production; the LINE emulator, in its own process, allows 2,000 requests/s
per endpoint and answers every call after 100 ms.

Reported: the time from the telegram being fetched to the last prompt
accepted by LINE, duplicates (groups that got the prompt more than once),
missing groups, 409s (retries LINE deduplicated) and 429s.
Target: <= 1.1 x groups / 2,000 s (5.5 s for 10,000 groups), 0 duplicates,
0 missing.

Run:  .venv/bin/python bench/quake_fanout.py [--groups 500]   (a quick run)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

TELEGRAM = harness.ROOT / "tests" / "fixtures" / "jma" / "20210219091451_0_VXSE53_010000.xml"
CITY = "0321300"  # 二戸市: 震度4 in that telegram
THRESHOLD = "4"
SLACK = 1.1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=3, help="members per group (what a push costs)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per LINE API call")
    parser.add_argument("--rate-limit", type=float, default=2000.0, help="LINE requests/s per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (at most 2)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the last prompt")
    args = parser.parse_args()
    bound = args.groups / args.rate_limit
    target = SLACK * bound

    work = harness.workdir("quake-fanout")
    database_url = harness.prepare_database(work)
    harness.flush_redis()
    processes = harness.Processes(work / "logs")
    feed = harness.FakeJmaFeed()
    port = harness.free_port()
    try:
        harness.log(f"emulator: {args.groups} groups in 二戸市, {args.rate_limit}/s, latency {args.latency}s")
        line = harness.start_emulator(
            processes,
            work,
            groups=args.groups,
            members=args.members,
            shared_members=True,
            webhook_url=f"http://127.0.0.1:{port}/callback",
            latency=args.latency,
            rate_limit=args.rate_limit,
        )
        env = harness.bot_env(database_url, line.url, port, JMA_FEED_URL=feed.feed_url)
        harness.release(env)
        harness.open_models(database_url)
        harness.seed_groups(line.groups, register_members=False, area_code=CITY, quake_threshold=THRESHOLD)
        stack = harness.start_stack(processes, env, workers=args.workers)
        meter = harness.CpuMeter(processes, ["emulator", "web", "scheduler", *stack.workers])
        # Published once the workers listen, as they do long before a quake:
        # measured from the fetch, a worker still importing would count.
        harness.wait_for_workers(len(stack.workers))
        body, event_id = harness.telegram_moved_to_now(TELEGRAM)
        name = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}_0_VXSE53_010000.xml"
        feed.publish(name, body)
        harness.log(f"bot up; published telegram {name} (event {event_id})")

        path = f"/data/{name}"
        fetched_at = harness.wait_until(
            lambda: processes.check_alive() or feed.fetched.get(path, [None])[0], 180, "the telegram fetch"
        )
        meter.start()
        harness.log("telegram fetched; waiting for the prompts")
        ours = {g["group_id"] for g in line.groups}
        pushes: list[dict] = []
        last_seq = 0
        deadline = time.monotonic() + args.timeout
        last_report = time.monotonic()
        while True:
            processes.check_alive()
            answered = line.pushes(after=last_seq)
            if answered:
                last_seq = answered[-1]["seq"]
                pushes.extend(p for p in answered if p["to"] in ours)
            reached = {p["to"] for p in pushes if p["status"] == 200}
            if len(reached) >= len(ours) or time.monotonic() > deadline:
                break
            if time.monotonic() - last_report > 15:
                harness.log(f"{len(reached)} of {len(ours)} groups have their prompt")
                last_report = time.monotonic()
            time.sleep(0.25)
        cpu = meter.stop()
        time.sleep(3)  # late retries (duplicates) would show up now
        pushes.extend(p for p in line.pushes(after=last_seq) if p["to"] in ours)

        from models import Round

        rounds = Round.select().where((Round.kind == "emergency") & (Round.event_id == event_id)).count()
        figures = summarise(pushes, ours, fetched_at, feed.fetched.get(path, []), rounds)
        figures["cpu_from_fetch_to_last_prompt"] = cpu
        figures["bound_s"] = round(bound, 2)
        figures["target_s"] = round(target, 2)
        figures["ratio_to_bound"] = (
            round(figures["fetch_to_last_prompt_s"] / bound, 2) if figures["fetch_to_last_prompt_s"] else None
        )
        print_figures(figures)
        verdict = {
            "time_ok": figures["fetch_to_last_prompt_s"] is not None
            and figures["fetch_to_last_prompt_s"] <= target,
            "no_duplicates": figures["duplicates"] == 0,
            "none_missing": figures["missing"] == 0,
        }
        print("verdict:", verdict)
        harness.write_results(
            "quake_fanout",
            {
                "benchmark": "quake_fanout",
                "params": vars(args),
                "targets": {"fetch_to_last_prompt_s": round(target, 2), "duplicates": 0, "missing": 0},
                "machine": harness.machine(database_url),
                "database_url_kind": database_url.split(":", 1)[0],
                "telegram": TELEGRAM.name,
                "figures": figures,
                "verdict": verdict,
            },
        )
    finally:
        processes.close()
        feed.close()


def summarise(
    pushes: list[dict], ours: set[str], fetched_at: float, fetches: list[float], rounds: int
) -> dict:
    accepted = [p for p in pushes if p["status"] == 200]
    per_group = Counter(p["to"] for p in accepted)
    statuses = Counter(str(p["status"]) for p in pushes)
    first_per_group = {}
    for p in accepted:
        first_per_group[p["to"]] = min(first_per_group.get(p["to"], p["at"]), p["at"])
    last = max(first_per_group.values(), default=None)
    # Prompts accepted in each second after the fetch: a steady rate, or stalls.
    per_second = Counter(int(at - fetched_at) for at in first_per_group.values())
    timeline = [per_second.get(s, 0) for s in range(max(per_second, default=-1) + 1)]
    first = min(first_per_group.values(), default=None)
    return {
        "groups": len(ours),
        "emergency_rounds_opened": rounds,
        "telegram_fetches": len(fetches),
        "prompts_accepted": len(first_per_group),
        "missing": len(ours) - len(first_per_group),
        "duplicates": sum(n - 1 for n in per_group.values() if n > 1),
        "duplicates_refused_409": statuses.get("409", 0),
        "rate_limited_429": statuses.get("429", 0),
        "push_statuses": dict(statuses),
        "prompts_per_second_after_fetch": timeline,
        "fetch_to_first_prompt_s": harness.rounded(first - fetched_at) if first else None,
        "fetch_to_last_prompt_s": harness.rounded(last - fetched_at) if last else None,
        "prompts_per_s": (
            round(len(first_per_group) / max(1e-9, last - first), 1)
            if last and first and last > first
            else None
        ),
    }


def print_figures(f: dict) -> None:
    print(
        f"{f['groups']} groups: {f['emergency_rounds_opened']} emergency rounds, {f['prompts_accepted']} prompts "
        f"accepted ({f['missing']} missing, {f['duplicates']} duplicates, {f['duplicates_refused_409']} 409s, "
        f"{f['rate_limited_429']} 429s); telegram fetched {f['telegram_fetches']}x\n"
        f"  fetch -> first prompt {f['fetch_to_first_prompt_s']}s, fetch -> last prompt "
        f"{f['fetch_to_last_prompt_s']}s (bound {f['bound_s']}s, target {f['target_s']}s, "
        f"{f['ratio_to_bound']}x the bound); {f['prompts_per_s']} prompts/s\n"
        f"  prompts accepted in each second after the fetch: {f['prompts_per_second_after_fetch']}",
        flush=True,
    )
    cpu = f["cpu_from_fetch_to_last_prompt"]
    per_prompt = {
        name: round(1000 * seconds / max(1, f["prompts_accepted"]), 3)
        for name, seconds in cpu["cpu_s"].items()
    }
    print(
        f"  CPU from the fetch to the last prompt ({cpu['wall_s']}s on {cpu['cores']} cores = "
        f"{cpu['wall_s'] * cpu['cores']:.1f} core-s): {cpu['cpu_s']}; ms per prompt: {per_prompt}",
        flush=True,
    )


if __name__ == "__main__":
    main()
