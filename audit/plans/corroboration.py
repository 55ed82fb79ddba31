"""Corroboration: does the vendor's own record back a district's upload?

An upload is corroborated when the record linker put it (`person_records`,
source type `evidence`, key = evidence id) on the same person as a vendor exam
result (source type `exam`, key `<delivery_id>:<row_number>`) for the same
credential whose result is PASS.  No link, no vendor record, or only FAIL
results: uncorroborated, and sampled at the plan's higher rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from sqlmodel import Session, col, select

from exchange.corrections import CURRENT
from exchange.models import ExamResult
from linkage.models import PersonRecord


class Claim(Protocol):
    """What corroboration reads of an upload (an `Evidence` or a row of its columns)."""

    id: str
    credential_code: str


CHUNK = 500  # keeps IN (...) lists well under every backend's parameter limit


def corroborated_ids(session: Session, uploads: Sequence[Claim]) -> set[str]:
    """The ids of the uploads a vendor PASS for the same person and credential confirms."""
    person_of = _persons(session, "evidence", [e.id for e in uploads])
    passes = _passed_credentials(session, set(person_of.values()))
    return {
        e.id
        for e in uploads
        if e.id in person_of and e.credential_code in passes.get(person_of[e.id], ())
    }


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _persons(session: Session, source_type: str, keys: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(keys):
        rows = session.exec(
            select(PersonRecord.source_key, PersonRecord.person_id).where(
                PersonRecord.source_type == source_type, col(PersonRecord.source_key).in_(chunk)
            )
        ).all()
        found.update(dict(rows))
    return found


def _passed_credentials(session: Session, persons: set[str]) -> dict[str, set[str]]:
    exam_keys: dict[tuple[int, int], str] = {}
    for chunk in _chunks(sorted(persons)):
        rows = session.exec(
            select(PersonRecord.source_key, PersonRecord.person_id).where(
                PersonRecord.source_type == "exam", col(PersonRecord.person_id).in_(chunk)
            )
        ).all()
        for key, person in rows:
            parsed = _exam_key(key)
            if parsed is not None:
                exam_keys[parsed] = person
    passes: dict[str, set[str]] = defaultdict(set)
    for delivery_id, row_number, code, result in _results(session, exam_keys):
        if result.upper() == "PASS":
            passes[exam_keys[(delivery_id, row_number)]].add(code)
    return passes


def _exam_key(key: str) -> tuple[int, int] | None:
    delivery, _, row = key.partition(":")
    if not (delivery.isdigit() and row.isdigit()):
        return None
    return int(delivery), int(row)


def _results(
    session: Session, keys: Iterable[tuple[int, int]]
) -> Iterator[tuple[int, int, str, str]]:
    by_delivery: dict[int, list[int]] = defaultdict(list)
    for delivery_id, row_number in keys:
        by_delivery[delivery_id].append(row_number)
    for delivery_id, rows in by_delivery.items():
        for start in range(0, len(rows), CHUNK):
            yield from session.exec(
                select(
                    ExamResult.delivery_id,
                    ExamResult.row_number,
                    ExamResult.credential_code,
                    ExamResult.result,
                ).where(
                    ExamResult.delivery_id == delivery_id,
                    col(ExamResult.row_number).in_(rows[start : start + CHUNK]),
                    CURRENT,
                )
            ).all()
