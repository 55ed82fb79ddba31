"""queue and backlog indexes: an auditor's held tasks, a plan's progress, open review pairs

The auditor's next task first looks for the caller's own tasks (`assigned_to`),
and the dashboard counts each plan's tasks by status and outcome and the open
review pairs per state.  At 10M exam results (bench/scale.py) the first was a
sequential scan of audit_tasks and the other two read every matching heap row;
these indexes serve them alone.  The new composites lead with the columns of the
single-column indexes they replace.

Revision ID: 0023
Revises: 0016
Create Date: 2026-12-03 14:20:00
"""

from alembic import op

revision = "0023"
down_revision = "0021"  # chained after main's 0021 when main was merged in
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_audit_tasks_holder", ["assigned_to", "status"], unique=False)
        batch_op.create_index(
            "ix_audit_tasks_plan_progress", ["plan_id", "status", "final_outcome"], unique=False
        )
        batch_op.drop_index("ix_audit_tasks_plan_id")
    with op.batch_alter_table("review_pairs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_pairs_backlog", ["status", "state", "run_id"], unique=False
        )
        batch_op.drop_index("ix_review_pairs_status")


def downgrade() -> None:
    with op.batch_alter_table("review_pairs", schema=None) as batch_op:
        batch_op.create_index("ix_review_pairs_status", ["status"], unique=False)
        batch_op.drop_index("ix_review_pairs_backlog")
    with op.batch_alter_table("audit_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_audit_tasks_plan_id", ["plan_id"], unique=False)
        batch_op.drop_index("ix_audit_tasks_plan_progress")
        batch_op.drop_index("ix_audit_tasks_holder")
