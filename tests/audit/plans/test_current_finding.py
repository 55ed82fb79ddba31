"""One current finding per upload is a database constraint, not only the one-active-plan
rule: the database refuses a second current task for an upload (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from audit.plans.models import AuditTask
from audit.plans.plans import create_plan
from audit.plans.standing import standings
from tests.audit.plans.auditing import drawn_tasks
from tests.audit.plans.factories import finish, make_draw, make_plan


def current(session) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for task in session.exec(select(AuditTask).where(AuditTask.is_current)).all():
        found.setdefault(task.evidence_id, []).append(task.id)
    return found


def test_the_database_refuses_a_second_current_finding(session, tmp_path):
    [task] = drawn_tasks(session, tmp_path, {"036001": 1})
    assert current(session) == {task.evidence_id: [task.id]}
    other = make_plan(session, "la-2026-27", school_year="2026-27")
    values = {**task.model_dump(exclude={"id", "is_current"}), "plan_id": other.id}
    session.add(AuditTask(**values))  # another plan's task for the upload, not current: fine
    session.flush()
    session.add(AuditTask(**{**values, "plan_id": make_plan(
        session, "tn", state="TN").id, "is_current": True}))  # fmt: skip
    with pytest.raises(IntegrityError, match=r"(?i)unique"):
        session.flush()
    session.rollback()


def test_the_current_finding_moves_to_a_superseding_plan_and_back_only_if_judged(
    session, tmp_path
):
    [old] = drawn_tasks(session, tmp_path, {"036001": 1})
    finish(session, old, "discrepancy", "illegible")
    create_plan(session, name="la-2025-26-b", state="LA", school_year="2025-26",
                rules={"rule": "fixed", "fixed_count": 1, "uncorroborated_rate": "same"},
                actor="op", supersedes=old.plan_id)  # fmt: skip
    # superseded, but judged: its finding still stands until the new plan samples the upload
    assert current(session) == {old.evidence_id: [old.id]}
    assert standings(session, [old.evidence_id])[old.evidence_id].status == "discrepancy"
    make_draw(session, "la-2025-26-b", tmp_path / "b.csv")
    [new] = session.exec(select(AuditTask).where(AuditTask.plan_id == "la-2025-26-b")).all()
    assert current(session) == {old.evidence_id: [new.id]}
    assert standings(session, [old.evidence_id])[old.evidence_id].status == "sampled"
