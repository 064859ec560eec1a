"""The RQ queue.  Redis is disposable: it carries job ids, nothing else.

Enqueueing is best effort: if Redis is down or flushed, the row in the
database stays due and the sweep enqueues it again.
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

log = logging.getLogger(__name__)

QUEUE_NAME = "tsunagari"


class Job(StrEnum):
    """The jobs workers run, by the dotted path RQ imports them from (RQ
    stores the name, so a job enqueued before a deploy still finds its
    function after it)."""

    PROCESS_EVENT = "jobs.tasks.process_event"
    DELIVER_OUTBOX = "jobs.tasks.deliver_outbox"
    POLL_JMA = "jobs.jma_poll.poll_job"


_fake_lock = threading.Lock()
_fake = None


def redis_connection(url: str | None) -> Redis:
    """Real Redis at ``url``; with no URL, one in-process fakeredis shared by
    every thread of this process (the all-in-one ``make run``)."""
    global _fake
    if url:
        return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
    with _fake_lock:
        if _fake is None:
            import fakeredis

            _fake = fakeredis.FakeRedis()
        return _fake


def get_queue(connection: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection)


JOB_OPTIONS = {"result_ttl": 0, "failure_ttl": 7 * 24 * 3600, "timeout": 300}


def enqueue_many(connection: Redis, func: Job, arg_tuples: list[tuple]) -> bool:
    """Enqueue ``func(*args)`` for each args tuple in one Redis pipeline;
    False (logged) if Redis is unavailable (the rows stay due in the
    database and the next pass enqueues them again)."""
    if not arg_tuples:
        return True
    queue = get_queue(connection)
    try:
        queue.enqueue_many([Queue.prepare_data(func, args=args, **JOB_OPTIONS) for args in arg_tuples])
    except RedisError as exc:
        log.warning("could not enqueue %d x %s: %s", len(arg_tuples), func, type(exc).__name__)
        return False
    return True


def enqueue(connection: Redis, func: Job, *args) -> bool:
    """Put one ``func(*args)`` on the queue (see enqueue_many)."""
    return enqueue_many(connection, func, [args])
