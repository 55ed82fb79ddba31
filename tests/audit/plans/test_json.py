"""The JSON of the auditor queue and of district responses, pinned per role.

web/static/audit.js, the findings page and operators' scripts read these keys in
this order: an auditor sees who found what, a district never does (no `auditor`
key at all, not a null one).
"""

from __future__ import annotations

from audit.plans.queue import AuditQueue, Finding
from audit.plans.responses import ResponseService
from tests.audit.plans.auditing import auditor, district, drawn_tasks

TASK = [
    "id", "plan_id", "status", "stage", "version", "ticket", "stratum", "school_code",
    "district", "evidence_id", "preview", "assigned_to_you", "final_outcome", "final_type",
    "final_at",
]  # fmt: skip
TASK_DETAIL = [*TASK, "claim", "person_id", "vendor_records", "findings", "response", "names"]
FINDING = ["stage", "auditor", "outcome", "type", "note", "decision", "recorded_at"]
DISTRICT_FINDING = [
    "task_id", "plan_id", "evidence_id", "school_code", "credential_code", "state_student_id",
    "outcome", "type", "final_at", "respond_by", "may_respond", "findings", "response", "note",
    "status",
]  # fmt: skip
RESPONSE = ["kind", "evidence_id", "explanation", "responded_at"]
AUDITOR_CLAIM_TAIL = ["flags", "duplicate_image_of", "duplicate_claim_of"]

ILLEGIBLE = Finding.parse("discrepancy", "illegible", "too blurred to read")


def test_an_auditor_sees_tasks_and_findings_with_their_auditors(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 2})
    first, second = AuditQueue(session, app, auditor("a1")), AuditQueue(session, app, auditor("a2"))
    task = first.next_task()
    recorded = first.record(task.id, ILLEGIBLE).as_json()
    assert list(recorded) == ["task", "finding"]
    assert list(recorded["task"]) == TASK and list(recorded["finding"]) == FINDING
    assert recorded["finding"]["auditor"] == auditor("a1").actor
    assert second.next_task().id == task.id
    shown = second.view(task.id).as_json()
    assert list(shown) == TASK_DETAIL
    assert list(shown["claim"])[-3:] == AUDITOR_CLAIM_TAIL  # an auditor sees the flags
    assert [list(finding) for finding in shown["findings"]] == [FINDING]
    released = second.release(task.id).as_json()
    assert list(released) == TASK and released["assigned_to_you"] is False


def test_a_district_sees_its_findings_without_who_found_them(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 1})
    task = AuditQueue(session, app, auditor("a1")).next_task()
    AuditQueue(session, app, auditor("a1")).record(task.id, ILLEGIBLE)
    second = AuditQueue(session, app, auditor("a2"))
    assert second.next_task().id == task.id
    second.record(task.id, Finding.parse("discrepancy", None, None))
    service = ResponseService(session, app, district(task.district))
    [listed] = [row.as_json() for row in service.findings()]
    assert list(listed) == DISTRICT_FINDING and listed["response"] is None
    public = [key for key in FINDING if key != "auditor"]
    assert [list(finding) for finding in listed["findings"]] == [public, public]
    answer = service.explain(task.id, "The certificate was reissued.").as_json()
    assert list(answer) == RESPONSE
    shown = service.finding(task.id).as_json()
    assert list(shown) == DISTRICT_FINDING and shown["response"] == answer
