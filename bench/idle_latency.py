"""Idle latency (issue 7): one tap at a time, webhook -> reply.

The Procfile's processes against the LINE emulator (its own process, 100 ms
per API call); one group of 100 registered members with a round open. 100
members tap OK one after the other, 200 ms apart, each tap its own webhook;
nothing else is happening. Reported: webhook POSTed -> the bot's reply
(the acknowledgement) accepted by LINE, p50/p99/max, and how long the
webhook itself took to answer. Target: p99 <= 0.5 s.

Run:  .venv/bin/python bench/idle_latency.py [--events 20]   (a quick run)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

TARGET_P99_S = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--spacing", type=float, default=0.2, help="seconds between taps")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per LINE API call")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (at most 2)")
    parser.add_argument("--drain-timeout", type=float, default=600.0, help="seconds to wait for the answers")
    args = parser.parse_args()

    work = harness.workdir("idle-latency")
    database_url = harness.prepare_database(work)
    harness.flush_redis()
    processes = harness.Processes(work / "logs")
    port = harness.free_port()
    try:
        line = harness.start_emulator(
            processes,
            work,
            groups=1,
            members=args.events,
            shared_members=False,
            webhook_url=f"http://127.0.0.1:{port}/callback",
            latency=args.latency,
            rate_limit=2000.0,
        )
        env = harness.bot_env(database_url, line.url, port)
        harness.release(env)
        harness.open_models(database_url)
        group_pk = harness.seed_groups(line.groups, register_members=True)
        round_id = harness.open_rounds(list(group_pk.values()))[group_pk[line.groups[0]["group_id"]]]
        harness.start_stack(processes, env, workers=args.workers)
        time.sleep(3)  # let every process finish starting: this measures an idle bot

        group = line.groups[0]
        taps = [
            {"group_id": group["group_id"], "user_id": u, "data": f"a=ok&r={round_id}"}
            for u in group["members"]
        ]
        harness.log(f"{len(taps)} taps, one every {args.spacing}s")
        posted = line.taps(taps, rate=1 / args.spacing, concurrency=2)
        ids = {r["event_id"] for r in posted["results"] if r["status"] == 200}
        timed_out = False
        try:
            harness.wait_until(
                lambda: (
                    harness.answers_stored([round_id]) >= len(ids)
                    and all(
                        t["accepted_at"] or t["refused"] or time.time() - (t["posted_at"] or 0) > 65
                        for t in line.reply_tokens()
                        if t["event_id"] in ids
                    )
                ),
                args.drain_timeout,
                "the answers and acknowledgements",
                interval=1.0,
            )
        except TimeoutError:
            timed_out = True
        tokens = [t for t in line.reply_tokens() if t["event_id"] in ids]
        latencies = [t["accepted_at"] - t["posted_at"] for t in tokens if t["accepted_at"]]
        webhook = [t["answered_at"] - t["posted_at"] for t in tokens if t["answered_at"]]
        stored = harness.answers_stored([round_id])
        figures = {
            "events": len(taps),
            "webhook_200": len(ids),
            "acked": len(latencies),
            "acks_expired_tokens": sum(
                1
                for t in tokens
                if not t["accepted_at"] and any(r["reason"] == "expired" for r in t["refusals"])
            ),
            "answers_stored": stored,
            "answers_lost": len(ids) - stored,
            "timed_out": timed_out,
            "tap_to_reply_s": {
                "p50": harness.rounded(harness.percentile(latencies, 50)),
                "p99": harness.rounded(harness.percentile(latencies, 99)),
                "max": harness.rounded(max(latencies, default=None)),
            },
            "webhook_answer_s": {
                "p50": harness.rounded(harness.percentile(webhook, 50)),
                "p99": harness.rounded(harness.percentile(webhook, 99)),
            },
        }
        # An unacknowledged tap counts as never answered.
        p99 = figures["tap_to_reply_s"]["p99"] if len(latencies) >= 0.99 * len(ids) else None
        print(
            f"{figures['events']} taps: {figures['acked']} acked, {stored} answers stored; tap->reply "
            f"p50 {figures['tap_to_reply_s']['p50']}s p99 {figures['tap_to_reply_s']['p99']}s "
            f"max {figures['tap_to_reply_s']['max']}s (webhook answered p50 {figures['webhook_answer_s']['p50']}s); "
            f"target p99 <= {TARGET_P99_S}s: {'met' if p99 is not None and p99 <= TARGET_P99_S else 'NOT met'}",
            flush=True,
        )
        harness.write_results(
            "idle_latency",
            {
                "benchmark": "idle_latency",
                "params": vars(args),
                "targets": {"p99_tap_to_reply_s": TARGET_P99_S},
                "machine": harness.machine(database_url),
                "database_url_kind": database_url.split(":", 1)[0],
                "figures": figures,
                "target_met": p99 is not None and p99 <= TARGET_P99_S,
            },
        )
    finally:
        processes.close()


if __name__ == "__main__":
    main()
