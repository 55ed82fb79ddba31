"""exam results: superseded_by (corrections keep history); rejected rows: vendor_record_id;
connectors: enabled, removed_at, last success and error

Revision ID: 0018
Revises: 0020
Create Date: 2026-12-03 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0020"  # chained after main's 0020 when main was merged in
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exam_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded_by", sa.Integer(), nullable=True))
        batch_op.create_index("ix_exam_results_vendor_record_id", ["vendor_record_id"])
    with op.batch_alter_table("rejected_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vendor_record_id", sa.String(length=200), nullable=True))
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        for name in ("removed_at", "last_success_at", "last_error_at"):
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        for name in ("last_error", "last_error_at", "last_success_at", "removed_at", "enabled"):
            batch_op.drop_column(name)
    with op.batch_alter_table("rejected_rows", schema=None) as batch_op:
        batch_op.drop_column("vendor_record_id")
    with op.batch_alter_table("exam_results", schema=None) as batch_op:
        batch_op.drop_index("ix_exam_results_vendor_record_id")
        batch_op.drop_column("superseded_by")
