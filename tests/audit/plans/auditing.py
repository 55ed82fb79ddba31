"""Drawn audit tasks and the people who work them, for the queue and response tests."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlmodel import Session, col, select

from access.principals import Principal, Role
from audit.plans.models import AuditTask
from tests.audit.plans.factories import make_draw, make_plan, make_upload


def auditor(name: str = "a1", state: str = "LA") -> Principal:
    return Principal(token_id=name, role=Role.AUDITOR, state=state)


def district(code: str = "036", state: str = "LA") -> Principal:
    return Principal(token_id=f"d{code}", role=Role.DISTRICT, state=state, district=code)


def drawn_tasks(
    session: Session, tmp_path: Path, per_school: dict[str, int], *, state: str = "LA",
    plan: str = "la-2025-26",
) -> list[AuditTask]:  # fmt: skip
    """Uploads in the named schools, a plan (3 per school), frozen and drawn: its tasks."""
    for school, count in per_school.items():
        for _ in range(count):  # evidence ids as the upload service makes them (32 hex)
            make_upload(session, state=state, school_code=school, district=school[:3],
                        evidence_id=uuid.uuid4().hex)  # fmt: skip
    make_plan(session, plan, state=state)
    make_draw(session, plan, tmp_path / f"{plan}.csv")
    query = select(AuditTask).where(AuditTask.plan_id == plan)
    return list(session.exec(query.order_by(col(AuditTask.ticket))))
