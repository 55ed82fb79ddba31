"""Where an upload stands in its audit, in words a district or auditor reads on its page.

An upload's status follows its audit: once sampled its page says so, and once a
finding is final it says which.  One current finding per upload: the task of
the upload's latest plan that is not superseded, else its latest final one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

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
    """The audit standing of each listed upload that was ever sampled."""
    ids = sorted(set(evidence_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(AuditTask, AuditPlan.status)
        .join(AuditPlan, col(AuditPlan.id) == AuditTask.plan_id)
        .where(col(AuditTask.evidence_id).in_(ids))
        .order_by(col(AuditPlan.created_at), col(AuditTask.id))
    ).all()
    current: dict[str, tuple[AuditTask, str]] = {}
    for task, plan_status in rows:  # later plans win; a superseded plan only when it judged
        earlier = current.get(task.evidence_id)
        live = plan_status != PlanStatus.SUPERSEDED
        if earlier is None or live or task.status == TaskStatus.FINAL:
            current[task.evidence_id] = (task, plan_status)
    return {key: _standing(task) for key, (task, _status) in current.items()}


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
