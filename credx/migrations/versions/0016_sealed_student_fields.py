"""sealed student fields: exam results' and roster rows' identifiers, names and birth dates
become sealed text

The values are sealed (AES-256-GCM under field keys kept in the keys
directory, `kernel.sealing`) by `credx init` after this migration, in
batches and resumably (`credx.sealing_existing`): this revision only widens
the columns to hold tokens.  A value that is not yet a token reads as it is,
so the installation works while the sealing runs.

Revision ID: 0016
Revises: 0020
Create Date: 2026-12-03 11:30:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0018"  # chained after issue 18's supersession columns
branch_labels = None
depends_on = None

SEALED: dict[str, sa.types.TypeEngine[Any]] = {
    "candidate_id": sa.String(length=64),
    "state_student_id": sa.String(length=32),
    "first_name": sa.String(length=100),
    "middle_name": sa.String(length=100),
    "last_name": sa.String(length=100),
    "birth_date": sa.Date(),
}
NULLABLE = {"state_student_id", "middle_name"}
ROSTER = {column: SEALED[column] for column in SEALED if column != "candidate_id"}
ROSTER_NULLABLE = {"middle_name"}


EVIDENCE: dict[str, sa.types.TypeEngine[Any]] = {
    "state_student_id": sa.String(length=32),
    "student_name": sa.String(length=200),
    "birth_date": sa.Date(),
}


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch_op:
        batch_op.add_column(sa.Column("state_student_id_bidx", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_evidence_state_student_id_bidx"), ["state_student_id_bidx"]
        )
        batch_op.drop_index(batch_op.f("ix_evidence_state_student_id"))
        for column, old in EVIDENCE.items():
            batch_op.alter_column(
                column, existing_type=old, type_=sa.Text(), existing_nullable=False,
                postgresql_using=f"{column}::text",
            )  # fmt: skip
    with op.batch_alter_table("rosters") as batch_op:
        for column, old in ROSTER.items():
            batch_op.alter_column(
                column, existing_type=old, type_=sa.Text(),
                existing_nullable=column in ROSTER_NULLABLE, postgresql_using=f"{column}::text",
            )  # fmt: skip
    # WITHOUT ROWID is kept when SQLite's batch mode rebuilds the table
    with op.batch_alter_table(
        "exam_results", table_kwargs={"sqlite_with_rowid": False}
    ) as batch_op:
        for column, old in SEALED.items():
            batch_op.alter_column(
                column, existing_type=old, type_=sa.Text(), existing_nullable=column in NULLABLE,
                postgresql_using=f"{column}::text",
            )  # fmt: skip
    # keyed digest of the sealed values: a correction's `unchanged` test (exchange.corrections);
    # a plain ADD COLUMN (a batch rebuild here cannot order it after 0018's superseded_by)
    op.add_column("exam_results", sa.Column("sealed_digest", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # only an installation whose values were never sealed can go back
    with op.batch_alter_table("evidence") as batch_op:
        for column, old in EVIDENCE.items():
            cast = "date" if column == "birth_date" else "varchar"
            batch_op.alter_column(
                column, existing_type=sa.Text(), type_=old, existing_nullable=False,
                postgresql_using=f"{column}::{cast}",
            )  # fmt: skip
        batch_op.create_index(batch_op.f("ix_evidence_state_student_id"), ["state_student_id"])
        batch_op.drop_index(batch_op.f("ix_evidence_state_student_id_bidx"))
        batch_op.drop_column("state_student_id_bidx")
    with op.batch_alter_table("rosters") as batch_op:
        for column, old in ROSTER.items():
            cast = "date" if column == "birth_date" else "varchar"
            batch_op.alter_column(
                column, existing_type=sa.Text(), type_=old,
                existing_nullable=column in ROSTER_NULLABLE, postgresql_using=f"{column}::{cast}",
            )  # fmt: skip
    with op.batch_alter_table(
        "exam_results", table_kwargs={"sqlite_with_rowid": False}
    ) as batch_op:
        batch_op.drop_column("sealed_digest")
        for column, old in SEALED.items():
            batch_op.alter_column(
                column, existing_type=sa.Text(), type_=old, existing_nullable=column in NULLABLE,
                postgresql_using=f"{column}::{'date' if column == 'birth_date' else 'varchar'}",
            )  # fmt: skip
