"""Factories for audit-plan tests: uploads, vendor results and links, plans, frozen draws.

Uploads are inserted as rows (no image processing): the plan services only
read the claim.  Helper 7b's queue tests use `make_plan` and `make_draw` too.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import date
from pathlib import Path

from sqlmodel import Session

from agreements.models import Vendor
from audit.plans.draws import DrawResult, draw_sample
from audit.plans.models import AuditPlan, AuditTask
from audit.plans.plans import create_plan, freeze
from exchange.evidence.models import Evidence
from exchange.models import Delivery, ExamResult, StoredBlob
from linkage.models import LinkModelDocument, LinkRun, Person, PersonRecord

SEED = "01382438112797316654"
_numbers = itertools.count(1)


def _blob(session: Session) -> str:
    blob_id = f"{next(_numbers):032x}"
    digest = hashlib.sha256(blob_id.encode()).hexdigest()
    blob = StoredBlob(id=blob_id, store_key=blob_id, sha256=digest, size=1, master_key_id="test")
    session.add(blob)
    session.flush()
    return blob_id


def make_upload(
    session: Session,
    *,
    state: str = "LA",
    district: str = "036",
    school_code: str = "036001",
    school_year: str = "2025-26",
    credential_code: str = "MICRO001",
    evidence_id: str | None = None,
) -> Evidence:
    """One upload (evidence row) with a placeholder blob."""
    number = next(_numbers)
    upload = Evidence(
        id=evidence_id or f"ev{number:08d}",
        state=state,
        district=district,
        state_student_id=f"{state}{number:07d}",
        student_name=f"Student {number}",
        birth_date=date(2008, 1, 1),
        school_code=school_code,
        school_year=school_year,
        graduation_pathway="Jump Start TOPS Tech",
        credential_code=credential_code,
        date_earned=date(2026, 2, 10),
        media_type="image/png",
        size=1,
        sha256=hashlib.sha256(str(number).encode()).hexdigest(),
        blob_id=_blob(session),
        uploaded_by="test",
    )
    session.add(upload)
    session.flush()
    return upload


def make_uploads(session: Session, per_school: dict[str, int], **fields) -> list[Evidence]:
    """`per_school[school_code]` uploads each, district = the first 3 digits of the school."""
    return [
        make_upload(session, school_code=school, district=school[:3], **fields)
        for school, count in per_school.items()
        for _ in range(count)
    ]


def _link_run(session: Session, state: str) -> int:
    if session.get(LinkModelDocument, "test") is None:
        session.add(LinkModelDocument(version="test", document="{}", inputs_sha256="0" * 64))
        session.flush()
    run = LinkRun(state=state, kind="full", engine="test", model_version="test", actor="test")
    session.add(run)
    session.flush()
    return run.id


def _delivery(session: Session) -> int:
    if session.get(Vendor, "testvendor") is None:
        session.add(Vendor(id="testvendor", name="Test Vendor"))
        session.flush()
    delivery = Delivery(
        vendor_id="testvendor",
        source="test",
        original_name="results.csv",
        size=1,
        sha256="0" * 64,
        blob_id=_blob(session),
    )
    session.add(delivery)
    session.flush()
    return delivery.id


def link(session: Session, upload: Evidence, exam_keys: list[str]) -> str:
    """Put the upload and the exam results (`<delivery_id>:<row_number>`) on one person."""
    run_id = _link_run(session, upload.state)
    person = Person(id=f"p{next(_numbers):010d}", state=upload.state, created_run_id=run_id)
    session.add(person)
    session.flush()
    keys = [("evidence", upload.id), *(("exam", key) for key in exam_keys)]
    for source_type, key in keys:
        session.add(
            PersonRecord(
                source_type=source_type,
                source_key=key,
                person_id=person.id,
                state=upload.state,
                run_id=run_id,
            )
        )
    session.flush()
    return person.id


def vendor_result(
    session: Session, upload: Evidence, *, result: str = "PASS", credential_code: str | None = None
) -> ExamResult:
    """A vendor exam result linked to the same person as `upload` (linker rows inserted)."""
    delivery_id = _delivery(session)
    row = ExamResult(
        delivery_id=delivery_id,
        row_number=1,
        vendor_record_id="r1",
        candidate_id="c1",
        first_name="Test",
        last_name="Student",
        birth_date=date(2008, 1, 1),
        state=upload.state,
        district_code=upload.district,
        credential_code=credential_code or upload.credential_code,
        exam_code="E1",
        exam_date=date(2026, 2, 1),
        result=result,
    )
    session.add(row)
    session.flush()
    link(session, upload, [f"{delivery_id}:1"])
    return row


def make_plan(
    session: Session,
    name: str = "la-2025-26",
    *,
    state: str = "LA",
    school_year: str = "2025-26",
    actor: str = "test",
    **rules,
) -> AuditPlan:
    """A draft plan; default rule: 3 per school, uncorroborated uploads at the same rule."""
    rules = rules or {"rule": "fixed", "fixed_count": 3, "uncorroborated_rate": "same"}
    return create_plan(
        session, name=name, state=state, school_year=school_year, rules=rules, actor=actor
    )


def make_draw(
    session: Session, plan_id: str, manifest: Path, seed: str = SEED, actor: str = "test"
) -> DrawResult:
    """Freeze the plan's population (writing `manifest`) and draw round 1."""
    freeze(session, plan_id, manifest, actor)
    return draw_sample(session, plan_id, seed, actor)


def finish(session: Session, task: AuditTask, outcome: str = "verified", kind: str | None = None):
    """Give `task` a final finding directly (the queue's workflow is tested by its own tests)."""
    task.status, task.final_outcome, task.final_type = "final", outcome, kind
    session.add(task)
    session.flush()
    return task
