"""What an auditor judges a task by: the district's claim beside the vendor's own records.

The link between them is the record linker's: the upload is the source record
`evidence:<evidence id>`, which belongs to a person; that person's `exam`
records (`<delivery id>:<row number>`) are the vendor results.  A person merged
or split away since is followed through its alias.  No link (the upload was
never linked, or no vendor reported this student) gives an empty list: the
auditor then judges the certificate on its own, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from access.principals import Principal
from exchange.evidence.services import EvidenceService, EvidenceView
from exchange.models import Delivery, ExamResult
from exchange.resources import Resources
from linkage.models import PersonAlias, PersonRecord

MAX_ALIAS_HOPS = 10
MAX_VENDOR_RECORDS = 200


@dataclass(frozen=True)
class CaseFile:
    claim: EvidenceView
    person_id: str | None
    vendor_records: list[dict]


def case_file(session: Session, app: Resources, principal: Principal, evidence_id: str) -> CaseFile:
    """The claim (as the evidence service shows it to this caller) and the linked results."""
    service = EvidenceService(session, app, principal)
    claim = service.describe(service.get(evidence_id))
    person_id = linked_person(session, evidence_id)
    records = vendor_records(session, person_id, claim.credential_code) if person_id else []
    return CaseFile(claim, person_id, records)


def linked_person(session: Session, evidence_id: str) -> str | None:
    link = session.get(PersonRecord, ("evidence", evidence_id))
    if link is None:
        return None
    person_id = link.person_id
    for _hop in range(MAX_ALIAS_HOPS):
        alias = session.get(PersonAlias, person_id)
        if alias is None:
            break
        person_id = alias.person_id
    return person_id


def vendor_records(session: Session, person_id: str, claimed_code: str) -> list[dict]:
    """The person's exam results, the claimed credential first, then newest first."""
    keys = session.exec(
        select(PersonRecord.source_key)
        .where(PersonRecord.person_id == person_id, PersonRecord.source_type == "exam")
        .limit(MAX_VENDOR_RECORDS)
    ).all()
    wanted = []
    for key in keys:
        delivery_id, _, row_number = key.partition(":")
        if delivery_id.isdigit() and row_number.isdigit():
            wanted.append((int(delivery_id), int(row_number)))
    if not wanted:
        return []
    # One query for all of them, each with its delivery's vendor (not two gets per record).
    found = session.exec(
        select(ExamResult, Delivery.vendor_id)
        .outerjoin(Delivery, col(Delivery.id) == col(ExamResult.delivery_id))
        .where(tuple_(col(ExamResult.delivery_id), col(ExamResult.row_number)).in_(wanted))
    ).all()  # fmt: skip
    rows = [_record(result, vendor, claimed_code) for result, vendor in found]
    rows.sort(key=lambda row: row["exam_date"], reverse=True)
    rows.sort(key=lambda row: not row["matches_claim"])
    return rows


def _record(row: ExamResult, vendor: str | None, claimed_code: str) -> dict:
    name = " ".join(part for part in (row.first_name, row.middle_name, row.last_name) if part)
    return {
        "record": f"exam:{row.delivery_id}:{row.row_number}", "vendor": vendor,
        "candidate_id": row.candidate_id, "name": name,
        "birth_date": row.birth_date.isoformat(), "state_student_id": row.state_student_id,
        "credential_code": row.credential_code, "exam_code": row.exam_code,
        "exam_date": row.exam_date.isoformat(), "score": row.score,
        "passing_score": row.passing_score, "result": row.result,
        "matches_claim": row.credential_code == claimed_code,
    }  # fmt: skip
