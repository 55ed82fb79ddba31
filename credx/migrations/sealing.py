"""Sealing an existing installation's student values in place (after revision 0016).

Revision 0016 only widens the columns; this pass, run by `credx init`,
reads each table's rows whose values are still plaintext, and each exam
result whose values are not yet in its row token (revision 0025), by raw SQL
so that no column type opens anything; seals them under their scope's field key and
writes them back, one batch per transaction.  It is resumable: a batch
committed stays sealed, a sealed value is never sealed again, and an
interrupted run continues where it stopped.  Disclosure lists get their
students' blind indexes in place of the ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from exchange.models import ExamResult, exam_scope
from exchange.sealed_rows import ROW_CONTEXT
from kernel import sealing
from kernel.sealing import FieldKeys, KeyDestroyed, plain_text

BATCH_ROWS = 5000


@dataclass(frozen=True)
class SealedTable:
    name: str
    key: tuple[str, ...]  # primary key columns
    columns: tuple[str, ...]  # sealed columns; the first is never NULL in an unsealed row
    scope: Callable[[dict[str, Any]], str]
    scope_columns: tuple[str, ...]
    blind: dict[str, str] | None = None  # blind index column -> source column


TABLES = (
    SealedTable(
        "rejected_rows", ("id",), ("value",), lambda r: f"delivery:{r['delivery_id']}",
        ("delivery_id",),
    ),
    SealedTable(
        "rosters", ("import_id", "row_number"),
        ("first_name", "state_student_id", "middle_name", "last_name", "birth_date"),
        lambda r: f"roster:{r['state']}", ("state",),
    ),
    SealedTable(
        "rejected_roster_rows", ("id",), ("value",),
        lambda r: f"roster-import:{r['import_id']}", ("import_id",),
    ),
    SealedTable(
        "evidence", ("id",), ("student_name", "state_student_id", "birth_date"),
        lambda r: f"evidence:{r['state']}", ("state",),
        blind={"state_student_id_bidx": "state_student_id"},
    ),
)  # fmt: skip


def seal_existing(
    engine: Engine, keys: FieldKeys, batch_rows: int = BATCH_ROWS,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Seal every plaintext value left; returns rows sealed per table (0s when all were)."""
    done = {"exam_results": _move_exam_results(engine, keys, batch_rows, progress)}
    done.update(
        (table.name, _seal_table(engine, keys, table, batch_rows, progress)) for table in TABLES
    )
    done["disclosure_students"] = _index_disclosures(engine, keys, batch_rows)
    return done


def _seal_table(
    engine: Engine, keys: FieldKeys, table: SealedTable, batch_rows: int,
    progress: Callable[[str, int], None] | None,
) -> int:  # fmt: skip
    first = table.columns[0]
    names = (*table.key, *table.scope_columns, *table.columns)
    read = sa.text(
        f"SELECT {', '.join(dict.fromkeys(names))} FROM {table.name} "
        f"WHERE {first} IS NOT NULL AND {first} NOT LIKE 's1.%' "
        f"ORDER BY {', '.join(table.key)} LIMIT :n"
    )
    targets = list(table.columns) + list(table.blind or {})
    write = sa.text(
        f"UPDATE {table.name} SET {', '.join(f'{c} = :{c}' for c in targets)} "
        f"WHERE {' AND '.join(f'{k} = :k_{k}' for k in table.key)}"
    )
    total = 0
    while True:
        with engine.begin() as connection:
            rows = [dict(r._mapping) for r in connection.execute(read, {"n": batch_rows})]
            if not rows:
                return total
            connection.execute(write, [_sealed_row(keys, table, row) for row in rows])
        total += len(rows)
        if progress is not None:
            progress(table.name, total)


def _move_exam_results(
    engine: Engine, keys: FieldKeys, batch_rows: int,
    progress: Callable[[str, int], None] | None,
) -> int:  # fmt: skip
    """Each exam result still holding its student values in their own columns (plaintext
    before revision 0016, one token each before 0025) gets its row token, and those columns
    are emptied.  A row whose key was destroyed (a purged agreement) cannot be opened and
    stays as it is: unreadable either way."""
    sealed = ExamResult.__sealed__
    read = sa.text(
        f"SELECT delivery_id, row_number, agreement_id, state, vendor_record_id, "
        f"{', '.join(sealed)} FROM exam_results "
        "WHERE sealed_row IS NULL AND candidate_id IS NOT NULL "
        "AND (delivery_id > :d OR (delivery_id = :d AND row_number > :r)) "
        "ORDER BY delivery_id, row_number LIMIT :n"
    )
    write = sa.text(
        f"UPDATE exam_results SET sealed_row = :token, sealed_digest = NULL, "
        f"{', '.join(f'{c} = NULL' for c in sealed)} "
        "WHERE delivery_id = :d AND row_number = :r"
    )
    total, after = 0, (-1, -1)
    while True:
        with engine.begin() as connection:
            rows = connection.execute(read, {"d": after[0], "r": after[1], "n": batch_rows}).all()
            if not rows:
                return total
            after = (rows[-1].delivery_id, rows[-1].row_number)
            moved = [m for m in (_row_token(keys, row) for row in rows) if m is not None]
            if moved:
                connection.execute(write, moved)
        total += len(moved)
        if progress is not None:
            progress("exam_results", total)


def _row_token(keys: FieldKeys, row: sa.Row) -> dict[str, Any] | None:
    values = []
    for column in ExamResult.__sealed__:
        value = getattr(row, column)
        try:
            values.append(sealing.unseal(value, column) if sealing.is_sealed(value)
                          else plain_text(value))  # fmt: skip
        except KeyDestroyed:
            return None
    scope = exam_scope(row.agreement_id, row.state)
    token = sealing.seal_row(keys, scope, ROW_CONTEXT, values, row.vendor_record_id)
    return {"token": token, "d": row.delivery_id, "r": row.row_number}


def _sealed_row(keys: FieldKeys, table: SealedTable, row: dict[str, Any]) -> dict[str, Any]:
    key_id, cipher = keys.key_for(table.scope(row))
    out: dict[str, Any] = {f"k_{k}": row[k] for k in table.key}
    for column in table.columns:
        value = plain_text(row[column])
        out[column] = (
            value
            if value is None or sealing.is_sealed(value)
            else sealing.seal(cipher, key_id, column, value)
        )
    for index, source in (table.blind or {}).items():
        out[index] = keys.blind_index(plain_text(row[source]))
    return out


def _index_disclosures(engine: Engine, keys: FieldKeys, batch_rows: int) -> int:
    """Replace students' ids in disclosure lists by their blind indexes (32 hex, no colon)."""
    read = sa.text(
        "SELECT disclosure_id, student_key FROM disclosure_students "
        "WHERE length(student_key) <> 32 OR student_key LIKE '%:%' "
        "ORDER BY disclosure_id, student_key LIMIT :n"
    )
    write = sa.text(
        "UPDATE disclosure_students SET student_key = :new "
        "WHERE disclosure_id = :d AND student_key = :old"
    )
    total = 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(read, {"n": batch_rows}).all()
            if not rows:
                return total
            connection.execute(
                write, [{"d": d, "old": k, "new": keys.blind_index(k) or ""} for d, k in rows]
            )
        total += len(rows)
