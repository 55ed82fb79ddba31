"""The auditor queue on SQLite and PostgreSQL: taking tasks, findings, the second auditor."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from access.policy import Forbidden
from audit.plans.models import AuditFinding, AuditTask, TaskStatus
from audit.plans.queue import AuditQueue, Finding, TaskConflict, release_task_by_id
from eventlog.log import EventLog
from eventlog.models import Event
from exchange.evidence.models import Evidence
from exchange.models import ExamResult
from kernel.errors import InvalidInput, NotFound
from tests.audit.plans.auditing import auditor, district, drawn_tasks
from tests.audit.plans.factories import link, make_upload, vendor_result

VERIFIED = Finding.parse("verified", None, None)
WRONG_STUDENT = Finding.parse("discrepancy", "wrong_student", "name on the certificate differs")


def actions(session, subject: str) -> list[str]:
    return [event.action for event in EventLog(session).for_subject(subject)]


def test_next_task_is_the_lowest_ticket_and_stays_with_its_auditor(session, app, tmp_path):
    tasks = drawn_tasks(session, tmp_path, {"036001": 3, "036002": 3})
    queue = AuditQueue(session, app, auditor("a1"))
    first = queue.next_task()
    assert first is not None and first.id == tasks[0].id
    assert (first.status, first.assigned_to, first.version) == ("assigned", "token:a1", 2)
    assert queue.next_task().id == first.id  # unfinished: the same task again
    other = AuditQueue(session, app, auditor("a2")).next_task()
    assert other.id == tasks[1].id
    assert actions(session, f"audit_task:{first.id}") == ["audit:task:assigned"]


def test_verified_is_final_at_once_and_the_next_task_follows(session, app, tmp_path):
    tasks = drawn_tasks(session, tmp_path, {"036001": 2})
    queue = AuditQueue(session, app, auditor("a1"))
    task = queue.next_task()
    result = queue.record(task.id, VERIFIED, seen_version=task.version)
    assert result.task.status == "final" and result.task.final_outcome == "verified"
    assert result.finding.stage == 1
    assert queue.next_task().id == tasks[1].id
    assert "audit:finding:recorded" in actions(session, f"audit_task:{task.id}")


def test_a_discrepancy_waits_for_a_different_auditor_who_confirms_it(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 3})
    first, second = AuditQueue(session, app, auditor("a1")), AuditQueue(session, app, auditor("a2"))
    task = first.next_task()
    first.record(task.id, WRONG_STUDENT)
    assert task.status == TaskStatus.SECOND_REVIEW and task.assigned_to is None
    with pytest.raises(TaskConflict, match="awaits a second auditor"):
        first.record(task.id, VERIFIED)
    assert first.next_task().id != task.id  # never one's own discrepancy to review
    assert second.next_task().id == task.id  # second reviews come before open tasks
    view = second.view(task.id)
    assert view.stage == 2 and view.findings[0].type == "wrong_student"
    result = second.record(task.id, Finding.parse("discrepancy", None, None))
    assert (result.finding.decision, result.finding.type) == ("confirmed", "wrong_student")
    assert (task.status, task.final_outcome, task.final_type) == (
        "final",
        "discrepancy",
        "wrong_student",
    )
    assert task.final_at is not None


def test_the_second_auditor_may_overturn(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 1})
    first, second = AuditQueue(session, app, auditor("a1")), AuditQueue(session, app, auditor("a2"))
    task = first.next_task()
    first.record(task.id, WRONG_STUDENT)
    assert second.next_task().id == task.id
    assert second.record(task.id, VERIFIED).finding.decision == "overturned"
    assert (task.status, task.final_outcome, task.final_type) == ("final", "verified", None)
    stages = session.exec(select(AuditFinding.stage).where(AuditFinding.task_id == task.id))
    assert sorted(stages) == [1, 2]


def test_refusals_name_the_problem_and_write_nothing(session, app, tmp_path):
    tasks = drawn_tasks(session, tmp_path, {"036001": 2})
    mine = AuditQueue(session, app, auditor("a1"))
    task = mine.next_task()
    refused = []
    with pytest.raises(Forbidden, match="not assigned to you") as caught:
        AuditQueue(session, app, auditor("a2")).record(task.id, VERIFIED)
    refused.append(caught.value)
    with pytest.raises(Forbidden, match="not assigned to you") as caught:
        mine.record(tasks[1].id, VERIFIED)  # open, nobody's yet
    with pytest.raises(TaskConflict, match="changed since you loaded it") as caught:
        mine.record(task.id, VERIFIED, seen_version=task.version - 1)
    refused.append(caught.value)
    with pytest.raises(InvalidInput, match="needs a note") as caught:
        mine.record(task.id, Finding.parse("discrepancy", "illegible", ""))
    refused.append(caught.value)
    with pytest.raises(InvalidInput, match="needs its type") as caught:
        mine.record(task.id, Finding.parse("discrepancy", None, "blurred"))
    refused.append(caught.value)
    with pytest.raises(InvalidInput, match="one of: wrong_student"):
        Finding.parse("discrepancy", "forged", "x")
    with pytest.raises(InvalidInput, match="no discrepancy type"):
        Finding.parse("verified", "illegible", None)
    assert session.exec(select(AuditFinding)).all() == []
    assert session.get(AuditTask, task.id).status == "assigned"
    assert "audit:finding:refused" not in actions(session, f"audit_task:{task.id}")
    for refusal in refused:  # what the unit of work does after rolling the request back
        refusal.record(session)
    assert actions(session, f"audit_task:{task.id}").count("audit:finding:refused") == 4


def test_tenants_and_roles_are_kept_apart(session, app, tmp_path):
    tasks = drawn_tasks(session, tmp_path, {"036001": 1})
    texan = AuditQueue(session, app, auditor("tx", state="TX"))
    assert texan.next_task() is None
    with pytest.raises(NotFound):
        texan.view(tasks[0].id)
    with pytest.raises(NotFound):
        texan.record(tasks[0].id, VERIFIED)
    with pytest.raises(Forbidden):
        AuditQueue(session, app, district()).next_task()


def test_the_view_sets_the_claim_beside_the_vendor_records_and_is_logged(session, app, tmp_path):
    tasks = drawn_tasks(session, tmp_path, {"036001": 1})
    upload = session.get(Evidence, tasks[0].evidence_id)
    vendor_result(session, upload, result="FAIL")
    view = AuditQueue(session, app, auditor()).view(tasks[0].id)
    assert view.claim.credential_code == upload.credential_code
    assert view.claim.state_student_id == upload.state_student_id
    [record] = view.vendor_records
    assert record["result"] == "FAIL" and record["matches_claim"] is True
    assert view.person_id is not None
    event = session.exec(select(Event).where(Event.action == "audit:task:viewed")).one()
    assert upload.state_student_id not in event.payload and upload.student_name not in event.payload
    assert upload.id in event.payload


def test_a_held_task_can_be_given_back_or_released_by_an_operator(session, app, tmp_path):
    tasks = drawn_tasks(session, tmp_path, {"036001": 2})
    mine, other = AuditQueue(session, app, auditor("a1")), AuditQueue(session, app, auditor("a2"))
    task = mine.next_task()
    with pytest.raises(Forbidden):
        other.release(task.id)  # not theirs to give back
    assert mine.release(task.id).status == "open"
    assert (task.assigned_to, task.status) == (None, "open")
    assert other.next_task().id == tasks[0].id  # back in ticket order, for anyone
    released = release_task_by_id(session, task.id, "cli:operator", reason="auditor on leave")
    assert (released.assigned_to, released.status) == (None, "open")
    with pytest.raises(InvalidInput, match="not held by anyone"):
        release_task_by_id(session, task.id, "cli:operator", reason="again")
    with pytest.raises(NotFound):
        release_task_by_id(session, 999_999, "cli:operator", reason="no such task")
    assert actions(session, f"audit_task:{task.id}").count("audit:task:released") == 2


def test_the_case_file_reads_every_linked_record_the_claimed_credential_first(
    session, app, tmp_path
):
    tasks = drawn_tasks(session, tmp_path, {"036001": 1})
    upload = session.get(Evidence, tasks[0].evidence_id)
    delivery = vendor_result(session, make_upload(session)).delivery_id  # a vendor's delivery
    for row, (code, day) in enumerate([("OTHER01", 20), (upload.credential_code, 1),
                                       (upload.credential_code, 9)], start=2):  # fmt: skip
        session.add(ExamResult(
            delivery_id=delivery, row_number=row, vendor_record_id=f"r{row}", candidate_id="c1",
            first_name="Test", last_name="Student", birth_date=date(2008, 1, 1), state="LA",
            district_code="036", credential_code=code, exam_code="E1",
            exam_date=date(2026, 3, day), result="PASS",
        ))  # fmt: skip
    session.flush()
    link(session, upload, [f"{delivery}:2", f"{delivery}:3", f"{delivery}:4", "not-a-row"])
    records = AuditQueue(session, app, auditor()).view(tasks[0].id).vendor_records
    assert [record["record"] for record in records] == [
        f"exam:{delivery}:4", f"exam:{delivery}:3", f"exam:{delivery}:2"]
    assert [record["matches_claim"] for record in records] == [True, True, False]
    assert {record["vendor"] for record in records} == {records[0]["vendor"]} != {None}
