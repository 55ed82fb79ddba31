"""exam_results.sealed_row: one row token of a row's student values, in place of six tokens

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 23:40:00

A row's six sealed values become one AES-SIV token (`kernel.sealing.seal_rows`):
the table shrinks to a third and a million-row load writes half as long.  Here
the column is added and the six sealed columns may be NULL (rows written from now
on leave them so); `credx init` then moves each existing row's values into its
token, resumably (`credx.migrations.sealing`).  Rows not yet moved keep opening
through their own columns.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

REQUIRED = ("candidate_id", "first_name", "last_name", "birth_date")


def upgrade() -> None:
    with op.batch_alter_table(
        "exam_results", table_kwargs={"sqlite_with_rowid": False}
    ) as batch_op:
        for column in REQUIRED:
            batch_op.alter_column(column, existing_type=sa.Text(), nullable=True)
    op.add_column("exam_results", sa.Column("sealed_row", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # only an installation with no row token yet can go back (`credx init` moves them all)
    op.drop_column("exam_results", "sealed_row")
    with op.batch_alter_table(
        "exam_results", table_kwargs={"sqlite_with_rowid": False}
    ) as batch_op:
        for column in REQUIRED:
            batch_op.alter_column(column, existing_type=sa.Text(), nullable=False)
