"""An escalation is never lost or doubled: the same fault, crash and
Redis-flush guarantees as group rounds.  Each test breaks something at the
worst moment and checks that every contact is told exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

from domain.kinds import EscalationState
from jobs import runtime
from jobs.delivery import CLAIM_LEASE, ENQUEUE_LEASE, QUOTA_BACKOFF, claim
from jobs.queue import Job, QueueName, enqueue
from jobs.sweep import escalate_due_watch_checks
from models import Escalation, Outbox, Person, WatchCheck, db
from services import clock, escalations
from tests.support import HANAKO, ICHIRO, JIRO

HOUR = 3600
YAMADA = "山田太郎"


def watched(world, *contacts: str) -> None:
    world.follow(HANAKO)
    world.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    for contact in contacts:
        world.link_contact(HANAKO, contact)
    now = clock.now().astimezone(world.settings.tz)
    nine = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if nine <= now:
        nine += timedelta(days=1)
    world.advance((nine - now).total_seconds() + 1)
    world.tick()  # the check goes out
    world.advance(12 * HOUR)  # and nobody answers


def told(world, contact: str) -> list[str]:
    return [t for t in world.chat_texts(contact) if t.startswith("佐藤花子さんからお返事がありません")]


def escalation_rows():
    return Outbox.select().where(Outbox.purpose == "watch-escalation")


def test_an_escalation_survives_a_redis_flush_after_the_sweep(world):
    watched(world, ICHIRO, JIRO)
    world.sweep()  # the escalation and its pushes are written, the paced job queued ...
    world.redis.flushdb()  # ... and lost before any worker ran it
    world.work()
    assert Escalation.select().count() == 1
    assert [r.state for r in escalation_rows()] == ["pending", "pending"]
    world.tick()  # too soon: the paced job may just be waiting in a busy queue
    assert told(world, ICHIRO) == []
    world.advance(ENQUEUE_LEASE.total_seconds() + 1)
    world.tick()
    assert [r.state for r in escalation_rows()] == ["sent", "sent"]
    assert len(told(world, ICHIRO)) == 1 and len(told(world, JIRO)) == 1
    world.advance(HOUR)
    world.tick()
    assert len(told(world, ICHIRO)) == 1 and Escalation.select().count() == 1


def test_a_500_after_delivery_does_not_tell_anyone_twice(world):
    watched(world, ICHIRO, JIRO)
    world.line.inject_fault("/v2/bot/message/push", "500_after_delivery", times=2)
    world.tick()
    assert {r.last_status for r in escalation_rows()} == {500}
    world.advance(60)
    world.tick()
    rows = list(escalation_rows())
    assert [r.state for r in rows] == ["sent", "sent"] and {r.last_status for r in rows} == {409}
    for row in rows:
        keys = [p["retry_key"] for p in world.pushes() if p["retry_key"] == row.retry_key]
        assert len(keys) == 2  # the same key both times
    assert len(told(world, ICHIRO)) == 1 and len(told(world, JIRO)) == 1


def test_a_worker_dying_mid_send_is_taken_over_once(world):
    watched(world, ICHIRO)
    world.sweep()
    world.redis.flushdb()
    [row] = escalation_rows()
    assert claim([row.id], clock.now())  # a worker takes it and dies before calling LINE
    world.advance(ENQUEUE_LEASE.total_seconds() + 1)
    world.tick()
    assert Outbox.get_by_id(row.id).state == "sending"  # still leased to the dead worker
    world.advance(CLAIM_LEASE.total_seconds() + 1)
    world.tick()
    row = Outbox.get_by_id(row.id)
    assert row.state == "sent" and row.attempts == 2
    assert len(told(world, ICHIRO)) == 1


def test_sweeps_racing_escalate_each_check_once(world):
    watched(world, ICHIRO, JIRO)
    now = clock.now()
    barrier = threading.Barrier(4)
    results = []

    def racer():
        with db.connection_context():
            barrier.wait()
            results.append(escalate_due_watch_checks(now, world.settings, runtime.connection()))

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert Escalation.select().count() == 1 and escalation_rows().count() == 2
    world.work()
    assert len(told(world, ICHIRO)) == 1 and len(told(world, JIRO)) == 1


def test_contacts_racing_for_the_claim_leave_one_in_charge(world, database_url):
    watched(world, ICHIRO, JIRO, YAMADA)
    world.tick()
    escalation = Escalation.get()
    people = [Person.get(Person.line_user_id == world.user(name)) for name in (ICHIRO, JIRO, YAMADA)]
    now = clock.now()
    barrier = threading.Barrier(len(people))
    results = {}

    # As a job does: its transaction starts by writing (claiming its event),
    # which on SQLite takes the write lock at once.
    begin = (lambda: db.atomic("IMMEDIATE")) if database_url.startswith("sqlite") else db.atomic

    def racer(person):
        with db.connection_context():
            barrier.wait()
            with begin():
                results[person.id] = escalations.claim(escalation.id, person, now).result

    threads = [threading.Thread(target=racer, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == sorted(["won", "taken", "taken"])
    [winner] = [pid for pid, result in results.items() if result == "won"]
    escalation = Escalation.get_by_id(escalation.id)
    assert escalation.state == EscalationState.CLAIMED and escalation.claimed_by_id == winner
    assert Outbox.select().where(Outbox.purpose == "watch-claimed").count() == 2  # the two others, once


def test_the_paced_job_run_twice_sends_each_check_once(world):
    world.follow(HANAKO)
    world.say_one_to_one(HANAKO, "/見守り 毎日 9:00")
    now = clock.now().astimezone(world.settings.tz)
    nine = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if nine <= now:
        nine += timedelta(days=1)
    world.advance((nine - now).total_seconds() + 1)
    world.sweep()
    [check] = Outbox.select().where(Outbox.purpose == "watch-check")
    for _ in range(2):
        enqueue(runtime.connection(), QueueName.DELIVERIES, Job.SEND_PACED, [check.id])
    world.work()
    assert Outbox.get_by_id(check.id).state == "sent"
    assert len([t for t in world.chat_texts(HANAKO) if "いつもの見守りの確認です" in t]) == 1
    assert len([p for p in world.pushes() if p["retry_key"] == check.retry_key]) == 1


def test_an_escalation_waits_out_the_monthly_limit_rather_than_vanish(world):
    watched(world, ICHIRO)
    world.line.monthly_limit = world.line.usage()["total"]  # the month is spent
    world.tick()
    [row] = escalation_rows()
    assert row.state == "pending" and row.last_status == 429
    assert WatchCheck.get().state == "escalated" and Escalation.get().state == EscalationState.OPEN
    world.line.monthly_limit += 10  # the operator raised the limit
    world.advance(QUOTA_BACKOFF.total_seconds() + 1)
    world.tick()
    assert Outbox.get_by_id(row.id).state == "sent"
    assert len(told(world, ICHIRO)) == 1
