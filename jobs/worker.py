"""The worker process (Procfile: ``worker``)::

    rq worker -w jobs.worker.Worker --url $REDIS_URL urgent events deliveries background

A non-forking RQ worker, configured once per process.  RQ's default worker
forks a child per job, and each child then imported the LINE SDK (0.8 s
here) and opened a new connection to LINE: one join took 0.7 s of work and a
burst of taps queued for minutes.  This one loads everything when it starts
and runs every job in the same process, so the kept-alive connections to
LINE (bot/line_client.py) and the thread pool that overlaps LINE's latency
(jobs/runtime.py ``io_pool``) serve every job.

What a fork protected against, and how that is covered instead:

- a job that hangs: every network call has its own timeout (LINE_TIMEOUT,
  the JMA deadline), and RQ's death penalty (SIGALRM in this, the main
  thread, with each job's timeout from jobs/queue.py) stops a job that runs
  too long anyway;
- a job that crashes the process or leaks: the process manager restarts the
  worker, and nothing is lost — every job is found again from the database
  (the dispatcher and the sweep re-enqueue work whose job is gone);
- state left behind by a job: jobs keep none (the database is the truth).
  The process keeps one database connection between jobs (on PostgreSQL a
  new one costs a server process: 2 ms and more at a job every few
  milliseconds); a job that fails drops it, whatever it left open, and the
  next job opens a fresh one.
"""

from __future__ import annotations

from rq.worker import SimpleWorker

# Loaded before the first job, not during it.
import bot.events  # noqa: F401
import jobs.jma_poll
import jobs.tasks  # noqa: F401
from jobs import runtime
from models import db, drop_connection


class Worker(SimpleWorker):
    """SimpleWorker that configures the process's handles (settings, LINE
    client, Redis, thread pool) from the environment when it starts."""

    def __init__(self, *args, **kwargs):
        runtime.ensure_configured()
        super().__init__(*args, **kwargs)

    def perform_job(self, job, queue) -> bool:
        if db.is_closed():
            db.connect()
        succeeded = False
        try:
            succeeded = super().perform_job(job, queue)
        finally:
            if not succeeded:
                drop_connection()
        return succeeded
