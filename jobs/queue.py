"""The RQ queues.  Redis is disposable: it carries job ids, nothing else.

Four queues, by urgency; a worker takes from the first that has work
(``rq worker urgent events deliveries background``):

- ``urgent``: 助けが必要 events and their alerts — never behind ordinary taps;
- ``events``: every other webhook event (replies must beat the one-minute
  reply token);
- ``deliveries``: outbox rows the sweep found due (prompts, summaries,
  retries);
- ``background``: the JMA feed poll.

Enqueueing is best effort: if Redis is down or flushed, the rows in the
database stay due and the next pass enqueues them again.  Every job carries
an id chosen here and recorded on its rows, so a pass that finds rows whose
lease ran out asks Redis whether their job still exists (``live_jobs``) and
enqueues only what was really lost: a backlog cannot multiply itself.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job as RqJob
from rq.job import JobStatus

log = logging.getLogger(__name__)


class QueueName(StrEnum):
    URGENT = "urgent"
    EVENTS = "events"
    DELIVERIES = "deliveries"
    BACKGROUND = "background"


# In the order a worker serves them.
QUEUES = tuple(QueueName)


class Job(StrEnum):
    """The jobs workers run, by the dotted path RQ imports them from (RQ
    stores the name, so a job enqueued before a deploy still finds its
    function after it)."""

    PROCESS_EVENTS = "jobs.tasks.process_events"
    DELIVER_OUTBOX = "jobs.tasks.deliver_outbox"
    POLL_JMA = "jobs.jma_poll.poll_job"
    SEND_PACED = "jobs.paced.send_paced_job"
    REFRESH_LINE_ACCOUNT = "jobs.line_account.refresh_job"
    REFRESH_STATISTICS = "jobs.statistics.refresh_job"


# Seconds a job may run before RQ stops it.  Every network call inside has
# its own timeout; this is the backstop.
JOB_TIMEOUT = {
    Job.PROCESS_EVENTS: 120,
    Job.DELIVER_OUTBOX: 180,
    Job.POLL_JMA: 90,
    # A paced job sends one sweep batch (at most 500 pushes) at LINE's rate.
    Job.SEND_PACED: 300,
    Job.REFRESH_LINE_ACCOUNT: 60,
    # A cold year of 5,000 groups took about a minute (docs/console.md).
    Job.REFRESH_STATISTICS: 1800,
}
JOB_OPTIONS = {"result_ttl": 0, "failure_ttl": 7 * 24 * 3600}
# A job still in one of these states will run (or is running): its rows are
# not lost, however long they have waited.
_ALIVE = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED})
# How long past its timeout a job may still say "started" while its worker
# records the end (live_jobs).
STARTED_SLACK = timedelta(seconds=30)

_fake_lock = threading.Lock()
_fake = None


def redis_connection(url: str | None) -> Redis:
    """Real Redis at ``url``; with no URL, one in-process fakeredis shared by
    every thread of this process (the all-in-one ``make run``)."""
    global _fake
    if url:
        return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30)
    with _fake_lock:
        if _fake is None:
            import fakeredis

            _fake = fakeredis.FakeRedis()
        return _fake


def get_queue(connection: Redis, name: QueueName = QueueName.EVENTS) -> Queue:
    return Queue(name, connection=connection)


def all_queues(connection: Redis) -> list[Queue]:
    return [get_queue(connection, name) for name in QUEUES]


def new_job_id(func: Job) -> str:
    return f"{func.rsplit('.', 1)[1]}-{uuid.uuid4().hex}"


def enqueue_jobs(connection: Redis, queue: QueueName, func: Job, jobs: list[tuple[str, tuple]]) -> bool:
    """Enqueue ``func(*args)`` for each ``(job id, args)`` in one Redis
    pipeline; False (logged) if Redis is unavailable (the rows stay due in
    the database and the next pass enqueues them again)."""
    if not jobs:
        return True
    options = {**JOB_OPTIONS, "timeout": JOB_TIMEOUT[func]}
    try:
        get_queue(connection, queue).enqueue_many(
            [Queue.prepare_data(func, args=args, job_id=job_id, **options) for job_id, args in jobs]
        )
    except RedisError as exc:
        log.warning("could not enqueue %d x %s: %s", len(jobs), func, type(exc).__name__)
        return False
    return True


def enqueue(connection: Redis, queue: QueueName, func: Job, *args) -> str | None:
    """Put one ``func(*args)`` on ``queue``; its job id, or None if Redis is down."""
    job_id = new_job_id(func)
    return job_id if enqueue_jobs(connection, queue, func, [(job_id, args)]) else None


def live_jobs(connection: Redis, job_ids: set[str]) -> set[str] | None:
    """Which of ``job_ids`` are still queued or running; None if Redis cannot
    tell (then nothing is presumed lost).

    A job whose status says "queued" counts only while its id is in its
    queue: a worker killed while it waited in BLPOP can be handed a job in
    the moment before Redis sees its connection close, and that job then
    stays "queued" in no queue, for ever.  Callers ask only about jobs
    enqueued a lease ago, far longer than the moment between a worker
    taking a job and marking it started, and jobs are idempotent, so a job
    judged lost in that moment would run twice, harmlessly.

    Likewise a job that says "started" counts only until its timeout (and
    STARTED_SLACK) has passed since it started: RQ's death penalty stops a
    job that runs longer, so one still "started" then was running in a worker
    that was killed.  RQ itself would only notice at a worker's next
    maintenance, up to ten minutes later."""
    if not job_ids:
        return set()
    ids = sorted(job_ids)
    try:
        jobs = [job for job in RqJob.fetch_many(ids, connection=connection) if job is not None]
        waiting = [job for job in jobs if _status(job) == JobStatus.QUEUED]
        pipe = connection.pipeline(transaction=False)
        for job in waiting:
            pipe.lpos(Queue.redis_queue_namespace_prefix + job.origin, job.id)
        positions = pipe.execute() if waiting else []
    except RedisError as exc:
        log.warning("could not check %d job(s): %s", len(ids), type(exc).__name__)
        return None
    in_queue = {job.id for job, position in zip(waiting, positions, strict=True) if position is not None}
    now = datetime.now(UTC)
    alive = set()
    for job in jobs:
        status = _status(job)  # None, unreadable: presumed alive
        if status is not None and status not in _ALIVE:
            continue
        if status == JobStatus.QUEUED and job.id not in in_queue:
            continue  # taken from its queue by a worker that died
        if status == JobStatus.STARTED and _overdue(job, now):
            continue  # its worker died while running it
        alive.add(job.id)
    return alive


def _status(job: RqJob) -> JobStatus | None:
    try:
        return job.get_status(refresh=False)
    except ValueError:
        return None


def _overdue(job: RqJob, now: datetime) -> bool:
    started = job.started_at
    if started is None or not job.timeout or job.timeout < 0:
        return False
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return now - started > timedelta(seconds=job.timeout) + STARTED_SLACK
