"""Factories for test data: vendors, exam-result rows and files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlmodel import col, select

from agreements.vendors import add_vendor
from credx.app import App
from credx.database import session_scope
from credx.demo_data import ExamResultFaker
from exchange.models import Delivery, ExamResult, RejectedRow
from schemas.exam_results import CANONICAL_COLUMNS


def make_vendor(app: App, vendor_id: str = "nccer", name: str = "NCCER") -> str:
    with session_scope(app.engine) as session:
        add_vendor(session, vendor_id=vendor_id, name=name)
    return vendor_id


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
