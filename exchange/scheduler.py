"""`credx worker`: the scheduler that only enqueues, and the loop that claims and runs.

APScheduler 3's maintainers are explicit that its job stores must never be
shared between processes, so APScheduler here is only a clock: the elected
scheduler (a PostgreSQL advisory lock; on SQLite the single worker) enqueues
one job per connector and business date, with a unique key, and every
worker claims jobs from the database.  A run that was missed while no worker
was up is enqueued once when one starts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Connection, text

from eventlog.log import EventLog
from exchange.connectors import ConnectorConfig
from exchange.events import ExchangeEvent
from exchange.jobs import claim, enqueue, finish
from exchange.models import Job
from exchange.pulls import list_connectors
from exchange.resources import Resources
from kernel.clock import utcnow
from kernel.database import unit_of_work
from kernel.rows import key_of

log = logging.getLogger("credx.worker")
SCHEDULER_LOCK_ID = 0x637265647802
LOOKBACK = timedelta(days=2)  # how far back a missed run is still made up


def last_fire_time(schedule: str, timezone: str, now: datetime) -> datetime | None:
    """The latest time at or before `now` the cron schedule fired (within LOOKBACK)."""
    trigger = CronTrigger.from_crontab(schedule, timezone=timezone)
    fire, previous = trigger.get_next_fire_time(None, now - LOOKBACK), None
    while fire is not None and fire <= now:
        previous = fire
        fire = trigger.get_next_fire_time(previous, previous + timedelta(seconds=1))
    return previous


def enqueue_due(app: Resources, now: datetime | None = None) -> list[str]:
    """Enqueue each connector's latest due run, today's purge and (with a witness) today's
    log checkpoint; keys make it idempotent."""
    now = now or utcnow()
    added = []
    with unit_of_work(app.engine) as session:
        for connector in list_connectors(session):
            config = ConnectorConfig.model_validate_json(connector.config)
            fired = last_fire_time(config.schedule, config.timezone, now)
            if fired is None:
                continue
            key = f"pull:{config.name}:{fired.date().isoformat()}"
            if enqueue(session, kind="pull", target=config.name, key=key):
                added.append(key)
        key = f"purge:retention:{now.date().isoformat()}"
        if enqueue(session, kind="purge", target="retention", key=key):
            added.append(key)
        key = f"checkpoint:log:{now.date().isoformat()}"  # witnessed daily, when configured
        if app.settings.checkpoint_witness_url and enqueue(
            session, kind="checkpoint", target="log", key=key
        ):
            added.append(key)
    return added


JobHandler = Callable[[Resources, Job, str], None]
"""Runs one claimed job: (resources, the job, the worker's name)."""


def run_next(app: Resources, worker: str, handlers: Mapping[str, JobHandler]) -> Job | None:
    """Claim one job, run it with the handler for its kind, record the result.

    None when nothing is runnable.  The handlers come from the process that
    runs the worker (`credx.jobs`): the queue knows no job's domain.
    """
    lease = timedelta(seconds=app.settings.worker_lease_seconds)
    with unit_of_work(app.engine) as session:  # committed at once: other workers see the claim
        job = claim(session, worker, lease=lease)
    if job is None:
        return None
    error = None
    try:
        handler = handlers.get(job.kind)
        if handler is None:
            raise LookupError(f"no handler for jobs of kind {job.kind!r}")
        handler(app, job, worker)
    except Exception as exc:  # recorded and retried; the worker itself goes on
        error = f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", job.key)
    with unit_of_work(app.engine) as session:
        finish(session, key_of(job), error)
        EventLog(session).record(
            ExchangeEvent.JOB_FINISHED, f"job:{job.key}", f"worker:{worker}", error=error
        )
    return job


def run_until_idle(app: Resources, worker: str, handlers: Mapping[str, JobHandler]) -> int:
    done = 0
    while run_next(app, worker, handlers) is not None:
        done += 1
    return done


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SchedulerLease:
    """Who may enqueue: on PostgreSQL the holder of an advisory lock (released if the
    holder dies, so another worker takes over); on SQLite the one worker."""

    def __init__(self, app: Resources):
        self.app = app
        self.connection: Connection | None = None

    def held(self) -> bool:
        if self.app.engine.dialect.name != "postgresql":
            return True
        if self.connection is None:
            self.connection = self.app.engine.connect()
        acquired = self.connection.execute(
            text("SELECT pg_try_advisory_lock(:id)"), {"id": SCHEDULER_LOCK_ID}
        ).scalar()
        # Ends the statement's transaction only: the advisory lock is the session's, held
        # until this connection closes; an open transaction would pin old snapshots.
        self.connection.commit()
        return bool(acquired)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def run_worker(
    app: Resources, handlers: Mapping[str, JobHandler], *, stop: threading.Event | None = None
) -> None:
    """Run until `stop` is set: a clock thread enqueues (when this worker holds the lease)
    every minute and once at start; this thread claims and runs jobs."""
    stop = stop or threading.Event()
    worker, lease = worker_name(), SchedulerLease(app)

    def tick() -> None:
        if lease.held():
            enqueue_due(app)

    clock = BackgroundScheduler(timezone=UTC)
    clock.add_job(tick, "interval", minutes=1, next_run_time=datetime.now(UTC))
    clock.start()
    try:
        while not stop.is_set():
            if run_next(app, worker, handlers) is None:
                stop.wait(app.settings.worker_poll_seconds)
    finally:
        clock.shutdown(wait=False)
        lease.close()
