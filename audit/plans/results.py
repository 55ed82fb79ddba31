"""What an audit found: per school and per state, with an exact upper bound.

Per school (and for the whole state): uploads in the population, how many were
sampled (and at what rate), how many have a final finding, verified,
discrepancies, the observed discrepancy rate over final findings and its
one-sided Clopper-Pearson upper bound at the plan's confidence
(`audit.sampling.bounds`), and the credentials that can be counted for
accountability: every upload of the population except those with a final
discrepancy (an unsampled upload stands, as in Louisiana's model; the bound
says how many of those could be wrong).  The plan's sampling rates are stated
beside the numbers.

Each row also carries `sentence`, the bound said for someone who is not a
statistician: "With 95% confidence, no more than 7.8% of this school's 412
uploads are wrong."  Pages, the CSV and `credx audit results` print the same one.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from access.policy import check_audit_results
from access.principals import Principal
from audit.events import AuditEvent
from audit.plans.models import (
    AuditPlan,
    AuditPopulationItem,
    AuditTask,
    FindingOutcome,
    PlanStatus,
    TaskStatus,
)
from audit.plans.plans import get_plan, plan_document
from audit.sampling.bounds import clopper_pearson_upper
from eventlog.log import EventLog
from kernel import csvfile
from kernel.errors import NotFound

COLUMNS = (
    "scope", "school_code", "population", "corroborated", "sampled", "sampling_rate", "final",
    "verified", "discrepancies", "pending", "observed_rate", "upper_bound", "confidence",
    "countable",
)  # fmt: skip


@dataclass(frozen=True)
class ResultRow:
    """One school's (scope `school`) or the state's (scope `state`) figures."""

    scope: str
    school_code: str
    population: int
    corroborated: int
    sampled: int
    sampling_rate: float
    final: int
    verified: int
    discrepancies: int
    pending: int
    observed_rate: float | None
    upper_bound: float | None
    confidence: float
    countable: int
    sentence: str = ""


def sentence(row: ResultRow) -> str:
    """The row's upper bound in plain words (see the module doc)."""
    whose = "this school's" if row.scope == "school" else "the state's"
    uploads = f"{row.population:,} upload" + ("" if row.population == 1 else "s")
    if row.upper_bound is None:
        return f"No sampled upload has a final finding yet, so nothing can be said yet about " \
               f"{whose} {uploads}."
    level = f"{row.confidence * 100:g}%"
    bound = f"{row.upper_bound * 100:.1f}%"
    verb = "is" if row.population == 1 else "are"
    said = f"With {level} confidence, no more than {bound} of {whose} {uploads} {verb} wrong."
    if row.pending:
        said += f" ({row.pending} sampled still awaiting a final finding.)"
    return said


@dataclass(frozen=True)
class PlanResults:
    """A plan's results: a row per school, the state's row, and the plan's rates."""

    plan: str
    state: str
    school_year: str
    confidence: float
    rates: dict[str, str]
    schools: list[ResultRow]
    total: ResultRow

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def plan_results(session: Session, plan_id: str) -> PlanResults:
    """The plan's results: rows per school, the state's row, and the rates."""
    plan = get_plan(session, plan_id)
    document = plan_document(plan)
    population = session.exec(
        select(AuditPopulationItem).where(AuditPopulationItem.plan_id == plan.id)
    ).all()
    tasks = session.exec(select(AuditTask).where(AuditTask.plan_id == plan.id)).all()
    schools = sorted({i.school_code for i in population})
    rows = [
        _row("school", s, [i for i in population if i.school_code == s],
             [t for t in tasks if t.school_code == s], document.confidence)
        for s in schools
    ]  # fmt: skip
    state = _row("state", plan.state, list(population), list(tasks), document.confidence)
    return PlanResults(
        plan=plan.id,
        state=plan.state,
        school_year=plan.school_year,
        confidence=document.confidence,
        rates=document.rates(),
        schools=rows,
        total=state,
    )


def _row(
    scope: str,
    school: str,
    population: list[AuditPopulationItem],
    tasks: list[AuditTask],
    confidence: float,
) -> ResultRow:
    final = [t for t in tasks if t.status == TaskStatus.FINAL]
    discrepancies = sum(t.final_outcome == FindingOutcome.DISCREPANCY for t in final)
    observed = discrepancies / len(final) if final else None
    upper = clopper_pearson_upper(discrepancies, len(final), confidence) if final else None
    row = ResultRow(
        scope=scope,
        school_code=school,
        population=len(population),
        corroborated=sum(i.corroborated for i in population),
        sampled=len(tasks),
        sampling_rate=len(tasks) / len(population) if population else 0.0,
        final=len(final),
        verified=len(final) - discrepancies,
        discrepancies=discrepancies,
        pending=len(tasks) - len(final),
        observed_rate=observed,
        upper_bound=upper,
        confidence=confidence,
        countable=len(population) - discrepancies,
    )
    return replace(row, sentence=sentence(row))


def results_csv(results: PlanResults) -> str:
    """One line per school, then the state's line; the plan's rates in the last two columns."""
    buffer = io.StringIO()
    writer = csvfile.writer(buffer)
    writer.writerow((*COLUMNS, "rate_corroborated", "rate_uncorroborated", "sentence"))
    rates = results.rates
    for row in [*results.schools, results.total]:
        writer.writerow(
            (*(_cell(getattr(row, c)) for c in COLUMNS), rates["corroborated"],
             rates["uncorroborated"], row.sentence)
        )  # fmt: skip
    return buffer.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def export_results(session: Session, plan_id: str, out: Path, actor: str) -> PlanResults:
    """Write the results CSV (aggregates only, no student data) and log the export."""
    results = plan_results(session, plan_id)
    out.write_text(results_csv(results), encoding="utf-8")
    EventLog(session).record(
        AuditEvent.AUDIT_RESULTS_EXPORTED,
        f"audit-plan:{plan_id}",
        actor,
        destination=str(out),
        schools=len(results.schools),
    )
    return results


@dataclass
class PlanProgress:
    plan_id: str
    name: str
    state: str
    school_year: str
    status: str
    tasks: int = 0
    open: int = 0
    assigned: int = 0
    second_review: int = 0
    final: int = 0
    verified: int = 0
    discrepancies: int = 0
    percent_done: float = 0.0  # final tasks out of all drawn


def progress_by_plan(session: Session, state: str | None) -> list[PlanProgress]:
    """Audit progress per plan of `state` (every state when None): task counts by status and
    final outcomes, in one grouped query (the dashboard's audits panel and `audit plan list`).
    It counts `plan_id` (NULL for a plan with no task), so the index on (plan_id, status,
    final_outcome) answers it without reading the tasks themselves."""
    query = (
        sa.select(AuditPlan.id, AuditPlan.name, AuditPlan.state, AuditPlan.school_year,  # type: ignore[call-overload]  # model attributes typed as values
                  AuditPlan.status, col(AuditTask.status).label("task_status"),
                  AuditTask.final_outcome, sa.func.count(col(AuditTask.plan_id)).label("n"))
        .outerjoin(AuditTask, AuditTask.plan_id == AuditPlan.id)
        .group_by(AuditPlan.id, AuditPlan.name, AuditPlan.state, AuditPlan.school_year,
                  AuditPlan.status, AuditTask.status, AuditTask.final_outcome)
    )  # fmt: skip
    if state is not None:
        query = query.where(AuditPlan.state == state)
    plans: dict[str, PlanProgress] = {}
    for r in session.execute(query):
        plan = plans.setdefault(r.id, PlanProgress(r.id, r.name, r.state, r.school_year, r.status))
        if r.task_status is None:
            continue
        plan.tasks += r.n
        if r.task_status in (TaskStatus.OPEN, TaskStatus.ASSIGNED, TaskStatus.SECOND_REVIEW):
            setattr(plan, r.task_status, getattr(plan, r.task_status) + r.n)
        else:
            plan.final += r.n
            plan.verified += r.n if r.final_outcome == FindingOutcome.VERIFIED else 0
            plan.discrepancies += r.n if r.final_outcome == FindingOutcome.DISCREPANCY else 0
    for plan in plans.values():
        plan.percent_done = round(100 * plan.final / plan.tasks, 1) if plan.tasks else 0.0
    return sorted(plans.values(), key=lambda p: (p.state, p.school_year, p.plan_id))


@dataclass(frozen=True)
class ResultsPage:
    """What the results page shows: the caller's state's plans, and the chosen plan's
    results (the newest plan's when none is chosen; None when there is no plan)."""

    plans: list[PlanProgress]
    results: PlanResults | None


def plans_and_results(session: Session, principal: Principal, plan_id: str | None) -> ResultsPage:
    check_audit_results(principal, state=None)
    plans = progress_by_plan(session, principal.state)
    if plan_id is None:
        live = [p for p in plans if p.status != PlanStatus.SUPERSEDED] or plans
        plan_id = live[-1].plan_id if live else None
    if plan_id is None:
        return ResultsPage(plans, None)
    return ResultsPage(plans, _results_for(session, principal, plan_id))


def _results_for(session: Session, principal: Principal, plan_id: str) -> PlanResults:
    plan = session.get(AuditPlan, plan_id)
    if plan is None:
        raise NotFound("no such audit plan")
    check_audit_results(principal, state=plan.state)
    return plan_results(session, plan_id)


def results_download(session: Session, principal: Principal, plan_id: str) -> str:
    """The results CSV of a plan the caller may see (the export is logged)."""
    results = _results_for(session, principal, plan_id)
    EventLog(session).record(
        AuditEvent.AUDIT_RESULTS_EXPORTED, f"audit-plan:{plan_id}", principal.actor,
        destination="download", schools=len(results.schools),
    )  # fmt: skip
    return results_csv(results)
