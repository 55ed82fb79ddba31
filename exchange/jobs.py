"""The job queue in the database: enqueue once per key, claim without collisions.

On PostgreSQL several workers claim with `SELECT ... FOR UPDATE SKIP LOCKED`,
so no job runs twice at once and none is lost; on SQLite one worker runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from eventlog.log import EventLog
from exchange.events import ExchangeEvent
from exchange.models import Job
from kernel.clock import utcnow
from kernel.errors import InvalidInput, NotFound
from kernel.rows import existing

LEASE = timedelta(minutes=30)  # default: a claim older than this belongs to a dead worker
MAX_ATTEMPTS = 5


def enqueue(session: Session, *, kind: str, target: str, key: str) -> bool:
    """Add a job unless one with `key` exists; True if this call added it."""
    if session.exec(select(Job.id).where(Job.key == key)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Job(key=key, kind=kind, target=target))
    except IntegrityError:  # another scheduler enqueued the same key first
        return False
    return True


def claim(
    session: Session, worker: str, *, lease: timedelta = LEASE, now: datetime | None = None
) -> Job | None:
    """Take the oldest runnable job; the caller commits at once so others see the claim."""
    now = now or utcnow()
    query = (
        select(Job)
        .where(col(Job.finished_at).is_(None), Job.run_after <= now)
        .where(or_(col(Job.claimed_at).is_(None), col(Job.claimed_at) <= now - lease))
        .order_by(col(Job.run_after), col(Job.id))
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job = session.exec(query).first()
    if job is None:
        return None
    job.claimed_by, job.claimed_at, job.attempts = worker, now, job.attempts + 1
    session.flush()
    return job


def finish(session: Session, job_id: int, error: str | None = None) -> None:
    """Done, or failed: retried later with backoff until MAX_ATTEMPTS, then given up."""
    job = existing(session, Job, job_id)
    if error is None or job.attempts >= MAX_ATTEMPTS:
        job.finished_at, job.error = utcnow(), error
    else:
        job.error, job.claimed_by, job.claimed_at = error, None, None
        job.run_after = utcnow() + timedelta(minutes=2**job.attempts)
    session.flush()


def state_of(job: Job, now: datetime | None = None) -> str:
    """pending | running | retrying | done | failed (given up)."""
    if job.finished_at is not None:
        return "failed" if job.error else "done"
    if job.claimed_at is not None:
        return "running"
    return "retrying" if job.error else "pending"


def list_jobs(session: Session, *, failed: bool = False, limit: int = 100) -> list[Job]:
    """Newest first; `failed`: jobs whose last attempt failed (retrying or given up)."""
    query = select(Job).order_by(col(Job.id).desc()).limit(limit)
    if failed:
        query = query.where(col(Job.error).is_not(None))
    return list(session.exec(query))


def retry(session: Session, job_id: int, actor: str) -> Job:
    """Run a job again now, with a fresh count of attempts (once its cause is fixed)."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}", hint="see `credx jobs list`")
    if job.claimed_at is not None and job.finished_at is None:
        raise InvalidInput(f"job {job_id} is running now; retry it once it has finished")
    job.finished_at = job.claimed_at = job.claimed_by = None
    job.attempts, job.run_after = 0, utcnow()
    session.flush()
    EventLog(session).record(ExchangeEvent.JOB_RETRIED, f"job:{job.key}", actor,
                             last_error=job.error)  # fmt: skip
    return job


def pending(session: Session) -> list[Job]:
    return list(
        session.exec(select(Job).where(col(Job.finished_at).is_(None)).order_by(col(Job.id)))
    )
