"""Audit plans: create them, list them, and freeze their population into a manifest.

The population of a plan is every upload (evidence row) of the plan's state
whose claim names the plan's school year.  Freezing writes one
`AuditPopulationItem` per upload and the canonical manifest (`audit.manifests`)
whose sha256 is published *before* the seed is chosen; after that the
population cannot change, whatever is uploaded later.

Canonical manifest id of an upload: `evidence:<evidence id>` (the id the
upload receipt and the web pages show).  Stratum: the school code of the
claim, or `<school code>/uncorroborated` for uploads no vendor PASS confirms
(see `audit.plans.corroboration`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Row, insert
from sqlmodel import Session, col, select

from audit.events import AuditEvent
from audit.manifests import write_manifest
from audit.plans.corroboration import corroborated_ids
from audit.plans.documents import UNCORROBORATED_SUFFIX, PlanDocument, load_document, parse_document
from audit.plans.models import AuditPlan, AuditPopulationItem, AuditTask, PlanStatus
from audit.plans.standing import refresh_current
from audit.sampling.tickets import Item
from eventlog.log import EventLog
from exchange.evidence.models import Evidence
from kernel import values
from kernel.clock import utcnow
from kernel.errors import InvalidInput, NotFound

BATCH = 5000
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def item_id(evidence_id: str) -> str:
    """The canonical manifest id of an upload."""
    return f"evidence:{evidence_id}"


def stratum_of(school_code: str, corroborated: bool) -> str:
    return school_code if corroborated else school_code + UNCORROBORATED_SUFFIX


def create_plan(
    session: Session, *, name: str, state: str, school_year: str, rules: dict, actor: str,
    supersedes: str | None = None,
) -> AuditPlan:  # fmt: skip
    """A draft plan; `rules` are the `PlanDocument` fields (validated here).

    A state has one active plan per school year, so that an upload has one current
    finding: while one exists, a new plan must name it in `supersedes`; the old plan
    is then marked superseded (its tasks leave the queue) and the event records both.
    """
    if not NAME.fullmatch(name):
        raise InvalidInput(
            f"plan name {name!r}: use 1-64 letters, digits, '.', '_' or '-' (e.g. la-2025-26)"
        )
    state = values.state_code(state, field="state")
    values.school_year(school_year, field="school_year")
    document = parse_document(rules)
    if session.get(AuditPlan, name) is not None:
        raise InvalidInput(f"an audit plan named {name!r} already exists; choose another name")
    replaced = _replaced(session, state, school_year, supersedes)
    plan = AuditPlan(
        id=name,
        name=name,
        state=state,
        school_year=school_year,
        document=document.model_dump_json(),
        created_by=actor,
    )
    session.add(plan)
    session.flush()
    EventLog(session).record(
        AuditEvent.AUDIT_PLAN_CREATED,
        f"audit-plan:{name}",
        actor,
        state=state,
        school_year=school_year,
        rules=document.model_dump(),
        supersedes=replaced.id if replaced else None,
    )
    if replaced is not None:
        replaced.status = PlanStatus.SUPERSEDED
        session.add(replaced)
        EventLog(session).record(
            AuditEvent.AUDIT_PLAN_SUPERSEDED, f"audit-plan:{replaced.id}", actor,
            superseded_by=name, state=state, school_year=school_year,
        )  # fmt: skip
        session.flush()
        refresh_current(session, session.exec(
            select(AuditTask.evidence_id).where(AuditTask.plan_id == replaced.id)).all())
    session.flush()
    return plan


def active_plan(session: Session, state: str, school_year: str) -> AuditPlan | None:
    """The state's one plan for the school year that is not superseded (None if none)."""
    query = select(AuditPlan).where(
        AuditPlan.state == state, AuditPlan.school_year == school_year,
        AuditPlan.status != PlanStatus.SUPERSEDED,
    )  # fmt: skip
    return session.exec(query).first()


def _replaced(
    session: Session, state: str, school_year: str, supersedes: str | None
) -> AuditPlan | None:
    """The active plan the new one replaces, or why the new one may not be made."""
    active = active_plan(session, state, school_year)
    if active is None:
        if supersedes is not None:
            raise InvalidInput(f"there is no active {state} {school_year} audit plan named "
                               f"{supersedes!r} to supersede", field="supersedes")  # fmt: skip
        return None
    if supersedes != active.id:
        raise InvalidInput(
            f"{state} already has an active audit plan for {school_year}, {active.id!r}: an "
            "upload must have one current finding, so a new plan has to supersede it",
            field="supersedes", hint=f"add `--supersedes {active.id}`",
        )  # fmt: skip
    return active


def get_plan(session: Session, plan_id: str) -> AuditPlan:
    plan = session.get(AuditPlan, plan_id)
    if plan is None:
        raise NotFound(f"no audit plan named {plan_id!r}", hint="see `credx audit plan list`")
    return plan


def plan_document(plan: AuditPlan) -> PlanDocument:
    return load_document(plan.document)


def list_plans(session: Session, state: str | None = None) -> list[AuditPlan]:
    query = select(AuditPlan).order_by(col(AuditPlan.state), col(AuditPlan.created_at))
    if state is not None:
        query = query.where(AuditPlan.state == state)
    return list(session.exec(query))


@dataclass(frozen=True)
class PlanView:
    """A plan as `audit plan show --json` answers it: its rules and the rates they mean."""

    id: str
    state: str
    school_year: str
    status: str
    manifest_sha256: str | None
    frozen_at: str | None  # UTC ISO 8601
    created_by: str
    rules: dict[str, Any]  # the plan document's fields
    rates: dict[str, str]  # `PlanDocument.rates()`

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def describe(plan: AuditPlan) -> PlanView:
    """The plan's rules and the rates they mean."""
    document = plan_document(plan)
    return PlanView(
        id=plan.id,
        state=plan.state,
        school_year=plan.school_year,
        status=plan.status,
        manifest_sha256=plan.manifest_sha256,
        frozen_at=plan.frozen_at.isoformat() if plan.frozen_at else None,
        created_by=plan.created_by,
        rules=json.loads(plan.document),
        rates=document.rates(),
    )


def population(session: Session, plan: AuditPlan) -> list[Row[Any]]:
    """The uploads in scope now (id, school_code, credential_code): state and school year."""
    query = select(Evidence.id, Evidence.school_code, Evidence.credential_code).where(
        Evidence.state == plan.state, Evidence.school_year == plan.school_year
    )
    return list(session.execute(query.order_by(col(Evidence.id))))


@dataclass(frozen=True)
class Member:
    """One upload of a frozen population, as the draw reads it (`AuditPopulationItem`'s
    columns; plain data because building 100,000 ORM objects costs seconds)."""

    item_id: str
    stratum: str
    evidence_id: str
    school_code: str
    corroborated: bool


@dataclass(frozen=True)
class Frozen:
    """A frozen population: its digest, items and whether this call froze it."""

    sha256: str
    items: list[Member]
    newly_frozen: bool

    def strata(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.stratum] = counts.get(item.stratum, 0) + 1
        return dict(sorted(counts.items()))


def freeze(session: Session, plan_id: str, out: Path, actor: str) -> Frozen:
    """Freeze the population (first call) and write its canonical manifest to `out`.

    Called again on a frozen plan it writes the same manifest from the stored
    population (the published digest cannot change).
    """
    plan = get_plan(session, plan_id)
    if plan.status != PlanStatus.DRAFT:
        return _rewrite(session, plan, out, actor)
    uploads = population(session, plan)
    if not uploads:
        raise InvalidInput(
            f"plan {plan.id}: the population is empty: no {plan.state} uploads name school "
            f"year {plan.school_year}; check the plan's state and year"
        )
    confirmed = corroborated_ids(session, uploads)
    items = [_member(e, e.id in confirmed) for e in uploads]
    digest = write_manifest(_manifest_items(items), out)
    for start in range(0, len(items), BATCH):  # a bulk insert: ORM objects cost seconds here
        batch = items[start : start + BATCH]
        rows = [{"plan_id": plan.id, **i.__dict__} for i in batch]
        session.execute(insert(AuditPopulationItem), rows)
    plan.manifest_sha256, plan.frozen_at, plan.status = digest, utcnow(), PlanStatus.FROZEN
    session.add(plan)
    session.flush()
    EventLog(session).record(
        AuditEvent.AUDIT_POPULATION_FROZEN,
        f"audit-plan:{plan.id}",
        actor,
        items=len(items),
        corroborated=len(confirmed),
        manifest_sha256=digest,
        destination=str(out),
    )
    return Frozen(digest, items, True)


def _member(upload: Row[Any], corroborated: bool) -> Member:
    return Member(
        item_id(upload.id),
        stratum_of(upload.school_code, corroborated),
        upload.id,
        upload.school_code,
        corroborated,
    )


def _manifest_items(items: Sequence[Member]) -> list[Item]:
    return [Item(i.item_id, i.stratum) for i in items]


def frozen_items(session: Session, plan: AuditPlan) -> list[Member]:
    """The frozen population (rows with the `AuditPopulationItem` columns but `plan_id`);
    refuses a plan whose population is not frozen yet."""
    if plan.status == PlanStatus.DRAFT or plan.manifest_sha256 is None:
        raise InvalidInput(
            f"plan {plan.id} is not frozen: write its population manifest and publish its "
            "sha256 before choosing the seed",
            hint=f"run `credx audit manifest {plan.id} --out FILE`",
        )
    query = select(  # type: ignore[call-overload]  # model attributes typed as values
        AuditPopulationItem.item_id,
        AuditPopulationItem.stratum,
        AuditPopulationItem.evidence_id,
        AuditPopulationItem.school_code,
        AuditPopulationItem.corroborated,
    ).where(AuditPopulationItem.plan_id == plan.id)
    return [Member(*row) for row in session.exec(query.order_by(col(AuditPopulationItem.item_id)))]


def _rewrite(session: Session, plan: AuditPlan, out: Path, actor: str) -> Frozen:
    items = frozen_items(session, plan)
    digest = write_manifest(_manifest_items(items), out)
    if digest != plan.manifest_sha256:  # the stored population was changed behind our back
        raise InvalidInput(
            f"plan {plan.id}: the stored population no longer matches its published manifest "
            f"sha256 {plan.manifest_sha256}; do not draw, investigate"
        )
    EventLog(session).record(
        AuditEvent.AUDIT_MANIFEST_WRITTEN,
        f"audit-plan:{plan.id}",
        actor,
        items=len(items),
        manifest_sha256=digest,
        destination=str(out),
    )
    return Frozen(digest, items, False)
