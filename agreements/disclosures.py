"""The record of disclosures (FERPA 34 CFR 99.32) and student-level releases.

Every release of student-level data to anyone is recorded here, with who
received it, what, when, for what purpose and under which agreement, and
each student it named; the same fact goes into the hash-chained event log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from agreements.models import Disclosure, DisclosureStudent
from agreements.scope import Scope
from audit.events import Action, EventLog
from credx.errors import InvalidInput
from exchange.models import Delivery, ExamResult

RELEASED_COLUMNS = (
    "delivery_id", "row_number", "agreement_id", "vendor_record_id", "candidate_id",
    "state_student_id", "first_name", "middle_name", "last_name", "birth_date", "state",
    "district_code", "school_code", "credential_code", "exam_code", "exam_date", "score",
    "passing_score", "result", "attempt",
)  # fmt: skip


def student_key(vendor_id: str, state_student_id: str | None, candidate_id: str) -> str:
    """How a disclosure names a student: the state id if known, else the vendor's candidate id."""
    return state_student_id or f"{vendor_id}:{candidate_id}"


@dataclass(frozen=True)
class Release:
    recipient: str
    purpose: str
    what: str


def record_disclosure(
    session: Session, release: Release, *, agreement_id: str | None, data_elements: Iterable[str],
    students: Iterable[str], actor: str,
) -> Disclosure:  # fmt: skip
    if not release.recipient.strip() or not release.purpose.strip():
        raise InvalidInput("a disclosure needs a recipient and a purpose (FERPA 34 CFR 99.32)")
    keys = sorted(set(students))
    disclosure = Disclosure(
        recipient=release.recipient, agreement_id=agreement_id, purpose=release.purpose,
        what=release.what, data_elements=",".join(data_elements), record_count=len(keys),
    )  # fmt: skip
    session.add(disclosure)
    session.flush()
    for key in keys:
        session.add(DisclosureStudent(disclosure_id=disclosure.id, student_key=key))
    event = EventLog(session).record(
        Action.DISCLOSURE_RECORDED, f"disclosure:{disclosure.id}", actor,
        recipient=release.recipient, agreement=agreement_id, students=len(keys),
    )  # fmt: skip
    disclosure.event_seq = event.seq
    session.flush()
    return disclosure


def disclosures_of_student(session: Session, key: str) -> list[Disclosure]:
    return list(
        session.exec(
            select(Disclosure)
            .join(DisclosureStudent, col(DisclosureStudent.disclosure_id) == Disclosure.id)
            .where(DisclosureStudent.student_key == key)
            .order_by(col(Disclosure.occurred_at))
        )
    )


def release_results(
    session: Session, scope: Scope, release: Release, *, credential: str | None = None,
    actor: str,
) -> list[dict]:  # fmt: skip
    """Student-level exam results within `scope`, recorded as disclosures (one per agreement)."""
    query = select(ExamResult, Delivery.vendor_id).join(
        Delivery, col(Delivery.id) == ExamResult.delivery_id
    )
    if credential:
        query = query.where(ExamResult.credential_code == credential)
    rows = session.exec(query.order_by(col(ExamResult.delivery_id), col(ExamResult.row_number)))
    released: list[dict] = []
    by_agreement: dict[str | None, list[str]] = {}
    for result, vendor_id in rows:
        if not scope.allows(result.state):  # the scoped session already filtered; belt and braces
            continue
        released.append({c: getattr(result, c) for c in RELEASED_COLUMNS})
        key = student_key(vendor_id, result.state_student_id, result.candidate_id)
        by_agreement.setdefault(result.agreement_id, []).append(key)
    for agreement_id, keys in sorted(by_agreement.items(), key=lambda item: str(item[0])):
        record_disclosure(
            session, release, agreement_id=agreement_id, data_elements=RELEASED_COLUMNS,
            students=keys, actor=actor,
        )  # fmt: skip
    return released
