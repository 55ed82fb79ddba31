"""The review queue and persons as operators see them.

Showing a pair or a person reveals student data, so each look is an event
in the log (which records, never their contents).  A decision becomes a
must-link or cannot-link constraint that every later run honours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from access.policy import check_review_pair, review_state_scope
from access.principals import Principal
from eventlog.log import EventLog
from kernel.clock import utcnow
from kernel.errors import InvalidInput, NotFound
from linkage.events import LinkageEvent
from linkage.models import LinkConstraint, Person, PersonAlias, PersonRecord, ReviewPair
from linkage.records import describe_records, record_id

FLAGGED = "flagged"  # the review filter for every reason but `uncertain`


@dataclass(frozen=True)
class ReviewItem:
    pair_id: int
    state: str
    match_probability: float
    match_weight: float
    reason: str
    left: dict
    right: dict

    def as_dict(self) -> dict:
        return {
            "pair_id": self.pair_id,
            "state": self.state,
            "match_probability": round(self.match_probability, 6),
            "match_weight": round(self.match_weight, 3),
            "reason": self.reason,
            "left": self.left,
            "right": self.right,
        }


def review_queue(
    session: Session, *, actor: str, state: str | None = None, limit: int = 50, offset: int = 0,
    reason: str | None = None,
) -> list[ReviewItem]:  # fmt: skip
    """Open pairs, most likely matches first, each with both records' fields.  `reason`
    keeps one kind (`uncertain`, `id_conflict`, ...), or `flagged` every kind but uncertain."""
    query = select(ReviewPair).where(ReviewPair.status == "open")
    if state:
        query = query.where(ReviewPair.state == state.upper())
    if reason == FLAGGED:
        query = query.where(ReviewPair.reason != "uncertain")
    elif reason:
        query = query.where(ReviewPair.reason == reason)
    query = query.order_by(col(ReviewPair.match_probability).desc(), col(ReviewPair.id))
    pairs = session.exec(query.offset(offset).limit(limit)).all()
    fields = describe_records(session, [r for p in pairs for r in (p.record_l, p.record_r)])
    items = [
        ReviewItem(
            pair_id=p.id or 0,
            state=p.state,
            match_probability=p.match_probability,
            match_weight=p.match_weight,
            reason=p.reason,
            left={"record_id": p.record_l, **fields.get(p.record_l, {})},
            right={"record_id": p.record_r, **fields.get(p.record_r, {})},
        )
        for p in pairs
    ]
    if items:
        EventLog(session).record(
            LinkageEvent.REVIEW_VIEWED, "review_pairs", actor, pairs=[i.pair_id for i in items]
        )
    return items


def decide(
    session: Session, pair_id: int, *, same: bool, actor: str, note: str | None = None
) -> LinkConstraint:
    """Record a reviewer's decision on an open pair as a constraint for later runs."""
    pair = session.get(ReviewPair, pair_id)
    if pair is None:
        raise NotFound(
            f"no review pair {pair_id}: it is not among the open ones",
            hint="`credx link review` lists the open ones",
        )
    if pair.status == "decided":
        raise InvalidInput(
            f"review pair {pair_id} was already decided ({pair.decision}) by {pair.decided_by}"
        )
    pair.status, pair.decision = "decided", "same" if same else "different"
    pair.decided_by, pair.decided_at, pair.note = actor, utcnow(), note
    session.add(pair)
    constraint = _constraint(session, pair, "must_link" if same else "cannot_link", actor)
    EventLog(session).record(
        LinkageEvent.REVIEW_DECIDED,
        f"review_pair:{pair_id}",
        actor,
        decision=pair.decision,
        records=[pair.record_l, pair.record_r],
    )
    session.flush()
    return constraint


DECISIONS = {"same": True, "different": False}
NOTE_MAX = 2000


@dataclass(frozen=True)
class Decision:
    """What a review decision became, as the CLI's `--json` and the API answer it."""

    pair_id: int
    decision: str  # same | different
    constraint: str  # must_link | cannot_link
    records: list[str]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def decision_of(pair_id: int, constraint: LinkConstraint) -> Decision:
    return Decision(
        pair_id=pair_id,
        decision="same" if constraint.kind == "must_link" else "different",
        constraint=constraint.kind,
        records=[constraint.record_l, constraint.record_r],
    )


class ReviewDesk:
    """The review queue as one signed-in caller may work it (web page and API).

    `access.policy` decides: operators see and decide their own state's pairs,
    admins every state's; another state's pair answers like one that does not exist.
    """

    def __init__(self, session: Session, principal: Principal):
        self.session, self.principal = session, principal
        self.state = review_state_scope(principal)

    def open_pairs(
        self, limit: int = 50, offset: int = 0, reason: str | None = None
    ) -> list[ReviewItem]:
        actor = self.principal.actor
        return review_queue(self.session, actor=actor, state=self.state, limit=limit,
                            offset=offset, reason=reason)  # fmt: skip

    def open_reasons(self) -> dict[str, int]:
        """How many open pairs wait for each reason (the review page's filter; no student
        data, so not a logged view)."""
        query = select(ReviewPair.reason, func.count()).where(ReviewPair.status == "open")
        if self.state:
            query = query.where(ReviewPair.state == self.state.upper())
        rows = self.session.exec(query.group_by(ReviewPair.reason).order_by(ReviewPair.reason))
        return {reason: count for reason, count in rows.all()}

    def decide(self, pair_id: int, decision: str, note: str | None = None) -> LinkConstraint:
        pair = self.session.get(ReviewPair, pair_id)
        check_review_pair(self.principal, pair_id=pair_id, state=pair.state if pair else None)
        if decision not in DECISIONS:
            raise InvalidInput('decision must be "same" or "different"')
        note = (note or "").strip() or None
        if note and len(note) > NOTE_MAX:
            raise InvalidInput(f"the note is longer than {NOTE_MAX} characters")
        same = DECISIONS[decision]
        return decide(self.session, pair_id, same=same, actor=self.principal.actor, note=note)


def _constraint(session: Session, pair: ReviewPair, kind: str, actor: str) -> LinkConstraint:
    existing = session.exec(
        select(LinkConstraint).where(
            LinkConstraint.record_l == pair.record_l, LinkConstraint.record_r == pair.record_r
        )
    ).first()
    constraint = existing or LinkConstraint(
        state=pair.state,
        kind=kind,
        record_l=pair.record_l,
        record_r=pair.record_r,
        created_by=actor,
    )
    constraint.kind, constraint.review_pair_id, constraint.created_by = kind, pair.id, actor
    session.add(constraint)
    return constraint


def resolve_person(session: Session, pid: str) -> str:
    """The current id for `pid`, following aliases left by merges and splits."""
    seen = set()
    while pid not in seen:
        seen.add(pid)
        alias = session.get(PersonAlias, pid)
        if alias is None:
            break
        pid = alias.person_id
    if session.get(Person, pid) is None:
        raise NotFound(f"no person {pid!r}: ids look like P0123456789ABCDE")
    return pid


@dataclass(frozen=True)
class PersonView:
    """A person with every linked record (`credx link show --json`)."""

    person_id: str
    requested_id: str  # the id asked for: an old id resolves to `person_id`
    state: str | None
    aliases: list[str]
    records: list[dict[str, Any]]  # record_id, then what `describe_records` shows of it

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def show_person(session: Session, pid: str, *, actor: str) -> PersonView:
    """A person with every linked record (resolving an old id to the current one)."""
    current = resolve_person(session, pid)
    person = session.get(Person, current)
    links = session.exec(
        select(PersonRecord)
        .where(PersonRecord.person_id == current)
        .order_by(col(PersonRecord.source_type), col(PersonRecord.source_key))
    ).all()
    ids = [record_id(r.source_type, r.source_key) for r in links]
    fields = describe_records(session, ids)
    aliases = session.exec(select(PersonAlias.old_id).where(PersonAlias.person_id == current))
    EventLog(session).record(
        LinkageEvent.PERSON_VIEWED, f"person:{current}", actor, records=len(ids)
    )
    return PersonView(
        person_id=current,
        requested_id=pid,
        state=person.state if person else None,
        aliases=sorted(aliases),
        records=[{"record_id": r, **fields.get(r, {})} for r in ids],
    )
