"""Audit plans, their frozen populations, draws, auditor tasks, findings and district responses.

The statistics live in `audit.sampling` (pure); these tables record what was
decided with them, so a draw can be re-derived and every finding traced.  A
plan's parameters are a JSON document (`AuditPlan.document`) validated by the
plan service, so adding a rule does not need a schema change.

Concurrency: a finding is unique per (task, stage), so two auditors finishing
the same task at once cannot both win; the loser gets a clear error.  A
district response is unique per task: a district may respond once.
"""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import kernel.database  # noqa: F401  (naming convention before any table)
from kernel.clock import utcnow


def _now() -> datetime:
    return utcnow()


class PlanStatus(StrEnum):
    DRAFT = "draft"  # parameters may change; no population yet
    FROZEN = "frozen"  # population written and its manifest sha256 published
    DRAWN = "drawn"  # at least one draw made from the frozen population
    CLOSED = "closed"  # results final
    SUPERSEDED = "superseded"  # replaced by a newer plan for the same state and year


class TaskStatus(StrEnum):
    OPEN = "open"  # drawn, waiting for an auditor
    ASSIGNED = "assigned"  # an auditor holds it
    SECOND_REVIEW = "second_review"  # first finding was a discrepancy: needs another auditor
    FINAL = "final"  # the finding stands (district may respond within the window)
    RE_REVIEW = "re_review"  # the district answered a discrepancy: an auditor decides again


class FindingOutcome(StrEnum):
    VERIFIED = "verified"
    DISCREPANCY = "discrepancy"


class DiscrepancyType(StrEnum):
    WRONG_STUDENT = "wrong_student"
    WRONG_CREDENTIAL = "wrong_credential"
    DATE_OUTSIDE_SCHOOL_YEAR = "date_outside_school_year"
    ALTERED_OR_NOT_AUTHENTIC = "altered_or_not_authentic"
    ILLEGIBLE = "illegible"
    MISSING = "missing"  # the district could not produce the certificate


class AuditPlan(SQLModel, table=True):
    """One state's audit of one school year's uploads (`id` is the operator's name for it)."""

    __tablename__ = "audit_plans"
    __table_args__ = (sa.UniqueConstraint("state", "school_year", "name"),)

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=64)
    state: str = Field(max_length=2, index=True)
    school_year: str = Field(max_length=7)
    document: str = Field(sa_type=sa.Text)  # the plan's rules as JSON (see the plan service)
    status: str = Field(default=PlanStatus.DRAFT, max_length=10)
    manifest_sha256: str | None = Field(default=None, max_length=64)
    frozen_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class AuditPopulationItem(SQLModel, table=True):
    """One upload in a frozen population: its canonical manifest id and its stratum."""

    __tablename__ = "audit_population"

    plan_id: str = Field(foreign_key="audit_plans.id", primary_key=True, max_length=64)
    item_id: str = Field(primary_key=True, max_length=100)  # the manifest's `id`
    stratum: str = Field(max_length=100)
    evidence_id: str = Field(foreign_key="evidence.id", max_length=32, index=True)
    school_code: str = Field(max_length=16)
    corroborated: bool = False


class AuditDraw(SQLModel, table=True):
    """One round of drawing (round 1 the initial sample, later rounds expansions)."""

    __tablename__ = "audit_draws"
    __table_args__ = (sa.UniqueConstraint("plan_id", "round"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="audit_plans.id", max_length=64, index=True)
    round: int
    seed: str = Field(max_length=200)
    manifest_sha256: str = Field(max_length=64)
    sizes: str = Field(sa_type=sa.Text)  # JSON {stratum: cumulative sample size}
    reason: str = Field(default="initial", max_length=40)  # initial|tightened|full|expansion
    drawn_by: str = Field(max_length=200)
    drawn_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class AuditTask(SQLModel, table=True):
    """One sampled upload for an auditor to judge.

    `version` increases on every change; updates say `WHERE version = :seen`
    so a stale writer fails instead of overwriting.
    """

    __tablename__ = "audit_tasks"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "evidence_id"),
        sa.Index("ix_audit_tasks_queue", "state", "status", "assigned_to", "ticket"),
        # an auditor's own tasks (`AuditQueue.next_task` looks for them first on every call)
        sa.Index("ix_audit_tasks_holder", "assigned_to", "status"),
        # a plan's progress counts (the dashboard's audits panel) from the index alone
        sa.Index("ix_audit_tasks_plan_progress", "plan_id", "status", "final_outcome"),
        # one current finding per upload, whatever the code does (audit.plans.standing)
        sa.Index("uq_audit_tasks_current_evidence", "evidence_id", unique=True,
                 sqlite_where=sa.text("is_current"), postgresql_where=sa.text("is_current")),
    )  # fmt: skip

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="audit_plans.id", max_length=64)
    draw_id: int = Field(foreign_key="audit_draws.id")
    state: str = Field(max_length=2)
    district: str = Field(max_length=32, index=True)
    school_code: str = Field(max_length=16)
    stratum: str = Field(max_length=100)
    item_id: str = Field(max_length=100)
    evidence_id: str = Field(foreign_key="evidence.id", max_length=32)
    ticket: str = Field(max_length=100)  # "0.<digits>", compared as text in draw order
    status: str = Field(default=TaskStatus.OPEN, max_length=16)
    assigned_to: str | None = Field(default=None, max_length=200)  # Principal.actor
    assigned_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    first_auditor: str | None = Field(default=None, max_length=200)
    final_outcome: str | None = Field(default=None, max_length=12)  # FindingOutcome
    final_type: str | None = Field(default=None, max_length=40)  # DiscrepancyType
    final_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    version: int = 1
    # the task whose finding stands for the upload (`audit.plans.standing.refresh_current`)
    is_current: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class AuditFinding(SQLModel, table=True):
    """What one auditor found on one task (stage 1 first look, stage 2 the second auditor)."""

    __tablename__ = "audit_findings"
    __table_args__ = (sa.UniqueConstraint("task_id", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="audit_tasks.id", index=True)
    stage: int
    auditor: str = Field(max_length=200)
    outcome: str = Field(max_length=12)  # FindingOutcome
    discrepancy_type: str | None = Field(default=None, max_length=40)  # DiscrepancyType
    note: str | None = Field(default=None, sa_type=sa.Text)
    recorded_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class DistrictResponse(SQLModel, table=True):
    """A district's one answer to a final finding: a corrected file or an explanation."""

    __tablename__ = "audit_responses"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="audit_tasks.id", unique=True)
    district: str = Field(max_length=32)
    kind: str = Field(max_length=20)  # corrected_file | explanation
    evidence_id: str | None = Field(default=None, foreign_key="evidence.id", max_length=32)
    explanation: str | None = Field(default=None, sa_type=sa.Text)
    responded_by: str = Field(max_length=200)
    responded_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class SchoolSamplingLevel(SQLModel, table=True):
    """Where a school stands in the switching rules (ANSI/ASQ Z1.4 style) for a state."""

    __tablename__ = "audit_school_levels"

    state: str = Field(primary_key=True, max_length=2)
    school_code: str = Field(primary_key=True, max_length=16)
    level: str = Field(default="normal", max_length=12)  # audit.sampling.switching.Level
    history: str = Field(default="[]", sa_type=sa.Text)  # JSON list of per-cycle outcomes
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
