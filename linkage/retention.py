"""What linkage derived from source records goes when those records are purged.

Called by `retention.destruction` before it deletes exam results: the
person links, review pairs and reviewer decisions that name the rows go
with them.  Person ids themselves stay (they hold no student data), so an
id quoted elsewhere still resolves to "no records".
"""

from __future__ import annotations

from sqlalchemy import String, cast, delete, func, or_
from sqlmodel import Session, col, select

from exchange.models import ExamResult
from kernel.rows import rowcount
from linkage.models import LinkConstraint, PersonRecord, ReviewPair


def _exam_keys(delivery_id: int, agreement_id: str):
    """The `delivery:row` source keys of one agreement's rows in one delivery (a subquery)."""
    key = cast(ExamResult.delivery_id, String) + ":" + cast(ExamResult.row_number, String)
    return select(key).where(
        ExamResult.delivery_id == delivery_id, ExamResult.agreement_id == agreement_id
    )


def _exam_ids(delivery_id: int, agreement_id: str):
    key = "exam:" + cast(ExamResult.delivery_id, String) + ":" + cast(ExamResult.row_number, String)
    return select(key).where(
        ExamResult.delivery_id == delivery_id, ExamResult.agreement_id == agreement_id
    )


def count_linked(session: Session, delivery_id: int, agreement_id: str) -> int:
    query = select(func.count()).where(
        PersonRecord.source_type == "exam",
        col(PersonRecord.source_key).in_(_exam_keys(delivery_id, agreement_id)),
    )
    return session.exec(query).one()


def forget_exam_rows(session: Session, delivery_id: int, agreement_id: str) -> int:
    """Delete linkage rows naming these exam results; the number of person links deleted."""
    ids = _exam_ids(delivery_id, agreement_id)
    for table in (LinkConstraint, ReviewPair):  # constraints point at review pairs
        session.execute(
            delete(table)
            .where(or_(col(table.record_l).in_(ids), col(table.record_r).in_(ids)))
            .execution_options(synchronize_session=False)
        )
    result = session.execute(
        delete(PersonRecord)
        .where(
            col(PersonRecord.source_type) == "exam",
            col(PersonRecord.source_key).in_(_exam_keys(delivery_id, agreement_id)),
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
