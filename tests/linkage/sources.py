"""Putting a student into the database as a district upload and as a roster row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from credx.app import App
from exchange.evidence.services import EvidenceService
from kernel.database import session_scope
from rosters.imports import import_roster
from schemas.rosters import CodeSets
from tests.exchange.evidence.samples import DISTRICT, claim, png_bytes, write
from tests.rosters.factories import roster_csv, roster_row, schools_csv

_seed = iter(range(1, 1_000_000))


def upload_claim(app: App, tmp_path: Path, name: str, dob: str, student_id: str, **fields) -> str:
    """A district's certificate upload naming the student; returns the evidence id."""
    seed = next(_seed)
    path = write(tmp_path, f"scan-{seed}.png", png_bytes(seed=seed, size=(300, 200)))
    fields = claim(seed, student_name=name, birth_date=dob, state_student_id=student_id, **fields)
    with session_scope(app.engine) as session:
        return EvidenceService(session, app, DISTRICT).submit(fields, path, path.name).id


def import_students(app: App, tmp_path: Path, rows: list[dict[str, str]]) -> int:
    """A Louisiana roster with these rows (`roster_row` fields); returns the import id."""
    path = roster_csv(tmp_path, rows, name=f"roster-{next(_seed)}.csv")
    outcome = import_roster(
        app, path, state="LA", school_year="2025-26", actor="test", codes=CodeSets(),
        schools=schools_csv(tmp_path), today=date(2026, 1, 15),
    )  # fmt: skip
    assert outcome.rows_loaded == len(rows), outcome
    return outcome.import_id


def student(number: int, first: str, last: str, dob: str, student_id: str) -> dict[str, str]:
    return roster_row(number, first_name=first, last_name=last, birth_date=dob,
                      state_student_id=student_id)  # fmt: skip
