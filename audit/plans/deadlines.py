"""Answer deadlines coming up: a discrepancy a district has not answered, due within days.

Recorded once per finding as `audit:deadline:near` (the notification outbox
tells the district); a run again the same day, or the next, adds nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from audit.events import AuditEvent
from audit.plans.models import AuditTask, DistrictResponse, FindingOutcome, TaskStatus
from eventlog.log import EventLog
from kernel.clock import utcnow

WARN_DAYS = 3


def record_deadlines_near(
    session: Session, *, response_days: int, actor: str, now: datetime | None = None,
    warn_days: int = WARN_DAYS,
) -> list[int]:  # fmt: skip
    """Tasks whose answer is due within `warn_days` and not given: each logged once."""
    now = now or utcnow()
    answered = select(DistrictResponse.task_id)
    tasks = session.exec(
        select(AuditTask).where(
            AuditTask.status == TaskStatus.FINAL,
            AuditTask.final_outcome == FindingOutcome.DISCREPANCY,
            col(AuditTask.final_at) > now - timedelta(days=response_days),
            col(AuditTask.final_at) <= now - timedelta(days=max(response_days - warn_days, 0)),
            col(AuditTask.id).not_in(answered),
        )
    ).all()
    log, warned = EventLog(session), []
    for task in tasks:
        subject = f"audit_task:{task.id}"
        if any(e.action == AuditEvent.AUDIT_DEADLINE_NEAR for e in log.for_subject(subject)):
            continue
        assert task.final_at is not None and task.id is not None  # selected as final
        respond_by = task.final_at + timedelta(days=response_days)
        log.record(AuditEvent.AUDIT_DEADLINE_NEAR, subject, actor,
                   respond_by=respond_by.isoformat())  # fmt: skip
        warned.append(task.id)
    return warned
