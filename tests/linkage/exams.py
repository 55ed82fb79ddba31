"""Putting literal linkage fixtures into the database as vendor exam results."""

from __future__ import annotations

from pathlib import Path

from agreements.models import Vendor
from credx.app import App
from exchange.deliveries import ingest_file
from kernel.database import session_scope
from tests.factories import csv_text, exam_row, make_vendor, write_file

_number = iter(range(1, 1_000_000))


def exam_of(record: dict, **overrides: str) -> dict[str, str]:
    """A valid exam-result row carrying a fixture record's identity fields."""
    number = next(_number)
    row = exam_row(number)
    row.update(
        candidate_id=f"C{number:06d}",
        vendor_record_id=f"V{number:08d}",
        first_name=record["first_name"],
        last_name=record["last_name"],
        birth_date=record["birth_date"],
        middle_name="",
        state=record.get("state", "LA"),
        state_student_id=record.get("state_student_id", ""),
        school_code=record.get("school_code", ""),
        district_code="001",
    )
    row.update(overrides)
    return row


def ingest_records(app: App, tmp_path: Path, records, vendor: str = "nccer") -> int:
    """Ingest fixture records as one delivery; returns its id."""
    with session_scope(app.engine) as session:
        known = session.get(Vendor, vendor) is not None
    if not known:
        make_vendor(app, vendor)
    rows = [exam_of(r) for r in records]
    path = write_file(tmp_path, f"{vendor}-{next(_number)}.csv", csv_text(rows))
    outcome = ingest_file(app, path, vendor, actor="test")
    assert outcome.rows_loaded == len(rows), outcome
    return outcome.delivery_id
