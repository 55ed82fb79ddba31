"""evidence listing indexes: (state, created_at) and (state, district, created_at)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 18:30:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_state_created_at", ["state", "created_at"], unique=False)
        batch_op.create_index(
            "ix_evidence_state_district_created_at",
            ["state", "district", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_state_district_created_at")
        batch_op.drop_index("ix_evidence_state_created_at")
