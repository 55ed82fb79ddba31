"""Draws from a frozen population: the first round, expansions, and re-deriving them.

Round 1 takes, per stratum, the lowest tickets (`audit.sampling.tickets`)
under the public seed, as many as the plan's rule gives for the stratum at the
school's sampling level (the whole stratum when it is smaller).  Later rounds
(an operator's expansion, or escalation's follow-up) reuse the same seed and
continue the same ticket order, so they extend the first round.  Each round
stores its cumulative sizes per stratum, which is all `verify` needs to
re-derive every round from the published manifest and seed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, col, select

from audit.events import AuditEvent
from audit.manifests import read_manifest
from audit.plans.documents import is_uncorroborated
from audit.plans.models import (
    AuditDraw,
    AuditPlan,
    AuditTask,
    PlanStatus,
    SchoolSamplingLevel,
)
from audit.plans.plans import Member, frozen_items, get_plan, plan_document
from audit.plans.standing import refresh_current
from audit.sampling.switching import Level
from audit.sampling.tickets import Item, Ticketed, check_seed, ranked
from eventlog.log import EventLog
from exchange.evidence.models import Evidence
from kernel.errors import InvalidInput
from kernel.rows import key_of


@dataclass(frozen=True)
class DrawResult:
    """One round: what was drawn, the cumulative sizes, and strata taken whole."""

    draw: AuditDraw
    items: list[Ticketed]
    whole_strata: list[str] = field(default_factory=list)
    repeated: bool = False  # the same seed again: the stored round, nothing new drawn

    def as_json(self) -> dict:
        """Exactly the issue's interface: seed, manifest digest, items in draw order."""
        return draw_json(self.draw.seed, self.draw.manifest_sha256, self.items)


def draw_json(seed: str, manifest_sha256: str, items: list[Ticketed]) -> dict:
    return {
        "seed": seed,
        "manifest_sha256": manifest_sha256,
        "items": [{"id": t.id, "stratum": t.stratum, "ticket": t.ticket} for t in items],
    }


def draws_of(session: Session, plan_id: str) -> list[AuditDraw]:
    query = select(AuditDraw).where(AuditDraw.plan_id == plan_id)
    return list(session.exec(query.order_by(col(AuditDraw.round))))


def school_levels(session: Session, state: str) -> dict[str, Level]:
    rows = session.exec(select(SchoolSamplingLevel).where(SchoolSamplingLevel.state == state))
    return {row.school_code: Level(row.level) for row in rows}


def planned_sizes(
    plan: AuditPlan, items: list[Member], levels: Mapping[str, Level]
) -> dict[str, int]:
    """Cumulative size per stratum that the plan's rule gives at each school's level."""
    document = plan_document(plan)
    populations: dict[str, int] = {}
    school: dict[str, str] = {}
    for item in items:
        populations[item.stratum] = populations.get(item.stratum, 0) + 1
        school[item.stratum] = item.school_code
    return {
        stratum: document.size(
            count,
            levels.get(school[stratum], Level.NORMAL),
            uncorroborated=is_uncorroborated(stratum),
        )
        for stratum, count in sorted(populations.items())
    }


def draw_sample(session: Session, plan_id: str, seed: str, actor: str) -> DrawResult:
    """Round 1 under `seed`; the same seed again returns the stored round, another is refused."""
    check_seed(seed)
    plan = get_plan(session, plan_id)
    items = frozen_items(session, plan)
    existing = draws_of(session, plan.id)
    if existing:
        return _repeat(session, plan, existing[0], seed)
    if plan.status == PlanStatus.SUPERSEDED:
        raise InvalidInput(f"plan {plan.id} was superseded by a newer plan: draw from that one")
    sizes = planned_sizes(plan, items, school_levels(session, plan.state))
    populations = _populations(items)
    whole = [s for s, n in sizes.items() if n >= populations[s]]
    result = _new_round(session, plan, items, seed, sizes, {}, reason="initial", actor=actor)
    plan.status = PlanStatus.DRAWN
    session.add(plan)
    EventLog(session).record(
        AuditEvent.AUDIT_SAMPLE_DRAWN,
        f"audit-plan:{plan.id}",
        actor,
        seed=seed,
        manifest_sha256=plan.manifest_sha256,
        round=1,
        drawn=len(result.items),
        sizes=sizes,
        whole_strata=whole,
    )
    return DrawResult(result.draw, result.items, whole)


def _populations(items: list[Member]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.stratum] = counts.get(item.stratum, 0) + 1
    return counts


def _repeat(session: Session, plan: AuditPlan, first: AuditDraw, seed: str) -> DrawResult:
    if seed != first.seed:
        raise InvalidInput(
            f"plan {plan.id} was already drawn with seed {first.seed!r}; a draw is never "
            "repeated with another seed: expand the draw to sample more",
            hint="`credx audit expand` samples more",
        )
    return DrawResult(first, tasks_as_tickets(session, first), repeated=True)


def tasks_as_tickets(session: Session, draw: AuditDraw) -> list[Ticketed]:
    """A stored round's items in draw order (stratum code points, then ticket)."""
    tasks = session.exec(select(AuditTask).where(AuditTask.draw_id == draw.id)).all()
    order = sorted(tasks, key=lambda t: (t.stratum, Decimal(t.ticket), t.item_id))
    ranks: dict[str, int] = {}
    result = []
    for task in order:
        ranks[task.stratum] = ranks.get(task.stratum, 0) + 1
        result.append(Ticketed(task.item_id, task.stratum, task.ticket, ranks[task.stratum]))
    return result


def expand(
    session: Session,
    plan_id: str,
    additions: Mapping[str, int],
    actor: str,
    *,
    reason: str = "expansion",
) -> DrawResult:
    """A further round: `additions[stratum]` more items each, continuing the ticket order."""
    plan = get_plan(session, plan_id)
    items = frozen_items(session, plan)
    rounds = draws_of(session, plan.id)
    if not rounds:
        raise InvalidInput(
            f"plan {plan.id} has no draw yet: draw it first", hint="run `credx audit draw`"
        )
    populations = _populations(items)
    before = json.loads(rounds[-1].sizes)
    for stratum, count in additions.items():
        _check_addition(plan.id, stratum, count, populations, before)
    after = {**before}
    for stratum, count in additions.items():
        after[stratum] = min(populations[stratum], before.get(stratum, 0) + count)
    result = _new_round(session, plan, items, rounds[0].seed, after, before, reason, actor)
    EventLog(session).record(
        AuditEvent.AUDIT_SAMPLE_EXPANDED,
        f"audit-plan:{plan.id}",
        actor,
        round=result.draw.round,
        reason=reason,
        drawn=len(result.items),
        sizes={s: after[s] for s in additions},
    )
    return result


def _check_addition(
    plan_id: str, stratum: str, count: int, populations: Mapping[str, int], before: Mapping
) -> None:
    if stratum not in populations:
        known = ", ".join(sorted(populations)[:10])
        raise InvalidInput(f"plan {plan_id} has no stratum {stratum!r} (strata: {known})")
    if count < 1:
        raise InvalidInput(f"--size must be at least 1 (got {count})")
    if before.get(stratum, 0) >= populations[stratum]:
        raise InvalidInput(
            f"stratum {stratum!r} is already drawn in full ({populations[stratum]} items)"
        )


def _new_round(
    session: Session,
    plan: AuditPlan,
    items: list[Member],
    seed: str,
    after: Mapping[str, int],
    before: Mapping[str, int],
    reason: str,
    actor: str,
) -> DrawResult:
    order = ranked([Item(i.item_id, i.stratum) for i in items], seed)
    drawn = [
        ticketed
        for stratum, ranking in order.items()
        for ticketed in ranking[before.get(stratum, 0) : after.get(stratum, 0)]
    ]
    rounds = draws_of(session, plan.id)
    draw = AuditDraw(
        plan_id=plan.id,
        round=len(rounds) + 1,
        seed=seed,
        manifest_sha256=plan.manifest_sha256 or "",
        sizes=json.dumps(dict(sorted(after.items()))),
        reason=reason,
        drawn_by=actor,
    )
    session.add(draw)
    session.flush()
    _add_tasks(session, plan, draw, drawn, {i.item_id: i for i in items})
    return DrawResult(draw, drawn)


def _add_tasks(
    session: Session,
    plan: AuditPlan,
    draw: AuditDraw,
    drawn: list[Ticketed],
    population: Mapping[str, Member],
) -> None:
    evidence_ids = [population[t.id].evidence_id for t in drawn]
    districts = _districts(session, evidence_ids)
    for ticketed in drawn:
        member = population[ticketed.id]
        session.add(
            AuditTask(
                plan_id=plan.id,
                draw_id=key_of(draw),
                state=plan.state,
                district=districts[member.evidence_id],
                school_code=member.school_code,
                stratum=member.stratum,
                item_id=member.item_id,
                evidence_id=member.evidence_id,
                ticket=ticketed.ticket,
            )
        )
    session.flush()
    refresh_current(session, evidence_ids)


def _districts(session: Session, evidence_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(evidence_ids), 500):
        chunk = evidence_ids[start : start + 500]
        rows = session.exec(
            select(Evidence.id, Evidence.district).where(col(Evidence.id).in_(chunk))
        ).all()
        found.update(dict(rows))
    return found


@dataclass(frozen=True)
class Verification:
    """Whether the stored rounds re-derive from the manifest and seed, and what differs."""

    ok: bool
    rounds: int
    items: int
    differences: list[str]

    def as_json(self) -> dict:
        return self.__dict__.copy()


def verify(session: Session, plan_id: str, seed: str, manifest: Path, actor: str) -> Verification:
    """Re-derive every stored round from `manifest` and `seed`; compare byte for byte."""
    check_seed(seed)
    plan = get_plan(session, plan_id)
    frozen = read_manifest(manifest)
    rounds = draws_of(session, plan.id)
    if not rounds:
        raise InvalidInput(f"plan {plan.id} has no draw yet: nothing to verify")
    differences = []
    if frozen.canonical_sha256 != plan.manifest_sha256:
        differences.append(
            f"manifest: its canonical sha256 is {frozen.canonical_sha256}, the plan published "
            f"{plan.manifest_sha256}"
        )
    if seed != rounds[0].seed:
        differences.append(f"seed: the draw used {rounds[0].seed!r}, not {seed!r}")
    order = ranked(frozen.items, seed)
    total = 0
    before: dict[str, int] = {}
    for draw in rounds:
        after = json.loads(draw.sizes)
        derived = [t for s, r in order.items() for t in r[before.get(s, 0) : after.get(s, 0)]]
        stored = tasks_as_tickets(session, draw)
        differences += _compare(draw.round, derived, stored, seed, frozen.canonical_sha256)
        total += len(stored)
        before = after
    result = Verification(not differences, len(rounds), total, differences)
    EventLog(session).record(
        AuditEvent.AUDIT_DRAW_VERIFIED,
        f"audit-plan:{plan.id}",
        actor,
        ok=result.ok,
        rounds=result.rounds,
        items=total,
        differences=len(differences),
    )
    return result


def _compare(
    round_number: int, derived: list[Ticketed], stored: list[Ticketed], seed: str, digest: str
) -> list[str]:
    want = json.dumps(draw_json(seed, digest, derived), sort_keys=True).encode()
    have = json.dumps(draw_json(seed, digest, stored), sort_keys=True).encode()
    if want == have:
        return []
    wanted = {(t.id, t.stratum, t.ticket) for t in derived}
    held = {(t.id, t.stratum, t.ticket) for t in stored}
    problems = [
        f"round {round_number}: the stored draw has {i} ({s}, ticket {k}) which the manifest "
        "and seed do not give"
        for i, s, k in sorted(held - wanted)
    ]
    problems += [
        f"round {round_number}: the manifest and seed give {i} ({s}, ticket {k}) which the "
        "stored draw lacks"
        for i, s, k in sorted(wanted - held)
    ]
    return problems or [f"round {round_number}: same items in a different order"]
