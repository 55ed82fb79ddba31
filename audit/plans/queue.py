"""The auditor queue: take the next sampled upload, judge it, have a discrepancy reviewed.

`AuditQueue(session, app, principal)` is the only way the web app changes an
`AuditTask`.  Who may act is decided in `access.policy`; this module decides
what happens, in the order a task moves:

    open --take--> assigned --verified--> final
                            --discrepancy--> second_review (unheld)
    second_review (unheld) --take, another auditor--> second_review (held)
    second_review (held) --discrepancy (confirmed) or verified (overturned)--> final
    final (discrepancy) --the district answers--> re_review (unheld)
    re_review --take--> re_review (held) --upheld (discrepancy) or accepted (verified)--> final

A first look can be undone by its auditor until the task is handed back: a
verified task stays with its auditor until they take their next task, a
discrepancy until a second auditor takes it.  Tasks of a superseded plan leave
the queue (a state has one active plan per school year).

Every change is one `UPDATE ... WHERE id = :id AND version = :seen` that bumps
`version`: of two auditors (or two tabs) acting on the same task at once, one
update matches and the other matches nothing, and the loser gets `TaskConflict`
(409) with nothing written, on SQLite and on PostgreSQL alike.  The finding
row is unique per (task, stage) as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, literal, or_, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from access.policy import (
    audit_worker_state,
    check_audit_task,
    check_finding_holder,
    check_second_auditor,
)
from access.principals import Principal
from access.tokens import holder_actors, holder_label, same_holder
from audit.events import AuditEvent
from audit.plans.casefile import case_file
from audit.plans.models import (
    AuditFinding,
    AuditPlan,
    AuditTask,
    DiscrepancyType,
    DistrictResponse,
    FindingOutcome,
    PlanStatus,
    TaskStatus,
)
from eventlog.log import EventLog
from exchange.evidence.services import EvidenceView
from exchange.resources import Resources
from kernel.clock import utcnow
from kernel.errors import Conflict, CredxError, InvalidInput, NotFound
from kernel.rows import key_of
from rosters.models import School
from schemas.credentials import Credential

MAX_NOTE = 2000
HELD = (TaskStatus.ASSIGNED, TaskStatus.SECOND_REVIEW, TaskStatus.RE_REVIEW)  # held, unfinished
CLAIM_ATTEMPTS = 20  # candidates tried when other auditors keep taking the one we saw


class TaskConflict(Conflict):
    """Someone else changed the task first (409); reload and carry on with the next one."""


@dataclass(frozen=True)
class Finding:
    """What an auditor says about a task (checked by `Finding.parse`)."""

    outcome: FindingOutcome
    discrepancy_type: DiscrepancyType | None = None
    note: str | None = None

    @classmethod
    def parse(cls, outcome: str, discrepancy_type: str | None, note: str | None) -> Finding:
        """Refuse, naming the field, anything that is not a finding an audit can stand on."""
        try:
            parsed = FindingOutcome(outcome)
        except ValueError:
            raise _invalid("outcome", "outcome must be `verified` or `discrepancy`") from None
        kind = _discrepancy_type(discrepancy_type) if discrepancy_type else None
        if parsed is FindingOutcome.VERIFIED and kind is not None:
            raise _invalid("type", "a verified finding has no discrepancy type")
        note = (note or "").strip() or None
        if note is not None and len(note) > MAX_NOTE:
            raise _invalid("note", f"the note is longer than {MAX_NOTE} characters")
        return cls(parsed, kind, note)


def _discrepancy_type(value: str) -> DiscrepancyType:
    try:
        return DiscrepancyType(value)
    except ValueError:
        names = ", ".join(kind.value for kind in DiscrepancyType)
        raise _invalid("type", f"discrepancy type must be one of: {names}") from None


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, field=field)


class AuditQueue:
    def __init__(self, session: Session, app: Resources, principal: Principal):
        self.session = session
        self.app = app
        self.principal = principal
        self.log = EventLog(session)

    # -- taking tasks ------------------------------------------------------------

    def next_task(self) -> AuditTask | None:
        """The caller's unfinished task, else the lowest-ticket task waiting (now theirs).

        Second reviews come first (they hold a finding back from being final);
        an auditor is never offered a second review of their own discrepancy.
        None when the state's queue is empty for this auditor.
        """
        state = audit_worker_state(self.principal)
        mine = self._mine(state)
        self.hand_back([task for task in mine if task.status == TaskStatus.FINAL])
        held = next((task for task in mine if task.status != TaskStatus.FINAL), None)
        if held is not None:
            return held
        for _attempt in range(CLAIM_ATTEMPTS):
            candidate = self._candidate(state)
            if candidate is None:
                return None
            if self._take(candidate):
                return candidate
        raise TaskConflict("other auditors are taking tasks faster than this one could; retry")

    def _scoped(self, state: str | None):
        return select(AuditTask).where(self._in_scope(state))

    @staticmethod
    def _in_scope(state: str | None):
        """Tasks of the state's live plans (a superseded plan's tasks leave the queue)."""
        superseded = select(AuditPlan.id).where(AuditPlan.status == PlanStatus.SUPERSEDED)
        live = col(AuditTask.plan_id).not_in(superseded)
        return live if state is None else and_(live, col(AuditTask.state) == state)

    def _mine(self, state: str | None) -> list[AuditTask]:
        """In one query, the caller's judged tasks (any plan: to hand back) and the unfinished
        ones in scope (the lowest ticket first)."""
        return list(self.session.exec(select(AuditTask).where(
            AuditTask.assigned_to == self.principal.actor,
            or_(col(AuditTask.status) == TaskStatus.FINAL,
                and_(col(AuditTask.status).in_(HELD), self._in_scope(state))),
        ).order_by(col(AuditTask.ticket), col(AuditTask.id))))  # fmt: skip

    def hand_back(self, judged: Sequence[AuditTask]) -> int:
        """Hand back the caller's judged tasks (a verified first look stays with its auditor,
        undoable, until they move on); how many were handed back."""
        handed = 0
        for task in judged:
            if self._update(task, assigned_to=None, assigned_at=None):
                handed += 1
                self.log.record(AuditEvent.AUDIT_TASK_HANDED_BACK, _subject(task),
                                self.principal.actor, plan_id=task.plan_id)  # fmt: skip
        return handed

    def _candidate(self, state: str | None) -> AuditTask | None:
        waiting = self._scoped(state).where(col(AuditTask.assigned_to).is_(None))
        second = waiting.where(
            AuditTask.status == TaskStatus.SECOND_REVIEW,
            col(AuditTask.first_auditor).not_in(holder_actors(self.session, self.principal.actor)),
        )
        again = waiting.where(AuditTask.status == TaskStatus.RE_REVIEW)
        first = waiting.where(AuditTask.status == TaskStatus.OPEN)
        # One round trip: each tier's lowest ticket (its own index scan), the first tier's wins.
        lowest = [
            query.with_only_columns(col(AuditTask.id), literal(tier).label("tier"))
            .order_by(col(AuditTask.ticket), col(AuditTask.id)).limit(1).subquery()
            for tier, query in enumerate((second, again, first))
        ]  # fmt: skip
        ranked = union_all(*(select(*tier.c) for tier in lowest)).subquery()
        return self.session.exec(
            select(AuditTask).join(ranked, col(AuditTask.id) == ranked.c.id)
            .order_by(ranked.c.tier).limit(1)
        ).first()  # fmt: skip

    def _take(self, task: AuditTask) -> bool:
        stage = next_stage(task) or 1
        status = TaskStatus.ASSIGNED if stage == 1 else task.status
        taken = self._update(task, status=status, assigned_to=self.principal.actor,
                             assigned_at=utcnow(), guard_unassigned=True)  # fmt: skip
        if taken:
            self.log.record(
                AuditEvent.AUDIT_TASK_ASSIGNED, _subject(task), self.principal.actor,
                plan_id=task.plan_id, stage=stage, ticket=task.ticket,
            )  # fmt: skip
        return taken

    def _update(self, task: AuditTask, *, guard_unassigned: bool = False, **values) -> bool:
        return update_task(self.session, task, guard_unassigned=guard_unassigned, **values)

    def release(self, task_id: int) -> TaskView:
        """Give back a task the caller holds (a conflict of interest, say) to the queue."""
        task = self.get(task_id)
        check_finding_holder(self.principal, assigned_to=task.assigned_to)
        release_task(self.session, task, self.principal.actor, reason="given back by its auditor")
        return TaskView.of(task, self.principal)

    # -- looking -----------------------------------------------------------------

    def get(self, task_id: int) -> AuditTask:
        task = self.session.get(AuditTask, task_id)
        if task is None:
            raise NotFound("no such audit task")
        check_audit_task(self.principal, state=task.state)
        return task

    def view(self, task_id: int) -> TaskDetail:
        """The task with the district's claim and the vendor's records side by side (logged)."""
        return self.describe(self.get(task_id))

    def describe(self, task: AuditTask) -> TaskDetail:
        check_audit_task(self.principal, state=task.state)
        evidence = case_file(self.session, self.app, self.principal, task.evidence_id)
        self.log.record(
            AuditEvent.AUDIT_TASK_VIEWED, _subject(task), self.principal.actor,
            evidence_id=task.evidence_id, person_id=evidence.person_id,
            vendor_records=len(evidence.vendor_records),
        )  # fmt: skip
        return TaskDetail(
            **TaskView.of(task, self.principal).model_dump(), claim=evidence.claim,
            person_id=evidence.person_id, vendor_records=evidence.vendor_records,
            findings=[FindingView.of(row) for row in self.findings(task)],
            response=self._response(task), names=self._names(task, evidence.claim),
        )  # fmt: skip

    def _names(self, task: AuditTask, claim: EvidenceView) -> dict[str, str | None]:
        """Names for the codes and ids on the task: the credential's from the registry, the
        school's and district's from the state's school list, and who uploaded (an auditor
        may know who in the district sent the certificate)."""
        credential = self.session.get(Credential, claim.credential_code)
        school = self.session.get(School, (task.state, task.district, task.school_code))
        return {"credential": credential.name if credential else None,
                "school": school.name if school else None,
                "district": school.district_name if school else None,
                "uploaded_by": holder_label(self.session, claim.uploaded_by)}  # fmt: skip

    def _response(self, task: AuditTask) -> dict[str, Any] | None:
        """The district's answer, for the auditor to judge beside the original."""
        row = self.session.exec(
            select(DistrictResponse).where(DistrictResponse.task_id == task.id)
        ).first()
        if row is None:
            return None
        preview = f"/evidence/{row.evidence_id}/preview" if row.evidence_id else None
        return {"kind": row.kind, "evidence_id": row.evidence_id,
                "explanation": row.explanation, "preview": preview,
                "responded_at": row.responded_at.isoformat()}  # fmt: skip

    def findings(self, task: AuditTask) -> list[AuditFinding]:
        query = select(AuditFinding).where(AuditFinding.task_id == task.id)
        return list(self.session.exec(query.order_by(col(AuditFinding.stage))))

    # -- judging -----------------------------------------------------------------

    def record(
        self, task_id: int, finding: Finding, *, seen_version: int | None = None
    ) -> Recorded:
        """Record the caller's finding on a task they hold; the task moves on (see module doc).

        `seen_version` is the version the auditor's screen showed: if the task has
        changed since, the finding is refused (409) rather than applied to a task
        the auditor has not seen.  A refusal carries its `audit:finding:refused`
        event, which the unit of work keeps when it rolls the request back.
        """
        try:
            with self.session.begin_nested():  # a refusal undoes only what it began
                return self._record(task_id, finding, seen_version)
        except CredxError as refusal:
            self._refused(task_id, refusal)
            raise

    def judge(
        self, task_id: int, outcome: str, discrepancy_type: str | None, note: str | None,
        *, seen_version: int | None = None,
    ) -> Recorded:  # fmt: skip
        """`record` from a request's raw fields: a malformed finding is a logged refusal too."""
        try:
            finding = Finding.parse(outcome, discrepancy_type, note)
        except InvalidInput as refusal:
            self._refused(task_id, refusal)
            raise
        return self.record(task_id, finding, seen_version=seen_version)

    def _refused(self, task_id: int, refusal: CredxError) -> None:
        """Attach the record of a refused finding, for the unit of work to keep."""
        subject, actor, code = f"audit_task:{task_id}", self.principal.actor, refusal.code

        def record(session: Session) -> None:
            EventLog(session).record(AuditEvent.AUDIT_FINDING_REFUSED, subject, actor, code=code)

        refusal.keeping(record)

    def _record(self, task_id: int, finding: Finding, seen_version: int | None) -> Recorded:
        task = self.get(task_id)
        if seen_version is not None and seen_version != task.version:
            raise TaskConflict("this task changed since you loaded it; load the next task")
        stage = self._stage(task)
        if stage == 1 and finding.outcome is FindingOutcome.DISCREPANCY:
            if finding.discrepancy_type is None:
                raise _invalid("type", "a discrepancy needs its type")
            if finding.note is None:
                raise _invalid("note", "a discrepancy needs a note saying what is wrong")
        values = self._transition(task, stage, finding)
        if not self._update(task, **values):
            raise TaskConflict("another finding on this task was recorded first; load the next")
        row = self._insert_finding(task, stage, finding, values.get("final_type"))
        self.log.record(
            AuditEvent.AUDIT_FINDING_RECORDED, _subject(task), self.principal.actor,
            plan_id=task.plan_id, stage=stage, outcome=row.outcome,
            discrepancy_type=row.discrepancy_type, status=task.status, has_note=bool(row.note),
        )  # fmt: skip
        return Recorded(task=TaskView.of(task, self.principal), finding=FindingView.of(row))

    def _stage(self, task: AuditTask) -> int:
        """Which finding the caller would record (1, 2 or 3), or why they may not."""
        if task.status == TaskStatus.FINAL:
            raise TaskConflict("this task already has its final finding")
        if task.status == TaskStatus.RE_REVIEW:
            check_finding_holder(self.principal, assigned_to=task.assigned_to)
            return 3
        if task.status == TaskStatus.SECOND_REVIEW:
            if task.assigned_to is None and task.first_auditor == self.principal.actor:
                raise TaskConflict("your finding on this task is recorded; it awaits a second "
                                   "auditor")  # fmt: skip
            check_finding_holder(self.principal, assigned_to=task.assigned_to)
            check_second_auditor(
                self.principal, first_auditor=task.first_auditor,
                same_holder=same_holder(self.session, self.principal.actor, task.first_auditor),
            )  # fmt: skip
            return 2
        check_finding_holder(self.principal, assigned_to=task.assigned_to)
        return 1

    def _transition(self, task: AuditTask, stage: int, finding: Finding) -> dict:
        now = utcnow()
        if stage == 1 and finding.outcome is FindingOutcome.DISCREPANCY:
            return {"status": TaskStatus.SECOND_REVIEW, "first_auditor": self.principal.actor,
                    "assigned_to": None, "assigned_at": None}  # fmt: skip
        final_type = None
        if finding.outcome is FindingOutcome.DISCREPANCY:
            final_type = finding.discrepancy_type or task.final_type or self._first_type(task)
        values = {"status": TaskStatus.FINAL, "final_outcome": finding.outcome,
                  "final_type": final_type, "final_at": now}  # fmt: skip
        if stage == 1:
            values["first_auditor"] = self.principal.actor
        if stage == 3:
            values.update(assigned_to=None, assigned_at=None)
        return values

    # -- undoing -----------------------------------------------------------------

    def undo(self, task_id: int) -> TaskView:
        """Take back the caller's first-look finding: the task is theirs again, unjudged.

        Allowed until the task is handed back: a verified task until its auditor
        takes the next one, a discrepancy until a second auditor takes it.
        """
        task = self.get(task_id)
        later = [row for row in self.findings(task) if row.stage > 1]
        mine = task.first_auditor == self.principal.actor
        held = (task.status == TaskStatus.FINAL and task.assigned_to == self.principal.actor) or (
            task.status == TaskStatus.SECOND_REVIEW and task.assigned_to is None)
        if not mine or later or not held:
            raise TaskConflict("this finding can no longer be undone: the task was handed back "
                               "(to the queue or to a second auditor)")  # fmt: skip
        first = next(row for row in self.findings(task) if row.stage == 1)
        if not self._update(task, status=TaskStatus.ASSIGNED, assigned_to=self.principal.actor,
                            assigned_at=utcnow(), first_auditor=None, final_outcome=None,
                            final_type=None, final_at=None):  # fmt: skip
            raise TaskConflict("another auditor took this task first; it can no longer be undone")
        self.session.delete(first)
        self.session.flush()
        self.log.record(
            AuditEvent.AUDIT_FINDING_UNDONE, _subject(task), self.principal.actor,
            plan_id=task.plan_id, outcome=first.outcome, discrepancy_type=first.discrepancy_type,
        )  # fmt: skip
        return TaskView.of(task, self.principal)

    def _first_type(self, task: AuditTask) -> str | None:
        first = self.session.exec(
            select(AuditFinding).where(AuditFinding.task_id == task.id, AuditFinding.stage == 1)
        ).first()
        return first.discrepancy_type if first else None

    def _insert_finding(
        self, task: AuditTask, stage: int, finding: Finding, final_type: str | None
    ) -> AuditFinding:
        row = AuditFinding(
            task_id=key_of(task), stage=stage, auditor=self.principal.actor,
            outcome=finding.outcome, note=finding.note,
            discrepancy_type=finding.discrepancy_type or (final_type if stage >= 2 else None),
        )  # fmt: skip
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError:
            raise TaskConflict("another finding on this task was recorded first") from None
        return row


def update_task(
    session: Session, task: AuditTask, *, guard_unassigned: bool = False, **values
) -> bool:
    """The optimistic write: it lands only if nobody changed the task since we read it."""
    statement = update(AuditTask).where(
        col(AuditTask.id) == task.id,
        col(AuditTask.version) == task.version,
        col(AuditTask.status) == task.status,
    )
    if guard_unassigned:
        statement = statement.where(col(AuditTask.assigned_to).is_(None))
    values["version"] = task.version + 1
    # RETURNING reloads the task as written in the same round trip (no refresh after it).
    written = session.execute(
        statement.values(**values).returning(AuditTask),
        execution_options={"synchronize_session": False, "populate_existing": True},
    ).scalars().all()  # fmt: skip
    if len(written) != 1:
        session.expire(task)
        return False
    return True


def release_task(session: Session, task: AuditTask, actor: str, *, reason: str) -> None:
    """Put a held task back in the queue: a first look becomes `open` again, a second review
    stays a second review (for another auditor).  Findings already recorded stay."""
    if task.assigned_to is None or task.status == TaskStatus.FINAL:
        raise InvalidInput(f"audit task {task.id} is not held by anyone: nothing to release")
    holder = task.assigned_to
    status = TaskStatus.OPEN if task.status == TaskStatus.ASSIGNED else task.status
    if not update_task(session, task, status=status, assigned_to=None, assigned_at=None):
        raise TaskConflict(f"audit task {task.id} changed while it was being released; retry")
    EventLog(session).record(
        AuditEvent.AUDIT_TASK_RELEASED, _subject(task), actor,
        plan_id=task.plan_id, holder=holder, reason=reason,
    )  # fmt: skip


def release_task_by_id(session: Session, task_id: int, actor: str, *, reason: str) -> AuditTask:
    """`credx audit release`: an operator frees a task an absent auditor holds."""
    task = session.get(AuditTask, task_id)
    if task is None:
        raise NotFound(f"no audit task {task_id}")
    release_task(session, task, actor, reason=reason)
    return task


def _subject(task: AuditTask) -> str:
    return f"audit_task:{task.id}"


def next_stage(task: AuditTask) -> int | None:
    """The stage of the finding the task waits for (None once final)."""
    if task.status == TaskStatus.FINAL:
        return None
    if task.status == TaskStatus.RE_REVIEW:
        return 3
    return 2 if task.status == TaskStatus.SECOND_REVIEW else 1


class TaskView(BaseModel):
    """A task as the queue holds it, as its auditor's screen (web/static/audit.js) and
    scripts read it (also the API's response model).  `stage` is the next one to record:
    1, 2, or 3 for a re-review of the district's answer."""

    model_config = ConfigDict(frozen=True)

    id: int
    plan_id: str
    status: str
    stage: int | None
    version: int = Field(description="send it back with a finding: a newer one is a 409")
    ticket: str
    stratum: str
    school_code: str
    district: str
    evidence_id: str
    preview: str = Field(description="the URL of the certificate's preview")
    assigned_to_you: bool
    final_outcome: str | None
    final_type: str | None
    final_at: str | None

    @classmethod
    def of(cls, task: AuditTask, principal: Principal) -> TaskView:
        return cls(
            id=key_of(task), plan_id=task.plan_id, status=task.status, stage=next_stage(task),
            version=task.version, ticket=task.ticket, stratum=task.stratum,
            school_code=task.school_code, district=task.district,
            evidence_id=task.evidence_id,
            preview=f"/api/v1/evidence/{task.evidence_id}/preview",
            assigned_to_you=task.assigned_to == principal.actor,
            final_outcome=task.final_outcome, final_type=task.final_type,
            final_at=task.final_at.isoformat() if task.final_at else None,
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class FindingView(BaseModel):
    """One recorded finding (also the API's response model).  `auditor` is left unset when
    the caller may not know who found it (a district): the key is then absent from
    `as_json()`, not null (an auditor's finding always names its auditor)."""

    model_config = ConfigDict(frozen=True)

    stage: int
    auditor: str | None = None
    outcome: str
    type: str | None
    note: str | None
    decision: str | None = Field(description="stage 2: `confirmed` or `overturned`; stage 3 "
                                 "(re-review): `upheld` or `accepted`")  # fmt: skip
    recorded_at: str

    @classmethod
    def of(cls, row: AuditFinding, *, with_auditor: bool = True) -> FindingView:
        decision = None
        wrong = row.outcome == FindingOutcome.DISCREPANCY
        if row.stage == 2:
            decision = "confirmed" if wrong else "overturned"
        elif row.stage == 3:
            decision = "upheld" if wrong else "accepted"
        who = {"auditor": row.auditor} if with_auditor else {}
        return cls(
            stage=row.stage, outcome=row.outcome, type=row.discrepancy_type, note=row.note,
            decision=decision, recorded_at=row.recorded_at.isoformat(), **who,
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class TaskDetail(TaskView):
    """A task with the district's claim and the vendor's records side by side: the task's
    own keys first, then `claim`, `person_id`, `vendor_records`, `findings`."""

    claim: EvidenceView
    person_id: str | None
    vendor_records: list[dict[str, Any]]
    findings: list[FindingView]
    response: dict[str, Any] | None = Field(
        default=None, description="in a re-review (stage 3): the district's answer, "
        "`{kind, evidence_id, explanation, preview, responded_at}`")  # fmt: skip
    names: dict[str, str | None] | None = Field(
        default=None, description="`{credential, school, district, uploaded_by}`: names from "
        "the registry and the state's school list, and the uploader's holder label")  # fmt: skip


class Recorded(BaseModel):
    """What recording a finding answers: `{"task", "finding"}`, the task as it now stands."""

    model_config = ConfigDict(frozen=True)

    task: TaskView
    finding: FindingView

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)
