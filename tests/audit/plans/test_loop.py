"""The audit loop closes (issue 19), on SQLite and PostgreSQL: one active plan per state
and year, one current finding per upload, district answers re-reviewed, the note that
stands is the one shown, an upload's standing follows its audit, a first look undone."""

from __future__ import annotations

import pytest
from sqlmodel import select

from audit.plans.models import AuditPlan, AuditTask
from audit.plans.plans import active_plan, create_plan
from audit.plans.queue import AuditQueue, Finding, TaskConflict
from audit.plans.responses import ResponseService
from audit.plans.results import plan_results
from audit.plans.standing import standings
from eventlog.models import Event
from kernel.errors import InvalidInput
from tests.audit.plans.auditing import auditor, district, drawn_tasks
from tests.audit.plans.factories import make_draw, make_plan

ILLEGIBLE = Finding.parse("discrepancy", "illegible", "Scan too blurry to read the name")
VERIFIED = Finding.parse("verified", None, None)
CONFIRM = Finding.parse("discrepancy", None, None)


def first_look(session, app, finding: Finding, name: str = "a1") -> AuditTask:
    queue = AuditQueue(session, app, auditor(name))
    task = queue.next_task()
    queue.record(task.id, finding)
    return task


def second_look(session, app, task: AuditTask, finding: Finding, name: str = "a2") -> None:
    queue = AuditQueue(session, app, auditor(name))
    assert queue.next_task().id == task.id
    queue.record(task.id, finding)


def actions(session, action: str) -> list[Event]:
    return list(session.exec(select(Event).where(Event.action == action)))


def test_a_second_plan_for_the_same_state_and_year_must_supersede_the_first(
    session, app, tmp_path
):
    tasks = drawn_tasks(session, tmp_path, {"036001": 3})
    with pytest.raises(InvalidInput, match="active audit plan for 2025-26") as refused:
        make_plan(session, "la-2025-26-b")
    assert refused.value.field == "supersedes"
    task = first_look(session, app, ILLEGIBLE)
    second_look(session, app, task, CONFIRM)
    create_plan(session, name="la-2025-26-b", state="LA", school_year="2025-26",
                rules={"rule": "fixed", "fixed_count": 3, "uncorroborated_rate": "same"},
                actor="op", supersedes="la-2025-26")  # fmt: skip
    assert session.get(AuditPlan, "la-2025-26").status == "superseded"
    assert active_plan(session, "LA", "2025-26").id == "la-2025-26-b"
    [superseded] = actions(session, "audit:plan:superseded")
    assert superseded.subject == "audit-plan:la-2025-26" and "la-2025-26-b" in superseded.payload
    # the old plan's unjudged tasks leave the queue; the new plan's draw fills it
    assert AuditQueue(session, app, auditor("a3")).next_task() is None
    make_draw(session, "la-2025-26-b", tmp_path / "b.csv")
    judged = first_look(session, app, VERIFIED, name="a3")
    assert judged.plan_id == "la-2025-26-b" and judged.evidence_id in {t.evidence_id for t in tasks}
    # the district sees one current finding per upload: the newer one
    shown = ResponseService(session, app, district("036")).findings()
    assert len([f for f in shown if f.evidence_id == task.evidence_id]) == 1
    current = {f.evidence_id: f.outcome for f in shown}
    assert current[task.evidence_id] == "verified"
    assert standings(session, [task.evidence_id])[task.evidence_id].status == "verified"


def test_the_district_sees_the_note_that_stands_not_an_overturned_one(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 1})
    task = first_look(session, app, ILLEGIBLE)
    second_look(session, app, task, Finding.parse("verified", None, "Legible at full size"))
    [shown] = ResponseService(session, app, district("036")).findings()
    text = str(shown.as_json())
    assert shown.outcome == "verified" and "Scan too blurry" not in text
    assert shown.note == "Legible at full size"
    assert [f.decision for f in shown.findings] == ["overturned"]


def test_an_upload_status_follows_its_audit(session, app, tmp_path):
    [task] = drawn_tasks(session, tmp_path, {"036001": 1})
    assert standings(session, [task.evidence_id])[task.evidence_id].status == "sampled"
    first_look(session, app, ILLEGIBLE)
    assert standings(session, [task.evidence_id])[task.evidence_id].status == "in_review"
    second_look(session, app, task, CONFIRM)
    standing = standings(session, [task.evidence_id])[task.evidence_id]
    assert standing.status == "discrepancy" and "illegible" in standing.words
    assert standings(session, ["never-sampled"]) == {}


def test_a_district_answer_becomes_a_re_review_the_auditor_decides(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 1})
    task = first_look(session, app, ILLEGIBLE)
    second_look(session, app, task, CONFIRM)
    ResponseService(session, app, district("036")).explain(
        task.id, "The original is on file at the school; a clearer scan is attached by mail."
    )
    [answered] = ResponseService(session, app, district("036")).findings()
    assert answered.status == "re_review" and answered.may_respond is False
    assert standings(session, [task.evidence_id])[task.evidence_id].status == "re_review"
    # the re-review comes to an auditor's queue with the answer beside the original
    queue = AuditQueue(session, app, auditor("a3"))
    again = queue.next_task()
    assert again.id == task.id and again.status == "re_review"
    detail = queue.describe(again).as_json()
    assert detail["stage"] == 3 and detail["response"]["kind"] == "explanation"
    assert "clearer scan" in detail["response"]["explanation"]
    decided = queue.record(task.id, Finding.parse("verified", None, "Explanation accepted"))
    assert decided.finding.decision == "accepted" and decided.task.status == "final"
    [final] = ResponseService(session, app, district("036")).findings()
    assert (final.outcome, final.status) == ("verified", "final")
    assert final.note == "Explanation accepted"
    assert plan_results(session, task.plan_id).total.discrepancies == 0


def test_a_first_look_is_undone_until_the_task_is_handed_back(session, app, tmp_path):
    drawn_tasks(session, tmp_path, {"036001": 2})
    queue = AuditQueue(session, app, auditor("a1"))
    task = first_look(session, app, VERIFIED)
    assert task.status == "final"
    undone = queue.undo(task.id)
    assert (undone.status, undone.stage, undone.assigned_to_you) == ("assigned", 1, True)
    assert queue.findings(task) == []
    assert len(actions(session, "audit:finding:undone")) == 1
    queue.record(task.id, ILLEGIBLE)  # judged again, differently: a discrepancy
    queue.undo(task.id)  # still undoable: no second auditor has taken it
    queue.record(task.id, VERIFIED)
    following = queue.next_task()  # taking the next task hands the judged one back
    assert following.id != task.id
    with pytest.raises(TaskConflict, match="can no longer be undone"):
        queue.undo(task.id)
    assert session.get(AuditTask, task.id).final_outcome == "verified"
