"""The record of disclosures (FERPA 34 CFR 99.32) and student-level releases.

Every release of student-level data to anyone is recorded here, with who
received it, what, when, for what purpose and under which agreement, and
each student it named; the same fact goes into the hash-chained event log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from agreements.events import AgreementEvent
from agreements.models import Disclosure, DisclosureStudent
from eventlog.log import EventLog
from kernel import sealing
from kernel.errors import InvalidInput
from kernel.rows import key_of


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
    index = sealing.keys_of(session.get_bind()).blind_index
    disclosure = Disclosure(
        recipient=release.recipient, agreement_id=agreement_id, purpose=release.purpose,
        what=release.what, data_elements=",".join(data_elements), record_count=len(keys),
    )  # fmt: skip
    session.add(disclosure)
    session.flush()
    for key in keys:
        # the student's id is stored as a blind index (HMAC), never in clear
        student = index(key) or ""
        session.add(DisclosureStudent(disclosure_id=key_of(disclosure), student_key=student))
    event = EventLog(session).record(
        AgreementEvent.DISCLOSURE_RECORDED, f"disclosure:{disclosure.id}", actor,
        recipient=release.recipient, agreement=agreement_id, students=len(keys),
    )  # fmt: skip
    disclosure.event_seq = event.seq
    session.flush()
    return disclosure


def disclosures_of_student(session: Session, key: str) -> list[Disclosure]:
    key = sealing.keys_of(session.get_bind()).blind_index(key) or ""
    return list(
        session.exec(
            select(Disclosure)
            .join(DisclosureStudent, col(DisclosureStudent.disclosure_id) == Disclosure.id)
            .where(DisclosureStudent.student_key == key)
            .order_by(col(Disclosure.occurred_at))
        )
    )
