"""Student-level releases of exam results, each recorded as a disclosure.

A release reads the results within the caller's scope and records one
disclosure per agreement the rows came in under (`agreements.disclosures`),
naming every student released.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from access.scope import Scope
from agreements.disclosures import Release, record_disclosure
from exchange.corrections import CURRENT
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


def release_results(
    session: Session, scope: Scope, release: Release, *, credential: str | None = None,
    actor: str,
) -> list[dict]:  # fmt: skip
    """Student-level exam results within `scope`, recorded as disclosures (one per agreement)."""
    query = select(ExamResult, Delivery.vendor_id).join(
        Delivery, col(Delivery.id) == ExamResult.delivery_id
    )
    query = query.where(CURRENT)
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
