"""Push cost: the CPU one prompt's push takes on this machine, and what that
allows a quake's fan-out here.

The quake fan-out's target (10,000 prompts in 5.5 s) leaves 2 cores x 5.5 s
/ 10,000 = 1.1 ms of CPU per prompt for everything on the machine: the
bot's database work, its LINE call, and — in the benchmarks only — the LINE
emulator answering it.  This measures the two parts that no change to the
bot's own logic can remove, one push at a time on an otherwise idle machine
(no contention, the best case):

- the client: ``bot.line_client.LineClient.push`` (line-bot-sdk's ApiClient
  over urllib3, as the bot sends), against two baselines in the same run —
  a bare urllib3 PoolManager POST and a bare http.client POST of the same
  body and headers, kept alive;
- the server: the emulator's CPU per push it answers (read from /proc).

Reported: CPU (user + system) per push of each client and its ratio to the
http.client baseline, the emulator's CPU per push, and the ceiling these
two set on prompts per second on this machine's cores — before any
database work, which only lowers it.

Run:  .venv/bin/python bench/push_cost.py [--pushes 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness

PUSH = "/v2/bot/message/push"
QUAKE_TARGET_PER_S = 10_000 / 5.5  # issue 7: 10,000 prompts within 1.1 x 5 s


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pushes", type=int, default=2000, help="pushes per client")
    args = parser.parse_args()

    from bot.line_client import LineClient
    from domain.kinds import RoundKind
    from messages import group as group_messages
    from messages.i18n import built_in

    work = harness.workdir("push-cost")
    processes = harness.Processes(work / "logs")
    try:
        line = harness.start_emulator(
            processes,
            work,
            groups=args.pushes,
            members=3,
            shared_members=True,
            webhook_url="http://127.0.0.1:9/callback",
            latency=0.0,
            rate_limit=None,
        )
        groups = [g["group_id"] for g in line.groups]
        messages = built_in(
            None, group_messages.prompt, 123456, RoundKind.EMERGENCY, "二戸市で震度4の地震がありました。"
        )
        headers = {"Authorization": f"Bearer {harness.TOKEN}", "Content-Type": "application/json"}
        parts = urlsplit(line.url)

        client = LineClient(harness.TOKEN, line.url, pool_size=1)
        pool = urllib3.PoolManager(maxsize=1)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)

        def sdk(group_id: str) -> int:
            return client.push(group_id, messages, str(uuid.uuid4())).status or 0

        def bare_urllib3(group_id: str) -> int:
            body = json.dumps({"to": group_id, "messages": messages}, ensure_ascii=False).encode()
            response = pool.request(
                "POST", line.url + PUSH, body=body, headers={**headers, "X-Line-Retry-Key": str(uuid.uuid4())}
            )
            return response.status

        def bare_http_client(group_id: str) -> int:
            body = json.dumps({"to": group_id, "messages": messages}, ensure_ascii=False).encode()
            conn.request("POST", PUSH, body=body, headers={**headers, "X-Line-Retry-Key": str(uuid.uuid4())})
            response = conn.getresponse()
            response.read()
            return response.status

        results: dict[str, dict] = {}
        # Interleaved rounds, so that a change in the machine's speed during
        # the run falls on every client alike.
        clients = {"http.client": bare_http_client, "urllib3": bare_urllib3, "LineClient (SDK)": sdk}
        spent = {name: [0.0, 0.0, 0] for name in clients}  # own cpu, emulator cpu, pushes
        for send in clients.values():
            send(groups[0])  # connect, and the SDK's one-off model check
        rounds = 4
        per_round = args.pushes // rounds
        for r in range(rounds):
            for name, send in clients.items():
                batch = groups[r * per_round : (r + 1) * per_round]
                emulator_before, before = harness.cpu_seconds(line.pid), own_cpu()
                statuses = [send(g) for g in batch]
                spent[name][0] += own_cpu() - before
                spent[name][1] += harness.cpu_seconds(line.pid) - emulator_before
                spent[name][2] += len(batch)
                if any(status != 200 for status in statuses):
                    raise SystemExit(f"{name}: not every push was accepted: {set(statuses)}")
        cores = os.cpu_count() or 1
        baseline = spent["http.client"][0] / spent["http.client"][2]
        for name, (cpu, emulator_cpu, n) in spent.items():
            per_push = cpu / n
            emulator_per_push = emulator_cpu / n
            results[name] = {
                "pushes": n,
                "client_cpu_ms": harness.rounded(per_push * 1000),
                "ratio_to_http_client": harness.rounded(per_push / baseline, 2),
                "emulator_cpu_ms": harness.rounded(emulator_per_push * 1000),
                "ceiling_per_s_on_this_machine": round(cores / (per_push + emulator_per_push)),
            }
        sdk_row = results["LineClient (SDK)"]
        figures = {
            "clients": results,
            "cores": cores,
            "quake_target_per_s": round(QUAKE_TARGET_PER_S),
            "cpu_budget_per_prompt_ms": harness.rounded(cores / QUAKE_TARGET_PER_S * 1000),
            "sdk_plus_emulator_ms": harness.rounded(sdk_row["client_cpu_ms"] + sdk_row["emulator_cpu_ms"]),
        }
        for name, row in results.items():
            print(
                f"{name:18} {row['client_cpu_ms']:.3f} ms CPU per push ({row['ratio_to_http_client']:.2f}x http.client),"
                f" emulator {row['emulator_cpu_ms']:.3f} ms; at most {row['ceiling_per_s_on_this_machine']} pushes/s"
                f" on {cores} cores before any database work"
            )
        print(
            f"quake target: {figures['quake_target_per_s']} prompts/s = {figures['cpu_budget_per_prompt_ms']:.3f} ms"
            f" of CPU per prompt on {cores} cores; the SDK's push and the emulator's answer alone take"
            f" {figures['sdk_plus_emulator_ms']:.3f} ms"
        )
        harness.write_results(
            "push_cost",
            {"benchmark": "push_cost", "params": vars(args), "machine": harness.machine(), **figures},
        )
        client.close()
        conn.close()
    finally:
        processes.close()


if __name__ == "__main__":
    main()
