"""Linking what the database holds: full runs, incremental runs, stable ids.

A run links one state's records (a consortium's states never share persons),
assigns stable person ids (`linkage.identity`), records merges and splits in
the event log (ids and counts only, never names or dates), replaces the
state's open review pairs, and keeps the model it ran with.  The caller's
transaction commits (job boundary).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import pandas as pd
from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from eventlog.log import EventLog
from kernel.clock import utcnow
from kernel.rows import key_of
from kernel.settings import Settings
from kernel.values import state_code
from linkage.clusters import REVIEW_COLUMNS
from linkage.engine import Constraints, LinkParameters, LinkResult, link_records
from linkage.events import LinkageEvent
from linkage.identity import Assignment, assign_ids, person_id
from linkage.model import LinkModel
from linkage.models import (
    LinkConstraint,
    LinkModelDocument,
    LinkRun,
    Person,
    PersonAlias,
    PersonRecord,
    ReviewPair,
)
from linkage.records import load_records, split_record_id, states_with_records

Progress = Callable[[str], None]
BATCH = 10_000


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    state: str
    kind: str
    records: int
    persons: int
    new_persons: int
    merged: int
    split: int
    review_pairs: int
    flagged_clusters: int
    model_version: str
    warnings: tuple[str, ...]
    review_reasons: dict[str, int] = field(default_factory=dict)  # pairs queued, per reason
    estimated_precision: float | None = None  # the model's own estimates (engine.estimates)
    estimated_recall: float | None = None
    # what this run merged from and reviewed from (chosen from the targets: linkage.thresholds)
    match_threshold: float | None = None
    review_lower: float | None = None

    def as_dict(self) -> dict:
        return {**asdict(self), "warnings": list(self.warnings)}


def parameters_from(settings: Settings) -> LinkParameters:
    return LinkParameters(
        target_precision=settings.linkage_target_precision,
        target_recall=settings.linkage_target_recall,
        review_lower=settings.linkage_review_lower,
        max_cluster_size=settings.linkage_max_cluster_size,
        max_block_size=settings.linkage_max_block_size,
        seed=settings.linkage_seed,
    )


def link_states(
    session: Session,
    *,
    states: list[str] | None,
    params: LinkParameters,
    actor: str,
    engine: str = "duckdb",
    incremental: bool = False,
    progress: Progress | None = None,
) -> list[RunSummary]:
    """Link each state (all states with records when `states` is None)."""
    run = link_new if incremental else link_state
    chosen = [state_code(s) for s in states] if states else states_with_records(session)
    return [
        run(session, state=s, params=params, actor=actor, engine=engine, progress=progress)
        for s in chosen
    ]


def link_state(
    session: Session,
    *,
    state: str,
    params: LinkParameters,
    actor: str,
    engine: str = "duckdb",
    progress: Progress | None = None,
) -> RunSummary:
    """Link every record of `state` from scratch (training a model), keeping person ids."""
    records = load_records(session, state)
    result = link_records(
        records,
        engine=engine,
        constraints=load_constraints(session, state),
        parameters=params,
        progress=progress,
    )
    run = _start_run(session, state, "full", engine, result.model, actor)
    previous = _previous(session, state)
    existing = set(session.exec(select(Person.id)))
    assignment = assign_ids(result.clusters, previous, state=state, existing=existing)
    _write_persons(session, state, run, assignment)
    person_of = {r: assignment.person_of_cluster[c] for r, c in result.clusters.items()}
    _replace_person_records(session, state, run, person_of)
    _record_history(session, run, assignment, actor)
    return _finish(session, run, result, person_of, assignment, actor)


def link_new(
    session: Session,
    *,
    state: str,
    params: LinkParameters,
    actor: str,
    engine: str = "duckdb",
    progress: Progress | None = None,
) -> RunSummary:
    """Link only records not yet linked, against existing persons, with the last model."""
    model = latest_model(session, state)
    if model is None:  # nothing linked yet: the first run is a full one
        return link_state(
            session, state=state, params=params, actor=actor, engine=engine, progress=progress
        )
    records = load_records(session, state)
    previous = _previous(session, state)
    new = set(records["record_id"]) - set(previous)
    if not new:  # nothing to score: the run is recorded all the same
        run = _start_run(session, state, "incremental", engine, model, actor)
        nothing = LinkResult({}, pd.DataFrame(columns=REVIEW_COLUMNS), [], model)
        return _finish(session, run, nothing, previous, Assignment({}), actor, records=0)
    constraints = load_constraints(session, state)
    constraints.anchors = previous
    result = link_records(
        records,
        engine=engine,
        model=model,
        constraints=constraints,
        parameters=params,
        progress=progress,
        only_new=new,
    )
    run = _start_run(session, state, "incremental", engine, model, actor)
    person_of = _persons_for_new(session, state, run, result, previous, new)
    _insert_person_records(session, state, run, {r: person_of[r] for r in sorted(new)})
    founded = sorted({person_of[r] for r in new} - set(previous.values()))
    assignment = Assignment({}, new_persons=founded)
    return _finish(session, run, result, person_of, assignment, actor, records=len(new))


def _persons_for_new(
    session: Session,
    state: str,
    run: LinkRun,
    result: LinkResult,
    previous: dict[str, str],
    new: set[str],
) -> dict[str, str]:
    """New records join the earlier person in their cluster, or found a new one."""
    of_cluster: dict[str, str] = {}
    for record, person in previous.items():
        if record in result.clusters:  # a record gone from its source has no cluster
            of_cluster.setdefault(result.clusters[record], person)
    taken = set(session.exec(select(Person.id)))
    person_of = dict(previous)
    for record in sorted(new):
        cluster = result.clusters[record]
        if cluster not in of_cluster:
            of_cluster[cluster] = person_id(state, cluster, taken)
            session.add(Person(id=of_cluster[cluster], state=state, created_run_id=run.id))
        person_of[record] = of_cluster[cluster]
    session.flush()
    return person_of


def load_constraints(session: Session, state: str) -> Constraints:
    rows = session.exec(select(LinkConstraint).where(LinkConstraint.state == state)).all()
    return Constraints(
        must_link=[(c.record_l, c.record_r) for c in rows if c.kind == "must_link"],
        cannot_link=[(c.record_l, c.record_r) for c in rows if c.kind == "cannot_link"],
    )


def latest_model(session: Session, state: str) -> LinkModel | None:
    run = session.exec(
        select(LinkRun)
        .where(LinkRun.state == state, col(LinkRun.finished_at).is_not(None))
        .order_by(col(LinkRun.id).desc())
        .limit(1)
    ).first()
    if run is None:
        return None
    document = session.get(LinkModelDocument, run.model_version)
    return LinkModel.from_json(document.document) if document else None


def _start_run(
    session: Session, state: str, kind: str, engine: str, model: LinkModel, actor: str
) -> LinkRun:
    if session.get(LinkModelDocument, model.version) is None:
        session.add(
            LinkModelDocument(
                version=model.version, document=model.to_json(), inputs_sha256=model.inputs_sha256
            )
        )
        session.flush()
    run = LinkRun(state=state, kind=kind, engine=engine, model_version=model.version, actor=actor)
    session.add(run)
    session.flush()
    return run


def _previous(session: Session, state: str) -> dict[str, str]:
    query = select(PersonRecord.source_type, PersonRecord.source_key, PersonRecord.person_id)
    rows = session.exec(query.where(PersonRecord.state == state))
    return {f"{t}:{k}": p for t, k, p in rows}


def _write_persons(session: Session, state: str, run: LinkRun, assignment: Assignment) -> None:
    for pid in assignment.new_persons:
        session.add(Person(id=pid, state=state, created_run_id=run.id))
    session.flush()
    now = utcnow()
    for old, (heir, reason) in sorted(assignment.retired.items()):
        session.execute(update(Person).where(col(Person.id) == old).values(retired_at=now))
        session.execute(
            update(PersonAlias).where(col(PersonAlias.person_id) == old).values(person_id=heir)
        )
        session.add(PersonAlias(old_id=old, person_id=heir, reason=reason, run_id=key_of(run)))
    session.flush()


def _replace_person_records(
    session: Session, state: str, run: LinkRun, person_of: dict[str, str]
) -> None:
    session.execute(delete(PersonRecord).where(col(PersonRecord.state) == state))
    _insert_person_records(session, state, run, person_of)


def _insert_person_records(
    session: Session, state: str, run: LinkRun, person_of: dict[str, str]
) -> None:
    now = utcnow()
    rows = []
    for record, pid in person_of.items():
        source_type, source_key = split_record_id(record)
        rows.append(
            {
                "source_type": source_type,
                "source_key": source_key,
                "person_id": pid,
                "state": state,
                "run_id": run.id,
                "linked_at": now,
            }
        )
    for start in range(0, len(rows), BATCH):
        session.execute(insert(PersonRecord), rows[start : start + BATCH])


def _record_history(session: Session, run: LinkRun, assignment: Assignment, actor: str) -> None:
    log = EventLog(session)
    for heir, absorbed in sorted(assignment.merged.items()):
        log.record(
            LinkageEvent.PERSON_MERGED,
            f"person:{heir}",
            actor,
            run_id=run.id,
            merged=sorted(absorbed),
        )
    for old, persons in sorted(assignment.split.items()):
        log.record(LinkageEvent.PERSON_SPLIT, f"person:{old}", actor, run_id=run.id, into=persons)


def _finish(
    session: Session,
    run: LinkRun,
    result: LinkResult,
    person_of: dict[str, str],
    assignment: Assignment,
    actor: str,
    *,
    records: int | None = None,
) -> RunSummary:
    pairs = _queue_review(session, run, result.review_pairs)
    run.finished_at = utcnow()
    run.records = len(person_of) if records is None else records
    run.persons = len(set(person_of.values()))
    run.review_pairs = pairs
    run.flagged_clusters = len(result.flagged_clusters)
    session.add(run)
    summary = RunSummary(
        run_id=run.id or 0,
        state=run.state,
        kind=run.kind,
        records=run.records,
        persons=run.persons,
        new_persons=len(assignment.new_persons),
        merged=sum(len(v) for v in assignment.merged.values()),
        split=len(assignment.split),
        review_pairs=pairs,
        flagged_clusters=run.flagged_clusters,
        model_version=run.model_version,
        warnings=tuple(result.warnings),
        review_reasons=result.review_reasons(),
        estimated_precision=result.estimated_precision,
        estimated_recall=result.estimated_recall,
        match_threshold=result.match_threshold,
        review_lower=result.review_lower,
    )
    details = {k: v for k, v in summary.as_dict().items() if k not in ("state", "run_id")}
    EventLog(session).record(LinkageEvent.LINK_RUN_FINISHED, f"link_run:{run.id}", actor, **details)
    session.flush()
    return summary


def _queue_review(session: Session, run: LinkRun, pairs: pd.DataFrame) -> int:
    """A full run replaces the state's open pairs, an incremental one adds to them.

    A pair already decided (or already open) is not asked again.
    """
    if run.kind == "full":
        session.execute(
            update(ReviewPair)
            .where(col(ReviewPair.state) == run.state, col(ReviewPair.status) == "open")
            .values(status="stale")
        )
    decided = {
        (c.record_l, c.record_r)
        for c in session.exec(select(LinkConstraint).where(LinkConstraint.state == run.state))
    }
    open_pairs = select(ReviewPair.record_l, ReviewPair.record_r).where(
        ReviewPair.state == run.state, ReviewPair.status == "open"
    )
    decided |= {(left, right) for left, right in session.exec(open_pairs)}
    rows = []
    for left, right, prob, weight, reason in pairs.itertuples(index=False, name=None):
        key = tuple(sorted((left, right)))
        if key in decided:
            continue
        rows.append(
            {
                "state": run.state,
                "run_id": run.id,
                "record_l": key[0],
                "record_r": key[1],
                "match_probability": float(prob),
                "match_weight": float(weight),
                "reason": reason,
                "status": "open",
            }
        )
    for start in range(0, len(rows), BATCH):
        session.execute(insert(ReviewPair), rows[start : start + BATCH])
    return len(rows)
