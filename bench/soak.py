"""Chaos soak (issue 8): simulated days of scheduled and emergency rounds
while every process is killed at random, Redis is flushed, PostgreSQL is
restarted, LINE answers 500s, 429s and timeouts and the JMA feed trickles —
then an audit that nothing was lost and nothing was doubled.

Black-box, like the other end-to-end benchmarks (bench/harness.py): the
Procfile's processes (web, two workers, the scheduler) against the LINE
emulator in its own process (100 ms a call), a fake JMA feed, and the
database observed through models.py.  The bot runs with DEMO_CLOCK=1 and
the soak moves its clock (the DemoClock row) from one morning to the next.

Each simulated day:
  1. the clock moves to 9:00 (Asia/Tokyo): every group's scheduled round
     opens and its prompt is pushed;
  2. members answer from the prompt's own buttons (OK, some 助けが必要,
     some nobody), as a crowd of phones; a webhook the bot did not accept
     (its web process was just killed) is redelivered, as LINE does;
  3. on emergency days, a real VXSE53 telegram (震度4 in 二戸市), its times
     moved to the bot's clock, appears in the feed: the groups registered
     in 二戸市 get an emergency round and answer it; the clock moves 3 h
     and its summary comes;
  4. the clock moves on to 8:30 the next morning: every routine summary.
Chaos runs all the while, one action every --chaos-every seconds or so.

The audit, once chaos stops and the bot has caught up:
  - every round has exactly one prompt accepted by LINE, and every closed
    round exactly one summary (pushes matched to the outbox by their
    X-Line-Retry-Key; a push LINE accepted that no outbox row explains is
    counted as unexplained);
  - every answer LINE delivered (webhook answered 200) is stored, with the
    kind the member tapped;
  - every 助けが必要 was told to the group once;
  - nothing is left unprocessed or unsent.
Exit status 0 when the audit holds, 1 otherwise.  Figures are printed and
written to bench/results/soak-*.json.

Run:  .venv/bin/python bench/soak.py                    (SQLite, ~10 minutes)
      .venv/bin/python bench/soak.py --database postgresql   (a private
      PostgreSQL cluster on a free port, so restarting it disturbs nobody)
      .venv/bin/python bench/soak.py --days 2 --groups 6 --chaos-every 8   (quicker, rougher)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

TELEGRAM = harness.ROOT / "tests" / "fixtures" / "jma" / "20210219091451_0_VXSE53_010000.xml"
CITY = "0321300"  # 二戸市: 震度4 in that telegram
TZ = ZoneInfo("Asia/Tokyo")
SCHEDULE = "毎日 9:00"
PROCESSES = ("web", "worker-1", "worker-2", "scheduler")
CHAOS = {  # action -> weight
    "kill": 5,
    "flush-redis": 2,
    "line-faults": 4,
    "trickle-feed": 1,
    "restart-postgres": 1,
}
OK_LABEL, HELP_LABEL = "OK", "助けが必要"


def log(message: str) -> None:
    harness.log(f"[soak] {message}")


# --------------------------------------------------------------------------- #
# A feed that can trickle
# --------------------------------------------------------------------------- #


class TricklingFeed(harness.FakeJmaFeed):
    """The fake JMA feed; after ``trickle(n)`` its next ``n`` feed requests
    are answered one byte a second for up to ``seconds`` (a slow or hostile
    peer: the poller's total deadline must cut it off)."""

    def __init__(self) -> None:
        super().__init__()
        self._trickles = 0
        self.trickled = 0
        self.seconds = 40

    def pending(self) -> int:
        with self._lock:
            return self._trickles

    def trickle(self, times: int) -> None:
        with self._lock:
            self._trickles += times

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            slow = handler.path == "/eqvol.xml" and self._trickles > 0
            if slow:
                self._trickles -= 1
                self.trickled += 1
        if not slow:
            return super()._serve(handler)
        body = b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">' * 4
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/atom+xml")
            handler.send_header("Last-Modified", format_datetime(datetime.now(UTC), usegmt=True))
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            for n in range(min(len(body), self.seconds)):
                handler.wfile.write(body[n : n + 1])
                handler.wfile.flush()
                time.sleep(1.0)
        except (BrokenPipeError, ConnectionResetError):
            pass


# --------------------------------------------------------------------------- #
# PostgreSQL of our own (restarting the machine's would disturb others)
# --------------------------------------------------------------------------- #


class PrivatePostgres:
    def __init__(self, stack: contextlib.ExitStack) -> None:
        from tests import testenv

        bindir = testenv.find_dir(("initdb", "pg_ctl"), testenv.POSTGRES_DIRS)
        if bindir is None:
            raise SystemExit("--database postgresql needs initdb and pg_ctl (Debian: apt install postgresql)")
        self.pg_ctl = bindir / "pg_ctl"
        self.as_owner, _ = testenv.postgres_runner()
        url = testenv.start_postgres(stack, bindir, "postgresql://postgres@127.0.0.1:5432/tsunagari_soak")
        import psycopg2

        admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE tsunagari_soak")
            cur.execute("SHOW data_directory")
            self.data = cur.fetchone()[0]
        admin.close()
        self.url = url

    def restart(self) -> None:
        """An immediate stop (as a crash) and a start with the same options."""
        # The postmaster must not inherit our pipes (run would wait for it to
        # exit): it logs to its file, as testenv started it.
        log = str(Path(self.data).parent / "postgres.log")
        subprocess.run(
            self.as_owner(
                [self.pg_ctl, "-D", self.data, "-l", log, "-m", "immediate", "-w", "-t", "60", "restart"]
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
            timeout=120,
        )


# --------------------------------------------------------------------------- #
# The soak
# --------------------------------------------------------------------------- #


def postback_buttons(message) -> list[tuple[str, str]]:
    """(label, data) of every postback action anywhere in a LINE message."""
    found: list[tuple[str, str]] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "postback" and "data" in node:
                found.append((node.get("label", ""), node["data"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message)
    return found


class Soak:
    def __init__(self, args, work: Path, processes: harness.Processes, line, feed, env, postgres):
        self.args = args
        self.work = work
        self.processes = processes
        self.line = line
        self.feed = feed
        self.env = env
        self.postgres = postgres
        self.random = random.Random(args.seed)
        self.commands = harness.procfile()
        self.chaos_log: Counter = Counter()
        self.stop_chaos = threading.Event()
        self.process_lock = threading.Lock()
        self.taps: list[dict] = []  # every tap: group, user, round, kind, event_id, status
        self.redeliveries = 0
        self.emergency_events: list[str] = []

    # -- processes -------------------------------------------------------- #

    def start(self, name: str) -> None:
        command = self.commands["worker" if name.startswith("worker") else name]
        self.processes.start(name, command, self.env)

    def ensure_running(self) -> None:
        with self.process_lock:
            for name in PROCESSES:
                proc = self.processes.running.get(name)
                if proc is None or proc.poll() is not None:
                    self.start(name)

    # -- the bot's clock -------------------------------------------------- #

    def sim_now(self) -> datetime:
        from models import DemoClock

        row = DemoClock.select().first()
        return datetime.now(UTC) + timedelta(seconds=row.offset_seconds if row else 0)

    def move_clock_to(self, when: datetime) -> None:
        from models import DemoClock, db

        seconds = int((when - datetime.now(UTC)).total_seconds()) + 1
        with db.atomic():
            if DemoClock.select().exists():
                DemoClock.update(offset_seconds=seconds).execute()
            else:
                DemoClock.create(offset_seconds=seconds)
        log(f"clock moved to {self.sim_now().astimezone(TZ):%m-%d %H:%M} (JST)")

    # -- chaos ------------------------------------------------------------ #

    def chaos(self) -> None:
        actions = [a for a in CHAOS if a != "restart-postgres" or self.postgres is not None]
        weights = [CHAOS[a] for a in actions]
        while not self.stop_chaos.wait(self.random.uniform(0.5, 1.5) * self.args.chaos_every):
            action = self.random.choices(actions, weights)[0]
            try:
                getattr(self, "chaos_" + action.replace("-", "_"))()
                self.chaos_log[action] += 1
            except Exception as exc:  # chaos must go on; the audit tells what it broke
                log(f"chaos {action} failed: {type(exc).__name__}: {exc}")

    def chaos_kill(self) -> None:
        name = self.random.choice(PROCESSES)
        with self.process_lock:
            proc = self.processes.running.get(name)
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.chaos_log[f"kill {name}"] += 1
        time.sleep(self.random.uniform(0.5, 3.0))
        self.ensure_running()

    def chaos_flush_redis(self) -> None:
        harness.flush_redis()

    def chaos_restart_postgres(self) -> None:
        self.postgres.restart()
        reconnect()

    def chaos_line_faults(self) -> None:
        path = self.random.choice(["/v2/bot/message/push", "/v2/bot/message/push", "/v2/bot/message/reply"])
        kind = self.random.choice(["500", "500_after_delivery", "429", "timeout"])
        # Faults wait for requests to fail; with little traffic they would pile
        # up and fail everything, so each action replaces the last one's.
        self.line.call("DELETE", "/_sim/faults")
        body = {"path_prefix": path, "kind": kind, "times": self.random.randint(1, 3)}
        if kind == "timeout":
            body["delay"] = 12.0  # longer than LINE_TIMEOUT: the bot gives up, LINE delivered
        self.line.call("POST", "/_sim/faults", body)
        self.chaos_log[f"line {kind}"] += body["times"]

    def chaos_trickle_feed(self) -> None:
        # One slow answer at a time: the feed is polled once a minute, and a
        # feed that always trickles is an outage, not chaos.
        if self.feed.pending() == 0:
            self.feed.trickle(1)

    # -- waiting ---------------------------------------------------------- #

    def wait(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = predicate()
            except Exception as exc:  # the database may be restarting
                value = None
                last = exc
                reconnect()
            else:
                last = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}" + (f" ({last})" if last else ""))
            time.sleep(1.0)

    def rounds_since(self, since: datetime, kind: str) -> list:
        from models import Round, naive

        return list(Round.select().where((Round.kind == kind) & (Round.opened_at >= naive(since))))

    def prompts_sent(self, rounds) -> bool:
        from domain.kinds import OutboxState, Purpose
        from models import Outbox

        ids = [r.id for r in rounds]
        sent = (
            Outbox.select()
            .where(
                Outbox.round.in_(ids)
                & (Outbox.purpose == Purpose.PROMPT)
                & (Outbox.state == OutboxState.SENT)
            )
            .count()
        )
        return sent >= len(ids)

    # -- members ---------------------------------------------------------- #

    def answer(self, round_by_group: dict[str, int]) -> None:
        """Members answer each group's newest prompt from its buttons."""
        taps = []
        for group in self.line.groups:
            group_id = group["group_id"]
            if group_id not in round_by_group:
                continue
            items = self.line.call("GET", f"/_sim/groups/{group_id}/timeline")["items"]
            buttons = {}  # answer kind ("ok", "help") -> the button's data
            for item in reversed(items):
                if item["sender"] != "bot":
                    continue
                for _label, data in postback_buttons(item["message"]):
                    fields = dict(parse_qsl(data))
                    if fields.get("a") in ("ok", "help") and fields.get("r") == str(round_by_group[group_id]):
                        buttons[fields["a"]] = data
                if buttons:
                    break
            if "ok" not in buttons:
                raise RuntimeError(f"no prompt of round {round_by_group[group_id]} in {group_id}'s chat")
            for user in group["members"]:
                draw = self.random.random()
                if draw >= self.args.answer:
                    continue
                # A routine check has only OK; 助けが必要 is on emergency prompts.
                kind = "help" if draw < self.args.help_share and "help" in buttons else "ok"
                taps.append(
                    {
                        "group_id": group_id,
                        "user_id": user,
                        "data": buttons[kind],
                        "display_text": HELP_LABEL if kind == "help" else OK_LABEL,
                        "_round": round_by_group[group_id],
                        "_kind": kind,
                    }
                )
        self.random.shuffle(taps)
        sent = self.line.taps(
            [{k: v for k, v in t.items() if not k.startswith("_")} for t in taps], rate=None, concurrency=16
        )
        for tap, result in zip(taps, sent["results"], strict=True):
            self.taps.append({**tap, "event_id": result["event_id"], "status": result["status"]})
        self.redeliver()

    def redeliver(self) -> None:
        """LINE redelivers what the bot did not accept; so do we, until 200."""
        for _ in range(60):
            pending = [t for t in self.taps if t["status"] != 200 and t["event_id"]]
            if not pending:
                return
            for tap in pending:
                with contextlib.suppress(urllib.error.URLError, OSError):
                    tap["status"] = self.line.call("POST", f"/_sim/events/{tap['event_id']}/redeliver")[
                        "status"
                    ]
                    self.redeliveries += 1
            time.sleep(2.0)
        raise RuntimeError("webhooks still refused after a minute of redeliveries")

    def caught_up(self) -> bool:
        """Nothing unprocessed and nothing unsent: every row, due or backing off
        after a fault (nothing in the soak is meant for later)."""
        from domain.kinds import OutboxState
        from models import Outbox, WebhookEvent

        return (
            not WebhookEvent.select().where(WebhookEvent.processed_at.is_null()).exists()
            and not Outbox.select()
            .where(Outbox.state.in_([OutboxState.PENDING, OutboxState.SENDING]))
            .exists()
        )

    # -- the days --------------------------------------------------------- #

    def day(self, n: int, emergency: bool) -> None:
        if self.postgres is not None and n > 0:
            # At least once a day, whatever the dice say.
            self.chaos_restart_postgres()
            self.chaos_log["restart-postgres"] += 1
        local = self.sim_now().astimezone(TZ)
        morning = datetime.combine(
            local.date() + timedelta(days=1 if local.hour >= 9 else 0), datetime.min.time(), TZ
        ) + timedelta(hours=9)
        self.move_clock_to(morning.astimezone(UTC))
        opened_from = morning.astimezone(UTC) - timedelta(minutes=1)
        routine = self.wait(
            lambda: (
                (r := self.rounds_since(opened_from, "routine")) and len(r) >= len(self.line.groups) and r
            ),
            self.args.step_timeout,
            f"day {n}'s rounds",
        )
        self.wait(lambda: self.prompts_sent(routine), self.args.step_timeout, f"day {n}'s prompts")
        by_line_id = self.line_ids()
        log(f"day {n}: {len(routine)} rounds open, prompts sent; members answer")
        self.answer({by_line_id[r.group_id]: r.id for r in routine})

        if emergency:
            self.earthquake(n, by_line_id)

        following = morning + timedelta(days=1) - timedelta(minutes=30)
        self.move_clock_to(following.astimezone(UTC))
        self.wait(self.routine_closed(routine), self.args.step_timeout, f"day {n}'s summaries")
        log(f"day {n}: summaries due and closed")

    def earthquake(self, n: int, by_line_id: dict[int, str]) -> None:
        from models import Round

        at = self.sim_now()
        body, event_id = harness.telegram_moved_to_now(TELEGRAM, at)
        name = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}_{n}_VXSE53_010000.xml"
        self.feed.publish(name, body)
        self.emergency_events.append(event_id)
        log(f"day {n}: earthquake telegram {name} published (event {event_id})")
        affected = self.args.groups // 2
        rounds = self.wait(
            lambda: (
                (r := list(Round.select().where(Round.event_id == event_id))) and len(r) >= affected and r
            ),
            self.args.step_timeout,
            f"day {n}'s emergency rounds",
        )
        self.wait(lambda: self.prompts_sent(rounds), self.args.step_timeout, f"day {n}'s emergency prompts")
        log(f"day {n}: {len(rounds)} emergency rounds open; members answer")
        self.answer({by_line_id[r.group_id]: r.id for r in rounds})
        self.move_clock_to(self.sim_now() + timedelta(hours=3, minutes=1))
        self.wait(self.routine_closed(rounds), self.args.step_timeout, f"day {n}'s emergency summaries")

    def routine_closed(self, rounds):
        from models import Round

        ids = [r.id for r in rounds]
        return lambda: Round.select().where(Round.id.in_(ids) & (Round.status == "open")).count() == 0

    def line_ids(self) -> dict[int, str]:
        from models import Group

        return {g.id: g.line_group_id for g in Group.select(Group.id, Group.line_group_id)}

    # -- the audit -------------------------------------------------------- #

    def audit(self) -> dict:
        from domain.kinds import OutboxState, Purpose
        from models import Answer, Member, Outbox, Person, Round

        pushes = self.line.pushes()
        statuses = Counter(str(p["status"]) for p in pushes)
        outbox = {
            o.retry_key: o
            for o in Outbox.select(Outbox.retry_key, Outbox.purpose, Outbox.round, Outbox.to).where(
                Outbox.retry_key.is_null(False)
            )
        }
        # A push LINE took: answered 200, or refused later with 409 because its
        # retry key had been taken (the first answer was lost: a timeout, a 500
        # after delivery).  Each retry key is one message in the chat.
        delivered_keys = {p["retry_key"] for p in pushes if p["status"] in (200, 409) and p["retry_key"]}
        accepted: dict[tuple[str, int], int] = Counter()
        unexplained = sum(1 for p in pushes if p["status"] == 200 and not p["retry_key"])
        for key in delivered_keys:
            row = outbox.get(key)
            if row is None:
                unexplained += 1
                continue
            accepted[(row.purpose, row.round_id)] += 1

        rounds = list(Round.select())
        prompt_counts = Counter(accepted[(Purpose.PROMPT, r.id)] for r in rounds)
        closed = [r for r in rounds if r.status == "closed"]
        summary_counts = Counter(accepted[(Purpose.SUMMARY, r.id)] for r in closed)

        # Every answer LINE delivered is stored with the kind tapped.
        stored = {
            (a.round_id, line_user_id): a.kind
            for a, line_user_id in (
                (a, a.member.person.line_user_id)
                for a in Answer.select(Answer, Member, Person).join(Member).join(Person)
            )
        }
        delivered = [t for t in self.taps if t["status"] == 200]
        missing = [t for t in delivered if (t["_round"], t["user_id"]) not in stored]
        wrong = [
            t
            for t in delivered
            if (t["_round"], t["user_id"]) in stored and stored[(t["_round"], t["user_id"])] != t["_kind"]
        ]
        # Each 助けが必要 is told to its group once: by a reply, or by a push when
        # the reply token had expired (the outbox row for the push is a new one).
        helps = Counter(t["group_id"] for t in delivered if t["_kind"] == "help")
        alerts = Counter(
            o.to
            for o in Outbox.select(Outbox.to).where(
                (Outbox.purpose == Purpose.HELP_ALERT) & (Outbox.state == OutboxState.SENT)
            )
        )
        left = Outbox.select().where(Outbox.state.in_([OutboxState.PENDING, OutboxState.SENDING])).count()
        failed = Outbox.select().where(Outbox.state == OutboxState.FAILED).count()
        # What went wrong, row by row, for whoever reads the results.
        unsummarised = [r.id for r in closed if accepted[(Purpose.SUMMARY, r.id)] != 1]
        anomalies = [
            {
                "id": o.id,
                "purpose": o.purpose,
                "round": o.round_id,
                "state": o.state,
                "attempts": o.attempts,
                "last_status": o.last_status,
                "last_error": (o.last_error or "")[:200],
            }
            for o in Outbox.select().where(
                Outbox.state.in_([OutboxState.PENDING, OutboxState.SENDING, OutboxState.FAILED])
                | (Outbox.round.in_(unsummarised or [0]) & (Outbox.purpose == Purpose.SUMMARY))
            )
        ]

        tokens = self.line.reply_tokens()
        acked = sum(1 for t in tokens if t.get("accepted_at") is not None)
        return {
            "rounds": len(rounds),
            "rounds_by_kind": dict(Counter(r.kind for r in rounds)),
            "rounds_closed": len(closed),
            "prompts_per_round": {str(k): v for k, v in sorted(prompt_counts.items())},
            "summaries_per_closed_round": {str(k): v for k, v in sorted(summary_counts.items())},
            "pushes_by_status": dict(statuses),
            "pushes_unexplained": unexplained,
            "taps": len(self.taps),
            "taps_delivered": len(delivered),
            "redeliveries": self.redeliveries,
            "answers_missing": len(missing),
            "answers_wrong_kind": len(wrong),
            "help_answers": sum(helps.values()),
            "help_alerts_sent": sum(alerts.values()),
            "groups_with_help_told_once_each": sum(1 for g, n in helps.items() if alerts[g] == n),
            "groups_with_help": len(helps),
            "outbox_left_unsent": left,
            "outbox_failed": failed,
            "anomalies": anomalies,
            "reply_tokens": len(tokens),
            "replies_accepted": acked,
        }


def reconnect() -> None:
    """The soak's own connection, again (after a PostgreSQL restart)."""
    from models import db

    with contextlib.suppress(Exception):
        db.close()
    with contextlib.suppress(Exception):
        db.connect(reuse_if_open=True)


def verdict(figures: dict) -> dict[str, bool]:
    return {
        "one_prompt_per_round": set(figures["prompts_per_round"]) == {"1"},
        "one_summary_per_closed_round": set(figures["summaries_per_closed_round"]) <= {"1"},
        "every_round_closed": figures["rounds_closed"] == figures["rounds"],
        "no_unexplained_push": figures["pushes_unexplained"] == 0,
        "every_answer_counted": figures["answers_missing"] == 0 and figures["answers_wrong_kind"] == 0,
        "every_help_told_once": figures["groups_with_help_told_once_each"] == figures["groups_with_help"]
        and figures["help_alerts_sent"] == figures["help_answers"],
        "nothing_left_unsent": figures["outbox_left_unsent"] == 0 and figures["outbox_failed"] == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--groups", type=int, default=12)
    parser.add_argument("--members", type=int, default=6)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--emergencies", type=int, default=2, help="days with an earthquake")
    parser.add_argument("--answer", type=float, default=0.85, help="share of members who answer")
    parser.add_argument("--help-share", type=float, default=0.05, help="share who tap 助けが必要")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per LINE API call")
    parser.add_argument("--chaos-every", type=float, default=15.0, help="seconds between chaos actions")
    parser.add_argument("--step-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.monotonic()
    work = harness.workdir("soak")
    with contextlib.ExitStack() as stack:
        postgres = PrivatePostgres(stack) if args.database == "postgresql" else None
        database_url = postgres.url if postgres else harness.prepare_database(work)
        harness.flush_redis()
        processes = harness.Processes(work / "logs")
        stack.callback(processes.close)
        feed = TricklingFeed()
        stack.callback(feed.close)
        port = harness.free_port()
        log(f"{args.groups} groups of {args.members}, {args.days} days, {args.database}; logs in {work}")
        line = harness.start_emulator(
            processes,
            work,
            groups=args.groups,
            members=args.members,
            shared_members=False,
            webhook_url=f"http://127.0.0.1:{port}/callback",
            latency=args.latency,
            rate_limit=None,
        )
        env = harness.bot_env(
            database_url,
            line.url,
            port,
            JMA_FEED_URL=feed.feed_url,
            DEMO_CLOCK="1",
            LINE_TIMEOUT="5",
        )
        harness.release(env)
        harness.open_models(database_url)
        seed(line.groups)
        soak = Soak(args, work, processes, line, feed, env, postgres)
        soak.ensure_running()
        harness.wait_until(lambda: harness._healthy(f"http://127.0.0.1:{port}"), 90, "the web process")
        chaos = threading.Thread(target=soak.chaos, daemon=True)
        chaos.start()
        failure = None
        try:
            emergency_days = set(range(args.days)[: args.emergencies])
            for n in range(args.days):
                soak.day(n, n in emergency_days)
        except RuntimeError as exc:
            failure = str(exc)
            log(f"stopped: {failure}")
        soak.stop_chaos.set()
        chaos.join(60)
        soak.ensure_running()
        log("chaos over; waiting for the bot to catch up")
        with contextlib.suppress(RuntimeError):
            soak.wait(soak.caught_up, 300, "the bot to catch up")
        reconnect()
        figures = soak.audit()
        figures["failure"] = failure
        figures["chaos"] = dict(sorted(soak.chaos_log.items()))
        figures["feed_trickled"] = feed.trickled
        figures["wall_s"] = round(time.monotonic() - started, 1)
        checks = verdict(figures)
        if failure:
            checks["finished"] = False
        print(json.dumps({"figures": figures, "verdict": checks}, ensure_ascii=False, indent=1))
        harness.write_results(
            "soak",
            {
                "args": vars(args),
                "machine": harness.machine(database_url),
                "figures": figures,
                "verdict": checks,
            },
        )
        return 0 if all(checks.values()) else 1


def seed(groups: list[dict]) -> None:
    """Every member registered, a daily 9:00 check, half the groups in 二戸市."""
    from domain.schedule import parse_schedule
    from models import Group, naive

    harness.seed_groups(groups, register_members=True)
    now = datetime.now(UTC)
    schedule = parse_schedule(SCHEDULE, now.astimezone(TZ).date())
    Group.update(schedule=schedule.to_spec(), next_round_at=naive(schedule.next_after(now, TZ))).execute()
    half = [g["group_id"] for g in groups[: len(groups) // 2]]
    Group.update(area_code=CITY, quake_threshold="4").where(Group.line_group_id.in_(half)).execute()


if __name__ == "__main__":
    sys.exit(main())
