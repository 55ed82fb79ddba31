"""District responses: a district sees the final findings on its uploads and may answer once.

An answer is a corrected file (stored through the ordinary evidence upload, so
it is checked exactly like any upload and gets its own evidence id) or a
written explanation.  It must come within `audit_response_days` of the
finding becoming final (Louisiana's correction window); a late answer is
refused naming the date that passed, a second answer is refused naming when
the first came.  Only discrepancies can be answered: a verified finding needs
nothing from the district.

An answer puts the task back in the auditors' queue as a re-review (the
corrected file or explanation beside the original); until it is decided the
district sees the finding as "answered, under re-review".  The district sees one
current finding per upload (the latest final one, whichever plan it came from)
and, of its findings, only those that stand: an overturned first note is not
shown.

A refusal raises `ResponseRefused` carrying its `audit:response:refused`
event: the unit of work rolls the answer back and keeps that event, so the
record of the attempt survives; nothing else of the refused answer is written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from access.policy import check_finding_district, responding_district
from access.principals import Principal
from audit.events import AuditEvent
from audit.plans.models import AuditFinding, AuditTask, DistrictResponse, FindingOutcome, TaskStatus
from audit.plans.queue import FindingView, update_task
from eventlog.log import EventLog
from exchange.evidence.claims import FIELDS
from exchange.evidence.models import Evidence
from exchange.evidence.services import EvidenceService
from exchange.resources import Resources
from kernel.clock import as_utc, utcnow
from kernel.errors import NotFound, Refusal
from kernel.rows import key_of

MAX_EXPLANATION = 10_000
MAX_LISTED = 1000


# Why an answer is refused, and the HTTP status that says so: one table, here.
STATUS = {
    "nothing_to_answer": 409,
    "already_answered": 409,
    "window_closed": 409,
    "invalid_explanation": 422,
}


class ResponseRefused(Refusal):
    """An answer credx will not take; `code` (a key of `STATUS`) says why."""

    def __init__(self, message: str, *, code: str, field: str | None = None):
        super().__init__(message, field=field)
        self.code, self.http_status = code, STATUS[code]


class ResponseView(BaseModel):
    """A district's answer as it is shown back (also the API's response model): `kind` is
    `explanation` or `corrected_file`."""

    model_config = ConfigDict(frozen=True)

    kind: str
    evidence_id: str | None
    explanation: str | None
    responded_at: str

    @classmethod
    def of(cls, response: DistrictResponse) -> ResponseView:
        return cls(
            kind=response.kind, evidence_id=response.evidence_id,
            explanation=response.explanation,
            responded_at=as_utc(response.responded_at).isoformat(),
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class DistrictFinding(BaseModel):
    """A final finding as its district sees it: what was found, never which auditor found
    it (its `findings` carry no `auditor` key), and until when it may be answered (also
    the API's response model)."""

    model_config = ConfigDict(frozen=True)

    task_id: int
    plan_id: str
    evidence_id: str
    school_code: str
    credential_code: str | None
    state_student_id: str | None
    outcome: str | None
    type: str | None
    final_at: str | None
    respond_by: str
    may_respond: bool
    findings: list[FindingView]
    response: ResponseView | None
    note: str | None = Field(default=None, description="the note of the finding that stands")
    status: str = Field(default="final", description="`re_review` once answered, until an "
                        "auditor decides")  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class ResponseService:
    def __init__(self, session: Session, app: Resources, principal: Principal):
        self.session = session
        self.app = app
        self.principal = principal
        self.log = EventLog(session)

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.app.settings.audit_response_days)

    def deadline(self, task: AuditTask) -> datetime:
        assert task.final_at is not None
        return as_utc(task.final_at) + self.window

    # -- reading -----------------------------------------------------------------

    def findings(self, limit: int = MAX_LISTED, offset: int = 0) -> list[DistrictFinding]:
        """Final findings on the caller's district's uploads, newest first (logged)."""
        state, district = responding_district(self.principal)
        tasks = self.session.exec(
            select(AuditTask)
            .where(
                AuditTask.state == state,
                AuditTask.district == district,
                col(AuditTask.status).in_(ANSWERABLE),
            )
            .order_by(col(AuditTask.final_at).desc(), col(AuditTask.id).desc())
            .offset(offset)
            .limit(min(limit, MAX_LISTED))
        ).all()
        tasks = current_only(list(tasks))
        self.log.record(
            AuditEvent.AUDIT_FINDINGS_LISTED, f"district:{state}:{district}", self.principal.actor,
            count=len(tasks),
        )  # fmt: skip
        return [self._describe(task) for task in tasks]

    def finding(self, task_id: int) -> DistrictFinding:
        """One final finding on the caller's district's uploads (logged)."""
        task = self._final_task(task_id)
        self.log.record(
            AuditEvent.AUDIT_FINDING_VIEWED, f"audit_task:{task.id}", self.principal.actor
        )
        return self._describe(task)

    def _final_task(self, task_id: int) -> AuditTask:
        task = self.session.get(AuditTask, task_id)
        if task is None or task.status not in ANSWERABLE:
            responding_district(self.principal)
            raise NotFound("no such audit finding")
        check_finding_district(self.principal, state=task.state, district=task.district)
        return task

    def _describe(self, task: AuditTask) -> DistrictFinding:
        evidence = self.session.get(Evidence, task.evidence_id)
        response = self._response(task)
        findings = self.session.exec(
            select(AuditFinding).where(AuditFinding.task_id == task.id).order_by(
                col(AuditFinding.stage))
        ).all()  # fmt: skip
        deadline = self.deadline(task)
        standing = standing_findings(list(findings))
        notes = [row.note for row in standing if row.note]
        return DistrictFinding(
            task_id=key_of(task), plan_id=task.plan_id, evidence_id=task.evidence_id,
            school_code=task.school_code,
            credential_code=evidence.credential_code if evidence else None,
            state_student_id=evidence.state_student_id if evidence else None,
            outcome=task.final_outcome, type=task.final_type,
            final_at=as_utc(task.final_at).isoformat() if task.final_at else None,
            respond_by=deadline.isoformat(),
            may_respond=response is None and task.final_outcome == FindingOutcome.DISCREPANCY
            and utcnow() <= deadline,
            findings=[FindingView.of(row, with_auditor=False) for row in standing],
            response=ResponseView.of(response) if response else None,
            note=notes[-1] if notes else None, status=task.status,
        )  # fmt: skip

    def _response(self, task: AuditTask) -> DistrictResponse | None:
        query = select(DistrictResponse).where(DistrictResponse.task_id == task.id)
        return self.session.exec(query).first()

    # -- answering ---------------------------------------------------------------

    def explain(self, task_id: int, explanation: str) -> ResponseView:
        """Answer a finding with a written explanation."""
        task = self._answerable(task_id)
        text = (explanation or "").strip()
        if not text or len(text) > MAX_EXPLANATION:
            self._refuse(task, f"write an explanation of 1 to {MAX_EXPLANATION:,} characters",
                         code="invalid_explanation", field="explanation")  # fmt: skip
        return self._save(task, kind="explanation", explanation=text)

    def correct(
        self, task_id: int, path: Path, filename: str | None, changes: dict
    ) -> ResponseView:
        """Answer with a corrected file, uploaded like any certificate (same checks).

        The claim is the original upload's, with any fields in `changes` replaced
        (a corrected date earned, say); the corrected upload gets its own id.
        """
        task = self._answerable(task_id)
        original = self.session.get(Evidence, task.evidence_id)
        claim = {name: str(getattr(original, name)) for name in FIELDS}
        claim.update({k: v for k, v in changes.items() if k in FIELDS and v})
        receipt = EvidenceService(self.session, self.app, self.principal).submit(
            claim, path, filename
        )
        return self._save(task, kind="corrected_file", evidence_id=receipt.id)

    def _answerable(self, task_id: int) -> AuditTask:
        task = self._final_task(task_id)
        if task.final_outcome != FindingOutcome.DISCREPANCY:
            self._refuse(task, "this upload was verified: there is nothing to answer",
                         code="nothing_to_answer")  # fmt: skip
        earlier = self._response(task)
        if earlier is not None:
            self._refuse(task, "this finding was already answered on "
                         f"{as_utc(earlier.responded_at).date().isoformat()}; a finding is "
                         "answered once", code="already_answered")  # fmt: skip
        deadline = self.deadline(task)
        if utcnow() > deadline:
            final = as_utc(task.final_at).date().isoformat()  # type: ignore[arg-type]
            self._refuse(task, f"the response window closed on {deadline.date().isoformat()} "
                         f"({self.window.days} days after the finding became final on {final})",
                         code="window_closed")  # fmt: skip
        return task

    def _refuse(
        self, task: AuditTask, message: str, *, code: str, field: str | None = None
    ) -> NoReturn:
        subject, actor = f"audit_task:{task.id}", self.principal.actor

        def record(session: Session) -> None:
            EventLog(session).record(AuditEvent.AUDIT_RESPONSE_REFUSED, subject, actor, code=code)

        raise ResponseRefused(message, code=code, field=field).keeping(record)

    def _save(self, task: AuditTask, **values) -> ResponseView:
        response = DistrictResponse(task_id=key_of(task), district=task.district,
                                    responded_by=self.principal.actor, **values)  # fmt: skip
        self.session.add(response)
        try:
            self.session.flush()
        except IntegrityError:
            raise ResponseRefused("this finding was already answered; a finding is answered once",
                                  code="already_answered") from None  # fmt: skip
        if not update_task(self.session, task, status=TaskStatus.RE_REVIEW, assigned_to=None,
                           assigned_at=None):  # fmt: skip
            raise ResponseRefused("this finding changed while it was being answered; reload",
                                  code="already_answered")  # fmt: skip
        self.log.record(
            AuditEvent.AUDIT_RESPONSE_RECORDED, f"audit_task:{task.id}", self.principal.actor,
            kind=response.kind, evidence_id=response.evidence_id, status=task.status,
        )  # fmt: skip
        return ResponseView.of(response)


ANSWERABLE = (TaskStatus.FINAL, TaskStatus.RE_REVIEW)


def current_only(tasks: list[AuditTask]) -> list[AuditTask]:
    """One task per upload: the first seen (callers list the newest first)."""
    seen: set[str] = set()
    kept = []
    for task in tasks:
        if task.evidence_id not in seen:
            seen.add(task.evidence_id)
            kept.append(task)
    return kept


def standing_findings(findings: list[AuditFinding]) -> list[AuditFinding]:
    """The findings that stand, in stage order: a first look a second auditor overturned
    (or a discrepancy a re-review accepted the answer to) is dropped."""
    later = {row.stage: row for row in findings}
    standing = []
    for row in findings:
        overturned = any(
            other.stage > row.stage and other.outcome != row.outcome for other in later.values()
        )
        if not overturned:
            standing.append(row)
    return standing
