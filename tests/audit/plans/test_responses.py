"""District responses on SQLite and PostgreSQL: see final findings, answer once, in time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from audit.plans.models import AuditTask, DistrictResponse
from audit.plans.queue import AuditQueue, Finding
from audit.plans.responses import ResponseRefused, ResponseService
from eventlog.models import Event
from exchange.evidence.models import Evidence
from kernel.clock import utcnow
from kernel.errors import NotFound
from tests.audit.plans.auditing import auditor, district, drawn_tasks
from tests.web.factories import certificate_png

MISSING = Finding.parse("discrepancy", "missing", "no certificate in the file")


def finalise(session, app, finding: Finding = MISSING) -> AuditTask:
    """Take the next task and make its finding final (a discrepancy is confirmed by a2)."""
    task = AuditQueue(session, app, auditor("a1")).next_task()
    AuditQueue(session, app, auditor("a1")).record(task.id, finding)
    if task.status != "final":
        second = AuditQueue(session, app, auditor("a2"))
        assert second.next_task().id == task.id
        second.record(task.id, Finding.parse("discrepancy", None, None))
    return task


def refusals(session) -> list[str]:
    rows = session.exec(select(Event).where(Event.action == "audit:response:refused")).all()
    return [row.payload for row in rows]


def test_a_district_sees_its_final_findings_only(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 2, "037001": 1})
    task = finalise(session, app)  # the lowest ticket: whichever school it is in
    own = district(task.district)
    [shown] = ResponseService(session, app, own).findings()
    assert (shown.task_id, shown.outcome, shown.type) == (
        task.id,
        "discrepancy",
        "missing",
    )
    assert shown.may_respond is True and shown.response is None
    assert "auditor" not in shown.as_json()["findings"][0]
    other = district("037" if task.district == "036" else "036")
    assert ResponseService(session, app, other).findings() == []
    with pytest.raises(NotFound):
        ResponseService(session, app, other).finding(task.id)
    open_task = session.exec(select(AuditTask).where(AuditTask.status == "open")).first()
    with pytest.raises(NotFound):  # not final yet: not shown, even to its own district
        ResponseService(session, app, district(open_task.district)).finding(open_task.id)


def test_an_explanation_is_taken_once(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 1})
    task = finalise(session, app)
    service = ResponseService(session, app, district("036"))
    answer = service.explain(task.id, "The certificate was reissued; see the vendor's letter.")
    assert answer.kind == "explanation"
    with pytest.raises(ResponseRefused, match="already answered on 20") as refused:
        service.explain(task.id, "Again.")
    assert refused.value.code == "already_answered" and refused.value.http_status == 409
    refused.value.record(session)  # what the unit of work does after rolling back
    assert len(session.exec(select(DistrictResponse)).all()) == 1
    assert service.finding(task.id).may_respond is False
    viewed = session.exec(select(Event).where(Event.action == "audit:finding:viewed")).all()
    assert [event.subject for event in viewed] == [f"audit_task:{task.id}"]
    assert any("already_answered" in payload for payload in refusals(session))


def test_a_late_answer_is_refused_with_the_date_that_passed(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 1})
    task = finalise(session, app)
    final_at = utcnow() - timedelta(days=31)
    task.final_at = final_at
    session.add(task)
    session.flush()
    deadline = (final_at + timedelta(days=30)).date().isoformat()
    with pytest.raises(ResponseRefused, match=f"closed on {deadline}") as refused:
        ResponseService(session, app, district("036")).explain(task.id, "Sorry, late.")
    assert refused.value.code == "window_closed"
    assert session.exec(select(DistrictResponse)).all() == []
    assert refusals(session) == []  # the unit of work's to keep
    refused.value.record(session)
    assert any("window_closed" in payload for payload in refusals(session))


def test_a_verified_finding_needs_no_answer(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 1})
    task = finalise(session, app, Finding.parse("verified", None, None))
    with pytest.raises(ResponseRefused, match="nothing to answer"):
        ResponseService(session, app, district("036")).explain(task.id, "Thanks.")


def test_a_corrected_file_is_an_ordinary_upload_linked_to_the_answer(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 1})
    task = finalise(session, app)
    corrected = tmp_path / "corrected.png"
    corrected.write_bytes(certificate_png("Corrected certificate"))
    service = ResponseService(session, app, district("036"))
    answer = service.correct(task.id, corrected, "corrected.png", {"student_name": "Ana Morales"})
    assert answer.kind == "corrected_file"
    upload = session.get(Evidence, answer.evidence_id)
    original = session.get(Evidence, task.evidence_id)
    assert upload.id != original.id and upload.district == "036"
    assert (upload.state_student_id, upload.credential_code) == (
        original.state_student_id,
        original.credential_code,
    )
    assert service.finding(task.id).as_json()["response"]["evidence_id"] == upload.id
