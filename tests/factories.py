"""Factories for test data: vendors, exam-result rows and files."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from sqlmodel import col, select

from agreements.store import store_terms
from agreements.terms import FerpaBasis, Terms
from agreements.vendors import add_vendor
from credx.app import App
from credx.demo.data import ExamResultFaker
from exchange.models import Delivery, ExamResult, RejectedRow
from kernel.database import session_scope
from kernel.values import USPS_STATES
from schemas.credentials import known_codes
from schemas.exam_results import CANONICAL_COLUMNS


def make_vendor(
    app: App, vendor_id: str = "nccer", name: str = "NCCER", *, agreement: bool = True
) -> str:
    """A registered vendor; with `agreement`, also one broad agreement covering every state,
    credential and column, so ingest tests exercise validation, not enforcement."""
    with session_scope(app.engine) as session:
        add_vendor(session, vendor_id=vendor_id, name=name)
        if agreement:
            terms = blanket_terms(vendor_id, codes=sorted(known_codes(session)))
            store_terms(session, terms, document=f"test agreement {vendor_id}", actor="test")
    return vendor_id


def blanket_terms(vendor_id: str, codes: list[str], **overrides) -> Terms:
    fields = {
        "id": f"{vendor_id}-all",
        "title": f"All results from {vendor_id}",
        "vendor": vendor_id,
        "states": tuple(sorted(USPS_STATES)),
        "effective_from": date(2000, 1, 1),
        "effective_to": date(2099, 12, 31),
        "credentials": tuple(codes),
        "data_elements": CANONICAL_COLUMNS,
        "purpose": "test",
        "ferpa_basis": FerpaBasis.AUDIT_EVALUATION,
        "retention_days": 365,
    }
    return Terms(**{**fields, **overrides})


def exam_row(number: int = 1, seed: int = 7, **overrides: str) -> dict[str, str]:
    """A valid canonical row; keyword arguments replace fields."""
    row = ExamResultFaker(seed + number).row(number)
    row.update(overrides)
    return row


def exam_rows(count: int, seed: int = 7) -> list[dict[str, str]]:
    faker = ExamResultFaker(seed)
    return [faker.row(n) for n in range(1, count + 1)]


def csv_text(rows: list[dict[str, str]], columns: tuple[str, ...] = CANONICAL_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row.get(c, "") for c in columns)
    return buffer.getvalue()


def write_file(directory: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = directory / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def delivery_of(app: App, delivery_id: int) -> Delivery:
    with session_scope(app.engine) as session:
        return session.get(Delivery, delivery_id)


def results_of(app: App, delivery_id: int) -> list[ExamResult]:
    with session_scope(app.engine) as session:
        query = select(ExamResult).where(ExamResult.delivery_id == delivery_id)
        return list(session.exec(query.order_by(col(ExamResult.row_number))))


def rejections_of(app: App, delivery_id: int) -> list[RejectedRow]:
    with session_scope(app.engine) as session:
        query = select(RejectedRow).where(RejectedRow.delivery_id == delivery_id)
        return list(session.exec(query.order_by(col(RejectedRow.id))))
