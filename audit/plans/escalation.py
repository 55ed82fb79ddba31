"""Closing an audit cycle: every school's findings move it between sampling levels.

For each school of the plan, the cycle's final findings (a sampled certificate
the district could not produce is a `missing` discrepancy like any other) go
through `audit.sampling.switching.step` with the plan's switching rules.  The
school's level and history are kept in `SchoolSamplingLevel` (per state, so the
next year's plan starts where this one left off); every switch is an event.  A
school that moves to tightened sampling or full review gets a follow-up round
in this plan, continuing the same ticket order, up to its new level's size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session, select

from audit.events import AuditEvent
from audit.plans.draws import draws_of, expand, planned_sizes
from audit.plans.models import (
    AuditPlan,
    AuditTask,
    FindingOutcome,
    PlanStatus,
    SchoolSamplingLevel,
    TaskStatus,
)
from audit.plans.plans import frozen_items, get_plan, plan_document
from audit.sampling.switching import Cycle, Level, Status, step
from eventlog.log import EventLog
from kernel.clock import utcnow
from kernel.errors import InvalidInput

FOLLOW_UP = {Level.TIGHTENED: "tightened", Level.FULL_REVIEW: "full"}


@dataclass(frozen=True)
class SchoolCycle:
    """One school's cycle: its counts, the level before and after, and why."""

    school_code: str
    sampled: int
    discrepancies: int
    level_before: str
    level_after: str
    switched: bool
    reason: str
    follow_up: int = 0  # items added by the follow-up round


def close_cycle(session: Session, plan_id: str, actor: str) -> list[SchoolCycle]:
    """Apply the switching rules per school; refuses while any task is not final."""
    plan = get_plan(session, plan_id)
    if plan.status == PlanStatus.CLOSED:
        raise InvalidInput(f"plan {plan.id}'s cycle is already closed")
    if plan.status != PlanStatus.DRAWN:
        raise InvalidInput(f"plan {plan.id} has no draw yet: nothing to close")
    tasks = list(session.exec(select(AuditTask).where(AuditTask.plan_id == plan.id)))
    pending = [t for t in tasks if t.status != TaskStatus.FINAL]
    if pending:
        raise InvalidInput(
            f"plan {plan.id}: {len(pending)} of {len(tasks)} tasks have no final finding yet; "
            "finish them (a certificate the district cannot produce is a `missing` finding)"
        )
    cycles = [_school_cycle(session, plan, s, group, actor) for s, group in _by_school(tasks)]
    follow_ups = _follow_up(session, plan, cycles, actor)
    cycles = [
        SchoolCycle(**{**c.__dict__, "follow_up": follow_ups.get(c.school_code, 0)}) for c in cycles
    ]
    plan.status = PlanStatus.CLOSED
    session.add(plan)
    EventLog(session).record(
        AuditEvent.AUDIT_CYCLE_CLOSED,
        f"audit-plan:{plan.id}",
        actor,
        schools=len(cycles),
        switched=sum(c.switched for c in cycles),
        follow_up_items=sum(follow_ups.values()),
    )
    return cycles


def _by_school(tasks: list[AuditTask]) -> list[tuple[str, list[AuditTask]]]:
    groups: dict[str, list[AuditTask]] = {}
    for task in tasks:
        groups.setdefault(task.school_code, []).append(task)
    return sorted(groups.items())


def _school_cycle(
    session: Session, plan: AuditPlan, school: str, tasks: list[AuditTask], actor: str
) -> SchoolCycle:
    rules = plan_document(plan).switching.rules()
    discrepancies = sum(t.final_outcome == FindingOutcome.DISCREPANCY for t in tasks)
    record = session.get(SchoolSamplingLevel, (plan.state, school)) or SchoolSamplingLevel(
        state=plan.state, school_code=school
    )
    history = json.loads(record.history)
    status = Status(Level(record.level), _outcomes_since_switch(history))
    cycle = Cycle(len(tasks), discrepancies)
    decision = step(status, cycle, rules)
    after = decision.status.level
    history.append(
        {
            "plan": plan.id,
            "sampled": len(tasks),
            "discrepancies": discrepancies,
            "failed": cycle.failed(rules),
            "level": record.level,
            "switched_to": str(after) if decision.switched else None,
        }
    )
    before = record.level
    record.level, record.history, record.updated_at = str(after), json.dumps(history), utcnow()
    session.add(record)
    if decision.switched:
        EventLog(session).record(
            AuditEvent.AUDIT_LEVEL_SWITCHED,
            f"school:{plan.state}:{school}",
            actor,
            plan=plan.id,
            level_before=before,
            level_after=str(after),
            reason=decision.reason,
            sampled=len(tasks),
            discrepancies=discrepancies,
        )
    return SchoolCycle(
        school, len(tasks), discrepancies, before, str(after), decision.switched, decision.reason
    )


def _outcomes_since_switch(history: list[dict]) -> tuple[bool, ...]:
    outcomes: list[bool] = []
    for entry in history:
        outcomes = [] if entry.get("switched_to") else [*outcomes, bool(entry["failed"])]
    return tuple(outcomes)


def _follow_up(
    session: Session, plan: AuditPlan, cycles: list[SchoolCycle], actor: str
) -> dict[str, int]:
    """A follow-up round per new level (tightened, full review) for the schools that moved."""
    items = frozen_items(session, plan)
    drawn = json.loads(draws_of(session, plan.id)[-1].sizes)
    added: dict[str, int] = {}
    for level, reason in FOLLOW_UP.items():
        schools = {c.school_code for c in cycles if c.switched and c.level_after == level}
        members = [i for i in items if i.school_code in schools]
        target = planned_sizes(plan, members, dict.fromkeys(schools, level))
        more = {s: n - drawn.get(s, 0) for s, n in target.items() if n > drawn.get(s, 0)}
        if not more:
            continue
        result = expand(session, plan.id, more, actor, reason=reason)
        school_of = {i.item_id: i.school_code for i in members}
        for ticketed in result.items:
            added[school_of[ticketed.id]] = added.get(school_of[ticketed.id], 0) + 1
        drawn = json.loads(result.draw.sizes)
    return added
