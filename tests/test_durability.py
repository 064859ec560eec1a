"""Killing a process or flushing Redis loses nothing and doubles nothing.

Each test breaks something at the worst moment and checks that every group
still gets exactly one prompt and exactly one summary.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rq.job import Job as RqJob
from rq.utils import utcformat

from jobs import runtime
from jobs.delivery import CLAIM_LEASE, ENQUEUE_LEASE, claim
from jobs.dispatch import EVENT_ENQUEUE_LEASE
from jobs.queue import QUEUES, STARTED_SLACK, live_jobs
from jobs.scheduler import dispatch_once
from jobs.sweep import close_due_rounds
from models import Group, Member, Outbox, Round, WebhookEvent, db
from services import clock
from services.outbox import REPLY_LIFETIME, add_push
from tests.conftest import REDIS_URL
from tests.support import HANAKO, ICHIRO, setup_group

ROOT = Path(__file__).resolve().parent.parent


def open_round(world, group_id):
    world.say(group_id, HANAKO, "/確認")
    return Round.get()


def summaries(world, group_id):
    return [t for t in world.bot_texts(group_id) if "無事がまだ確認できていません" in t or "全員の無事" in t]


def test_it_survives_a_crash_between_state_change_and_push(world):
    group_id = setup_group(world, "毎日 9:00")
    world.advance(24 * 3600)
    world.sweep()  # the round opens and its prompt is queued ...
    world.redis.flushdb()  # ... and the job is lost before any worker ran it
    world.work()
    assert Round.select().count() == 1
    prompt = Outbox.get(Outbox.purpose == "prompt")
    assert prompt.state == "pending"

    world.advance(ENQUEUE_LEASE.total_seconds() + 1)
    world.tick()
    assert Outbox.get_by_id(prompt.id).state == "sent"
    assert len(world.prompts(group_id)) == 1


def test_it_survives_a_worker_dying_mid_send(world):
    group_id = setup_group(world)
    open_round(world, group_id)
    world.advance(23 * 3600)
    # A worker claims the summary and dies before it can call LINE.
    world.sweep()
    world.redis.flushdb()
    summary = Outbox.get(Outbox.purpose == "summary")
    assert claim([summary.id], clock.now())
    world.tick()
    assert Outbox.get_by_id(summary.id).state == "sending"  # still leased to the dead worker
    world.advance(CLAIM_LEASE.total_seconds() + 1)
    world.tick()
    row = Outbox.get_by_id(summary.id)
    assert row.state == "sent" and row.attempts == 2
    assert len(summaries(world, group_id)) == 1


def test_it_reuses_the_retry_key_after_a_500_that_was_delivered(world):
    group_id = setup_group(world)
    open_round(world, group_id)
    world.advance(23 * 3600)
    world.line.inject_fault("/v2/bot/message/push", "500_after_delivery")
    world.tick()
    row = Outbox.get(Outbox.purpose == "summary")
    assert row.state == "pending" and row.last_status == 500
    world.advance(60)
    world.tick()
    row = Outbox.get_by_id(row.id)
    assert row.state == "sent" and row.last_status == 409
    keys = [p["retry_key"] for p in world.pushes()]
    assert keys == [row.retry_key, row.retry_key]
    assert len(summaries(world, group_id)) == 1
    assert world.line.usage()["total"] == 3


def test_it_retries_after_a_timeout_without_sending_twice(world):
    group_id = setup_group(world)
    open_round(world, group_id)
    world.advance(23 * 3600)
    # LINE takes longer than our timeout (2 s in tests) but does deliver.
    world.line.inject_fault("/v2/bot/message/push", "timeout", delay=world.settings.line_timeout + 1)
    world.tick()
    row = Outbox.get(Outbox.purpose == "summary")
    assert row.state == "pending" and row.last_error
    world.advance(60)
    world.tick()
    assert Outbox.get_by_id(row.id).state == "sent"
    assert len(summaries(world, group_id)) == 1


def test_it_backs_off_on_429_and_sends_later(world):
    group_id = setup_group(world)
    open_round(world, group_id)
    world.advance(23 * 3600)
    world.line.inject_fault("/v2/bot/message/push", "429", times=2)
    world.tick()
    row = Outbox.get(Outbox.purpose == "summary")
    assert row.state == "pending" and row.last_status == 429
    assert summaries(world, group_id) == []  # 429 means nothing was sent
    world.tick()  # not due yet: backoff
    assert Outbox.get_by_id(row.id).attempts == 1
    for _ in range(3):
        world.advance(30)
        world.tick()
    row = Outbox.get_by_id(row.id)
    assert row.state == "sent" and row.attempts == 3
    assert len(summaries(world, group_id)) == 1


def test_it_records_permanent_errors_and_does_not_retry(world):
    group_id = setup_group(world)
    open_round(world, group_id)
    # The bot is removed but the leave webhook never reaches us, so we still
    # think we are in the group; LINE refuses pushes to it with a 400.
    webhook_url, world.line.webhook_url = world.line.webhook_url, None
    world.line.remove_bot(group_id)
    world.line.webhook_url = webhook_url
    world.advance(23 * 3600)
    world.tick()
    row = Outbox.get(Outbox.purpose == "summary")
    assert row.state == "failed" and row.last_status == 400
    world.advance(3600)
    world.tick()
    assert Outbox.get_by_id(row.id).attempts == 1


def test_it_never_retries_a_push_older_than_the_retry_key_lifetime(world):
    group_id = setup_group(world)
    open_round(world, group_id)
    world.advance(23 * 3600)
    world.line.inject_fault("/v2/bot/message/push", "500", times=1000)
    world.tick()
    world.advance(24 * 3600)
    world.tick()
    row = Outbox.get(Outbox.purpose == "summary")
    assert row.state == "expired"

    def attempts():
        return len([p for p in world.pushes() if p["retry_key"] == row.retry_key])

    pushes = attempts()
    world.line.clear_faults()
    world.advance(3600)
    world.tick()
    assert attempts() == pushes


def test_it_processes_events_whose_job_was_lost(world):
    group_id = world.group(HANAKO, ICHIRO)
    world.line.send_text(group_id, world.user(HANAKO), "/リーダー")
    dispatch_once()
    world.redis.flushdb()  # the job is lost before a worker takes it
    world.work()
    assert WebhookEvent.select().where(WebhookEvent.processed_at.is_null()).count() == 1
    world.tick()  # too soon: the job may just be waiting in a busy queue
    assert WebhookEvent.select().where(WebhookEvent.processed_at.is_null()).count() == 1
    world.advance(EVENT_ENQUEUE_LEASE.total_seconds() + 1)
    world.tick()
    assert WebhookEvent.select().where(WebhookEvent.processed_at.is_null()).count() == 0
    assert Member.get().is_leader
    assert "リーダーになりました" in world.last_text(group_id)  # in time for the reply token


def leader_command_taken_from_its_queue(world) -> tuple[str, str]:
    """Hanako's /リーダー, dispatched, and its job taken from its queue by a
    worker that never finishes it.  Returns (group id, job id)."""
    group_id = world.group(HANAKO, ICHIRO)
    world.line.send_text(group_id, world.user(HANAKO), "/リーダー")
    dispatch_once()
    job_id = WebhookEvent.get(WebhookEvent.processed_at.is_null()).job_id
    for queue in QUEUES:
        world.redis.lrem(f"rq:queue:{queue.value}", 0, job_id)
    return group_id, job_id


def test_it_processes_an_event_whose_job_a_dying_worker_took(world):
    # A worker killed while it waits in BLPOP can be handed the next job in
    # the moment before Redis sees its connection close: the job then says
    # "queued" but is in no queue, and would wait for ever.
    group_id, job_id = leader_command_taken_from_its_queue(world)
    assert RqJob.fetch(job_id, connection=world.redis).get_status() == "queued"
    world.tick()  # too soon: a live worker may just be starting it
    assert WebhookEvent.select().where(WebhookEvent.processed_at.is_null()).count() == 1
    world.advance(EVENT_ENQUEUE_LEASE.total_seconds() + 1)
    world.tick()
    assert WebhookEvent.select().where(WebhookEvent.processed_at.is_null()).count() == 0
    assert "リーダーになりました" in world.last_text(group_id)


def test_it_processes_an_event_whose_worker_died_while_running_it(world):
    # A worker takes the job, starts it and is SIGKILLed: it says "started" for ever.
    group_id, job_id = leader_command_taken_from_its_queue(world)
    job = RqJob.fetch(job_id, connection=world.redis)
    with world.redis.pipeline() as pipe:
        job.prepare_for_execution("a-worker-that-was-killed", pipe)
        pipe.execute()
    world.advance(EVENT_ENQUEUE_LEASE.total_seconds() + 1)
    world.tick()  # started a moment ago: it may still be running
    assert WebhookEvent.select().where(WebhookEvent.processed_at.is_null()).count() == 1
    # Longer ago than its timeout: RQ's death penalty would have ended it.
    long_ago = datetime.now(UTC) - timedelta(seconds=job.timeout) - STARTED_SLACK - timedelta(seconds=1)
    world.redis.hset(job.key, "started_at", utcformat(long_ago))
    world.advance(EVENT_ENQUEUE_LEASE.total_seconds() + 1)
    world.tick()
    assert WebhookEvent.select().where(WebhookEvent.processed_at.is_null()).count() == 0
    assert "リーダーになりました" in world.last_text(group_id)


def test_it_keeps_a_job_that_still_waits_in_its_queue(world, redis_conn):
    group_id = world.group(HANAKO, ICHIRO)
    world.line.send_text(group_id, world.user(HANAKO), "/リーダー")
    dispatch_once()
    job_id = WebhookEvent.get(WebhookEvent.processed_at.is_null()).job_id
    assert live_jobs(redis_conn, {job_id}) == {job_id}  # a busy queue: not lost, not doubled
    world.redis.flushdb()
    assert live_jobs(redis_conn, {job_id}) == set()


def test_it_lets_a_reply_expire_rather_than_send_it_late(world):
    group_id = world.group(HANAKO, ICHIRO)
    world.line.send_text(group_id, world.user(HANAKO), "/リーダー")
    dispatch_once()
    world.redis.flushdb()
    world.advance(REPLY_LIFETIME.total_seconds() + 1)  # the whole system was down
    world.tick()
    assert Member.get().is_leader  # the command still took effect ...
    row = Outbox.get(Outbox.kind == "reply", Outbox.purpose == "command")
    assert row.state == "expired"  # ... but its stale reply was not attempted
    assert "リーダーになりました" not in " ".join(world.bot_texts(group_id))


def test_it_processes_each_event_once_however_often_it_is_enqueued(world):
    group_id = world.group(HANAKO, ICHIRO)
    world.join(group_id, HANAKO)
    world.lead(group_id)
    world.line.send_text(group_id, world.user(HANAKO), "/確認")
    event = WebhookEvent.select().order_by(WebhookEvent.id.desc()).get()
    from jobs.queue import Job, QueueName, enqueue

    for _ in range(3):
        enqueue(runtime.connection(), QueueName.EVENTS, Job.PROCESS_EVENTS, [event.id])
    world.work()
    assert Round.select().count() == 1
    assert len(world.prompts(group_id)) == 1


def test_it_sends_one_summary_when_sweeps_race(world):
    group_id = setup_group(world)
    open_round(world, group_id)
    world.advance(23 * 3600)
    now = clock.now()
    barrier = threading.Barrier(4)
    results = []

    def racer():
        with db.connection_context():
            barrier.wait()
            results.append(close_due_rounds(now, world.settings))

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert Outbox.select().where(Outbox.purpose == "summary").count() == 1


def test_it_sends_one_summary_when_two_worker_processes_race(world, database_url):
    group_id = setup_group(world)
    open_round(world, group_id)
    world.advance(23 * 3600)
    with db.atomic():
        close_due_rounds(clock.now(), world.settings)
    summary = Outbox.get(Outbox.purpose == "summary")
    from jobs.queue import Job, QueueName, enqueue

    for _ in range(6):  # the same job, many times over
        enqueue(runtime.connection(), QueueName.DELIVERIES, Job.DELIVER_OUTBOX, [summary.id])
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "LINE_CHANNEL_SECRET": world.settings.channel_secret,
        "LINE_CHANNEL_ACCESS_TOKEN": world.settings.access_token,
        "SECRET_KEY": "test-secret-key-" + "0" * 32,
        "LINE_API_BASE_URL": world.settings.line_api_base_url,
        "DEMO_CLOCK": "1",
    }
    workers = [
        subprocess.Popen(
            # The Procfile's worker, in burst mode.
            [
                sys.executable,
                "-m",
                "rq.cli",
                "worker",
                "-w",
                "jobs.worker.Worker",
                "--burst",
                "--url",
                REDIS_URL,
            ]
            + [q.value for q in QUEUES],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for proc in workers:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()[-2000:]
    row = Outbox.get_by_id(summary.id)
    assert row.state == "sent" and row.attempts == 1, (
        row.state,
        row.attempts,
        row.last_status,
        row.last_error,
    )
    assert len(summaries(world, group_id)) == 1
    assert len(world.pushes()) == 1


def test_it_folds_a_routine_round_into_the_open_one_and_says_so(world):
    group_id = setup_group(world)
    manual = open_round(world, group_id)
    # The routine time comes an hour into the leader's /確認.
    local = (clock.now() + timedelta(hours=1)).astimezone(world.settings.tz)
    world.say(group_id, HANAKO, f"/設定 毎日 {local.hour}:{local.minute:02d}")
    world.advance(3600 + 60)
    world.tick()
    assert Round.select().count() == 1
    assert Round.get().kind == "manual"  # members are being asked already: one prompt
    assert len(world.prompts(group_id)) == 1
    assert Round.get().skipped_routine_at is not None
    world.advance(22 * 3600)
    world.tick()
    [summary] = summaries(world, group_id)
    assert (
        f"{local.hour}時{local.minute:02d}分の定期の確認は、この確認と重なったため、お休みしました" in summary
    )
    assert Round.get_by_id(manual.id).status == "closed"


def test_it_closes_a_round_whose_summary_is_due_before_the_next_opens(world):
    group_id = setup_group(world)
    open_round(world, group_id)
    # The routine check falls at 23.5 hours from now: half an hour after the
    # leader's round's summary, so both are due at the next tick.
    at = (clock.now() - timedelta(minutes=30)).astimezone(world.settings.tz)
    world.say(group_id, HANAKO, f"/設定 毎日 {at.hour}:{at.minute:02d}")
    world.advance(23.5 * 3600 + 60)
    world.tick()
    assert [(r.kind, r.status) for r in Round.select().order_by(Round.id)] == [
        ("manual", "closed"),
        ("routine", "open"),
    ]
    assert len(summaries(world, group_id)) == 1 and len(world.prompts(group_id)) == 2


def test_it_forgets_message_text_once_processed_and_old_events_later(world):
    group_id = world.group(HANAKO, ICHIRO)
    world.say(group_id, ICHIRO, "今日は病院に行きます")  # ordinary chatter
    assert all(e.payload == "{}" for e in WebhookEvent.select())  # no message text kept
    world.advance(8 * 24 * 3600)
    world.tick()
    assert WebhookEvent.select().count() == 0


def test_it_fails_a_message_the_sdk_refuses_without_retrying(world):
    setup_group(world)
    group = Group.get()
    # Six messages: more than LINE allows in one request; the SDK refuses it.
    row = add_push(group, [{"type": "text", "text": str(i)} for i in range(6)], "notice", clock.now())
    world.tick()
    row = Outbox.get_by_id(row.id)
    assert row.state == "failed" and "invalid message" in row.last_error
    world.advance(3600)
    world.tick()
    assert Outbox.get_by_id(row.id).attempts == 1
