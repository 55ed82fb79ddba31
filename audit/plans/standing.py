"""Where an upload stands in its audit, in words a district or auditor reads on its page.

An upload's status follows its audit: once sampled its page says so, and once a
finding is final it says which.  One current finding per upload: the task of
the upload's latest plan that is not superseded, else its latest final one.  The
task is marked (`is_current`) when tasks are drawn or a plan is superseded, and a
partial unique index makes the database refuse a second current task for an upload.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from audit.plans.models import AuditPlan, AuditTask, FindingOutcome, PlanStatus, TaskStatus

WORDS = {
    TaskStatus.OPEN: "sampled for audit, not yet looked at",
    TaskStatus.ASSIGNED: "sampled for audit, with an auditor",
    TaskStatus.SECOND_REVIEW: "a possible discrepancy, awaiting a second auditor",
    TaskStatus.RE_REVIEW: "answered by the district, awaiting an auditor's re-review",
}


@dataclass(frozen=True)
class Standing:
    """`status` is a short key (`sampled`, `in_review`, `verified`, `discrepancy`,
    `re_review`); `words` the sentence a page shows."""

    evidence_id: str
    plan_id: str
    task_id: int
    status: str
    words: str
    discrepancy_type: str | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def standings(session: Session, evidence_ids: Iterable[str]) -> dict[str, Standing]:
    """The audit standing of each listed upload that was ever sampled: its current task."""
    found: dict[str, Standing] = {}
    for chunk in _chunks(sorted(set(evidence_ids))):
        rows = session.exec(select(AuditTask).where(
            col(AuditTask.evidence_id).in_(chunk), col(AuditTask.is_current).is_(True)))
        found.update({task.evidence_id: _standing(task) for task in rows.all()})
    return found


def refresh_current(session: Session, evidence_ids: Iterable[str]) -> None:
    """Mark the task whose finding stands for each upload (after tasks are drawn or a plan
    is superseded): the task of its latest plan not superseded, else its latest final one.
    A unique index on current tasks lets the database refuse a second one."""
    session.flush()
    for chunk in _chunks(sorted(set(evidence_ids))):
        chosen = [task.id for task in _current_tasks(session, chunk).values()]
        session.execute(update(AuditTask).where(col(AuditTask.evidence_id).in_(chunk),
                        col(AuditTask.is_current).is_(True)).values(is_current=False))
        session.execute(update(AuditTask).where(col(AuditTask.id).in_(chosen))
                        .values(is_current=True))  # fmt: skip
    for loaded in list(session.identity_map.values()):  # no stale flag is written back
        if isinstance(loaded, AuditTask):
            session.expire(loaded, ["is_current"])


def _current_tasks(session: Session, ids: list[str]) -> dict[str, AuditTask]:
    rows = session.exec(
        select(AuditTask, AuditPlan.status)
        .join(AuditPlan, col(AuditPlan.id) == AuditTask.plan_id)
        .where(col(AuditTask.evidence_id).in_(ids))
        .order_by(col(AuditPlan.created_at), col(AuditTask.id))
    ).all()
    current: dict[str, AuditTask] = {}
    for task, plan_status in rows:  # later plans win; a superseded plan only when it judged
        live = plan_status != PlanStatus.SUPERSEDED
        if task.evidence_id not in current or live or task.status == TaskStatus.FINAL:
            current[task.evidence_id] = task
    return current


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    return (ids[start : start + size] for start in range(0, len(ids), size))


def _standing(task: AuditTask) -> Standing:
    status, words = _words(task)
    return Standing(
        evidence_id=task.evidence_id, plan_id=task.plan_id, task_id=task.id or 0,
        status=status, words=words, discrepancy_type=task.final_type,
    )  # fmt: skip


def _words(task: AuditTask) -> tuple[str, str]:
    if task.status == TaskStatus.FINAL:
        if task.final_outcome == FindingOutcome.VERIFIED:
            return "verified", "verified by the state's audit"
        kind = (task.final_type or "discrepancy").replace("_", " ")
        return "discrepancy", f"discrepancy confirmed by the state's audit ({kind})"
    if task.status == TaskStatus.RE_REVIEW:
        return "re_review", WORDS[TaskStatus.RE_REVIEW]
    key = "in_review" if task.status == TaskStatus.SECOND_REVIEW else "sampled"
    return key, WORDS[TaskStatus(task.status)]
