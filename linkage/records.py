"""Source records in canonical form: one loader per kind of source.

A record's id is `<source type>:<source key>` (`exam:12:7` is row 7 of
delivery 12).  Adding a source (evidence claims, roster rows) is one loader
function registered in `SOURCES`: it returns the canonical columns for one
state's records.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlmodel import Session, col, select

from exchange.models import Delivery, ExamResult
from linkage.columns import CANONICAL_COLUMNS

Loader = Callable[[Session, str], pd.DataFrame]


def record_id(source_type: str, source_key: str) -> str:
    return f"{source_type}:{source_key}"


def split_record_id(value: str) -> tuple[str, str]:
    source_type, _, source_key = value.partition(":")
    return source_type, source_key


def exam_results(session: Session, state: str) -> pd.DataFrame:
    """Vendor candidate records: one record per exam result row; source = the vendor."""
    query = (
        select(
            ExamResult.delivery_id,
            ExamResult.row_number,
            ExamResult.first_name,
            ExamResult.middle_name,
            ExamResult.last_name,
            ExamResult.birth_date,
            ExamResult.state_student_id,
            Delivery.vendor_id,
            ExamResult.candidate_id,
            ExamResult.state,
            ExamResult.district_code,
            ExamResult.school_code,
        )
        .join(Delivery, col(Delivery.id) == col(ExamResult.delivery_id))
        .where(ExamResult.state == state)
        .order_by(col(ExamResult.delivery_id), col(ExamResult.row_number))
    )
    rows = session.exec(query).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "delivery_id",
            "row_number",
            "first_name",
            "middle_name",
            "last_name",
            "birth_date",
            "state_student_id",
            "source",
            "source_person_id",
            "state",
            "district_code",
            "school_code",
        ],
    )
    frame["record_id"] = [
        record_id("exam", f"{d}:{r}")
        for d, r in zip(frame["delivery_id"], frame["row_number"], strict=True)
    ]
    return _canonical(frame)


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    for column in CANONICAL_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame[list(CANONICAL_COLUMNS)]


SOURCES: dict[str, Loader] = {"exam": exam_results}


def states_with_records(session: Session) -> list[str]:
    """Every state any source holds records for (linking runs per state)."""
    return sorted(set(session.exec(select(ExamResult.state).distinct())))


def load_records(session: Session, state: str) -> pd.DataFrame:
    frames = [loader(session, state) for loader in SOURCES.values()]
    return pd.concat(frames, ignore_index=True) if frames else _canonical(pd.DataFrame())


def describe_records(session: Session, ids: list[str]) -> dict[str, dict]:
    """The fields of the named records (for review and `link show`), keyed by record id."""
    wanted: dict[str, list[tuple[int, int]]] = {"exam": []}
    for value in ids:
        source_type, key = split_record_id(value)
        if source_type == "exam":
            delivery, _, row = key.partition(":")
            wanted["exam"].append((int(delivery), int(row)))
    found: dict[str, dict] = {}
    for delivery_id, row_number in wanted["exam"]:
        row = session.get(ExamResult, (delivery_id, row_number))
        if row is None:
            continue
        delivery = session.get(Delivery, delivery_id)
        found[record_id("exam", f"{delivery_id}:{row_number}")] = {
            "source": delivery.vendor_id if delivery else None,
            "source_person_id": row.candidate_id,
            "first_name": row.first_name,
            "middle_name": row.middle_name,
            "last_name": row.last_name,
            "birth_date": row.birth_date.isoformat(),
            "state_student_id": row.state_student_id,
            "state": row.state,
            "district_code": row.district_code,
            "school_code": row.school_code,
            "credential_code": row.credential_code,
        }
    return found
